//! The `flags` collection of OGC API – Features: plots the classifier flagged as possible poppy
//! or cannabis, with `class`, `confidence`, `area_m2` and review `status`, scoped by jurisdiction.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::RawQuery;
use super::features::{GEOJSON, HTML, JSON, Link};
use super::html;
use super::query::{
    CRS84, EPSG3857, EPSG4326, Format, base, content_crs, format, limit_offset, next_page,
    output_crs, parse_bbox, parse_filter, parse_instants, project_feature, self_href, union_bbox,
};
use crate::auth::Principal;
use crate::service::flags::{FlagQuery, FlagRow, FlagsExtent};
use crate::time_util::now_rfc3339;

pub const TITLE: &str = "Nghi vấn trồng cây có chất ma túy (flags)";
pub const DESCRIPTION: &str = "Plots the vegetation classifier flagged in drone surveys as possible opium poppy or cannabis: class, confidence, area in m², review status, the survey and the features that drove each flag. A flag is a lead for a person to review, never a verdict.";

const PARAMS: &[&str] = &[
    "f",
    "bbox",
    "bbox-crs",
    "crs",
    "datetime",
    "limit",
    "offset",
    "after",
    "class",
    "status",
    "survey",
    "min_confidence",
    "province",
    "commune",
    "filter",
    "filter-lang",
    "filter-crs",
];

/// A flag's outline as GeoJSON (null when the stored one could not be read).
pub fn outline_json(g: &geo::MultiPolygon<f64>) -> Value {
    if g.0.is_empty() {
        return Value::Null;
    }
    serde_json::to_value(geojson::Geometry::from(g)).unwrap_or(Value::Null)
}

pub fn feature(b: &str, f: &FlagRow) -> Value {
    let geometry = outline_json(&f.geometry);
    let drivers = &f.drivers;
    json!({
        "type": "Feature",
        "id": f.id,
        "geometry": geometry,
        "bbox": f.bbox,
        "properties": {
            "class": f.class,
            "confidence": f.confidence,
            "probabilities": f.probabilities,
            "area_m2": f.area_m2,
            "status": f.status,
            "status_label": crate::review::Status::from_code(&f.status).map(|s| s.label_vi()),
            "status_at": f.status_at,
            "version": f.version,
            "priority": f.priority.as_deref().unwrap_or("normal"),
            "score": crate::service::review::score(f),
            "survey": f.survey_id,
            "acquired_at": f.acquired_at,
            "province_code": f.province_code,
            "commune_code": f.commune_code,
            "model_version": f.model_version,
            "drivers": drivers.iter().map(|(n, z)| json!({ "feature": n, "z": z })).collect::<Vec<_>>(),
            "created_at": f.created_at,
            "replanting": f.replanting_of.is_some(),
            "replanting_of": f.replanting_of,
            "near_hotspots": f.near_hotspots,
        },
        "links": [
            { "rel": "self", "href": format!("{b}/collections/flags/items/{}", f.id), "type": GEOJSON },
            { "rel": "alternate", "href": format!("{b}/collections/flags/items/{}?f=html", f.id), "type": HTML, "title": "Trang HTML" },
            { "rel": "collection", "href": format!("{b}/collections/flags"), "type": JSON, "title": TITLE },
            { "rel": "related", "href": format!("{b}/collections/surveys/items/{}", f.survey_id), "type": GEOJSON, "title": "survey" },
        ],
    })
}

fn respond(fmt: Format, body: String, single: bool, crs_uri: &str) -> Response {
    let mut r = match (fmt, single) {
        (Format::Json, _) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, HeaderValue::from_static(GEOJSON))],
            body,
        )
            .into_response(),
        (Format::Html, false) => html::items("flags", TITLE, &body),
        (Format::Html, true) => html::feature("flags", &body),
    };

    r.headers_mut().insert("content-crs", content_crs(crs_uri));
    r
}

