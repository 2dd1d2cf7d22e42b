//! The STAC API at `/stac` (STAC API 1.0.0: core, collections, ogcapi-features, item-search): a
//! landing page, conformance, the one collection of surveys with its items, and item search by
//! GET and POST. Every answer holds only the ready surveys the caller may see; an item is a
//! survey with the projection, electro-optical and raster extensions, and its source file,
//! tiles and footprint as assets.
//!
//! `/stac/items` and `/stac/items/{id}` (the catalogue before the STAC API) answer as the
//! collection's items.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::{Auth, Json, RawQuery, parse_count};
use super::features::{GEOJSON, JSON};
use super::query::{base, json_response, parse_bbox, parse_instants, union_bbox};
use crate::auth::Principal;
use crate::service::surveys::{Survey, SurveySearch};

pub const STAC_VERSION: &str = "1.0.0";
pub const STAC_COLLECTION: &str = "vigil-surveys";
const PROJECTION: &str = "https://stac-extensions.github.io/projection/v1.1.0/schema.json";
const EO: &str = "https://stac-extensions.github.io/eo/v1.1.0/schema.json";
const RASTER: &str = "https://stac-extensions.github.io/raster/v1.1.0/schema.json";
const OPENAPI: &str = "application/vnd.oai.openapi+json;version=3.0";

pub const CONFORMS_TO: [&str; 7] = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/item-search",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
];

fn root_href(b: &str) -> String {
    format!("{b}/stac")
}

fn collection_href(b: &str) -> String {
    format!("{b}/stac/collections/{STAC_COLLECTION}")
}

/// Where a survey's STAC Item lives.
pub fn item_href(b: &str, id: &str) -> String {
    format!("{b}/stac/collections/{STAC_COLLECTION}/items/{id}")
}

fn link(rel: &str, href: String, media: &str) -> Value {
    json!({ "rel": rel, "href": href, "type": media })
}

/// `[w, s, e, n]` of the raster's corners in its own CRS.
fn proj_bbox(gt: &[f64; 6], width: usize, height: usize) -> [f64; 4] {
    let (w, h) = (width as f64, height as f64);
    let corners = [(0.0, 0.0), (w, 0.0), (0.0, h), (w, h)].map(|(px, py)| {
        (
            gt[0] + px * gt[1] + py * gt[2],
            gt[3] + px * gt[4] + py * gt[5],
        )
    });
    corners.iter().fold(
        [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ],
        |a, &(x, y)| [a[0].min(x), a[1].min(y), a[2].max(x), a[3].max(y)],
    )
}

