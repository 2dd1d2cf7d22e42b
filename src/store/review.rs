//! Review decisions and evidence of flagged plots: append-only rows (SQLite triggers refuse
//! UPDATE and DELETE), written in the same transaction as the flag's status change.

use super::sql::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use super::StoreError;

/// A decision as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionRow {
    pub id: i64,
    pub flag_id: i64,
    pub decision: String,
    pub from_status: String,
    pub to_status: String,
    pub reason: Option<String>,
    pub note: Option<String>,
    pub eradicated_on: Option<String>,
    pub area_destroyed_m2: Option<f64>,
    pub team: Option<String>,
    pub actor: String,
    pub decided_at: String,
    /// The flag's version after this decision.
    pub version: i64,
}

const DECISION_COLUMNS: &str = "id, flag_id, decision, from_status, to_status, reason, note, \
    eradicated_on, area_destroyed_m2, team, actor, decided_at, version";

fn decision(r: &Row<'_>) -> rusqlite::Result<DecisionRow> {
    Ok(DecisionRow {
        id: r.get(0)?,
        flag_id: r.get(1)?,
        decision: r.get(2)?,
        from_status: r.get(3)?,
        to_status: r.get(4)?,
        reason: r.get(5)?,
        note: r.get(6)?,
        eradicated_on: r.get(7)?,
        area_destroyed_m2: r.get(8)?,
        team: r.get(9)?,
        actor: r.get(10)?,
        decided_at: r.get(11)?,
        version: r.get(12)?,
    })
}

/// Appends a decision (its `id` is assigned and returned).
pub fn insert_decision(c: &Connection, d: &DecisionRow) -> Result<i64, StoreError> {
    c.prepare_cached(
        "INSERT INTO flag_decisions (flag_id, decision, from_status, to_status, reason, note, \
         eradicated_on, area_destroyed_m2, team, actor, decided_at, version) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING id",
    )?
    .query_row(
        params![
            d.flag_id,
            d.decision,
            d.from_status,
            d.to_status,
            d.reason,
            d.note,
            d.eradicated_on,
            d.area_destroyed_m2,
            d.team,
            d.actor,
            d.decided_at,
            d.version
        ],
        |r| r.get(0),
    )
    .map_err(StoreError::from)
}

/// A flag's decisions, oldest first.
pub fn decisions(c: &Connection, flag: i64) -> Result<Vec<DecisionRow>, StoreError> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {DECISION_COLUMNS} FROM flag_decisions WHERE flag_id = ?1 ORDER BY id"
    ))?;
    let rows = st
        .query_map([flag], decision)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn decision_by_id(c: &Connection, id: i64) -> Result<Option<DecisionRow>, StoreError> {
    Ok(c.query_row(
        &format!("SELECT {DECISION_COLUMNS} FROM flag_decisions WHERE id = ?1"),
        [id],
        decision,
    )
    .optional()?)
}

/// Every decision of the given kinds (for training from reviewers' feedback), oldest first.
pub fn decisions_of(c: &Connection, kinds: &[&str]) -> Result<Vec<DecisionRow>, StoreError> {
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; kinds.len()].join(", ");
    let mut st = c.prepare(&format!(
        "SELECT {DECISION_COLUMNS} FROM flag_decisions WHERE decision IN ({marks}) ORDER BY id"
    ))?;
    let rows = st
        .query_map(super::sql::params_from_iter(kinds), decision)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A piece of evidence (a field photo) as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceRow {
    pub id: i64,
    pub flag_id: i64,
    pub decision_id: Option<i64>,
    pub kind: String,
    pub sha256: String,
    pub bytes: i64,
    pub content_type: String,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub taken_at: Option<String>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub gps_accuracy_m: Option<f64>,
    /// Metres from the plot's outline (0 inside), when the photo has a location.
    pub distance_m: Option<f64>,
    pub camera: Option<String>,
    /// JSON array of `{code, message}`.
    pub warnings: String,
    pub uploaded_by: String,
    pub uploaded_at: String,
}

const EVIDENCE_COLUMNS: &str = "id, flag_id, decision_id, kind, sha256, bytes, content_type, \
    width, height, taken_at, lon, lat, gps_accuracy_m, distance_m, camera, warnings, uploaded_by, \
    uploaded_at";

