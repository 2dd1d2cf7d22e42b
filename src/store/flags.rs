//! Flagged plots. Live flags have no `superseded_at`; re-classifying a survey supersedes its
//! flags in the same transaction that inserts the new ones.

use super::sql::{Connection, Row, params};

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
    /// The plot outline, lon/lat (empty when the stored GeoJSON cannot be read: logged).
    pub geometry: geo::MultiPolygon<f64>,
    pub bbox: [f64; 4],
    pub point: [f64; 2],
    pub province_code: Option<String>,
    pub commune_code: Option<String>,
    pub acquired_at: Option<String>,
    pub model_version: String,
    /// The features that drove the flag, with their z-scores.
    pub drivers: Vec<(String, f64)>,
    pub created_at: String,
    /// An earlier, eradicated flag this one overlaps (re-planting).
    pub replanting_of: Option<i64>,
    /// Registry hotspots near the plot, JSON array of ids.
    pub near_hotspots: Vec<i64>,
    /// Mean probability per class over the plot, JSON object.
    pub probabilities: std::collections::BTreeMap<String, f64>,
    /// Bumped by every review change (optimistic concurrency).
    pub version: i64,
    /// Queue priority a reviewer set (`urgent`, `high`, `low`); `None` is normal.
    pub priority: Option<String>,
    /// When the status last changed (`None`: never reviewed).
    pub status_at: Option<String>,
    /// When a re-classification replaced this flag.
    pub superseded_at: Option<String>,
}

const COLUMNS: &str = "id, survey_id, class, confidence, area_m2, status, geometry, min_lon, min_lat, \
    max_lon, max_lat, lon, lat, province_code, commune_code, acquired_at, model_version, drivers, created_at, \
    replanting_of, near_hotspots, probabilities, version, priority, status_at, superseded_at";

/// A stored outline (GeoJSON Polygon or MultiPolygon) as `geo`; one unreadable row is logged
/// and read as empty rather than failing every listing it is in.
fn outline(id: i64, text: &str) -> geo::MultiPolygon<f64> {
    let parsed = text
        .parse::<geojson::Geometry>()
        .map_err(|e| e.to_string())
        .and_then(|g| geo::Geometry::<f64>::try_from(g).map_err(|e| e.to_string()));
    match parsed {
        Ok(geo::Geometry::Polygon(p)) => geo::MultiPolygon(vec![p]),
        Ok(geo::Geometry::MultiPolygon(m)) => m,
        Ok(_) => {
            tracing::error!(
                flag = id,
                "stored flag outline is not a polygon; read as empty"
            );
            geo::MultiPolygon(vec![])
        }
        Err(e) => {
            tracing::error!(flag = id, error = %e, "stored flag outline unreadable; read as empty");
            geo::MultiPolygon(vec![])
        }
    }
}

/// A column stored as JSON text, read into its type; an unreadable one is logged and read as
/// empty (one bad row does not fail a listing).
fn json_column<T: serde::de::DeserializeOwned + Default>(
    r: &Row<'_>,
    i: usize,
    what: &str,
) -> rusqlite::Result<T> {
    let text: String = r.get(i)?;
    Ok(serde_json::from_str(&text).unwrap_or_else(|e| {
        tracing::error!(column = what, error = %e, "stored flag column unreadable; read as empty");
        T::default()
    }))
}

fn json_text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data serialises")
}

fn row(r: &Row<'_>) -> rusqlite::Result<FlagRow> {
    row_with(r, true)
}

/// A flag row; without `outline` its geometry is left empty (not parsed).
fn row_with(r: &Row<'_>, outline: bool) -> rusqlite::Result<FlagRow> {
    Ok(FlagRow {
        id: r.get(0)?,
        survey_id: r.get(1)?,
        class: r.get(2)?,
        confidence: r.get(3)?,
        area_m2: r.get(4)?,
        status: r.get(5)?,
        geometry: if outline {
            self::outline(r.get_ref(0)?.as_i64().unwrap_or(0), &r.get::<_, String>(6)?)
        } else {
            geo::MultiPolygon(vec![])
        },
        bbox: [r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?],
        point: [r.get(11)?, r.get(12)?],
        province_code: r.get(13)?,
        commune_code: r.get(14)?,
        acquired_at: r.get(15)?,
        model_version: r.get(16)?,
        drivers: json_column(r, 17, "drivers")?,
        created_at: r.get(18)?,
        replanting_of: r.get(19)?,
        near_hotspots: json_column(r, 20, "near_hotspots")?,
        probabilities: json_column(r, 21, "probabilities")?,
        version: r.get(22)?,
        priority: r.get(23)?,
        status_at: r.get(24)?,
        superseded_at: r.get(25)?,
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
            geojson::Geometry::from(&f.geometry).to_string(),
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
            json_text(&f.drivers),
            now,
            f.replanting_of,
            json_text(&f.near_hotspots),
            json_text(&f.probabilities)
        ])?;
    }
    Ok(flags.len())
}

/// Live flags whose bbox meets `bbox` (all when `None`), ordered by id.
pub fn live(c: &Connection, bbox: Option<[f64; 4]>) -> Result<Vec<FlagRow>, StoreError> {
    live_with(c, bbox, true)
}