/// A survey as a STAC Item.
pub fn item(b: &str, s: &Survey) -> Value {
    let r = &s.row;
    let mut props = json!({
        "title": r.name,
        "datetime": r.acquired_at.clone().unwrap_or_else(|| r.created_at.clone()),
        "created": r.created_at,
        "updated": r.completed_at.clone().unwrap_or_else(|| r.updated_at.clone()),
        "platform": "drone",
    });
    let mut source = json!({
        "href": format!("{b}/v1/surveys/{}/source", r.id),
        "type": "image/tiff; application=geotiff",
        "title": format!("Ảnh gốc (source orthomosaic): {}", r.filename),
        "roles": ["data"],
    });
    let mut extensions = Vec::new();
    if let Some(m) = &s.meta {
        props["gsd"] = json!((m.gsd_m * 10_000.0).round() / 10_000.0);
        props["vigil:native_zoom"] = json!(m.native_zoom);
        props["vigil:min_zoom"] = json!(m.min_zoom);
        // projection v1.1.0: `proj:epsg` null means "not an EPSG CRS" (VN-2000 variants, say).
        props["proj:epsg"] = json!(m.epsg);
        props["proj:shape"] = json!([m.height, m.width]);
        if let Some(gt) = &m.geotransform {
            props["proj:transform"] = json!([gt[1], gt[2], gt[0], gt[4], gt[5], gt[3]]);
            props["proj:bbox"] = json!(proj_bbox(gt, m.width, m.height));
        }
        extensions.push(PROJECTION);
        if m.band_numbers.len() == m.bands.len() && !m.bands.is_empty() {
            let mut bands: Vec<_> = m.band_numbers.iter().zip(&m.bands).collect();
            bands.sort_by_key(|(n, _)| **n);
            let eo: Vec<Value> = bands
                .iter()
                .map(|(n, role)| {
                    let mut band = json!({ "name": format!("b{n}"), "description": role.code() });
                    if role.code() != "alpha" {
                        band["common_name"] = json!(role.code());
                    }
                    band
                })
                .collect();
            let data_type = match m.sample_bits {
                8 => Some("uint8"),
                16 => Some("uint16"),
                32 => Some("float32"),
                _ => None,
            };
            let raster: Vec<Value> = bands
                .iter()
                .map(|_| {
                    let mut band = json!({ "spatial_resolution": props["gsd"] });
                    if let Some(t) = data_type {
                        band["data_type"] = json!(t);
                    }
                    band
                })
                .collect();
            source["eo:bands"] = json!(eo);
            source["raster:bands"] = json!(raster);
            extensions.extend([EO, RASTER]);
        }
    }
    json!({
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": extensions,
        "id": r.id,
        "collection": STAC_COLLECTION,
        "geometry": s.footprint(),
        "bbox": r.bbox,
        "properties": props,
        "links": [
            link("self", item_href(b, &r.id), GEOJSON),
            link("root", root_href(b), JSON),
            link("parent", collection_href(b), JSON),
            link("collection", collection_href(b), JSON),
            link("alternate", format!("{b}/collections/surveys/items/{}", r.id), GEOJSON),
        ],
        "assets": {
            "source": source,
            "tiles": {
                "href": format!("{b}/tiles/{}/tilejson.json", r.id),
                "type": "application/json",
                "title": "XYZ tiles (TileJSON)",
                "roles": ["tiles"],
            },
            "footprint": {
                "href": format!("{b}/collections/surveys/items/{}", r.id),
                "type": GEOJSON,
                "title": "Phạm vi bay (footprint)",
                "roles": ["metadata"],
            },
        },
    })
}

/// The surveys collection, its extent and summaries from the surveys `who` may see.
fn collection(b: &str, all: &[Arc<Survey>]) -> Value {
    let bbox = union_bbox(all.iter().filter_map(|s| s.row.bbox));
    let first = all.iter().filter_map(|s| s.row.acquired_at.clone()).min();
    let last = all.iter().filter_map(|s| s.row.acquired_at.clone()).max();
    let gsd = all.iter().filter_map(|s| s.meta.as_ref().map(|m| m.gsd_m));
    let (lo, hi) = gsd.fold((f64::INFINITY, 0.0f64), |(l, h), g| (l.min(g), h.max(g)));
    let mut epsg: Vec<u32> = all.iter().filter_map(|s| s.meta.as_ref()?.epsg).collect();
    epsg.sort_unstable();
    epsg.dedup();
    let mut summaries = json!({ "platform": ["drone"], "proj:epsg": epsg });
    if lo.is_finite() {
        let round = |g: f64| (g * 10_000.0).round() / 10_000.0;
        summaries["gsd"] = json!({ "minimum": round(lo), "maximum": round(hi) });
    }
    json!({
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": [],
        "id": STAC_COLLECTION,
        "title": "Vigil — ảnh bay khảo sát (drone surveys)",
        "description": "Drone orthomosaics ingested by Vigil, one STAC Item per survey, with the source file, XYZ tiles and footprint as assets. Sensitive law-enforcement data; access needs a token.",
        "license": "proprietary",
        "keywords": ["drone", "orthomosaic", "survey", "Vietnam"],
        "providers": [{ "name": "Vigil", "roles": ["host", "processor"] }],
        "extent": {
            "spatial": { "bbox": [bbox] },
            "temporal": { "interval": [[first, last]] },
        },
        "summaries": summaries,
        "links": [
            link("self", collection_href(b), JSON),
            link("root", root_href(b), JSON),
            link("parent", root_href(b), JSON),
            link("items", format!("{}/items", collection_href(b)), GEOJSON),
        ],
    })
}

