//! What reports read (issue 6): drug-free commune records (append-only, the newest row for a
//! commune and year is in force), hotspot lifecycle transitions, live flags with their dated
//! review decisions and eradications, and ready survey footprints. Scoping by area is a plain filter on the stored
//! codes; jurisdiction checks are the service's.

use super::sql::{Connection, Row, params};
use serde::Serialize;

use super::StoreError;
use crate::hotspots::Status;

/// One drug-free decision about a commune for a year, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrugFreeRow {
    pub id: i64,
    pub commune_code: String,
    pub province_code: Option<String>,
    pub year: i32,
    /// `drug_free` or `not_drug_free`.
    pub status: String,
    pub decision_ref: String,
    pub decided_on: Option<String>,
    pub recorded_by: String,
    pub recorded_at: String,
}

const DRUG_FREE_COLUMNS: &str = "id, commune_code, province_code, year, status, decision_ref, \
    decided_on, recorded_by, recorded_at";

fn drug_free_row(r: &Row<'_>) -> rusqlite::Result<DrugFreeRow> {
    Ok(DrugFreeRow {
        id: r.get(0)?,
        commune_code: r.get(1)?,
        province_code: r.get(2)?,
        year: r.get(3)?,
        status: r.get(4)?,
        decision_ref: r.get(5)?,
        decided_on: r.get(6)?,
        recorded_by: r.get(7)?,
        recorded_at: r.get(8)?,
    })
}

/// Appends a record; returns its id.
pub fn insert_drug_free(c: &Connection, d: &DrugFreeRow) -> Result<i64, StoreError> {
    c.prepare_cached(
        "INSERT INTO commune_drug_free (commune_code, province_code, year, status, decision_ref, \
         decided_on, recorded_by, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
    )?
    .query_row(params![
        d.commune_code,
        d.province_code,
        d.year,
        d.status,
        d.decision_ref,
        d.decided_on,
        d.recorded_by,
        d.recorded_at
    ], |r| r.get(0))
    .map_err(StoreError::from)
}

/// Every record about a commune, oldest first.
pub fn drug_free_history(c: &Connection, commune: &str) -> Result<Vec<DrugFreeRow>, StoreError> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {DRUG_FREE_COLUMNS} FROM commune_drug_free WHERE commune_code = ?1 ORDER BY id"
    ))?;
    let rows = st
        .query_map([commune], drug_free_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The record in force for each commune with one for `year` (the newest per commune).
pub fn drug_free_in_force(c: &Connection, year: i32) -> Result<Vec<DrugFreeRow>, StoreError> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {DRUG_FREE_COLUMNS} FROM commune_drug_free d WHERE year = ?1 AND id = \
         (SELECT max(id) FROM commune_drug_free x WHERE x.year = ?1 AND x.commune_code = d.commune_code) \
         ORDER BY commune_code"
    ))?;
    let rows = st
        .query_map([year], drug_free_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A lifecycle step of a hotspot (not its first event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransitionRow {
    pub hotspot: i64,
    pub from: Status,
    pub to: Status,
    /// Days since 1970-01-01.
    pub on: i32,
}

/// Every lifecycle transition, by hotspot then in the order they were made (read without
/// allocating: a report reads hundreds of thousands).
pub fn transitions(c: &Connection) -> Result<Vec<TransitionRow>, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT hotspot_id, from_status, to_status, on_date FROM hotspot_events \
         WHERE from_status IS NOT NULL ORDER BY hotspot_id, id",
    )?;
    let mut rows = st.query(())?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let hotspot: i64 = r.get(0)?;
        let text = |i: usize| -> Result<&str, StoreError> {
            Ok(r.get_ref(i)?.as_str().map_err(rusqlite::Error::from)?)
        };
        let bad = |what: &str| StoreError::Corrupt {
            table: "hotspot_events",
            message: format!("hotspot {hotspot}: bad {what}"),
        };
        out.push(TransitionRow {
            hotspot,
            from: Status::from_code(text(1)?).ok_or_else(|| bad("from_status"))?,
            to: Status::from_code(text(2)?).ok_or_else(|| bad("to_status"))?,
            on: super::hotspots::day_of(text(3)?).ok_or_else(|| bad("on_date"))?,
        });
    }
    Ok(out)
}

/// A live flag as reports count it.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagFact {
    pub id: i64,
    pub class: String,
    pub status: String,
    pub area_m2: f64,
    /// The flight date (`YYYY-MM-DD`, UTC), or the day the flag was raised when unknown.
    pub found_on: String,
    pub replanting: bool,
    pub province: Option<String>,
    pub commune: Option<String>,
}