fn evidence(r: &Row<'_>) -> rusqlite::Result<EvidenceRow> {
    Ok(EvidenceRow {
        id: r.get(0)?,
        flag_id: r.get(1)?,
        decision_id: r.get(2)?,
        kind: r.get(3)?,
        sha256: r.get(4)?,
        bytes: r.get(5)?,
        content_type: r.get(6)?,
        width: r.get(7)?,
        height: r.get(8)?,
        taken_at: r.get(9)?,
        lon: r.get(10)?,
        lat: r.get(11)?,
        gps_accuracy_m: r.get(12)?,
        distance_m: r.get(13)?,
        camera: r.get(14)?,
        warnings: r.get(15)?,
        uploaded_by: r.get(16)?,
        uploaded_at: r.get(17)?,
    })
}

pub fn insert_evidence(c: &Connection, e: &EvidenceRow) -> Result<i64, StoreError> {
    c.prepare_cached(
        "INSERT INTO evidence (flag_id, decision_id, kind, sha256, bytes, content_type, width, \
         height, taken_at, lon, lat, gps_accuracy_m, distance_m, camera, warnings, uploaded_by, \
         uploaded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) RETURNING id",
    )?
    .query_row(params![
        e.flag_id,
        e.decision_id,
        e.kind,
        e.sha256,
        e.bytes,
        e.content_type,
        e.width,
        e.height,
        e.taken_at,
        e.lon,
        e.lat,
        e.gps_accuracy_m,
        e.distance_m,
        e.camera,
        e.warnings,
        e.uploaded_by,
        e.uploaded_at
    ], |r| r.get(0))
    .map_err(StoreError::from)
}

/// A flag's evidence, oldest first.
pub fn evidence_for(c: &Connection, flag: i64) -> Result<Vec<EvidenceRow>, StoreError> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE flag_id = ?1 ORDER BY id"
    ))?;
    let rows = st
        .query_map([flag], evidence)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn evidence_by_id(c: &Connection, id: i64) -> Result<Option<EvidenceRow>, StoreError> {
    Ok(c.query_row(
        &format!("SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE id = ?1"),
        [id],
        evidence,
    )
    .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_and_evidence_are_append_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite");
        // A bare connection: foreign keys off, so no survey and flag are needed.
        let mut lite = rusqlite::Connection::open(&path).unwrap();
        crate::store::migrations::run(&mut lite, &path).unwrap();
        let c = Connection::Lite(&lite);
        let d = DecisionRow {
            id: 0,
            flag_id: 1,
            decision: "false_positive".into(),
            from_status: "new".into(),
            to_status: "false_positive".into(),
            reason: Some("lookalike_crop".into()),
            note: None,
            eradicated_on: None,
            area_destroyed_m2: None,
            team: None,
            actor: "a".into(),
            decided_at: "t".into(),
            version: 2,
        };
        let id = insert_decision(&c, &d).unwrap();
        assert_eq!(decisions(&c, 1).unwrap()[0].reason, d.reason);
        for sql in [
            "UPDATE flag_decisions SET note = 'x' WHERE id = ?1",
            "DELETE FROM flag_decisions WHERE id = ?1",
        ] {
            let e = c.execute(sql, [id]).unwrap_err();
            assert!(e.to_string().contains("append-only"), "{e}");
        }
        c.execute(
            "INSERT INTO evidence (flag_id, sha256, bytes, content_type, uploaded_by, uploaded_at) \
             VALUES (1, 'ab', 3, 'image/jpeg', 'a', 't')",
            (),
        )
        .unwrap();
        for sql in ["UPDATE evidence SET bytes = 4", "DELETE FROM evidence"] {
            let e = c.execute(sql, ()).unwrap_err();
            assert!(e.to_string().contains("append-only"), "{e}");
        }
    }
}

/// An `Idempotency-Key` already used by a user: the route, the request's hash and the row it
/// made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentWrite {
    pub route: String,
    pub request_sha256: String,
    pub entity_id: i64,
}

pub fn idempotent_write(
    c: &Connection,
    user: &str,
    key: &str,
) -> Result<Option<IdempotentWrite>, StoreError> {
    Ok(c.query_row(
        "SELECT route, request_sha256, entity_id FROM idempotency_keys WHERE user_name = ?1 AND key = ?2",
        params![user, key],
        |r| {
            Ok(IdempotentWrite {
                route: r.get(0)?,
                request_sha256: r.get(1)?,
                entity_id: r.get(2)?,
            })
        },
    )
    .optional()?)
}

pub fn record_idempotent_write(
    c: &Connection,
    user: &str,
    key: &str,
    w: &IdempotentWrite,
    now: &str,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO idempotency_keys (user_name, key, route, request_sha256, entity_id, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![user, key, w.route, w.request_sha256, w.entity_id, now],
    )?;
    Ok(())
}
