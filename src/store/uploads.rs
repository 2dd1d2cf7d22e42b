//! Upload sessions and the chunks recorded for them. A chunk row is written only after its bytes
//! are fsynced, so a row means "on disk"; the rules about states live in `upload` and `service`.

use std::collections::BTreeMap;

use super::sql::{Connection, OptionalExtension, Row, params};

use super::StoreError;
use crate::upload::State;

/// An upload session as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadRow {
    pub id: String,
    pub owner_id: i64,
    pub owner: String,
    /// The owner's jurisdiction when the session started (JSON), for the survey made from it.
    pub jurisdiction: String,
    pub filename: String,
    pub content_type: Option<String>,
    pub size: u64,
    pub sha256: String,
    pub chunk_size: u64,
    pub state: State,
    pub failure: Option<String>,
    /// The committed file, once committed.
    pub path: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub expires_at: String,
}

const COLUMNS: &str = "id, owner_id, owner, jurisdiction, filename, content_type, size, sha256, chunk_size, state, failure, path, created_at, updated_at, expires_at";

fn row(r: &Row<'_>) -> rusqlite::Result<(UploadRow, String)> {
    let state: String = r.get(9)?;
    Ok((
        UploadRow {
            id: r.get(0)?,
            owner_id: r.get(1)?,
            owner: r.get(2)?,
            jurisdiction: r.get(3)?,
            filename: r.get(4)?,
            content_type: r.get(5)?,
            size: r.get::<_, i64>(6)? as u64,
            sha256: r.get(7)?,
            chunk_size: r.get::<_, i64>(8)? as u64,
            state: State::Receiving,
            failure: r.get(10)?,
            path: r.get(11)?,
            created_at: r.get(12)?,
            updated_at: r.get(13)?,
            expires_at: r.get(14)?,
        },
        state,
    ))
}

fn with_state((mut u, code): (UploadRow, String)) -> Result<UploadRow, StoreError> {
    u.state = State::from_code(&code).ok_or_else(|| StoreError::Corrupt {
        table: "uploads",
        message: format!("upload {}: unknown state {code:?}", u.id),
    })?;
    Ok(u)
}

pub fn insert(c: &Connection, u: &UploadRow) -> Result<(), StoreError> {
    c.execute(
        &format!("INSERT INTO uploads ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"),
        params![
            u.id,
            u.owner_id,
            u.owner,
            u.jurisdiction,
            u.filename,
            u.content_type,
            u.size as i64,
            u.sha256,
            u.chunk_size as i64,
            u.state.code(),
            u.failure,
            u.path,
            u.created_at,
            u.updated_at,
            u.expires_at
        ],
    )?;
    Ok(())
}

pub fn get(c: &Connection, id: &str) -> Result<Option<UploadRow>, StoreError> {
    c.prepare_cached(&format!("SELECT {COLUMNS} FROM uploads WHERE id = ?1"))?
        .query_row([id], row)
        .optional()?
        .map(with_state)
        .transpose()
}

/// Sessions still receiving or complete (for start-up reconciliation).
pub fn open_sessions(c: &Connection) -> Result<Vec<UploadRow>, StoreError> {
    let mut stmt = c.prepare(&format!(
        "SELECT {COLUMNS} FROM uploads WHERE state IN ('receiving', 'complete') ORDER BY created_at"
    ))?;
    let rows = stmt.query_map((), row)?.collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(with_state).collect()
}

/// Committed sessions (their files are the sources of surveys), oldest first.
pub fn committed(c: &Connection) -> Result<Vec<UploadRow>, StoreError> {
    let mut stmt = c.prepare(&format!(
        "SELECT {COLUMNS} FROM uploads WHERE state = 'committed' ORDER BY created_at"
    ))?;
    let rows = stmt.query_map((), row)?.collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(with_state).collect()
}

/// Bytes the owner holds in sessions that count against the quota.
pub fn bytes_held(c: &Connection, owner_id: i64) -> Result<u64, StoreError> {
    let n: i64 = c.query_row(
        "SELECT COALESCE(SUM(size), 0) FROM uploads WHERE owner_id = ?1 AND state IN ('receiving', 'complete', 'committed') \
         AND NOT EXISTS (SELECT 1 FROM surveys s WHERE s.upload_id = uploads.id AND s.state = 'ready')",
        [owner_id],
        |r| r.get(0),
    )?;
    Ok(n.max(0) as u64)
}

/// Recorded chunks: index → SHA-256.
pub fn chunks(c: &Connection, id: &str) -> Result<BTreeMap<u64, String>, StoreError> {
    let mut stmt =
        c.prepare_cached("SELECT n, sha256 FROM upload_chunks WHERE upload_id = ?1 ORDER BY n")?;
    let rows = stmt.query_map([id], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn chunk_hash(c: &Connection, id: &str, n: u64) -> Result<Option<String>, StoreError> {
    Ok(
        c.prepare_cached("SELECT sha256 FROM upload_chunks WHERE upload_id = ?1 AND n = ?2")?
            .query_row(params![id, n as i64], |r| r.get(0))
            .optional()?,
    )
}

pub fn chunk_count(c: &Connection, id: &str) -> Result<u64, StoreError> {
    let n: i64 = c
        .prepare_cached("SELECT COUNT(*) FROM upload_chunks WHERE upload_id = ?1")?
        .query_row([id], |r| r.get(0))?;
    Ok(n as u64)
}

pub fn insert_chunk(
    c: &Connection,
    id: &str,
    n: u64,
    sha256: &str,
    now: &str,
) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO upload_chunks (upload_id, n, sha256, received_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![id, n as i64, sha256, now])?;
    Ok(())
}

pub fn delete_chunk(c: &Connection, id: &str, n: u64) -> Result<(), StoreError> {
    c.execute(
        "DELETE FROM upload_chunks WHERE upload_id = ?1 AND n = ?2",
        params![id, n as i64],
    )?;
    Ok(())
}

pub fn delete_chunks(c: &Connection, id: &str) -> Result<(), StoreError> {
    c.execute("DELETE FROM upload_chunks WHERE upload_id = ?1", [id])?;
    Ok(())
}

/// Sets the state (with a failure reason and the committed path where they apply).
pub fn set_state(
    c: &Connection,
    id: &str,
    state: State,
    failure: Option<&str>,
    path: Option<&str>,
    now: &str,
) -> Result<(), StoreError> {
    c.execute(
        "UPDATE uploads SET state = ?2, failure = ?3, path = COALESCE(?4, path), updated_at = ?5 WHERE id = ?1",
        params![id, state.code(), failure, path, now],
    )?;
    Ok(())
}

/// Records activity: a new state after a chunk, and a later expiry.
pub fn touch(
    c: &Connection,
    id: &str,
    state: State,
    now: &str,
    expires_at: &str,
) -> Result<(), StoreError> {
    c.prepare_cached(
        "UPDATE uploads SET state = ?2, updated_at = ?3, expires_at = ?4 WHERE id = ?1",
    )?
    .execute(params![id, state.code(), now, expires_at])?;
    Ok(())
}
