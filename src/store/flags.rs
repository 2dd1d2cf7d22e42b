//! Flagged plots. Live flags have no `superseded_at`; re-classifying a survey supersedes its
//! flags in the same transaction that inserts the new ones.

use rusqlite::{Connection, params};

use super::StoreError;

/// A flag as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagRow {
    pub id: i64,
    pub survey_id: String,
    pub class: String,
    pub confidence: f64,
    pub area_m2: f64,
    pub status: String,
    pub geometry: String,
    pub bbox: [f64; 4],
    pub point: [f64; 2],
    pub province_code: Option<String>,
    pub commune_code: Option<String>,
    pub acquired_at: Option<String>,
    pub model_version: String,
    pub drivers: String,
    pub created_at: String,
    /// An earlier, eradicated flag this one overlaps (re-planting).
    pub replanting_of: Option<i64>,
    /// Registry hotspots near the plot, JSON array of ids.
    pub near_hotspots: String,
    /// Mean probability per class over the plot, JSON object.
    pub probabilities: String,
}

const COLUMNS: &str = "id, survey_id, class, confidence, area_m2, status, geometry, min_lon, min_lat, \
    max_lon, max_lat, lon, lat, province_code, commune_code, acquired_at, model_version, drivers, created_at, \
    replanting_of, near_hotspots, probabilities";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FlagRow> {
    Ok(FlagRow {
        id: r.get(0)?,
        survey_id: r.get(1)?,
        class: r.get(2)?,
        confidence: r.get(3)?,
        area_m2: r.get(4)?,
        status: r.get(5)?,
        geometry: r.get(6)?,
        bbox: [r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?],
        point: [r.get(11)?, r.get(12)?],
        province_code: r.get(13)?,
        commune_code: r.get(14)?,
        acquired_at: r.get(15)?,
        model_version: r.get(16)?,
        drivers: r.get(17)?,
        created_at: r.get(18)?,
        replanting_of: r.get(19)?,
        near_hotspots: r.get(20)?,
        probabilities: r.get(21)?,
    })
}

/// Supersedes the survey's live flags and inserts `flags` (ids are assigned).
pub fn replace_for_survey(
    c: &Connection,
    survey: &str,
    flags: &[FlagRow],
    now: &str,
) -> Result<usize, StoreError> {
    c.execute(
        "UPDATE flags SET superseded_at = ?2 WHERE survey_id = ?1 AND superseded_at IS NULL",
        params![survey, now],
    )?;
    let mut st = c.prepare(
        "INSERT INTO flags (survey_id, class, confidence, area_m2, status, geometry, min_lon, min_lat, \
         max_lon, max_lat, lon, lat, province_code, commune_code, acquired_at, model_version, drivers, created_at, \
         replanting_of, near_hotspots, probabilities) \
         VALUES (?1, ?2, ?3, ?4, 'new', ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
    )?;
    for f in flags {
        st.execute(params![
            survey,
            f.class,
            f.confidence,
            f.area_m2,
            f.geometry,
            f.bbox[0],
            f.bbox[1],
            f.bbox[2],
            f.bbox[3],
            f.point[0],
            f.point[1],
            f.province_code,
            f.commune_code,
            f.acquired_at,
            f.model_version,
            f.drivers,
            now,
            f.replanting_of,
            f.near_hotspots,
            f.probabilities
        ])?;
    }
    Ok(flags.len())
}

/// Live flags whose bbox meets `bbox` (all when `None`), ordered by id.
pub fn live(c: &Connection, bbox: Option<[f64; 4]>) -> Result<Vec<FlagRow>, StoreError> {
    let (w, s, e, n) = match bbox {
        Some(b) => (b[0], b[1], b[2], b[3]),
        None => (-180.0, -90.0, 180.0, 90.0),
    };
    let mut st = c.prepare(&format!(
        "SELECT {COLUMNS} FROM flags WHERE superseded_at IS NULL \
         AND max_lon >= ?1 AND min_lon <= ?3 AND max_lat >= ?2 AND min_lat <= ?4 ORDER BY id"
    ))?;
    let rows = st
        .query_map(params![w, s, e, n], row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn get(c: &Connection, id: i64) -> Result<Option<FlagRow>, StoreError> {
    use rusqlite::OptionalExtension;
    Ok(c.query_row(
        &format!("SELECT {COLUMNS} FROM flags WHERE id = ?1"),
        [id],
        row,
    )
    .optional()?)
}

pub fn live_for_survey(c: &Connection, survey: &str) -> Result<Vec<FlagRow>, StoreError> {
    let mut st = c.prepare(&format!(
        "SELECT {COLUMNS} FROM flags WHERE survey_id = ?1 AND superseded_at IS NULL ORDER BY id"
    ))?;
    let rows = st
        .query_map([survey], row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Flags recorded as eradicated (live or superseded) of other surveys whose bbox meets `bbox`,
/// newest first: candidates for re-planting.
pub fn eradicated_near(
    c: &Connection,
    bbox: [f64; 4],
    not_survey: &str,
) -> Result<Vec<FlagRow>, StoreError> {
    let mut st = c.prepare(&format!(
        "SELECT {COLUMNS} FROM flags WHERE status = 'eradicated' AND survey_id <> ?5 \
         AND max_lon >= ?1 AND min_lon <= ?3 AND max_lat >= ?2 AND min_lat <= ?4 ORDER BY id DESC"
    ))?;
    let rows = st
        .query_map(params![bbox[0], bbox[1], bbox[2], bbox[3], not_survey], row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
