//! Vigil's own endpoints: login, vocabulary, lifecycle transitions and history, bulk import,
//! audit log, users, health.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::error::ApiError;
use super::extract::{Auth, Body, Json, RawQuery, parse_id};
use super::features::{self, GEOJSON};
use super::query::base;
use crate::auth::Principal;
use crate::hotspots::import::Format;
use crate::hotspots::{Kind, Status};
use crate::service::AuditQuery;

fn json_ok(v: serde_json::Value) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        v.to_string(),
    )
        .into_response()
}

fn user_json(p: &Principal) -> serde_json::Value {
    json!({ "user": { "name": p.name, "role": p.role, "jurisdiction": p.jurisdiction } })
}

pub async fn healthz(State(state): State<AppState>) -> Response {
    let ok = state.run(|v| v.store().ping().map_err(Into::into)).await;
    match ok {
        Ok(()) => {
            let skipped = state.vigil.skipped_rows();
            let mut body = json!({ "status": "ok",  "version": env!("CARGO_PKG_VERSION") });
            if !skipped.is_empty() {
                // Rows left out at start-up: the service runs without them until they are fixed.
                body["status"] = json!("degraded");
                body["skipped_rows"] = json!(skipped);
            }
            // Object storage, when configured: tiles of surveys this node does not hold
            // locally are not served while it does not answer.
            let vigil = state.vigil.clone();
            let storage = tokio::task::spawn_blocking(move || {
                vigil.objects().map(|o| (o.url().to_string(), o.ping()))
            })
            .await
            .ok()
            .flatten();
            // (No URL or error text: /healthz answers anyone; the log has them.)
            if let Some((url, res)) = storage {
                body["storage"] = match res {
                    Ok(()) => json!({ "status": "ok" }),
                    Err(e) => {
                        tracing::warn!(url, error = %e, "object storage does not answer");
                        body["status"] = json!("degraded");
                        json!({ "status": "unreachable" })
                    }
                };
            }
            json_ok(body)
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/json")],
            json!({ "status": "unavailable" }).to_string(),
        )
            .into_response(),
    }
}

/// Either an access token, or a user name and password (which start a 12-hour session).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    token: Option<String>,
    name: Option<String>,
    password: Option<String>,
}

pub async fn login(
    State(state): State<AppState>,
    Json(l): Json<Login>,
) -> Result<Response, ApiError> {
    match l {
        Login {
            token: Some(token),
            name: None,
            password: None,
        } => {
            let token = token.trim().to_string();
            let p = state.run(move |v| v.authenticate(&token)).await?;
            tracing::info!(user = %p.name, "login with token");
            Ok(json_ok(user_json(&p)))
        }
        Login {
            token: None,
            name: Some(name),
            password: Some(password),
        } => {
            let (token, expires_at, p) = state
                .run(move |v| v.login_password(&name, &password))
                .await?;
            tracing::info!(user = %p.name, "login with password");
            let mut body = user_json(&p);
            body["token"] = json!(token);
            body["expires_at"] = json!(expires_at);
            Ok(json_ok(body))
        }
        _ => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "send either {\"token\"} or {\"name\", \"password\"}",
        )),
    }
}

pub async fn me(Auth(who): Auth) -> Response {
    json_ok(user_json(&who))
}

pub async fn vocab(Auth(_): Auth) -> Response {
    let kinds: Vec<_> = Kind::ALL
        .iter()
        .map(|k| json!({ "code": k.code(), "vi": k.label_vi(), "en": k.label_en() }))
        .collect();
    let statuses: Vec<_> = Status::ALL.iter().map(|s| json!({ "code": s.code(), "vi": s.label_vi(), "en": s.label_en(), "color": s.color() })).collect();
    let transitions: serde_json::Map<String, serde_json::Value> = Status::ALL
        .iter()
        .map(|s| {
            (
                s.code().to_string(),
                json!(s.next().iter().map(|n| n.code()).collect::<Vec<_>>()),
            )
        })
        .collect();
    json_ok(json!({ "kinds": kinds, "statuses": statuses, "transitions": transitions }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionIn {
    to: String,
    on: Option<String>,
    note: Option<String>,
}

pub async fn transition(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(t): Json<TransitionIn>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "hotspot")?;
    let to = Status::from_input(&t.to).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "to={:?} is not a status; one of reported, verifying, eliminated, reemerged",
                t.to
            ),
        )
    })?;
    let expected = match headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) {
        Some(s) if s.trim() != "*" => Some(
            s.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .parse::<i64>()
                .map_err(|_| {
                    ApiError::bad_request(format!("If-Match {s:?} is not an ETag from this server"))
                })?,
        ),
        _ => None,
    };
    let h = state
        .run(move |v| v.transition(&who, id, to, t.on.as_deref(), t.note, expected))
        .await?;
    let b = base(&state, &headers);
    let bi = state.vigil.boundaries();
    let body = serde_json::to_string(&features::hotspot(
        &h,
        &bi,
        features::identity,
        vec![features::Link::new(
            format!("{b}/collections/hotspots/items/{}", h.id),
            "self",
            GEOJSON,
            "",
        )],
    ))
    .map_err(|e| ApiError::internal("serialise", e))?;
    let mut resp = (
        [(header::CONTENT_TYPE, HeaderValue::from_static(GEOJSON))],
        body,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", h.version)) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    Ok(resp)
}

