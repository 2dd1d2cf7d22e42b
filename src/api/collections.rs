//! Every OGC API – Features collection behind one trait, the way martin puts each tile source
//! behind its `Source` trait: `ogc.rs` routes `/collections`, `/collections/{id}`,
//! `/collections/{id}/items` and `/collections/{id}/items/{fid}` to the collection with that id
//! and knows nothing else about it. Adding a collection is one more implementation in [`ALL`].
//!
//! Each collection parses its own query with the shared parsers of `query.rs` (so a bad `bbox` or
//! `limit` is refused in the same words everywhere) and asks the service for its rows on the
//! blocking pool.

use std::future::Future;
use std::pin::Pin;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::{Auth, RawQuery};
use super::features::{HTML, JSON, Link};
use super::html;
use super::ogc::{self, CollectionId};
use super::query::{Format, Request, base, format, json_response};
use crate::auth::Principal;
use crate::filter::{Queryable, queryables_schema};

/// A boxed, sendable future of an API result (what an object-safe async method returns).
pub type ApiFuture<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>> + Send>>;

/// One collection: its description and its features.
pub trait Collection: Sync {
    /// The id in the URL (`hotspots`, `communes`, `provinces`, `surveys`, `flags`).
    fn id(&self) -> &'static str;
    /// The `/collections/{id}` document as the caller sees it (the extent covers only what they
    /// may see).
    fn describe(&self, r: Request) -> ApiFuture<Value>;
    /// `/collections/{id}/items`: one page of features matching the query.
    fn items(&self, r: Request) -> ApiFuture<Response>;
    /// `/collections/{id}/items/{fid}`: one feature, or 404 (also outside the jurisdiction).
    fn item(&self, r: Request, fid: String) -> ApiFuture<Response>;
    /// What a CQL2 `filter` may name (OGC API – Features Part 3 queryables).
    fn queryables(&self) -> &'static [Queryable];
}

/// The registry's own collections (hotspots and the boundary levels), served by `ogc.rs`.
struct Registry(CollectionId);

impl Collection for Registry {
    fn id(&self) -> &'static str {
        self.0.id()
    }
    fn describe(&self, r: Request) -> ApiFuture<Value> {
        let c = self.0;
        Box::pin(async move { Ok(ogc::collection_json(&r.state, &r.base, c, &r.who)) })
    }
    fn items(&self, r: Request) -> ApiFuture<Response> {
        Box::pin(ogc::registry_items(self.0, r))
    }
    fn item(&self, r: Request, fid: String) -> ApiFuture<Response> {
        Box::pin(ogc::registry_item(self.0, r, fid))
    }
    fn queryables(&self) -> &'static [Queryable] {
        match self.0 {
            CollectionId::Hotspots => &crate::index::hotspots::QUERYABLES,
            CollectionId::Communes | CollectionId::Provinces => &crate::boundaries::QUERYABLES,
            CollectionId::Surveys => &crate::service::surveys::QUERYABLES,
            CollectionId::Flags => &crate::service::flags::QUERYABLES,
        }
    }
}

/// Drone survey footprints (`surveys.rs`).
struct Surveys;

impl Collection for Surveys {
    fn id(&self) -> &'static str {
        "surveys"
    }
    fn describe(&self, r: Request) -> ApiFuture<Value> {
        Box::pin(async move { Ok(super::surveys::collection_json(&r.state, &r.base, &r.who)) })
    }
    fn items(&self, r: Request) -> ApiFuture<Response> {
        Box::pin(super::surveys::ogc_items(
            r.state, r.who, r.query, r.headers,
        ))
    }
    fn item(&self, r: Request, fid: String) -> ApiFuture<Response> {
        Box::pin(super::surveys::ogc_item(
            r.state, r.who, fid, r.query, r.headers,
        ))
    }
    fn queryables(&self) -> &'static [Queryable] {
        &crate::service::surveys::QUERYABLES
    }
}

/// The classifier's flagged plots (`flags.rs`).
struct Flags;

impl Collection for Flags {
    fn id(&self) -> &'static str {
        "flags"
    }
    fn describe(&self, r: Request) -> ApiFuture<Value> {
        Box::pin(async move {
            let who = r.who.clone();
            let extent = r.state.run(move |v| v.flags_extent(&who)).await?;
            Ok(super::flags::collection_json(&r.base, extent))
        })
    }
    fn items(&self, r: Request) -> ApiFuture<Response> {
        Box::pin(super::flags::ogc_items(r.state, r.who, r.query, r.headers))
    }
    fn item(&self, r: Request, fid: String) -> ApiFuture<Response> {
        Box::pin(super::flags::ogc_item(
            r.state, r.who, fid, r.query, r.headers,
        ))
    }
    fn queryables(&self) -> &'static [Queryable] {
        &crate::service::flags::QUERYABLES
    }
}

