//! Hotspot rows and their history.

use super::sql::{Connection, OptionalExtension, Row, params};

use super::StoreError;
use crate::hotspots::{Hotspot, HotspotEvent, HotspotInput, Kind, Status};
use crate::index::hotspots::EntryRow;
use crate::time_util::{day_number, format_date, parse_date};

/// A stored hotspot (alias kept for readability at call sites).
pub type StoredHotspot = Hotspot;

const COLUMNS: &str = "id, lon, lat, name, kind, status, address, source, notes, reported_on, status_since, \
                       commune_code, province_code, created_at, updated_at, version";

fn corrupt(message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, message.into())
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Hotspot> {
    let kind: String = r.get(4)?;
    let status: String = r.get(5)?;
    let reported: String = r.get(9)?;
    let since: String = r.get(10)?;
    Ok(Hotspot {
        id: r.get(0)?,
        lon: r.get(1)?,
        lat: r.get(2)?,
        name: r.get(3)?,
        kind: Kind::from_code(&kind).ok_or_else(|| corrupt(format!("unknown kind {kind}")))?,
        status: Status::from_code(&status)
            .ok_or_else(|| corrupt(format!("unknown status {status}")))?,
        address: r.get(6)?,
        source: r.get(7)?,
        notes: r.get(8)?,
        reported_on: parse_date(&reported).map_err(corrupt)?,
        status_since: parse_date(&since).map_err(corrupt)?,
        commune_code: r.get(11)?,
        province_code: r.get(12)?,
        created_at: r.get(13)?,
        updated_at: r.get(14)?,
        version: r.get(15)?,
    })
}

/// Fast `YYYY-MM-DD` → day number for the start-up scan (1M rows), without allocating.
pub(crate) fn day_of(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i32> {
        std::str::from_utf8(&b[r]).ok()?.parse().ok()
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Every live hotspot's index attributes (rows that cannot be read are skipped and logged).
pub fn index_rows(c: &Connection) -> Result<Vec<EntryRow>, StoreError> {
    Ok(index_rows_checked(c)?.0)
}

/// Every live hotspot's index attributes, and the rows that cannot be read (a bad row is
/// skipped, never fatal: start-up must not fail on one row).
pub fn index_rows_checked(
    c: &Connection,
) -> Result<(Vec<EntryRow>, Vec<super::SkippedRow>), StoreError> {
    let mut stmt = c.prepare(
        "SELECT id, lon, lat, status, kind, province_code, commune_code, reported_on FROM hotspots WHERE deleted_at IS NULL",
    )?;
    let mut rows = stmt.query(())?;
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let bad = |what: String| StoreError::Corrupt {
            table: "hotspots",
            message: format!("hotspot {id}: bad {what}"),
        };
        let read = || -> Result<EntryRow, StoreError> {
            let text = |i: usize, what: &str| -> Result<String, StoreError> {
                r.get::<_, String>(i)
                    .map_err(|e| bad(format!("{what} ({e})")))
            };
            let coord = |i: usize, what: &str| -> Result<f64, StoreError> {
                r.get::<_, f64>(i)
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| bad(what.to_string()))
            };
            let status = text(3, "status")?;
            let kind = text(4, "kind")?;
            let reported = text(7, "reported_on")?;
            Ok(EntryRow {
                id,
                lon: coord(1, "lon")?,
                lat: coord(2, "lat")?,
                status: Status::from_code(&status).ok_or_else(|| bad("status".into()))?,
                kind: Kind::from_code(&kind).ok_or_else(|| bad("kind".into()))?,
                province: r.get(5)?,
                commune: r.get(6)?,
                reported: day_of(&reported).ok_or_else(|| bad("reported_on".into()))?,
            })
        };
        match read() {
            Ok(e) => out.push(e),
            Err(e) => skipped.push(super::SkippedRow::from_corrupt(e, format!("hotspot {id}"))),
        }
    }
    Ok((out, skipped))
}

/// A change to a hotspot's index attributes made by any node (the PostgreSQL change feed).
#[derive(Debug, Clone)]
pub struct FedChange {
    pub seq: i64,
    pub id: i64,
    /// Where the entry was before an update; `None` for a new hotspot.
    pub old: Option<(f64, f64)>,
    /// Where the hotspot is now.
    pub at: (f64, f64),
    /// Its index entry now, or `None` when deleted (or unreadable: logged).
    pub live: Option<EntryRow>,
}

/// The last change of the feed (0 when none).
pub fn last_change(c: &Connection) -> Result<i64, StoreError> {
    Ok(c.query_row(
        "SELECT coalesce(max(seq), 0) FROM hotspot_changes",
        (),
        |r| r.get(0),
    )?)
}