/// [`live`] without parsing the outlines (`geometry` empty): for what needs only each plot's
/// bbox and point, such as the low-zoom flag tiles.
pub fn live_without_outlines(
    c: &Connection,
    bbox: Option<[f64; 4]>,
) -> Result<Vec<FlagRow>, StoreError> {
    live_with(c, bbox, false)
}

fn live_with(
    c: &Connection,
    bbox: Option<[f64; 4]>,
    outlines: bool,
) -> Result<Vec<FlagRow>, StoreError> {
    let (w, s, e, n) = match bbox {
        Some(b) => (b[0], b[1], b[2], b[3]),
        None => (-180.0, -90.0, 180.0, 90.0),
    };
    let mut st = c.prepare(&format!(
        "SELECT {COLUMNS} FROM flags WHERE superseded_at IS NULL \
         AND max_lon >= ?1 AND min_lon <= ?3 AND max_lat >= ?2 AND min_lat <= ?4 ORDER BY id"
    ))?;
    let rows = st
        .query_map(params![w, s, e, n], |r| row_with(r, outlines))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn get(c: &Connection, id: i64) -> Result<Option<FlagRow>, StoreError> {
    use super::sql::OptionalExtension;
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

/// Moves a live flag to `status` if it is still at `version`; returns the new version, or `None`
/// when the flag changed meanwhile (or was superseded).
pub fn set_status(
    c: &Connection,
    id: i64,
    version: i64,
    status: &str,
    now: &str,
) -> Result<Option<i64>, StoreError> {
    let n = c.execute(
        "UPDATE flags SET status = ?3, status_at = ?4, version = version + 1 \
         WHERE id = ?1 AND version = ?2 AND superseded_at IS NULL",
        params![id, version, status, now],
    )?;
    Ok((n == 1).then_some(version + 1))
}

/// Sets a live flag's queue priority if it is still at `version`. The version is not bumped:
/// re-ordering the queue must not make reviewers' decisions on the flag stale.
pub fn set_priority(
    c: &Connection,
    id: i64,
    version: i64,
    priority: Option<&str>,
) -> Result<bool, StoreError> {
    let n = c.execute(
        "UPDATE flags SET priority = ?3 WHERE id = ?1 AND version = ?2 AND superseded_at IS NULL",
        params![id, version, priority],
    )?;
    Ok(n == 1)
}

/// What the review queue filters on in the store (jurisdiction is checked by the caller).
#[derive(Debug, Clone, Default)]
pub struct LiveFilter {
    pub survey: Option<String>,
    pub class: Option<String>,
    pub commune: Option<String>,
    /// Statuses to keep (all when empty).
    pub statuses: Vec<String>,
    /// Flight date range, inclusive, `YYYY-MM-DD` (flags without a flight date use their
    /// creation date).
    pub from: Option<String>,
    pub to: Option<String>,
    pub ids: Vec<i64>,
}

/// Live flags matching `f`, by id.
pub fn live_filtered(c: &Connection, f: &LiveFilter) -> Result<Vec<FlagRow>, StoreError> {
    use rusqlite::types::Value;
    let mut sql = format!("SELECT {COLUMNS} FROM flags WHERE superseded_at IS NULL");
    let mut values: Vec<Value> = Vec::new();
    let mut cond = |sql: &mut String, clause: &str, v: Value| {
        values.push(v);
        *sql += &clause.replace('?', &format!("?{}", values.len()));
    };
    if let Some(v) = &f.survey {
        cond(&mut sql, " AND survey_id = ?", Value::Text(v.clone()));
    }
    if let Some(v) = &f.class {
        cond(&mut sql, " AND class = ?", Value::Text(v.clone()));
    }
    if let Some(v) = &f.commune {
        cond(&mut sql, " AND commune_code = ?", Value::Text(v.clone()));
    }
    if let Some(v) = &f.from {
        let clause = " AND substr(coalesce(acquired_at, created_at), 1, 10) >= ?";
        cond(&mut sql, clause, Value::Text(v.clone()));
    }
    if let Some(v) = &f.to {
        let clause = " AND substr(coalesce(acquired_at, created_at), 1, 10) <= ?";
        cond(&mut sql, clause, Value::Text(v.clone()));
    }
    if !f.statuses.is_empty() {
        sql += " AND status IN (";
        for (i, v) in f.statuses.iter().enumerate() {
            cond(
                &mut sql,
                if i == 0 { "?" } else { ", ?" },
                Value::Text(v.clone()),
            );
        }
        sql += ")";
    }
    if !f.ids.is_empty() {
        sql += " AND id IN (";
        for (i, v) in f.ids.iter().enumerate() {
            cond(
                &mut sql,
                if i == 0 { "?" } else { ", ?" },
                Value::Integer(*v),
            );
        }
        sql += ")";
    }
    sql += " ORDER BY id";
    let rows = c
        .prepare(&sql)?
        .query_map(super::sql::params_from_iter(values), row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Live flags that re-plant `id` (raised later over the plot it recorded as eradicated).
pub fn replanted_by(c: &Connection, id: i64) -> Result<Vec<i64>, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT id FROM flags WHERE replanting_of = ?1 AND superseded_at IS NULL ORDER BY id",
    )?;
    let rows = st
        .query_map([id], |r| r.get(0))?
        .collect::<Result<Vec<i64>, _>>()?;
    Ok(rows)
}