fn all_visible(state: &AppState, who: &Principal) -> Vec<Arc<Survey>> {
    state.vigil.ready_surveys(who, None, &(None, None))
}

/// `GET /stac`: the landing page.
pub async fn landing(
    State(state): State<AppState>,
    Auth(_who): Auth,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    q.only(&[])?;
    let b = base(&state, &headers);
    let body = json!({
        "type": "Catalog",
        "stac_version": STAC_VERSION,
        "id": "vigil",
        "title": "Vigil — STAC API",
        "description": "Drone survey orthomosaics of Vigil as a STAC API: search by place, footprint, time and id. Sensitive law-enforcement data; access needs a token.",
        "conformsTo": CONFORMS_TO,
        "links": [
            link("self", root_href(&b), JSON),
            link("root", root_href(&b), JSON),
            link("conformance", format!("{b}/stac/conformance"), JSON),
            link("data", format!("{b}/stac/collections"), JSON),
            link("child", collection_href(&b), JSON),
            { "rel": "search", "href": format!("{b}/stac/search"), "type": GEOJSON, "method": "GET" },
            { "rel": "search", "href": format!("{b}/stac/search"), "type": GEOJSON, "method": "POST" },
            link("service-desc", format!("{b}/api"), OPENAPI),
        ],
    });
    Ok(json_response(StatusCode::OK, JSON, body.to_string()))
}

/// `GET /stac/conformance`.
pub async fn conformance(Auth(_who): Auth, q: RawQuery) -> Result<Response, ApiError> {
    q.only(&[])?;
    let body = json!({ "conformsTo": CONFORMS_TO });
    Ok(json_response(StatusCode::OK, JSON, body.to_string()))
}

/// `GET /stac/collections`.
pub async fn collections(
    State(state): State<AppState>,
    Auth(who): Auth,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    q.only(&[])?;
    let b = base(&state, &headers);
    let body = json!({
        "collections": [collection(&b, &all_visible(&state, &who))],
        "links": [
            link("self", format!("{b}/stac/collections"), JSON),
            link("root", root_href(&b), JSON),
        ],
    });
    Ok(json_response(StatusCode::OK, JSON, body.to_string()))
}

fn known_collection(cid: &str) -> Result<(), ApiError> {
    if cid == STAC_COLLECTION {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "no STAC collection {cid:?}; there is one: {STAC_COLLECTION:?}"
        )))
    }
}

/// `GET /stac/collections/{cid}`.
pub async fn collection_one(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(cid): Path<String>,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    known_collection(&cid)?;
    q.only(&[])?;
    let b = base(&state, &headers);
    let body = collection(&b, &all_visible(&state, &who));
    Ok(json_response(StatusCode::OK, JSON, body.to_string()))
}

