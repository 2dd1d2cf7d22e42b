//! Surveys and their ingest jobs. A survey row *is* its job: the queue is the rows in state
//! `queued`, oldest first; `running` rows belong to a worker (and are re-queued at start-up, since
//! no worker survives a restart). The rules live in `service::surveys`.

use super::sql::{Connection, OptionalExtension, Row, params};

use super::StoreError;

/// The states of a survey (and its job).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SurveyState {
    Queued,
    Running,
    Ready,
    Failed,
    Cancelled,
}

impl SurveyState {
    pub fn code(self) -> &'static str {
        match self {
            SurveyState::Queued => "queued",
            SurveyState::Running => "running",
            SurveyState::Ready => "ready",
            SurveyState::Failed => "failed",
            SurveyState::Cancelled => "cancelled",
        }
    }

    pub fn from_code(s: &str) -> Option<SurveyState> {
        Some(match s {
            "queued" => SurveyState::Queued,
            "running" => SurveyState::Running,
            "ready" => SurveyState::Ready,
            "failed" => SurveyState::Failed,
            "cancelled" => SurveyState::Cancelled,
            _ => return None,
        })
    }

    pub fn is_finished(self) -> bool {
        matches!(
            self,
            SurveyState::Ready | SurveyState::Failed | SurveyState::Cancelled
        )
    }
}

/// A survey as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyRow {
    pub id: String,
    pub name: String,
    pub state: SurveyState,
    pub upload_id: Option<String>,
    pub source_path: String,
    pub source_size: u64,
    pub source_sha256: Option<String>,
    pub filename: String,
    pub operator_id: i64,
    pub operator: String,
    pub jurisdiction: String,
    pub bands_override: Option<String>,
    pub acquired_at: Option<String>,
    pub acquired_from: Option<String>,
    pub meta: Option<String>,
    pub footprint: Option<String>,
    pub bbox: Option<[f64; 4]>,
    pub province_code: Option<String>,
    pub commune_code: Option<String>,
    pub progress: f64,
    pub stage: Option<String>,
    pub error_code: Option<String>,
    pub error: Option<String>,
    pub cancel_requested: bool,
    pub attempts: i64,
    pub created_at: String,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub updated_at: String,
}

const COLUMNS: &str = "id, name, state, upload_id, source_path, source_size, source_sha256, filename, \
    operator_id, operator, jurisdiction, bands_override, acquired_at, acquired_from, meta, footprint, \
    min_lon, min_lat, max_lon, max_lat, province_code, commune_code, progress, stage, error_code, error, \
    cancel_requested, attempts, created_at, started_at, completed_at, updated_at";

fn row(r: &Row<'_>) -> rusqlite::Result<(SurveyRow, String)> {
    let state: String = r.get(2)?;
    let bbox = match (
        r.get::<_, Option<f64>>(16)?,
        r.get::<_, Option<f64>>(17)?,
        r.get::<_, Option<f64>>(18)?,
        r.get::<_, Option<f64>>(19)?,
    ) {
        (Some(a), Some(b), Some(c), Some(d)) => Some([a, b, c, d]),
        _ => None,
    };
    Ok((
        SurveyRow {
            id: r.get(0)?,
            name: r.get(1)?,
            state: SurveyState::Queued,
            upload_id: r.get(3)?,
            source_path: r.get(4)?,
            source_size: r.get::<_, i64>(5)? as u64,
            source_sha256: r.get(6)?,
            filename: r.get(7)?,
            operator_id: r.get(8)?,
            operator: r.get(9)?,
            jurisdiction: r.get(10)?,
            bands_override: r.get(11)?,
            acquired_at: r.get(12)?,
            acquired_from: r.get(13)?,
            meta: r.get(14)?,
            footprint: r.get(15)?,
            bbox,
            province_code: r.get(20)?,
            commune_code: r.get(21)?,
            progress: r.get(22)?,
            stage: r.get(23)?,
            error_code: r.get(24)?,
            error: r.get(25)?,
            cancel_requested: r.get::<_, i64>(26)? != 0,
            attempts: r.get(27)?,
            created_at: r.get(28)?,
            started_at: r.get(29)?,
            completed_at: r.get(30)?,
            updated_at: r.get(31)?,
        },
        state,
    ))
}

fn with_state((mut s, code): (SurveyRow, String)) -> Result<SurveyRow, StoreError> {
    s.state = SurveyState::from_code(&code).ok_or_else(|| StoreError::Corrupt {
        table: "surveys",
        message: format!("survey {}: unknown state {code:?}", s.id),
    })?;
    Ok(s)
}

