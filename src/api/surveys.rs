//! Surveys over HTTP: `/v1/surveys` (queue from an upload, status, cancel, source download), the
//! `surveys` collection of OGC API – Features (the STAC API is `stac.rs`).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::{Auth, Json, RawQuery};
use super::features::{GEOJSON, HTML, JSON, Link};
use super::html;
use super::query::{
    CRS84, EPSG3857, EPSG4326, Format, base, content_crs, format, json_response, limit_offset,
    next_page, output_crs, page_start, parse_bbox, parse_filter, parse_instants, project_feature,
    self_href, union_bbox,
};
use crate::auth::Principal;
use crate::service::surveys::{NewSurvey, Survey, SurveySearch};
use crate::time_util::now_rfc3339;

/// The survey as `/v1/surveys` shows it.
pub fn survey_json(b: &str, s: &Survey) -> Value {
    let r = &s.row;
    let m = s.meta.as_ref();
    let stages: Vec<Value> = m
        .map(|m| {
            m.timings
                .iter()
                .map(|(n, t)| json!({ "name": n, "seconds": (t * 1000.0).round() / 1000.0 }))
                .collect()
        })
        .unwrap_or_default();
    let mut links =
        vec![json!({ "rel": "self", "href": format!("{b}/v1/surveys/{}", r.id), "type": JSON })];
    if r.state == crate::service::surveys::SurveyState::Ready {
        links.push(json!({ "rel": "tilejson", "href": format!("{b}/tiles/{}/tilejson.json", r.id), "type": JSON }));
        links.push(json!({ "rel": "tiles", "href": format!("{b}/tiles/{}/{{z}}/{{x}}/{{y}}.png", r.id), "type": "image/png", "templated": true }));
        links.push(json!({ "rel": "feature", "href": format!("{b}/collections/surveys/items/{}", r.id), "type": GEOJSON }));
        links.push(json!({ "rel": "stac-item", "href": super::stac::item_href(b, &r.id), "type": GEOJSON }));
    }
    json!({
        "id": r.id,
        "name": r.name,
        "state": r.state,
        "progress": (r.progress * 10.0).round() / 10.0,
        "stage": r.stage,
        "stages": stages,
        "error": r.error_code.as_ref().map(|c| json!({ "code": c, "message": r.error })),
        "warnings": m.map(|m| m.warnings.clone()).unwrap_or_default(),
        "cancel_requested": r.cancel_requested,
        "upload": r.upload_id,
        "filename": r.filename,
        "source_size": r.source_size,
        "operator": r.operator,
        "acquired_at": r.acquired_at,
        "acquired_from": r.acquired_from,
        "gsd_m": m.map(|m| m.gsd_m),
        "bands": m.map(|m| m.bands.iter().map(|b| b.code()).collect::<Vec<_>>()),
        "sample_bits": m.map(|m| m.sample_bits),
        "crs": m.map(|m| m.crs.clone()),
        "width": m.map(|m| m.width),
        "height": m.map(|m| m.height),
        "native_zoom": m.map(|m| m.native_zoom),
        "min_zoom": m.map(|m| m.min_zoom),
        "tile_count": m.map(|m| m.display_tiles),
        "analysis_tiles": m.map(|m| m.analysis_tiles),
        "bbox": r.bbox,
        "province_code": r.province_code,
        "commune_code": r.commune_code,
        "attempts": r.attempts,
        "created_at": r.created_at,
        "started_at": r.started_at,
        "completed_at": r.completed_at,
        "links": links,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSurveyIn {
    upload: String,
    name: Option<String>,
    acquired_at: Option<String>,
    bands: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    Auth(who): Auth,
    headers: HeaderMap,
    Json(body): Json<NewSurveyIn>,
) -> Result<Response, ApiError> {
    let new = NewSurvey {
        upload: body.upload,
        name: body.name,
        acquired_at: body.acquired_at,
        bands: body.bands,
    };
    let s = state.run(move |v| v.create_survey(&who, new)).await?;
    let b = base(&state, &headers);
    let mut resp = json_response(StatusCode::ACCEPTED, JSON, survey_json(&b, &s).to_string());
    if let Ok(loc) = HeaderValue::from_str(&format!("/v1/surveys/{}", s.id())) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    q.only(&[])?;
    let all = state.run(move |v| v.surveys(&who)).await?;
    let b = base(&state, &headers);
    let body = json!({ "surveys": all.iter().map(|s| survey_json(&b, s)).collect::<Vec<_>>() });
    Ok(json_response(StatusCode::OK, JSON, body.to_string()))
}

pub async fn get_one(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let s = state.run(move |v| v.survey(&who, &id)).await?;
    Ok(json_response(
        StatusCode::OK,
        JSON,
        survey_json(&base(&state, &headers), &s).to_string(),
    ))
}

pub async fn cancel(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let s = state.run(move |v| v.cancel_survey(&who, &id)).await?;
    Ok(json_response(
        StatusCode::OK,
        JSON,
        survey_json(&base(&state, &headers), &s).to_string(),
    ))
}

/// `GET /v1/surveys/{id}/source`: the original file, streamed.
pub async fn source(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    // (Committed through another node: fetched from object storage first.)
    let (s, path) = state
        .run(move |v| {
            let s = v.survey(&who, &id)?;
            let path = v.local_source(s.row.upload_id.as_deref(), &s.row.source_path)?;
            Ok((s, path))
        })
        .await?;
    let file = tokio::fs::File::open(&path).await.map_err(|e| {
        ApiError::not_found(format!(
            "the source file of survey {} is gone: {e}",
            s.row.id
        ))
    })?;
    let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    let stream = tokio_util::io::ReaderStream::new(file);
    let mut resp = Response::new(Body::from_stream(stream));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/tiff"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    // The original imagery is sensitive: never kept by a browser or a shared cache.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    let name: String = s
        .row
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

// ---- OGC API – Features: the `surveys` collection -------------------------------------------

pub const TITLE: &str = "Ảnh bay khảo sát (surveys)";
pub const DESCRIPTION: &str = "Drone survey flights: footprint polygon, acquisition time, ground resolution, bands and operator of every ingested orthomosaic, scoped to your jurisdiction.";

/// Ready surveys visible to `who`, filtered by bbox (lon/lat) and acquisition date (day numbers).
pub fn feature(b: &str, s: &Survey) -> Value {
    let r = &s.row;
    let m = s.meta.as_ref();
    json!({
        "type": "Feature",
        "id": r.id,
        "geometry": s.footprint(),
        "bbox": r.bbox,
        "properties": {
            "name": r.name,
            "status": r.state,
            "acquired_at": r.acquired_at,
            "acquired_from": r.acquired_from,
            "gsd_m": m.map(|m| (m.gsd_m * 10_000.0).round() / 10_000.0),
            "bands": m.map(|m| m.bands.iter().map(|b| b.code()).collect::<Vec<_>>()),
            "sample_bits": m.map(|m| m.sample_bits),
            "crs": m.map(|m| m.crs.clone()),
            "operator": r.operator,
            "province_code": r.province_code,
            "commune_code": r.commune_code,
            "native_zoom": m.map(|m| m.native_zoom),
            "min_zoom": m.map(|m| m.min_zoom),
            "classification_skipped": m.and_then(|m| m.classification_skipped.clone()),
            "warnings": m.map(|m| m.warnings.clone()).unwrap_or_default(),
            "tile_count": m.map(|m| m.display_tiles),
            "created_at": r.created_at,
            "completed_at": r.completed_at,
        },
        "links": [
            { "rel": "self", "href": format!("{b}/collections/surveys/items/{}", r.id), "type": GEOJSON },
            { "rel": "alternate", "href": format!("{b}/collections/surveys/items/{}?f=html", r.id), "type": HTML, "title": "Trang HTML" },
            { "rel": "collection", "href": format!("{b}/collections/surveys"), "type": JSON, "title": TITLE },
            { "rel": "tilejson", "href": format!("{b}/tiles/{}/tilejson.json", r.id), "type": JSON },
            { "rel": "describedby", "href": super::stac::item_href(b, &r.id), "type": GEOJSON },
        ],
    })
}

/// The `surveys` entry of `/collections`.
pub fn collection_json(state: &AppState, b: &str, who: &Principal) -> Value {
    let all = state.vigil.ready_surveys(who, None, &(None, None));
    let bbox = union_bbox(all.iter().filter_map(|s| s.row.bbox));
    let first = all.iter().filter_map(|s| s.row.acquired_at.clone()).min();
    let last = all.iter().filter_map(|s| s.row.acquired_at.clone()).max();
    json!({
        "id": "surveys",
        "title": TITLE,
        "description": DESCRIPTION,
        "itemType": "feature",
        "crs": [CRS84, EPSG4326, EPSG3857],
        "storageCrs": CRS84,
        "extent": {
            "spatial": { "bbox": [bbox], "crs": CRS84 },
            "temporal": { "interval": [[first, last]], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian" }
        },
        "links": [
            Link::new(format!("{b}/collections/surveys"), "self", JSON, "Lớp dữ liệu này"),
            Link::new(format!("{b}/collections/surveys/items"), "items", GEOJSON, "Các đối tượng (GeoJSON)"),
            Link::new(format!("{b}/collections/surveys/items?f=html"), "items", HTML, "Các đối tượng (HTML)"),
            Link::new(format!("{b}/stac/collections/{}", super::stac::STAC_COLLECTION), "describedby", JSON, "STAC"),
        ],
    })
}

pub async fn ogc_items(
    state: AppState,
    who: Principal,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    q.only(&[
        "f",
        "bbox",
        "bbox-crs",
        "datetime",
        "limit",
        "offset",
        "after",
        "crs",
        "filter",
        "filter-lang",
        "filter-crs",
    ])?;
    let m = q.map();
    let (crs_uri, project) = output_crs(&m)?;
    let fmt = format(&q, &headers)?;
    let b = base(&state, &headers);
    let bbox = parse_bbox(&m)?;
    let when = parse_instants(&m)?;
    let (limit, offset) = limit_offset(&state, &m)?;
    let search = SurveySearch {
        bbox,
        when,
        cql: parse_filter(&m, &crate::service::surveys::QUERYABLES)?,
        ..SurveySearch::default()
    };
    let all = state.vigil.search_surveys(&who, &search);
    let offset = page_start(&m, offset, &all, |s| s.row.id.clone())?;
    let page: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(limit)
        .map(|s| {
            let mut f = feature(&b, s);
            project_feature(&mut f, crs_uri, project);
            f
        })
        .collect();
    let path = "/collections/surveys/items";
    let rel = |f: Format| if fmt == f { "self" } else { "alternate" };
    let mut links = vec![
        Link::new(
            self_href(&b, path, &q, "json"),
            rel(Format::Json),
            GEOJSON,
            "Trang này (GeoJSON)",
        ),
        Link::new(
            self_href(&b, path, &q, "html"),
            rel(Format::Html),
            HTML,
            "Trang này (HTML)",
        ),
        Link::new(
            format!("{b}/collections/surveys"),
            "collection",
            JSON,
            TITLE,
        ),
    ];
    if offset + page.len() < all.len() {
        links.push(next_page(&b, "surveys", &q, offset + page.len()));
    }
    let body = json!({
        "type": "FeatureCollection",
        "features": page,
        "numberMatched": all.len(),
        "numberReturned": page.len(),
        "timeStamp": now_rfc3339(),
        "links": links,
    })
    .to_string();
    Ok(with_crs(
        match fmt {
            Format::Json => json_response(StatusCode::OK, GEOJSON, body),
            Format::Html => html::items("surveys", TITLE, &body),
        },
        crs_uri,
    ))
}

/// The output CRS (OGC API – Features Part 2 `Content-Crs`).
fn with_crs(mut r: Response, crs_uri: &str) -> Response {
    r.headers_mut().insert("content-crs", content_crs(crs_uri));
    r
}

pub async fn ogc_item(
    state: AppState,
    who: Principal,
    id: String,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    q.only(&["f", "crs"])?;
    let fmt = format(&q, &headers)?;
    let b = base(&state, &headers);
    let s = state.vigil.ready_survey(&who, &id).ok_or_else(|| {
        ApiError::not_found(format!("no ready survey {id:?} in your jurisdiction"))
    })?;
    let (crs_uri, project) = output_crs(&q.map())?;
    let mut f = feature(&b, &s);
    project_feature(&mut f, crs_uri, project);
    let body = f.to_string();
    Ok(with_crs(
        match fmt {
            Format::Json => json_response(StatusCode::OK, GEOJSON, body),
            Format::Html => html::feature("surveys", &body),
        },
        crs_uri,
    ))
}