/// `GET /stac/collections/{cid}/items/{id}`.
pub async fn item_one(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((cid, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    known_collection(&cid)?;
    one(&state, &who, &id, &headers)
}

/// `GET /stac/items/{id}` (before the STAC API).
pub async fn legacy_item(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    one(&state, &who, &id, &headers)
}

fn one(
    state: &AppState,
    who: &Principal,
    id: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let b = base(state, headers);
    let s = state.vigil.ready_survey(who, id).ok_or_else(|| {
        ApiError::not_found(format!("no ready survey {id:?} in your jurisdiction"))
    })?;
    Ok(json_response(
        StatusCode::OK,
        GEOJSON,
        item(&b, &s).to_string(),
    ))
}

/// An item search as POST sends it; GET's query parameters are read into the same shape.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Search {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bbox: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    intersects: Option<geojson::Geometry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    datetime: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    collections: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

fn list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

impl Search {
    /// From a GET query (`bbox`, `bbox-crs`, `intersects` as GeoJSON text, `datetime`, `ids`,
    /// `collections`, `limit`, `token`).
    fn from_query(q: &RawQuery, allowed: &[&str]) -> Result<(Search, Option<[f64; 4]>), ApiError> {
        q.only(allowed)?;
        let m = q.map();
        let bbox = parse_bbox(&m)?;
        let intersects = match m.get("intersects") {
            Some(t) => Some(t.parse::<geojson::Geometry>().map_err(|e| {
                ApiError::bad_request(format!("intersects: not a GeoJSON geometry: {e}"))
            })?),
            None => None,
        };
        let limit = match m.get("limit") {
            Some(s) => Some(parse_count(s).ok_or_else(|| {
                ApiError::bad_request(format!("limit={s:?}: expected a whole number"))
            })?),
            None => None,
        };
        let search = Search {
            bbox: None,
            intersects,
            datetime: m.get("datetime").map(|s| s.to_string()),
            ids: m.get("ids").map(|s| list(s)),
            collections: m.get("collections").map(|s| list(s)),
            limit,
            token: m.get("token").map(|s| s.to_string()),
        };
        Ok((search, bbox))
    }

    /// The service's search, the page size and the offset; `None` when the collections named
    /// leave out the surveys (nothing matches).
    fn resolve(
        &self,
        state: &AppState,
        bbox: Option<[f64; 4]>,
    ) -> Result<(Option<SurveySearch>, usize, usize), ApiError> {
        let mut m: HashMap<&str, &str> = HashMap::new();
        let joined;
        let bbox = match &self.bbox {
            Some(v) => {
                joined = v.iter().map(f64::to_string).collect::<Vec<_>>().join(",");
                m.insert("bbox", &joined);
                parse_bbox(&m)?
            }
            None => bbox,
        };
        if bbox.is_some() && self.intersects.is_some() {
            return Err(ApiError::bad_request(
                "give bbox or intersects, not both (STAC API item search)",
            ));
        }
        let intersects = match &self.intersects {
            Some(g) => Some(geo::Geometry::<f64>::try_from(g.clone()).map_err(|e| {
                ApiError::bad_request(format!("intersects: unusable geometry: {e}"))
            })?),
            None => None,
        };
        if let Some(d) = &self.datetime {
            m.insert("datetime", d);
        }
        let when = parse_instants(&m)?;
        let api = &state.vigil.config().api;
        let limit = match self.limit {
            None => api.default_limit,
            Some(0) => {
                return Err(ApiError::bad_request(format!(
                    "limit=0: expected a whole number from 1 to {}",
                    api.max_limit
                )));
            }
            Some(n) => n.min(api.max_limit as u64) as usize,
        };
        let offset = match &self.token {
            None => 0,
            Some(t) => t
                .strip_prefix("next:")
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "token={t:?} is not one this server gave (take it from a rel=next link)"
                    ))
                })?,
        };
        if let Some(c) = &self.collections
            && !c.iter().any(|c| c == STAC_COLLECTION)
        {
            return Ok((None, limit, offset));
        }
        let search = SurveySearch {
            ids: self.ids.clone(),
            bbox,
            intersects,
            when,
            cql: None,
        };
        Ok((Some(search), limit, offset))
    }
}

/// How to ask for the next page: the same GET query with another token, or the same POST body.
enum Next<'a> {
    Get { path: &'a str, query: &'a RawQuery },
    Post { path: &'a str, body: &'a Search },
}