fn query(
    c: &Connection,
    where_sql: &str,
    p: impl super::sql::Params,
) -> Result<Vec<SurveyRow>, StoreError> {
    let mut st = c.prepare(&format!("SELECT {COLUMNS} FROM surveys {where_sql}"))?;
    let rows = st.query_map(p, row)?.collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(with_state).collect()
}

/// Inserts a new survey (state `queued` or `running`).
pub fn insert(c: &Connection, s: &SurveyRow) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO surveys (id, name, state, upload_id, source_path, source_size, source_sha256, filename, \
         operator_id, operator, jurisdiction, bands_override, acquired_at, acquired_from, progress, attempts, \
         created_at, started_at, updated_at, province_code, commune_code) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 0, ?15, ?16, ?17, ?16, ?18, ?19)",
        params![
            s.id,
            s.name,
            s.state.code(),
            s.upload_id,
            s.source_path,
            s.source_size as i64,
            s.source_sha256,
            s.filename,
            s.operator_id,
            s.operator,
            s.jurisdiction,
            s.bands_override,
            s.acquired_at,
            s.acquired_from,
            s.attempts,
            s.created_at,
            s.started_at,
            s.province_code,
            s.commune_code,
        ],
    )?;
    Ok(())
}

pub fn get(c: &Connection, id: &str) -> Result<Option<SurveyRow>, StoreError> {
    c.query_row(
        &format!("SELECT {COLUMNS} FROM surveys WHERE id = ?1"),
        [id],
        row,
    )
    .optional()?
    .map(with_state)
    .transpose()
}

/// Every survey, newest first.
pub fn list(c: &Connection) -> Result<Vec<SurveyRow>, StoreError> {
    query(c, "ORDER BY created_at DESC, id DESC", ())
}

/// Ready surveys (for the index).
pub fn ready(c: &Connection) -> Result<Vec<SurveyRow>, StoreError> {
    query(c, "WHERE state = 'ready' ORDER BY id", ())
}

