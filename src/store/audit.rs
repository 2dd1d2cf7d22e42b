//! The append-only audit log (SQLite triggers refuse UPDATE and DELETE).

use super::sql::{Connection, params};
use serde::Serialize;

use super::StoreError;

/// An entry to append.
#[derive(Debug, Clone)]
pub struct NewAudit<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// An entry as admins read it.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Which entries to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub before_id: Option<i64>,
    pub limit: usize,
}

pub fn append(c: &Connection, e: &NewAudit<'_>, now: &str) -> Result<(), StoreError> {
    c.prepare_cached("INSERT INTO audit_log (at, actor, action, entity, entity_id, before, after) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?
        .execute(params![
            now,
            e.actor,
            e.action,
            e.entity,
            e.entity_id,
            e.before.as_ref().map(|v| v.to_string()),
            e.after.as_ref().map(|v| v.to_string())
        ])?;
    Ok(())
}

pub fn list(c: &Connection, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT id, at, actor, action, entity, entity_id, before, after FROM audit_log \
         WHERE (CAST(?1 AS TEXT) IS NULL OR entity = ?1) AND (CAST(?2 AS TEXT) IS NULL OR entity_id = ?2) AND (CAST(?3 AS BIGINT) IS NULL OR id < ?3) ORDER BY id DESC LIMIT ?4",
    )?;
    let rows = stmt.query_map(
        params![q.entity, q.entity_id, q.before_id, q.limit as i64],
        |r| {
            let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
            Ok(AuditEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                entity: r.get(4)?,
                entity_id: r.get(5)?,
                before: parse(r.get(6)?),
                after: parse(r.get(7)?),
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}