pub async fn history(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "hotspot")?;
    let events = state.run(move |v| v.history(&who, id)).await?;
    let events: Vec<_> = events
        .iter()
        .map(|e| {
            json!({
                "from": e.from.map(|s| s.code()),
                "from_label": e.from.map(|s| s.label_vi()),
                "to": e.to.code(),
                "to_label": e.to.label_vi(),
                "on": crate::time_util::format_date(e.on),
                "actor": e.actor,
                "note": e.note,
                "recorded_at": e.recorded_at,
            })
        })
        .collect();
    Ok(json_ok(json!({ "hotspot": id, "events": events })))
}

pub async fn import_hotspots(
    State(state): State<AppState>,
    Auth(who): Auth,
    q: RawQuery,
    headers: HeaderMap,
    Body(bytes): Body,
) -> Result<Response, ApiError> {
    q.only(&["format", "crs", "name"])?;
    let m = q.map();
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.split(';').next().unwrap_or("").trim().to_string());
    let format = match (m.get("format"), ct.as_deref()) {
        (Some(f), _) => Format::from_name(f).ok_or_else(|| ApiError::bad_request(format!("format={f:?}: one of csv, geojson, kml")))?,
        (None, Some(ct)) => Format::from_name(ct).ok_or_else(|| {
            ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, format!("Content-Type {ct:?} is not an import format; send text/csv, application/geo+json or application/vnd.google-earth.kml+xml, or give ?format="))
        })?,
        (None, None) => return Err(ApiError::bad_request("say what the file is: ?format=csv|geojson|kml or a Content-Type")),
    };
    let crs = m.get("crs").map(|s| s.to_string());
    let name = m
        .get("name")
        .map(|s| s.to_string())
        .unwrap_or_else(|| "upload".into());
    let summary = state
        .run(move |v| v.import_hotspots(&who, &bytes, format, crs.as_deref(), &name))
        .await?;
    Ok(json_ok(
        serde_json::to_value(summary).map_err(|e| ApiError::internal("serialise", e))?,
    ))
}

pub async fn audit(
    State(state): State<AppState>,
    Auth(who): Auth,
    q: RawQuery,
) -> Result<Response, ApiError> {
    q.only(&["entity", "entity_id", "before", "limit"])?;
    let m = q.map();
    let num = |k: &str| -> Result<Option<i64>, ApiError> {
        m.get(k)
            .map(|s| {
                s.parse::<i64>().map_err(|_| {
                    ApiError::bad_request(format!("{k}={s:?}: expected a whole number"))
                })
            })
            .transpose()
    };
    let query = AuditQuery {
        entity: m.get("entity").map(|s| s.to_string()),
        entity_id: m.get("entity_id").map(|s| s.to_string()),
        before_id: num("before")?,
        limit: match m.get("limit") {
            None => 100,
            Some(s) => super::extract::parse_count(s)
                .ok_or_else(|| {
                    ApiError::bad_request(format!("limit={s:?}: expected a whole number"))
                })?
                .clamp(1, 1000) as usize,
        },
    };
    let entries = state.run(move |v| v.audit(&who, &query)).await?;
    Ok(json_ok(json!({ "entries": entries })))
}

pub async fn users(State(state): State<AppState>, Auth(who): Auth) -> Result<Response, ApiError> {
    let users = state.run(move |v| v.list_users(&who)).await?;
    Ok(json_ok(json!({ "users": users })))
}