/// A cheap fingerprint of the ready set, to notice surveys finished by another process.
pub fn ready_fingerprint(c: &Connection) -> Result<(i64, Option<String>), StoreError> {
    Ok(c.query_row(
        "SELECT count(*), max(completed_at) FROM surveys WHERE state = 'ready'",
        (),
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// The live survey made from an upload, if any.
pub fn live_for_upload(c: &Connection, upload: &str) -> Result<Option<SurveyRow>, StoreError> {
    Ok(query(
        c,
        "WHERE upload_id = ?1 AND state IN ('queued', 'running', 'ready')",
        [upload],
    )?
    .into_iter()
    .next())
}

/// Takes the oldest queued survey, marking it running by `runner`.
/// Who runs a job, and until when its lease holds (Unix seconds).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobRunner {
    /// `pid@boot-id`; `None` on rows of older versions.
    pub runner: Option<String>,
    pub lease_until: Option<i64>,
}

/// Claims the oldest queued job for `runner`, with a lease until `lease_until`.
pub fn claim_next(
    c: &Connection,
    now: &str,
    runner: &str,
    lease_until: i64,
) -> Result<Option<SurveyRow>, StoreError> {
    let id: Option<String> = c
        .query_row(
            "SELECT id FROM surveys WHERE state = 'queued' ORDER BY created_at, id LIMIT 1",
            (),
            |r| r.get(0),
        )
        .optional()?;
    let Some(id) = id else { return Ok(None) };
    c.execute(
        "UPDATE surveys SET state = 'running', attempts = attempts + 1, started_at = ?2, progress = 0, \
         stage = 'validate', error_code = NULL, error = NULL, updated_at = ?2, runner = ?3, \
         lease_until = ?4 WHERE id = ?1",
        params![id, now, runner, lease_until],
    )?;
    get(c, &id)
}

/// Records progress of attempt `attempt` of a running job (an attempt that lost the job to
/// another runner writes nothing).
pub fn set_progress(
    c: &Connection,
    id: &str,
    attempt: i64,
    progress: f64,
    stage: &str,
    now: &str,
) -> Result<(), StoreError> {
    c.execute(
        "UPDATE surveys SET progress = ?2, stage = ?3, updated_at = ?4 \
         WHERE id = ?1 AND state = 'running' AND attempts = ?5",
        params![id, progress, stage, now, attempt],
    )?;
    Ok(())
}

/// Whether survey `id` is still running as attempt `attempt` of `runner`: the fence every write
/// of an attempt's end checks inside its transaction. An attempt whose lease ran out while its
/// node was paused (the job re-queued, and claimed again with the next attempt number) holds
/// nothing any more, and must write nothing.
pub fn holds(c: &Connection, id: &str, runner: &str, attempt: i64) -> Result<bool, StoreError> {
    Ok(c.prepare(
        "SELECT 1 FROM surveys WHERE id = ?1 AND state = 'running' AND runner = ?2 \
             AND attempts = ?3",
    )?
    .exists(params![id, runner, attempt])?)
}

/// What a finished tiling recorded.
#[derive(Debug, Clone)]
pub struct Finished<'a> {
    pub meta: &'a str,
    pub footprint: &'a str,
    pub bbox: [f64; 4],
    pub province_code: Option<&'a str>,
    pub commune_code: Option<&'a str>,
    pub acquired_at: &'a str,
    pub acquired_from: &'a str,
}

pub fn set_ready(c: &Connection, id: &str, f: &Finished<'_>, now: &str) -> Result<(), StoreError> {
    c.execute(
        "UPDATE surveys SET state = 'ready', progress = 100, stage = NULL, meta = ?2, footprint = ?3, \
         min_lon = ?4, min_lat = ?5, max_lon = ?6, max_lat = ?7, province_code = ?8, commune_code = ?9, \
         acquired_at = ?10, acquired_from = ?11, completed_at = ?12, updated_at = ?12, \
         error_code = NULL, error = NULL WHERE id = ?1",
        params![
            id,
            f.meta,
            f.footprint,
            f.bbox[0],
            f.bbox[1],
            f.bbox[2],
            f.bbox[3],
            f.province_code,
            f.commune_code,
            f.acquired_at,
            f.acquired_from,
            now
        ],
    )?;
    Ok(())
}

/// Ends a job as failed or cancelled, with the reason.
pub fn set_finished_without_tiles(
    c: &Connection,
    id: &str,
    state: SurveyState,
    code: &str,
    message: &str,
    meta: Option<&str>,
    now: &str,
) -> Result<(), StoreError> {
    c.execute(
        "UPDATE surveys SET state = ?2, stage = NULL, error_code = ?3, error = ?4, meta = COALESCE(?5, meta), \
         completed_at = ?6, updated_at = ?6 WHERE id = ?1",
        params![id, state.code(), code, message, meta, now],
    )?;
    Ok(())
}

pub fn request_cancel(c: &Connection, id: &str, now: &str) -> Result<(), StoreError> {
    c.execute(
        "UPDATE surveys SET cancel_requested = 1, updated_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

pub fn cancel_requested(c: &Connection, id: &str) -> Result<bool, StoreError> {
    Ok(c.query_row(
        "SELECT cancel_requested FROM surveys WHERE id = ?1",
        [id],
        |r| r.get::<_, i64>(0),
    )? != 0)
}

/// Surveys in state `running`, with the process said to run each.
pub fn running(c: &Connection) -> Result<Vec<(SurveyRow, JobRunner)>, StoreError> {
    let rows = query(c, "WHERE state = 'running'", ())?;
    rows.into_iter()
        .map(|r| {
            let runner = c.query_row(
                "SELECT runner, lease_until FROM surveys WHERE id = ?1",
                [&r.id],
                |x| {
                    Ok(JobRunner {
                        runner: x.get(0)?,
                        lease_until: x.get(1)?,
                    })
                },
            )?;
            Ok((r, runner))
        })
        .collect()
}

/// The runner of a survey if it is still `running` (`Some(None)`: running without a runner, as
/// rows of older versions were), or `None` when it is no longer running.
pub fn runner_if_running(c: &Connection, id: &str) -> Result<Option<JobRunner>, StoreError> {
    Ok(c.query_row(
        "SELECT runner, lease_until FROM surveys WHERE id = ?1 AND state = 'running'",
        [id],
        |r| {
            Ok(JobRunner {
                runner: r.get(0)?,
                lease_until: r.get(1)?,
            })
        },
    )
    .optional()?)
}

pub fn set_runner(
    c: &Connection,
    id: &str,
    runner: &str,
    lease_until: i64,
) -> Result<(), StoreError> {
    c.execute(
        "UPDATE surveys SET runner = ?2, lease_until = ?3 WHERE id = ?1",
        params![id, runner, lease_until],
    )?;
    Ok(())
}

/// Extends the lease of a job `runner` still runs; whether it still does.
pub fn renew_lease(
    c: &Connection,
    id: &str,
    runner: &str,
    lease_until: i64,
) -> Result<bool, StoreError> {
    let n = c.execute(
        "UPDATE surveys SET lease_until = ?3 WHERE id = ?1 AND runner = ?2 AND state = 'running'",
        params![id, runner, lease_until],
    )?;
    Ok(n > 0)
}

pub fn requeue(c: &Connection, id: &str, now: &str) -> Result<(), StoreError> {
    c.execute(
        "UPDATE surveys SET state = 'queued', progress = 0, stage = NULL, updated_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}
