//! Errors as `application/problem+json` (RFC 9457): every failure a client sees has a type, a
//! title, a status and a detail naming what was wrong. 5xx details are logged, not shown.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::hotspots::import::ImportError;
use crate::service::Error;

/// An HTTP error response.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: String,
    pub extra: Vec<(&'static str, Value)>,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: detail.into(),
            extra: Vec::new(),
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, detail)
    }

    pub fn internal(context: &str, e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "{context}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "an internal error occurred; it has been logged",
        )
    }

    fn with(mut self, key: &'static str, v: Value) -> Self {
        self.extra.push((key, v));
        self
    }
}

fn slug(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad-request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not-found",
        405 => "method-not-allowed",
        409 => "conflict",
        412 => "precondition-failed",
        413 => "payload-too-large",
        415 => "unsupported-media-type",
        422 => "invalid-input",
        429 => "too-many-requests",
        503 => "unavailable",
        _ => "internal",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": format!("https://vigil.example/problems/{}", slug(self.status)),
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        for (k, v) in self.extra {
            body[k] = v;
        }
        let mut resp = (self.status, body.to_string()).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"vigil\""),
            );
        }
        resp
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Unauthorized(m) => ApiError::unauthorized(m),
            Error::Throttled(m) => ApiError::new(StatusCode::TOO_MANY_REQUESTS, m),
            Error::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, m),
            Error::NotFound(m) => ApiError::not_found(m),
            Error::Conflict(m) => ApiError::new(StatusCode::CONFLICT, m),
            e @ Error::PreconditionFailed { current } => {
                ApiError::new(StatusCode::PRECONDITION_FAILED, e.to_string())
                    .with("current_version", json!(current))
            }
            Error::UnsupportedMedia(m) => ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, m),
            Error::Rejected { code, message } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message).with("code", json!(code))
            }
            e @ Error::StaleVersion { current, .. } => {
                ApiError::new(StatusCode::CONFLICT, e.to_string())
                    .with("code", json!("stale_version"))
                    .with("current_version", json!(current))
            }
            Error::StateConflict {
                code,
                message,
                status,
                version,
            } => ApiError::new(StatusCode::CONFLICT, message)
                .with("code", json!(code))
                .with("current_status", json!(status))
                .with("current_version", json!(version)),
            Error::Invalid(errors) => {
                let detail = errors
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; ");
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
                    .with("errors", json!(errors))
            }
            Error::Import(ImportError::Rows(rows)) => {
                let detail = format!(
                    "{}; nothing was imported. {}",
                    crate::hotspots::import::bad_rows(&rows),
                    rows.iter()
                        .take(5)
                        .map(|r| r.to_string())
                        .collect::<Vec<_>>()
                        .join("; ")
                );
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, detail).with("errors", json!(rows))
            }
            Error::Import(e @ ImportError::TooMany { .. }) => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, e.to_string())
            }
            Error::Import(e @ ImportError::Unreadable { .. }) => {
                ApiError::bad_request(e.to_string())
            }
            Error::Import(e) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
            Error::Boundaries(e) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
            Error::Crs(e) => ApiError::bad_request(e.to_string()),
            Error::Store(e) => ApiError::internal("store error", e),
            Error::PayloadTooLarge {
                message,
                limit,
                bytes,
            } => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, message)
                .with("limit", json!({ "name": limit, "bytes": bytes })),
            Error::MissingChunks { message, missing } => {
                ApiError::new(StatusCode::CONFLICT, message).with("missing", json!(missing))
            }
            ref e @ Error::Checksum {
                ref expected,
                ref actual,
                ..
            } => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).with(
                "checksum",
                json!({ "algorithm": "sha256", "expected": expected, "actual": actual }),
            ),
            e @ Error::Disk { .. } => ApiError::internal("file error", e),
            Error::Unavailable { context, reason } => {
                tracing::warn!(%reason, "{context}: object storage is not answering");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("{context}: the object storage is not answering; try again shortly"),
                )
            }
        }
    }
}
