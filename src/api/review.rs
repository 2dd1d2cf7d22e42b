//! The review endpoints (issue 5): the queue, a flag's file (history, imagery, evidence),
//! decisions, queue priority, and the review vocabulary in Vietnamese.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::{Auth, Body, Json, RawQuery, parse_id};
use super::query::base;
use super::query::json_value;
use crate::auth::Principal;
use crate::boundaries::Level;
use crate::review::{self, Decision, Status};
use crate::service::flags::{FlagRow, LiveFilter};
use crate::service::review::{self as sr, DecisionInput, IdempotencyKey, QueueQuery, QueueSort};
use crate::service::review::{DecisionRow, EvidenceRow};

const QUEUE_PARAMS: &[&str] = &[
    "commune", "survey", "class", "status", "from", "to", "sort", "limit", "offset",
];

/// The version of a flag as an ETag, so clients can also use `If-Match`.
fn with_etag(mut r: Response, version: i64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("\"{version}\"")) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    match headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) {
        Some(s) if s.trim() != "*" => s
            .trim()
            .trim_start_matches("W/")
            .trim_matches('"')
            .parse::<i64>()
            .map(Some)
            .map_err(|_| {
                ApiError::bad_request(format!("If-Match {s:?} is not an ETag from this server"))
            }),
        _ => Ok(None),
    }
}

/// Decisions `who` may take on a flag now.
fn allowed(who: &Principal, f: &FlagRow) -> Vec<&'static str> {
    if !sr::can_review(who.role) || f.superseded_at.is_some() {
        return Vec::new();
    }
    Status::from_code(&f.status)
        .map(|s| s.next().iter().map(|n| Decision(*n).code()).collect())
        .unwrap_or_default()
}

/// A flag as the review page lists it.
fn summary(state: &AppState, who: &Principal, f: &FlagRow) -> Value {
    let bi = state.vigil.boundaries();
    let name = |level: Level, code: &Option<String>| {
        code.as_deref()
            .and_then(|c| bi.name(level, c))
            .map(str::to_string)
    };
    json!({
        "id": f.id,
        "class": f.class,
        "class_label": review::class_label_vi(&f.class),
        "status": f.status,
        "status_label": Status::from_code(&f.status).map(|s| s.label_vi()),
        "status_at": f.status_at,
        "version": f.version,
        "priority": f.priority.as_deref().unwrap_or("normal"),
        "score": sr::score(f),
        "confidence": f.confidence,
        "area_m2": f.area_m2,
        "replanting_of": f.replanting_of,
        "near_hotspots": f.near_hotspots,
        "survey": f.survey_id,
        "acquired_at": f.acquired_at,
        "created_at": f.created_at,
        "province_code": f.province_code,
        "province": name(Level::Province, &f.province_code),
        "commune_code": f.commune_code,
        "commune": name(Level::Commune, &f.commune_code),
        "point": f.point,
        "bbox": f.bbox,
        "superseded_at": f.superseded_at,
        "allowed_decisions": allowed(who, f),
    })
}

fn decision_json(d: &DecisionRow) -> Value {
    json!({
        "id": d.id,
        "decision": d.decision,
        "decision_label": Decision::from_code(&d.decision).map(|x| x.label_vi()),
        "from_status": d.from_status,
        "to_status": d.to_status,
        "reason": d.reason,
        "reason_label": d.reason.as_deref().and_then(review::reason_label),
        "note": d.note,
        "eradicated_on": d.eradicated_on,
        "area_destroyed_m2": d.area_destroyed_m2,
        "team": d.team,
        "actor": d.actor,
        "decided_at": d.decided_at,
        "version": d.version,
    })
}

pub fn evidence_json(b: &str, e: &EvidenceRow) -> Value {
    json!({
        "id": e.id,
        "flag_id": e.flag_id,
        "decision_id": e.decision_id,
        "kind": e.kind,
        "sha256": e.sha256,
        "bytes": e.bytes,
        "content_type": e.content_type,
        "width": e.width,
        "height": e.height,
        "taken_at": e.taken_at,
        "location": e.lon.zip(e.lat).map(|(lon, lat)| json!([lon, lat])),
        "gps_accuracy_m": e.gps_accuracy_m,
        "distance_m": e.distance_m,
        "camera": e.camera,
        "warnings": serde_json::from_str::<Value>(&e.warnings).unwrap_or(Value::Null),
        "uploaded_by": e.uploaded_by,
        "uploaded_at": e.uploaded_at,
        "href": format!("{b}/v1/evidence/{}", e.id),
    })
}