/// Removes the feed's rows older than `keep_secs` seconds and moves the horizon past them;
/// how many went (PostgreSQL only: the feed exists there).
pub fn prune_changes(c: &Connection, keep_secs: i64) -> Result<usize, StoreError> {
    let gone: i64 = c.query_row(
        "WITH gone AS (DELETE FROM hotspot_changes \
           WHERE at < now() - make_interval(secs => CAST(?1 AS BIGINT)) RETURNING seq), \
         moved AS (UPDATE change_horizon \
           SET pruned_through = GREATEST(pruned_through, (SELECT coalesce(max(seq), 0) FROM gone)) \
           RETURNING 1) \
         SELECT count(*) FROM gone",
        params![keep_secs],
        |r| r.get(0),
    )?;
    Ok(gone as usize)
}

/// Through which `seq` the feed was pruned: a node that has not applied the changes up to it
/// has missed some (PostgreSQL only).
pub fn change_horizon(c: &Connection) -> Result<i64, StoreError> {
    Ok(
        c.query_row("SELECT pruned_through FROM change_horizon", (), |r| {
            r.get(0)
        })?,
    )
}

/// The counters of the statements that changed boundaries and users (or tokens): a node
/// reloads what it keeps of either when its counter moves (PostgreSQL only).
pub fn change_counters(c: &Connection) -> Result<(i64, i64), StoreError> {
    Ok(c.query_row(
        "SELECT (SELECT n FROM change_counters WHERE name = 'boundaries'), \
                (SELECT n FROM change_counters WHERE name = 'users')",
        (),
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// Changes after `after`, oldest first, at most `limit`, each with the hotspot as it is now.
pub fn changes_since(c: &Connection, after: i64, limit: i64) -> Result<Vec<FedChange>, StoreError> {
    let mut st = c.prepare(
        "SELECT c.seq, c.hotspot_id, c.old_lon, c.old_lat, h.lon, h.lat, h.deleted_at, h.status, \
         h.kind, h.province_code, h.commune_code, h.reported_on \
         FROM hotspot_changes c JOIN hotspots h ON h.id = c.hotspot_id \
         WHERE c.seq > ?1 ORDER BY c.seq LIMIT ?2",
    )?;
    let rows = st
        .query_map(params![after, limit], |r| {
            let id: i64 = r.get(1)?;
            let (lon, lat): (f64, f64) = (r.get(4)?, r.get(5)?);
            let deleted: Option<String> = r.get(6)?;
            let old = match (r.get::<_, Option<f64>>(2)?, r.get::<_, Option<f64>>(3)?) {
                (Some(x), Some(y)) => Some((x, y)),
                _ => None,
            };
            let status: String = r.get(7)?;
            let kind: String = r.get(8)?;
            let reported: String = r.get(11)?;
            let live = match (
                deleted,
                Status::from_code(&status),
                Kind::from_code(&kind),
                day_of(&reported),
            ) {
                (None, Some(status), Some(kind), Some(reported)) => Some(EntryRow {
                    id,
                    lon,
                    lat,
                    status,
                    kind,
                    province: r.get(9)?,
                    commune: r.get(10)?,
                    reported,
                }),
                (None, ..) => {
                    tracing::warn!(
                        hotspot = id,
                        "a changed hotspot cannot be read; left out of the index"
                    );
                    None
                }
                _ => None,
            };
            Ok(FedChange {
                seq: r.get(0)?,
                id,
                old,
                at: (lon, lat),
                live,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn entry_row(h: &Hotspot) -> EntryRow {
    EntryRow {
        id: h.id,
        lon: h.lon,
        lat: h.lat,
        status: h.status,
        kind: h.kind,
        province: h.province_code.clone(),
        commune: h.commune_code.clone(),
        reported: day_number(h.reported_on),
    }
}

/// One live hotspot by id.
pub fn get(c: &Connection, id: i64) -> Result<Option<Hotspot>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM hotspots WHERE id = ?1 AND deleted_at IS NULL");
    Ok(c.prepare_cached(&sql)?
        .query_row([id], from_row)
        .optional()?)
}

/// Live hotspots by id, in the order of `ids` (missing ones skipped).
pub fn get_many(c: &Connection, ids: &[i64]) -> Result<Vec<Hotspot>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(",");
        let sql = format!(
            "SELECT {COLUMNS} FROM hotspots WHERE id IN ({marks}) AND deleted_at IS NULL ORDER BY id"
        );
        let mut stmt = c.prepare_cached(&sql)?;
        let rows = stmt.query_map(super::sql::params_from_iter(chunk.iter()), from_row)?;
        for r in rows {
            out.push(r?);
        }
    }
    out.sort_by_key(|h| h.id);
    Ok(out)
}

/// Everything a write changes about a hotspot, with its location already resolved.
#[derive(Debug, Clone)]
pub struct HotspotChange {
    pub input: HotspotInput,
    pub province: Option<String>,
    pub commune: Option<String>,
}

/// Inserts one hotspot and its first history event; returns its id.
pub fn insert(
    c: &Connection,
    ch: &HotspotChange,
    actor: &str,
    now: &str,
    note: Option<&str>,
) -> Result<i64, StoreError> {
    let h = &ch.input;
    let reported = format_date(h.reported_on);
    let mut stmt = c.prepare_cached(
        "INSERT INTO hotspots (lon, lat, name, kind, status, address, source, notes, reported_on, status_since, \
         commune_code, province_code, created_at, updated_at, version) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11, ?12, ?12, 1) RETURNING id",
    )?;
    let id = stmt.query_row(
        params![
            h.lon,
            h.lat,
            h.name,
            h.kind.code(),
            h.status.code(),
            h.address,
            h.source,
            h.notes,
            reported,
            ch.commune,
            ch.province,
            now
        ],
        |r| r.get::<_, i64>(0),
    )?;
    add_event(c, id, None, h.status, &reported, actor, note, now)?;
    Ok(id)
}

/// Rewrites a hotspot's fields (not its status: see [`set_status`]) and bumps its version.
pub fn update_fields(
    c: &Connection,
    id: i64,
    ch: &HotspotChange,
    now: &str,
) -> Result<(), StoreError> {
    let h = &ch.input;
    c.prepare_cached(
        "UPDATE hotspots SET lon = ?2, lat = ?3, name = ?4, kind = ?5, address = ?6, source = ?7, notes = ?8, \
         reported_on = ?9, commune_code = ?10, province_code = ?11, updated_at = ?12, version = version + 1 \
         WHERE id = ?1 AND deleted_at IS NULL",
    )?
    .execute(params![id, h.lon, h.lat, h.name, h.kind.code(), h.address, h.source, h.notes, format_date(h.reported_on), ch.commune, ch.province, now])?;
    Ok(())
}

/// Moves a hotspot to `to` on `on` and records the event; bumps the version.
#[allow(clippy::too_many_arguments)]
pub fn set_status(
    c: &Connection,
    id: i64,
    from: Status,
    to: Status,
    on: &str,
    actor: &str,
    note: Option<&str>,
    now: &str,
) -> Result<(), StoreError> {
    c.prepare_cached("UPDATE hotspots SET status = ?2, status_since = ?3, updated_at = ?4, version = version + 1 WHERE id = ?1")?
        .execute(params![id, to.code(), on, now])?;
    add_event(c, id, Some(from), to, on, actor, note, now)
}

#[allow(clippy::too_many_arguments)]
fn add_event(
    c: &Connection,
    id: i64,
    from: Option<Status>,
    to: Status,
    on: &str,
    actor: &str,
    note: Option<&str>,
    now: &str,
) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO hotspot_events (hotspot_id, from_status, to_status, on_date, actor, note, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![id, from.map(|s| s.code()), to.code(), on, actor, note, now])?;
    Ok(())
}

/// Marks a hotspot deleted; the row and its history stay for the record.
pub fn soft_delete(c: &Connection, id: i64, now: &str) -> Result<(), StoreError> {
    c.prepare_cached(
        "UPDATE hotspots SET deleted_at = ?2, updated_at = ?2, version = version + 1 WHERE id = ?1",
    )?
    .execute(params![id, now])?;
    Ok(())
}

/// A hotspot's status history, oldest first.
pub fn history(c: &Connection, id: i64) -> Result<Vec<HotspotEvent>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT from_status, to_status, on_date, actor, note, recorded_at FROM hotspot_events WHERE hotspot_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([id], |r| {
        let from: Option<String> = r.get(0)?;
        let to: String = r.get(1)?;
        let on: String = r.get(2)?;
        Ok(HotspotEvent {
            from: from.and_then(|f| Status::from_code(&f)),
            to: Status::from_code(&to).ok_or_else(|| corrupt(format!("unknown status {to}")))?,
            on: parse_date(&on).map_err(corrupt)?,
            actor: r.get(3)?,
            note: r.get(4)?,
            recorded_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Sets the commune and province of every live hotspot (after new boundaries), returning how many changed.
pub fn reassign(
    c: &Connection,
    assign: &mut dyn FnMut(f64, f64) -> (Option<String>, Option<String>),
) -> Result<usize, StoreError> {
    type Placed = (i64, f64, f64, Option<String>, Option<String>);
    let rows: Vec<Placed> = c
        .prepare("SELECT id, lon, lat, province_code, commune_code FROM hotspots WHERE deleted_at IS NULL")?
        .query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
        .collect::<Result<_, _>>()?;
    let mut stmt =
        c.prepare("UPDATE hotspots SET province_code = ?2, commune_code = ?3 WHERE id = ?1")?;
    let mut changed = 0;
    for (id, lon, lat, p0, c0) in rows {
        let (p, cm) = assign(lon, lat);
        if p != p0 || cm != c0 {
            stmt.execute(params![id, p, cm])?;
            changed += 1;
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_day_parse_agrees_with_time() {
        for s in [
            "1970-01-01",
            "2000-02-29",
            "2026-11-22",
            "1999-12-31",
            "2024-03-01",
        ] {
            assert_eq!(day_of(s), Some(day_number(parse_date(s).unwrap())), "{s}");
        }
        assert_eq!(day_of("2026/11/22"), None);
    }
}