/// Live flags in a province and/or commune (everywhere when both are `None`).
pub fn flag_facts(
    c: &Connection,
    province: Option<&str>,
    commune: Option<&str>,
) -> Result<Vec<FlagFact>, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT id, class, status, area_m2, substr(coalesce(acquired_at, created_at), 1, 10), \
         replanting_of IS NOT NULL, province_code, commune_code FROM flags \
         WHERE superseded_at IS NULL AND (CAST(?1 AS TEXT) IS NULL OR province_code = ?1) \
         AND (CAST(?2 AS TEXT) IS NULL OR commune_code = ?2) ORDER BY id",
    )?;
    let rows = st
        .query_map(params![province, commune], |r| {
            Ok(FlagFact {
                id: r.get(0)?,
                class: r.get(1)?,
                status: r.get(2)?,
                area_m2: r.get(3)?,
                found_on: r.get(4)?,
                replanting: r.get(5)?,
                province: r.get(6)?,
                commune: r.get(7)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A review decision on a live flag, reduced to the status it led to and its day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagStepRow {
    pub flag: i64,
    pub to: crate::review::Status,
    /// The UTC day of `decided_at`, in days since 1970-01-01.
    pub on: i32,
}

/// Every decision on live flags in a province and/or commune, by flag then in the order they
/// were made (read without allocating, like [`transitions`]).
pub fn flag_steps(
    c: &Connection,
    province: Option<&str>,
    commune: Option<&str>,
) -> Result<Vec<FlagStepRow>, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT d.flag_id, d.to_status, CASE WHEN d.to_status = 'eradicated' \
         AND d.eradicated_on IS NOT NULL THEN d.eradicated_on ELSE substr(d.decided_at, 1, 10) END \
         FROM flag_decisions d \
         JOIN flags f ON f.id = d.flag_id WHERE f.superseded_at IS NULL \
         AND (CAST(?1 AS TEXT) IS NULL OR f.province_code = ?1) AND (CAST(?2 AS TEXT) IS NULL OR f.commune_code = ?2) \
         ORDER BY d.flag_id, d.id",
    )?;
    let mut rows = st.query(params![province, commune])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let flag: i64 = r.get(0)?;
        let text = |i: usize| -> Result<&str, StoreError> {
            Ok(r.get_ref(i)?.as_str().map_err(rusqlite::Error::from)?)
        };
        let bad = |what: &str| StoreError::Corrupt {
            table: "flag_decisions",
            message: format!("flag {flag}: bad {what}"),
        };
        out.push(FlagStepRow {
            flag,
            to: crate::review::Status::from_code(text(1)?).ok_or_else(|| bad("to_status"))?,
            on: super::hotspots::day_of(text(2)?).ok_or_else(|| bad("decided_at"))?,
        });
    }
    Ok(out)
}

/// An eradication recorded on a live flag.
#[derive(Debug, Clone, PartialEq)]
pub struct EradicationFact {
    pub flag: i64,
    /// `YYYY-MM-DD`.
    pub on: String,
    pub area_destroyed_m2: f64,
}

/// Eradication decisions on live flags in a province and/or commune.
pub fn eradications(
    c: &Connection,
    province: Option<&str>,
    commune: Option<&str>,
) -> Result<Vec<EradicationFact>, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT d.flag_id, d.eradicated_on, coalesce(d.area_destroyed_m2, 0) FROM flag_decisions d \
         JOIN flags f ON f.id = d.flag_id \
         WHERE d.to_status = 'eradicated' AND d.eradicated_on IS NOT NULL AND f.superseded_at IS NULL \
         AND (CAST(?1 AS TEXT) IS NULL OR f.province_code = ?1) AND (CAST(?2 AS TEXT) IS NULL OR f.commune_code = ?2) \
         ORDER BY d.id",
    )?;
    let rows = st
        .query_map(params![province, commune], |r| {
            Ok(EradicationFact {
                flag: r.get(0)?,
                on: r.get(1)?,
                area_destroyed_m2: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A ready survey's footprint and flight date.
#[derive(Debug, Clone, PartialEq)]
pub struct FootprintFact {
    pub survey: String,
    /// `YYYY-MM-DD` (UTC), or the completion day when the flight time is unknown.
    pub flown_on: String,
    /// GeoJSON (Multi)Polygon, lon/lat.
    pub footprint: String,
    pub bbox: [f64; 4],
}

/// Footprints of every ready survey meeting `bbox`.
pub fn footprints(c: &Connection, bbox: [f64; 4]) -> Result<Vec<FootprintFact>, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT id, substr(coalesce(acquired_at, completed_at, created_at), 1, 10), footprint, \
         min_lon, min_lat, max_lon, max_lat FROM surveys \
         WHERE state = 'ready' AND footprint IS NOT NULL AND min_lon IS NOT NULL \
         AND max_lon >= ?1 AND min_lon <= ?3 AND max_lat >= ?2 AND min_lat <= ?4 ORDER BY id",
    )?;
    let rows = st
        .query_map(params![bbox[0], bbox[1], bbox[2], bbox[3]], |r| {
            Ok(FootprintFact {
                survey: r.get(0)?,
                flown_on: r.get(1)?,
                footprint: r.get(2)?,
                bbox: [r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?],
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