/// `GET /v1/review/vocab`: statuses, decisions, allowed transitions, reasons, priorities.
pub async fn vocab(Auth(_): Auth) -> Response {
    let statuses: Vec<Value> = Status::ALL
        .iter()
        .map(|s| json!({ "code": s.code(), "vi": s.label_vi(), "open": s.is_open() }))
        .collect();
    let decisions: Vec<Value> = Decision::all()
        .iter()
        .map(|d| json!({ "code": d.code(), "vi": d.label_vi(), "field": d.is_field_outcome() }))
        .collect();
    let transitions: serde_json::Map<String, Value> = Status::ALL
        .iter()
        .map(|s| {
            (
                s.code().to_string(),
                json!(
                    s.next()
                        .iter()
                        .map(|n| Decision(*n).code())
                        .collect::<Vec<_>>()
                ),
            )
        })
        .collect();
    let reasons: Vec<Value> = review::REASONS
        .iter()
        .map(|(c, l)| json!({ "code": c, "vi": l }))
        .collect();
    let priorities: Vec<Value> = review::PRIORITIES
        .iter()
        .map(|(c, l)| json!({ "code": c, "vi": l }))
        .collect();
    json_value(
        StatusCode::OK,
        json!({
            "statuses": statuses,
            "decisions": decisions,
            "transitions": transitions,
            "reasons": reasons,
            "priorities": priorities,
        }),
    )
}

fn date_param(
    m: &std::collections::HashMap<&str, &str>,
    k: &str,
) -> Result<Option<String>, ApiError> {
    match m.get(k) {
        None => Ok(None),
        Some(s) => crate::time_util::parse_date(s)
            .map(|d| Some(crate::time_util::format_date(d)))
            .map_err(|e| ApiError::bad_request(format!("{k}={s:?}: {e}"))),
    }
}

