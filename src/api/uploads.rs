//! Resumable uploads over HTTP: `POST /v1/uploads` starts a session, `PUT …/chunks/{n}` sends one
//! chunk (streamed, never held whole), `GET` reports what is missing, `POST …/commit` verifies and
//! stores the file, `DELETE` cancels. The rules are in `service::uploads`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::{Auth, Json};
use super::query::base;
use super::query::json_value;
use crate::service::uploads::{ChunkReceipt, NewUpload, UploadStatus};

fn status_json(base: &str, s: &UploadStatus) -> Value {
    let me = format!("{base}/v1/uploads/{}", s.id);
    json!({
        "id": s.id,
        "owner": s.owner,
        "filename": s.filename,
        "content_type": s.content_type,
        "size": s.size,
        "sha256": s.sha256,
        "state": s.state,
        "failure": s.failure,
        "chunk_size": s.chunk_size,
        "chunks": s.chunks,
        "received": s.received,
        "received_bytes": s.received_bytes,
        "missing": s.missing,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
        "expires_at": s.expires_at,
        "links": [
            { "rel": "self", "href": me, "type": "application/json" },
            { "rel": "chunk", "href": format!("{me}/chunks/{{n}}"), "templated": true, "method": "PUT", "type": "application/octet-stream" },
            { "rel": "commit", "href": format!("{me}/commit"), "method": "POST" },
        ],
    })
}

fn receipt_json(r: &ChunkReceipt) -> Value {
    json!({
        "chunk": r.n,
        "sha256": r.sha256,
        "length": r.length,
        "repeated": r.repeated,
        "state": r.state,
        "received_chunks": r.received_chunks,
        "chunks": r.chunks,
    })
}

/// `POST /v1/uploads` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUploadIn {
    filename: String,
    size: u64,
    sha256: String,
    content_type: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    Auth(who): Auth,
    headers: HeaderMap,
    Json(body): Json<NewUploadIn>,
) -> Result<Response, ApiError> {
    let new = NewUpload {
        filename: body.filename,
        size: body.size,
        sha256: body.sha256,
        content_type: body.content_type,
    };
    let s = state.run(move |v| v.create_upload(&who, new)).await?;
    let body = status_json(&base(&state, &headers), &s);
    let mut resp = json_value(StatusCode::CREATED, body);
    if let Ok(loc) = HeaderValue::from_str(&format!("/v1/uploads/{}", s.id)) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

pub async fn status(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let s = state.run(move |v| v.upload_status(&who, &id)).await?;
    Ok(json_value(
        StatusCode::OK,
        status_json(&base(&state, &headers), &s),
    ))
}

pub async fn cancel(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let s = state.run(move |v| v.cancel_upload(&who, &id)).await?;
    Ok(json_value(
        StatusCode::OK,
        status_json(&base(&state, &headers), &s),
    ))
}

pub async fn commit(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let c = state.run(move |v| v.commit_upload(&who, &id)).await?;
    Ok(json_value(
        StatusCode::OK,
        status_json(&base(&state, &headers), &c.status),
    ))
}

/// `PUT /v1/uploads/{id}/chunks/{n}`: the body is chunk `n`'s raw bytes, passed on frame by frame.
/// The chunk index of a chunk PUT's path and its declared `Content-Length` (ignored when not a
/// number: the body is cut at the chunk's length anyway).
pub(super) fn chunk_request(
    n: &str,
    content_length: Option<&str>,
) -> Result<(u64, Option<u64>), ApiError> {
    let index: u64 = n.parse().map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("chunk index {n:?} is not a whole number"),
        )
    })?;
    let declared = content_length.and_then(|v| v.trim().parse::<u64>().ok());
    Ok((index, declared))
}

pub async fn put_chunk(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((id, n)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let (n, declared) = chunk_request(
        &n,
        headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()),
    )?;
    let mut sink = state
        .run(move |v| v.begin_chunk(&who, &id, n, declared))
        .await?;
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            ApiError::bad_request(format!(
                "the chunk body broke off ({e}); nothing was recorded, send the chunk again"
            ))
        })?;
        if let Ok(data) = frame.into_data() {
            sink.send(data).await?;
        }
    }
    let receipt = sink.finish(state.vigil.clone()).await?;
    Ok(json_value(StatusCode::OK, receipt_json(&receipt)))
}