/// Every collection, in the order `/collections` lists them.
pub static ALL: [&(dyn Collection + 'static); 5] = [
    &Registry(CollectionId::Hotspots),
    &Registry(CollectionId::Communes),
    &Registry(CollectionId::Provinces),
    &Surveys,
    &Flags,
];

/// The collection with this id, or 404 naming the ones there are.
pub fn find(id: &str) -> Result<&'static dyn Collection, ApiError> {
    ALL.iter().copied().find(|c| c.id() == id).ok_or_else(|| {
        ApiError::not_found(format!(
            "no collection {id:?}; collections: {}",
            ALL.iter().map(|c| c.id()).collect::<Vec<_>>().join(", ")
        ))
    })
}

// ---- routes: `/collections`, `/collections/{id}`, `…/items`, `…/items/{fid}` -----------------

pub async fn collections(
    State(state): State<AppState>,
    Auth(who): Auth,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    q.only(&["f"])?;
    let b = base(&state, &headers);
    let mut cols: Vec<Value> = Vec::with_capacity(ALL.len());
    for c in ALL {
        let mut body = c.describe(request(&state, &who, &q, &headers, &b)).await?;
        link_queryables(&mut body, &b, c.id());
        cols.push(body);
    }
    let body = json!({
        "links": [
            Link::new(format!("{b}/collections"), "self", JSON, "Các lớp dữ liệu"),
            Link::new(format!("{b}/collections?f=html"), "alternate", HTML, "Các lớp dữ liệu (HTML)"),
        ],
        "collections": cols,
    });
    match format(&q, &headers)? {
        Format::Json => Ok(json_response(StatusCode::OK, JSON, body.to_string())),
        Format::Html => Ok(html::collections(&body)),
    }
}

pub async fn collection(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(cid): Path<String>,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    q.only(&["f"])?;
    let c = find(&cid)?;
    let b = base(&state, &headers);
    let mut body = c.describe(request(&state, &who, &q, &headers, &b)).await?;
    link_queryables(&mut body, &b, c.id());
    match format(&q, &headers)? {
        Format::Json => Ok(json_response(StatusCode::OK, JSON, body.to_string())),
        Format::Html => Ok(html::collection(&body)),
    }
}

/// A request to one collection, for the [`Collection`] methods.
fn request(
    state: &AppState,
    who: &Principal,
    q: &RawQuery,
    headers: &HeaderMap,
    b: &str,
) -> Request {
    Request {
        state: state.clone(),
        who: who.clone(),
        query: q.clone(),
        headers: headers.clone(),
        base: b.to_string(),
    }
}

pub async fn items(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(cid): Path<String>,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let c = find(&cid)?;
    let b = base(&state, &headers);
    c.items(request(&state, &who, &q, &headers, &b)).await
}

pub async fn item(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((cid, fid)): Path<(String, String)>,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let c = find(&cid)?;
    let b = base(&state, &headers);
    c.item(request(&state, &who, &q, &headers, &b), fid).await
}

/// The links from a collection to its queryables (Part 3) and its vector tile sets.
fn link_queryables(body: &mut Value, b: &str, id: &str) {
    if let Some(links) = body.get_mut("links").and_then(Value::as_array_mut) {
        links.push(json!({
            "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
            "href": format!("{b}/collections/{id}/queryables"),
            "type": "application/schema+json",
            "title": "Thuộc tính lọc được (queryables)",
        }));
        links.push(json!({
            "rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
            "href": format!("{b}/collections/{id}/tiles"),
            "type": JSON,
            "title": "Vector tiles (OGC API – Tiles)",
        }));
    }
}

/// `/collections/{id}/queryables` (OGC API – Features Part 3) and `/collections/{id}/schema`
/// (what OWSLib's `collection_schema` reads): the properties a `filter` may name, as JSON Schema.
pub async fn queryables(
    State(state): State<AppState>,
    Auth(_who): Auth,
    Path(cid): Path<String>,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    q.only(&["f"])?;
    let c = find(&cid)?;
    let b = base(&state, &headers);
    let body = queryables_schema(
        &format!("{b}/collections/{cid}/queryables"),
        &format!("Thuộc tính lọc được: {cid}"),
        c.queryables(),
    );
    Ok(json_response(
        StatusCode::OK,
        "application/schema+json",
        body.to_string(),
    ))
}

// ---- OGC API – Tiles: each collection's vector tile set ----------------------------------------

const WEB_MERCATOR_QUAD: &str = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad";
const MVT: &str = "application/vnd.mapbox-vector-tile";