/// Parses the filters shared by the queue and the exports.
pub(super) fn live_filter(q: &RawQuery, open_by_default: bool) -> Result<LiveFilter, ApiError> {
    let m = q.map();
    let class = m.get("class").map(|s| s.to_string());
    if let Some(c) = &class
        && c != "poppy"
        && c != "cannabis"
    {
        return Err(ApiError::bad_request(format!(
            "class={c:?}: flags are poppy or cannabis"
        )));
    }
    let statuses: Vec<String> = match m.get("status").copied() {
        Some("all") => Vec::new(),
        Some("open") => open_statuses(),
        None if open_by_default => open_statuses(),
        None => Vec::new(),
        Some(list) => {
            let mut out = Vec::new();
            for s in list.split(',') {
                if Status::from_code(s).is_none() {
                    return Err(ApiError::bad_request(format!(
                        "status={s:?} is not a flag status; one of open, all, {}",
                        Status::ALL.map(|s| s.code()).join(", ")
                    )));
                }
                out.push(s.to_string());
            }
            out
        }
    };
    let ids = match m.get("ids") {
        None => Vec::new(),
        Some(s) => s
            .split(',')
            .filter(|x| !x.is_empty())
            .map(|x| {
                x.trim().parse::<i64>().map_err(|_| {
                    ApiError::bad_request(format!(
                        "ids: {x:?} is not a flag id (integers, comma-separated)"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok(LiveFilter {
        survey: m.get("survey").map(|s| s.to_string()),
        class,
        commune: m.get("commune").map(|s| s.to_string()),
        statuses,
        from: date_param(&m, "from")?,
        to: date_param(&m, "to")?,
        ids,
    })
}

fn open_statuses() -> Vec<String> {
    Status::ALL
        .iter()
        .filter(|s| s.is_open())
        .map(|s| s.code().to_string())
        .collect()
}

/// `GET /v1/review/queue`: the flags waiting for review in the caller's jurisdiction.
pub async fn queue(
    State(state): State<AppState>,
    Auth(who): Auth,
    q: RawQuery,
) -> Result<Response, ApiError> {
    q.only(QUEUE_PARAMS)?;
    let m = q.map();
    let sort = match m.get("sort") {
        None => QueueSort::Priority,
        Some(s) => QueueSort::from_code(s).ok_or_else(|| {
            ApiError::bad_request(format!("sort={s:?}: one of priority, newest, score"))
        })?,
    };
    let (limit, offset) = super::query::limit_offset(&state, &m)?;
    let query = QueueQuery {
        filter: live_filter(&q, true)?,
        sort,
        limit,
        offset,
    };
    let w = who.clone();
    let (rows, total) = state.run(move |v| v.review_queue(&w, &query)).await?;
    let items: Vec<Value> = rows.iter().map(|f| summary(&state, &who, f)).collect();
    Ok(json_value(
        StatusCode::OK,
        json!({
            "items": items,
            "total": total,
            "limit": limit,
            "offset": offset,
            "can_review": sr::can_review(who.role),
        }),
    ))
}

/// A flag's whole file: summary, outline, drivers, history, evidence and the surveys over it.
async fn dossier(state: &AppState, who: Principal, id: i64, b: &str) -> Result<Value, ApiError> {
    let w = who.clone();
    let (f, imagery, history, evidence, replanted_by) = state
        .run(move |v| {
            let (f, imagery) = v.flag_imagery(&w, id)?;
            let history = v.flag_decisions(&w, id)?;
            let evidence = v.flag_evidence(&w, id)?;
            let replanted_by = v.flag_replanted_by(&w, id)?;
            Ok((f, imagery, history, evidence, replanted_by))
        })
        .await?;
    let mut out = summary(state, &who, &f);
    out["geometry"] = super::flags::outline_json(&f.geometry);
    out["drivers"] = json!(
        f.drivers
            .iter()
            .map(|(n, z)| json!({ "feature": n, "z": z }))
            .collect::<Vec<_>>()
    );
    out["probabilities"] = json!(f.probabilities);
    out["model_version"] = json!(f.model_version);
    out["replanted_by"] = json!(replanted_by);
    out["history"] = json!(history.iter().map(decision_json).collect::<Vec<_>>());
    out["evidence"] = json!(
        evidence
            .iter()
            .map(|e| evidence_json(b, e))
            .collect::<Vec<_>>()
    );
    out["imagery"] = json!(
        imagery
            .iter()
            .map(|i| json!({
                "survey": i.survey.row.id,
                "name": i.survey.row.name,
                "acquired_at": i.survey.row.acquired_at,
                "own": i.own,
                "chip": format!("{b}/v1/flags/{}/chip.png?survey={}", f.id, i.survey.row.id),
            }))
            .collect::<Vec<_>>()
    );
    out["links"] = json!([
        { "rel": "self", "href": format!("{b}/v1/flags/{}", f.id) },
        { "rel": "alternate", "href": format!("{b}/collections/flags/items/{}", f.id), "type": "application/geo+json" },
        { "rel": "decisions", "href": format!("{b}/v1/flags/{}/decisions", f.id) },
        { "rel": "evidence", "href": format!("{b}/v1/flags/{}/evidence", f.id) },
    ]);
    Ok(out)
}

/// `GET /v1/flags/{id}`.
pub async fn get_one(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "flag")?;
    let b = base(&state, &headers);
    let d = dossier(&state, who, id, &b).await?;
    let version = d["version"].as_i64().unwrap_or(0);
    Ok(with_etag(json_value(StatusCode::OK, d), version))
}

/// `GET /v1/flags/{id}/similar`: "more like this" — the survey's other live flags re-scored by
/// how much they look like this one, most similar first.
pub async fn similar(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "flag")?;
    let b = base(&state, &headers);
    let s = state.run(move |v| v.similar_flags(&who, id)).await?;
    let candidates: Vec<Value> = s
        .candidates
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "class": c.class,
                "status": c.status,
                "confidence": c.confidence,
                "similarity": c.similarity,
                "cells": c.cells,
                "href": format!("{b}/v1/flags/{}", c.id),
            })
        })
        .collect();
    Ok(json_value(
        StatusCode::OK,
        json!({ "flag": s.flag, "survey": s.survey, "candidates": candidates }),
    ))
}

/// `POST /v1/flags/{id}/decisions`: 201 with the flag's file after the decision.
pub async fn decide(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(mut input): Json<DecisionInput>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "flag")?;
    if input.version.is_none() {
        input.version = if_match(&headers)?;
    }
    // An offline outbox sends each decision with an `Idempotency-Key`: a replay gets the first
    // answer (the same decision, `Idempotency-Replayed: true`) and never makes a second row.
    let request =
        serde_json::to_vec(&input).map_err(|e| ApiError::internal("serialise a decision", e))?;
    let key = idempotency_key(&headers, &request)?;
    let w = who.clone();
    let (_, d, replayed) = state
        .run(move |v| v.decide_once(&w, id, input, key.as_ref()))
        .await?;
    let b = base(&state, &headers);
    let mut out = dossier(&state, who, id, &b).await?;
    out["decision"] = decision_json(&d);
    let mut r = with_etag(json_value(StatusCode::CREATED, out), d.version);
    if replayed {
        r.headers_mut()
            .insert("idempotency-replayed", HeaderValue::from_static("true"));
    }
    if let Ok(v) = HeaderValue::from_str(&format!("{b}/v1/flags/{id}/decisions/{}", d.id)) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

/// The `Idempotency-Key` header, with the hash of the request it came with.
fn idempotency_key(
    headers: &HeaderMap,
    request: &[u8],
) -> Result<Option<IdempotencyKey>, ApiError> {
    match headers.get("idempotency-key") {
        Some(v) => {
            let text = v
                .to_str()
                .map_err(|_| ApiError::bad_request("Idempotency-Key must be visible ASCII"))?;
            Ok(Some(IdempotencyKey::new(text, request)?))
        }
        None => Ok(None),
    }
}

/// `GET /v1/flags/{id}/decisions`: the history, oldest first.
pub async fn decisions(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "flag")?;
    let rows = state.run(move |v| v.flag_decisions(&who, id)).await?;
    Ok(json_value(
        StatusCode::OK,
        json!({ "items": rows.iter().map(decision_json).collect::<Vec<_>>() }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorityIn {
    priority: Option<String>,
    version: Option<i64>,
}

/// `PUT /v1/flags/{id}/priority` `{"priority": "urgent"|"high"|"normal"|"low", "version": n}`.
pub async fn priority(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(p): Json<PriorityIn>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "flag")?;
    let version = match p.version {
        Some(v) => Some(v),
        None => if_match(&headers)?,
    };
    let w = who.clone();
    let f = state
        .run(move |v| v.set_flag_priority(&w, id, version, p.priority.as_deref()))
        .await?;
    Ok(with_etag(
        json_value(StatusCode::OK, summary(&state, &who, &f)),
        f.version,
    ))
}

/// `POST /v1/flags/{id}/evidence[?decision=ID][&lon=…&lat=…[&accuracy_m=…]]`: a field photo (JPEG
/// body). 201 with what was read from it and its warnings. `lon`/`lat` are the phone's own GPS fix
/// (the offline app's outbox records it), used only when the photo carries no position.
pub async fn add_evidence(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    q: RawQuery,
    headers: HeaderMap,
    Body(bytes): Body,
) -> Result<Response, ApiError> {
    q.only(&["decision", "lon", "lat", "accuracy_m"])?;
    let id = parse_id(&id, "flag")?;
    let m = q.map();
    let decision = match m.get("decision") {
        None => None,
        Some(s) => Some(s.parse::<i64>().map_err(|_| {
            ApiError::bad_request(format!("decision={s:?}: expected a decision id"))
        })?),
    };
    let number = |name: &str| -> Result<Option<f64>, ApiError> {
        m.get(name)
            .map(|s| {
                s.parse::<f64>()
                    .map_err(|_| ApiError::bad_request(format!("{name}={s:?}: expected a number")))
            })
            .transpose()
    };
    let device = match (number("lon")?, number("lat")?) {
        (Some(lon), Some(lat)) => Some(
            crate::service::review::DevicePosition::new(lon, lat, number("accuracy_m")?)
                .map_err(ApiError::from)?,
        ),
        (None, None) => None,
        _ => {
            return Err(ApiError::bad_request(
                "lon and lat go together: the device's position needs both",
            ));
        }
    };
    let key = idempotency_key(&headers, &bytes)?;
    let (row, replayed) = state
        .run(move |v| v.add_evidence_once(&who, id, decision, device, &bytes, key.as_ref()))
        .await?;
    let b = base(&state, &headers);
    let mut r = json_value(StatusCode::CREATED, evidence_json(&b, &row));
    if replayed {
        r.headers_mut()
            .insert("idempotency-replayed", HeaderValue::from_static("true"));
    }
    if let Ok(v) = HeaderValue::from_str(&format!("{b}/v1/evidence/{}", row.id)) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

/// `GET /v1/flags/{id}/evidence`.
pub async fn list_evidence(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "flag")?;
    let rows = state.run(move |v| v.flag_evidence(&who, id)).await?;
    let b = base(&state, &headers);
    Ok(json_value(
        StatusCode::OK,
        json!({ "items": rows.iter().map(|e| evidence_json(&b, e)).collect::<Vec<_>>() }),
    ))
}

/// `GET /v1/evidence/{id}`: the photo as uploaded (checked against its SHA-256).
pub async fn photo(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "evidence")?;
    let (row, bytes) = state.run(move |v| v.evidence_photo(&who, id)).await?;
    let mut r = (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=86400, immutable"),
            ),
        ],
        bytes,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", row.sha256)) {
        r.headers_mut().insert(header::ETAG, v);
    }
    Ok(r)
}
