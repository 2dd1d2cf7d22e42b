//! Extractors that turn malformed input into the same problem+json shape as every other error,
//! never axum's default plain-text rejections.

use std::collections::HashMap;

use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use crate::auth::Principal;

/// A JSON body; syntax, type and unknown-field errors name the problem.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("invalid JSON body: {}", e.body_text()),
            )),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(ApiError::bad_request(format!(
                "malformed JSON: {}",
                e.body_text()
            ))),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send the body as JSON (Content-Type: application/json or application/geo+json)",
            )),
            Err(JsonRejection::BytesRejection(e)) => Err(body_error(e)),
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

/// A raw body within the route's size limit.
pub struct Body(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(Body)
            .map_err(body_error)
    }
}

fn body_error(e: BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is larger than this endpoint accepts",
        )
    } else {
        ApiError::bad_request(format!("cannot read the request body: {}", e.body_text()))
    }
}

/// The query string as ordered pairs; handlers check names and values themselves so unknown
/// parameters can be refused by name (OGC API – Features requires 400 for them).
#[derive(Debug, Clone)]
pub struct RawQuery(pub Vec<(String, String)>);

impl RawQuery {
    pub fn map(&self) -> HashMap<&str, &str> {
        self.0
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// Refuses any parameter not in `allowed`.
    pub fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        for (k, _) in &self.0 {
            if !allowed.contains(&k.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter {k:?}; allowed here: {}",
                    allowed.join(", ")
                )));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (k, _) in &self.0 {
            if !seen.insert(k) {
                return Err(ApiError::bad_request(format!(
                    "query parameter {k:?} is given more than once"
                )));
            }
        }
        Ok(())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RawQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        Ok(RawQuery(
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect(),
        ))
    }
}

/// The user name and secret of `Authorization: Basic …` (`None` for another scheme).
fn basic_credentials(value: &str) -> Result<Option<(String, String)>, ApiError> {
    let Some((scheme, rest)) = value.split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    use base64::Engine;
    let bad = || {
        ApiError::unauthorized(
            "the Basic credentials must be base64 of `user name:access token or password` (UTF-8)",
        )
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (name, secret) = text.split_once(':').ok_or_else(bad)?;
    if name.trim().is_empty() || secret.is_empty() {
        return Err(bad());
    }
    Ok(Some((name.to_string(), secret.to_string())))
}

/// The authenticated caller, from `Authorization: Bearer <token>` or, for desktop GIS,
/// `Authorization: Basic` with the user name and an access token or password.
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "this resource needs an access token: send `Authorization: Bearer <token>`",
                )
            })?;
        let value = header
            .to_str()
            .map_err(|_| ApiError::unauthorized("the Authorization header is not valid text"))?;
        if let Some((name, secret)) = basic_credentials(value)? {
            if let Some(p) = state.vigil.cached_basic(&name, &secret) {
                return Ok(Auth(p));
            }
            let principal = state
                .run(move |v| v.authenticate_basic(&name, &secret))
                .await?;
            return Ok(Auth(principal));
        }
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "the Authorization header must be `Bearer <token>` or `Basic` with your user name and an access token or password",
                )
            })?
            .trim()
            .to_string();
        if let Some(p) = state.vigil.cached_principal(&token) {
            return Ok(Auth(p));
        }
        let principal = state.run(move |v| v.authenticate(&token)).await?;
        Ok(Auth(principal))
    }
}

/// A whole number from a query string (ASCII digits, an optional leading `+`). One too large
/// for `u64` is `u64::MAX`: callers clamp counts to their maximum, so every over-large value
/// means "the most there is", however many digits it has.
pub fn parse_count(s: &str) -> Option<u64> {
    let digits = s.strip_prefix('+').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse::<u64>().unwrap_or(u64::MAX))
}

/// Parses a path id, naming it when it is not a number.
pub fn parse_id(s: &str, what: &str) -> Result<i64, ApiError> {
    s.parse::<i64>()
        .map_err(|_| ApiError::not_found(format!("{what} {s:?} does not exist (ids are integers)")))
}