/// The collection's description; `extent` is [`crate::Vigil::flags_extent`] (read on the
/// blocking pool by the caller).
pub fn collection_json(b: &str, extent: Option<FlagsExtent>) -> Value {
    let bbox = union_bbox(extent.iter().map(|e| e.bbox));
    let interval = json!([
        extent.as_ref().and_then(|e| e.first.clone()),
        extent.as_ref().and_then(|e| e.last.clone()),
    ]);
    json!({
        "id": "flags",
        "title": TITLE,
        "description": DESCRIPTION,
        "itemType": "feature",
        "crs": [CRS84, EPSG4326, EPSG3857],
        "storageCrs": CRS84,
        "extent": {
            "spatial": { "bbox": [bbox], "crs": CRS84 },
            "temporal": { "interval": [interval], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian" }
        },
        "properties": { "class": ["poppy", "cannabis"] },
        "links": [
            Link::new(format!("{b}/collections/flags"), "self", JSON, "Lớp dữ liệu này"),
            Link::new(format!("{b}/collections/flags/items"), "items", GEOJSON, "Các đối tượng (GeoJSON)"),
            Link::new(format!("{b}/collections/flags/items?f=html"), "items", HTML, "Các đối tượng (HTML)"),
        ],
    })
}

/// The flag filters every flag request takes (`class`, `status`, `datetime`, `survey`,
/// `province`, `commune`, `min_confidence`, a CQL2 `filter`) and its paging, over `bbox`.
pub fn flag_query(
    state: &AppState,
    m: &std::collections::HashMap<&str, &str>,
    bbox: Option<[f64; 4]>,
) -> Result<FlagQuery, ApiError> {
    let (from, to) = parse_instants(m)?;
    let classes: Option<Vec<&str>> = m.get("class").map(|s| s.split(',').collect());
    if let Some(cs) = &classes
        && let Some(bad) = cs.iter().find(|c| !["poppy", "cannabis"].contains(c))
    {
        return Err(ApiError::bad_request(format!(
            "class={bad:?}: flags are poppy or cannabis"
        )));
    }
    let statuses: Option<Vec<&str>> = m.get("status").map(|s| s.split(',').collect());
    let min_conf = match m.get("min_confidence") {
        Some(s) => Some(
            s.parse::<f64>()
                .ok()
                .filter(|v| (0.0..=1.0).contains(v))
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "min_confidence={s:?}: expected a number in 0..1"
                    ))
                })?,
        ),
        None => None,
    };
    let (limit, offset) = limit_offset(state, m)?;
    let after = match m.get("after") {
        Some(_) if offset > 0 => {
            return Err(ApiError::bad_request(
                "give either after (the `next` link's cursor) or offset, not both",
            ));
        }
        Some(s) => Some(s.parse::<i64>().map_err(|_| {
            ApiError::bad_request(format!(
                "after={s:?}: expected a flag id (the `next` link's cursor)"
            ))
        })?),
        None => None,
    };
    Ok(FlagQuery {
        bbox,
        acquired: (from, to),
        classes: classes.map(|cs| cs.iter().map(|c| c.to_string()).collect()),
        statuses: statuses.map(|ss| ss.iter().map(|s| s.to_string()).collect()),
        survey: m.get("survey").map(|s| s.to_string()),
        province: m.get("province").map(|s| s.to_string()),
        commune: m.get("commune").map(|s| s.to_string()),
        min_confidence: min_conf,
        cql: parse_filter(m, &crate::service::flags::QUERYABLES)?,
        limit,
        offset,
        after,
    })
}

pub async fn ogc_items(
    state: AppState,
    who: Principal,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    q.only(PARAMS)?;
    let m = q.map();
    let (crs_uri, project) = output_crs(&m)?;
    let fmt = format(&q, &headers)?;
    let b = base(&state, &headers);
    let query = flag_query(&state, &m, parse_bbox(&m)?)?;
    let offset = query.offset;
    let (rows, matched) = state.run(move |v| v.flag_page(&who, &query)).await?;
    let page: Vec<Value> = rows
        .iter()
        .map(|f| {
            let mut v = feature(&b, f);
            project_feature(&mut v, crs_uri, project);
            v
        })
        .collect();
    let path = "/collections/flags/items";
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
        Link::new(format!("{b}/collections/flags"), "collection", JSON, TITLE),
    ];
    if offset + page.len() < matched {
        links.push(next_page(&b, "flags", &q, offset + page.len()));
    }
    let body = json!({
        "type": "FeatureCollection",
        "features": page,
        "numberMatched": matched,
        "numberReturned": page.len(),
        "timeStamp": now_rfc3339(),
        "links": links,
    })
    .to_string();
    Ok(respond(fmt, body, false, crs_uri))
}

pub async fn ogc_item(
    state: AppState,
    who: Principal,
    fid: String,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    q.only(&["f", "crs"])?;
    let fmt = format(&q, &headers)?;
    let b = base(&state, &headers);
    let id: i64 = fid
        .parse()
        .map_err(|_| ApiError::not_found(format!("no flag {fid:?}")))?;
    let (crs_uri, project) = output_crs(&q.map())?;
    let f = state.run(move |v| v.flag(&who, id)).await?;
    let mut v = feature(&b, &f);
    project_feature(&mut v, crs_uri, project);
    Ok(respond(fmt, v.to_string(), true, crs_uri))
}

/// `GET /v1/flags/{id}/chip.png[?survey=ID]`: the imagery around the plot, outlined — from the
/// survey that raised the flag, or from another survey covering it (before/after).
pub async fn chip(
    axum::extract::State(state): axum::extract::State<AppState>,
    super::extract::Auth(who): super::extract::Auth,
    axum::extract::Path(id): axum::extract::Path<String>,
    q: RawQuery,
) -> Result<Response, ApiError> {
    q.only(&["survey"])?;
    let survey = q.map().get("survey").map(|s| s.to_string());
    let id: i64 = id
        .trim_end_matches(".png")
        .parse()
        .map_err(|_| ApiError::not_found(format!("no flag {id:?}")))?;
    let png = state
        .run(move |v| v.flag_chip(&who, id, survey.as_deref()))
        .await?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/png")),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=3600"),
            ),
        ],
        png,
    )
        .into_response())
}