fn page(
    state: &AppState,
    who: &Principal,
    b: &str,
    search: &Search,
    bbox: Option<[f64; 4]>,
    next: Next,
) -> Result<Response, ApiError> {
    let (q, limit, offset) = search.resolve(state, bbox)?;
    let found = q
        .map(|q| state.vigil.search_surveys(who, &q))
        .unwrap_or_default();
    let matched = found.len();
    let features: Vec<Value> = found
        .iter()
        .skip(offset)
        .take(limit)
        .map(|s| item(b, s))
        .collect();
    let returned = features.len();
    let mut links = vec![link("root", root_href(b), JSON)];
    let token = format!("next:{}", offset + returned);
    match next {
        Next::Get { path, query } => {
            let mut ser = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in &query.0 {
                ser.append_pair(k, v);
            }
            let qs = ser.finish();
            let sep = if qs.is_empty() { "" } else { "?" };
            links.push(link("self", format!("{b}{path}{sep}{qs}"), GEOJSON));
            if offset + returned < matched {
                let mut ser = url::form_urlencoded::Serializer::new(String::new());
                for (k, v) in query.0.iter().filter(|(k, _)| k != "token") {
                    ser.append_pair(k, v);
                }
                ser.append_pair("token", &token);
                links.push(link("next", format!("{b}{path}?{}", ser.finish()), GEOJSON));
            }
        }
        Next::Post { path, body } => {
            if offset + returned < matched {
                let mut body = body.clone();
                body.token = Some(token);
                links.push(json!({
                    "rel": "next", "href": format!("{b}{path}"), "type": GEOJSON,
                    "method": "POST", "body": body, "merge": false,
                }));
            }
        }
    }
    let body = json!({
        "type": "FeatureCollection",
        "features": features,
        "numberMatched": matched,
        "numberReturned": returned,
        "links": links,
    });
    Ok(json_response(StatusCode::OK, GEOJSON, body.to_string()))
}

const ITEMS_PARAMS: [&str; 5] = ["bbox", "bbox-crs", "datetime", "limit", "token"];

/// `GET /stac/collections/{cid}/items`: `bbox`, `datetime`, `limit`, `token` paging.
pub async fn items(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(cid): Path<String>,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    known_collection(&cid)?;
    let b = base(&state, &headers);
    let (search, bbox) = Search::from_query(&q, &ITEMS_PARAMS)?;
    let path = format!("/stac/collections/{STAC_COLLECTION}/items");
    page(
        &state,
        &who,
        &b,
        &search,
        bbox,
        Next::Get {
            path: &path,
            query: &q,
        },
    )
}

/// `GET /stac/items` (before the STAC API): the collection's items.
pub async fn legacy_items(
    State(state): State<AppState>,
    Auth(who): Auth,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let b = base(&state, &headers);
    let (search, bbox) = Search::from_query(&q, &ITEMS_PARAMS)?;
    page(
        &state,
        &who,
        &b,
        &search,
        bbox,
        Next::Get {
            path: "/stac/items",
            query: &q,
        },
    )
}

/// `GET /stac/search`.
pub async fn search_get(
    State(state): State<AppState>,
    Auth(who): Auth,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let b = base(&state, &headers);
    let (search, bbox) = Search::from_query(
        &q,
        &[
            "bbox",
            "bbox-crs",
            "intersects",
            "datetime",
            "ids",
            "collections",
            "limit",
            "token",
        ],
    )?;
    page(
        &state,
        &who,
        &b,
        &search,
        bbox,
        Next::Get {
            path: "/stac/search",
            query: &q,
        },
    )
}

/// `POST /stac/search`: the same as GET, as a JSON body (unknown members are refused by name).
pub async fn search_post(
    State(state): State<AppState>,
    Auth(who): Auth,
    headers: HeaderMap,
    Json(search): Json<Search>,
) -> Result<Response, ApiError> {
    let b = base(&state, &headers);
    page(
        &state,
        &who,
        &b,
        &search,
        None,
        Next::Post {
            path: "/stac/search",
            body: &search,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proj_bbox_spans_every_corner() {
        // 10 cm north-up UTM raster, 400 × 300.
        let gt = [500_000.0, 0.1, 0.0, 2_500_000.0, 0.0, -0.1];
        assert_eq!(
            proj_bbox(&gt, 400, 300),
            [500_000.0, 2_499_970.0, 500_040.0, 2_500_000.0]
        );
    }

    #[test]
    fn unknown_search_members_are_refused_by_name() {
        let e = serde_json::from_str::<Search>(r#"{"bbox":[1,2,3,4],"sortby":[]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("sortby"), "{e}");
    }
}