/// What every tile set document starts from: the collection, the links' base URL and the
/// collection's extent as its description gives it (the data's, as the caller may see it).
async fn tile_set_of(
    state: &AppState,
    who: &Principal,
    cid: &str,
    q: &RawQuery,
    headers: &HeaderMap,
) -> Result<(&'static dyn Collection, String, Value), ApiError> {
    // Clients (ogc-client) add `f=json`; these documents are JSON only.
    q.only(&["f"])?;
    let c = find(cid)?;
    let b = base(state, headers);
    let body = c.describe(request(state, who, q, headers, &b)).await?;
    Ok((c, b, body["extent"]["spatial"]["bbox"][0].clone()))
}

fn tileset(b: &str, id: &str, bbox: &Value) -> Value {
    let base = format!("{b}/collections/{id}/tiles/WebMercatorQuad");
    json!({
        "title": format!("{id} (vector tiles)"),
        "dataType": "vector",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": WEB_MERCATOR_QUAD,
        "boundingBox": { "lowerLeft": [bbox[0], bbox[1]], "upperRight": [bbox[2], bbox[3]], "crs": super::query::CRS84 },
        "layers": [{ "id": id, "dataType": "vector", "geometryType": if id == "hotspots" { "points" } else { "polygons" } }],
        "links": [
            { "rel": "self", "href": base, "type": JSON },
            { "rel": "item", "href": format!("{base}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"), "type": MVT, "templated": true },
            { "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", "href": format!("{b}/tileMatrixSets/WebMercatorQuad"), "type": JSON },
            { "rel": "alternate", "href": format!("{base}/tilejson.json"), "type": JSON, "title": "TileJSON" },
        ],
    })
}

/// `/collections/{id}/tiles`: the collection's tile sets (one, WebMercatorQuad, vector).
pub async fn tilesets(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(cid): Path<String>,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (c, b, bbox) = tile_set_of(&state, &who, &cid, &q, &headers).await?;
    let body = json!({ "tilesets": [tileset(&b, c.id(), &bbox)] });
    Ok(json_response(StatusCode::OK, JSON, body.to_string()))
}

/// `/collections/{id}/tiles/WebMercatorQuad`: the tile set's metadata.
pub async fn tileset_metadata(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(cid): Path<String>,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (c, b, bbox) = tile_set_of(&state, &who, &cid, &q, &headers).await?;
    Ok(json_response(
        StatusCode::OK,
        JSON,
        tileset(&b, c.id(), &bbox).to_string(),
    ))
}

/// `/collections/{id}/tiles/WebMercatorQuad/tilejson.json`: TileJSON 3.0.0 with the vector
/// layer and its fields, for MapLibre and other TileJSON clients.
pub async fn vector_tilejson(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(cid): Path<String>,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (c, b, bbox) = tile_set_of(&state, &who, &cid, &q, &headers).await?;
    let fields: serde_json::Map<String, Value> = match c.id() {
        "hotspots" => [
            ("id", "Number"),
            ("status", "String"),
            ("kind", "String"),
            ("count", "Number"),
            ("aggregated", "Boolean"),
        ]
        .as_slice(),
        "communes" | "provinces" => [
            ("code", "String"),
            ("name", "String"),
            ("province_code", "String"),
        ]
        .as_slice(),
        "surveys" => [
            ("id", "String"),
            ("name", "String"),
            ("acquired_at", "String"),
        ]
        .as_slice(),
        _ => [
            ("id", "Number"),
            ("class", "String"),
            ("confidence", "Number"),
            ("status", "String"),
            ("replanting", "Boolean"),
            ("count", "Number"),
            ("aggregated", "Boolean"),
            ("class_poppy", "Number"),
            ("class_cannabis", "Number"),
        ]
        .as_slice(),
    }
    .iter()
    .map(|(k, v)| (k.to_string(), json!(v)))
    .collect();
    let (w, s, e, n) = (
        bbox[0].as_f64().unwrap_or(102.14),
        bbox[1].as_f64().unwrap_or(8.18),
        bbox[2].as_f64().unwrap_or(109.47),
        bbox[3].as_f64().unwrap_or(23.39),
    );
    let body = json!({
        "tilejson": "3.0.0",
        "name": c.id(),
        "scheme": "xyz",
        "tiles": [format!("{b}/collections/{}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}", c.id())],
        "minzoom": 0,
        "maxzoom": 22,
        "bounds": [w, s, e, n],
        "center": [(w + e) / 2.0, (s + n) / 2.0, 6],
        "vector_layers": [{ "id": c.id(), "fields": fields, "minzoom": 0, "maxzoom": 22 }],
    });
    Ok(json_response(StatusCode::OK, JSON, body.to_string()))
}
