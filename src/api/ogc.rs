//! OGC API – Features: landing page, conformance, collections, items (Part 1 core with GeoJSON and
//! HTML, Part 2 CRS for CRS84 / EPSG:4326 / EPSG:3857, Part 4 create-replace-update-delete for
//! hotspots).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::{Auth, Json, RawQuery, parse_id};
use super::features::{self, FeatureCollection, GEOJSON, HTML, JSON, Link};
use super::html;
use super::query::{
    CRS84, EPSG3857, EPSG4326, Format, Project, Request, base, format, json_response, next_href,
    output_crs, page_start, parse_bbox, parse_datetime, parse_filter, parse_limit, self_href,
    to_json,
};
use crate::auth::Principal;
use crate::boundaries::Level;
use crate::hotspots::model::RawHotspot;
use crate::hotspots::{Hotspot, Kind, Status};
use crate::index::HotspotFilter;
use crate::time_util::now_rfc3339;

pub const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
    // OGC API – Tiles, each collection's vector tiles (issue 16).
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
];

/// The collections Vigil serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionId {
    Hotspots,
    Communes,
    Provinces,
    Surveys,
    Flags,
}

impl CollectionId {
    pub fn parse(s: &str) -> Result<CollectionId, ApiError> {
        match s {
            "hotspots" => Ok(CollectionId::Hotspots),
            "communes" => Ok(CollectionId::Communes),
            "provinces" => Ok(CollectionId::Provinces),
            "surveys" => Ok(CollectionId::Surveys),
            "flags" => Ok(CollectionId::Flags),
            _ => Err(ApiError::not_found(format!(
                "no collection {s:?}; collections: hotspots, communes, provinces, surveys, flags"
            ))),
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            CollectionId::Hotspots => "hotspots",
            CollectionId::Communes => "communes",
            CollectionId::Provinces => "provinces",
            CollectionId::Surveys => "surveys",
            CollectionId::Flags => "flags",
        }
    }

    fn title(self) -> &'static str {
        match self {
            CollectionId::Hotspots => "Điểm, tụ điểm ma túy (hotspots)",
            CollectionId::Communes => "Xã, phường (communes)",
            CollectionId::Provinces => "Tỉnh, thành phố (provinces)",
            CollectionId::Surveys => super::surveys::TITLE,
            CollectionId::Flags => super::flags::TITLE,
        }
    }

    fn description(self) -> &'static str {
        match self {
            CollectionId::Hotspots => {
                "Registry of drug hotspots: places where drugs are sold or used, with their lifecycle status. Sensitive law-enforcement data, scoped to your jurisdiction."
            }
            CollectionId::Communes => {
                "Commune and ward boundaries (xã, phường) since the 2025 reform. Demo data are approximate; official boundaries are a user import."
            }
            CollectionId::Provinces => "Province boundaries (tỉnh, thành phố).",
            CollectionId::Surveys => super::surveys::DESCRIPTION,
            CollectionId::Flags => super::flags::DESCRIPTION,
        }
    }

    fn level(self) -> Option<Level> {
        match self {
            CollectionId::Hotspots | CollectionId::Surveys | CollectionId::Flags => None,
            CollectionId::Communes => Some(Level::Commune),
            CollectionId::Provinces => Some(Level::Province),
        }
    }
}

pub async fn landing(
    State(state): State<AppState>,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    q.only(&["f"])?;
    let b = base(&state, &headers);
    let links = vec![
        Link::new(format!("{b}/?f=json"), "self", JSON, "Trang này (JSON)"),
        Link::new(
            format!("{b}/?f=html"),
            "alternate",
            HTML,
            "Trang này (HTML)",
        ),
        Link::new(
            format!("{b}/api"),
            "service-desc",
            "application/vnd.oai.openapi+json;version=3.0",
            "Mô tả API (OpenAPI 3.0)",
        ),
        Link::new(
            format!("{b}/api?f=html"),
            "service-doc",
            HTML,
            "Tài liệu API",
        ),
        Link::new(
            format!("{b}/conformance"),
            "conformance",
            JSON,
            "Các lớp tuân thủ OGC",
        ),
        Link::new(format!("{b}/collections"), "data", JSON, "Các lớp dữ liệu"),
        Link::new(
            format!("{b}/tileMatrixSets"),
            "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
            JSON,
            "Lưới ô bản đồ (tile matrix sets)",
        ),
        Link::new(format!("{b}/map/"), "alternate", HTML, "Bản đồ Vigil"),
    ];
    let body = json!({
        "title": "Vigil — dữ liệu phòng, chống ma túy",
        "description": "Sổ theo dõi điểm, tụ điểm ma túy, ranh giới hành chính và (sắp có) ảnh bay khảo sát. OGC API – Features. Dữ liệu nhạy cảm: cần mã truy cập.",
        "links": links,
    });
    match format(&q, &headers)? {
        Format::Json => Ok(json_response(StatusCode::OK, JSON, body.to_string())),
        Format::Html => Ok(html::landing(&body)),
    }
}

/// `GET /tileMatrixSets` (OGC API – Tiles): the one tiling scheme of the vector tiles.
pub async fn tile_matrix_sets(
    State(state): State<AppState>,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // Clients (ogc-client) add `f=json`; these documents are JSON only.
    q.only(&["f"])?;
    let b = base(&state, &headers);
    let body = json!({ "tileMatrixSets": [{
        "id": "WebMercatorQuad",
        "title": "Google Maps Compatible for the World",
        "uri": WEB_MERCATOR_QUAD_URI,
        "links": [{ "rel": "self", "href": format!("{b}/tileMatrixSets/WebMercatorQuad"), "type": JSON }],
    }]});
    Ok(json_response(StatusCode::OK, JSON, body.to_string()))
}

/// `GET /tileMatrixSets/WebMercatorQuad`: its definition (OGC Two Dimensional Tile Matrix Set
/// 2.0, zooms 0–24 as `crate::grid` uses them).
pub async fn web_mercator_quad(q: RawQuery) -> Result<Response, ApiError> {
    // Clients (ogc-client) add `f=json`; these documents are JSON only.
    q.only(&["f"])?;
    const ORIGIN: f64 = 20_037_508.342_789_244;
    let matrices: Vec<Value> = (0..=24u32)
        .map(|z| {
            let n = 1u64 << z;
            json!({
                "id": z.to_string(),
                "scaleDenominator": 559_082_264.028_717_8 / n as f64,
                "cellSize": 156_543.033_928_041_3 / n as f64,
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": [-ORIGIN, ORIGIN],
                "tileWidth": 256,
                "tileHeight": 256,
                "matrixWidth": n,
                "matrixHeight": n,
            })
        })
        .collect();
    let body = json!({
        "id": "WebMercatorQuad",
        "title": "Google Maps Compatible for the World",
        "uri": WEB_MERCATOR_QUAD_URI,
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "orderedAxes": ["X", "Y"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": matrices,
    });
    Ok(json_response(StatusCode::OK, JSON, body.to_string()))
}

const WEB_MERCATOR_QUAD_URI: &str =
    "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad";

pub async fn conformance(q: RawQuery, headers: HeaderMap) -> Result<Response, ApiError> {
    q.only(&["f"])?;
    // Part 3 and CQL2 are declared beside the code that meets them (`crate::filter`).
    let all: Vec<&str> = CONFORMANCE
        .iter()
        .chain(crate::filter::CONFORMANCE.iter())
        .copied()
        .collect();
    let body = json!({ "conformsTo": all });
    match format(&q, &headers)? {
        Format::Json => Ok(json_response(StatusCode::OK, JSON, body.to_string())),
        Format::Html => Ok(html::list_page("Tuân thủ OGC", &all)),
    }
}

/// The description of a registry collection (hotspots, communes, provinces) as `who` sees it.
pub(super) fn collection_json(
    state: &AppState,
    b: &str,
    c: CollectionId,
    who: &Principal,
) -> Value {
    // Each layer's extent is its data's, as the caller may see it: boundaries' envelopes; the
    // hotspots' positions and first and last `reported_on`.
    let (extent_bbox, interval) = match c.level() {
        Some(level) => {
            let bi = state.vigil.boundaries();
            let bbox = bbox_of(
                bi.list(level)
                    .iter()
                    .filter(|x| crate::service::boundary_visible(&bi, who, x))
                    .filter_map(|x| x.bbox()),
            );
            (bbox, json!([null, null]))
        }
        None => match state.vigil.hotspot_extent(who) {
            Some((bbox, first, last)) => (
                Some(bbox),
                json!([
                    format!("{}T00:00:00Z", crate::time_util::day_to_date(first)),
                    format!("{}T23:59:59Z", crate::time_util::day_to_date(last)),
                ]),
            ),
            None => (None, json!([null, null])),
        },
    };
    let extent_bbox = extent_bbox.unwrap_or([102.14, 8.18, 109.47, 23.39]);
    let mut v = json!({
        "id": c.id(),
        "title": c.title(),
        "description": c.description(),
        "itemType": "feature",
        "crs": [CRS84, EPSG4326, EPSG3857],
        "storageCrs": CRS84,
        "extent": {
            "spatial": { "bbox": [extent_bbox], "crs": CRS84 },
            "temporal": { "interval": [interval], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian" }
        },
        "links": [
            Link::new(format!("{b}/collections/{}", c.id()), "self", JSON, "Lớp dữ liệu này"),
            Link::new(format!("{b}/collections/{}/items", c.id()), "items", GEOJSON, "Các đối tượng (GeoJSON)"),
            Link::new(format!("{b}/collections/{}/items?f=html", c.id()), "items", HTML, "Các đối tượng (HTML)"),
        ],
    });
    if c == CollectionId::Hotspots {
        v["properties"] = json!({
            "status": Status::ALL.iter().map(|s| s.code()).collect::<Vec<_>>(),
            "kind": Kind::ALL.iter().map(|k| k.code()).collect::<Vec<_>>(),
        });
    }
    v
}

fn bbox_of(it: impl Iterator<Item = [f64; 4]>) -> Option<[f64; 4]> {
    it.fold(None, |acc: Option<[f64; 4]>, b| {
        Some(match acc {
            None => b,
            Some(a) => [
                a[0].min(b[0]),
                a[1].min(b[1]),
                a[2].max(b[2]),
                a[3].max(b[3]),
            ],
        })
    })
}

/// Status and kind filters of the hotspot items (bit masks).
pub(super) fn parse_filters_pub(
    q: &std::collections::HashMap<&str, &str>,
) -> Result<(u8, u8), ApiError> {
    let statuses = parse_set(q, "status", Status::from_code, Status::as_u8, "statuses")?;
    let kinds = parse_set(q, "kind", Kind::from_code, Kind::as_u8, "kinds")?;
    Ok((statuses, kinds))
}

fn parse_set<T: Copy>(
    q: &std::collections::HashMap<&str, &str>,
    key: &str,
    parse: fn(&str) -> Option<T>,
    bit: fn(T) -> u8,
    all: &str,
) -> Result<u8, ApiError> {
    let Some(raw) = q.get(key) else { return Ok(0) };
    let mut mask = 0u8;
    for part in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let v = parse(part).ok_or_else(|| {
            ApiError::bad_request(format!("{key}={part:?} is not known; one of {all}"))
        })?;
        mask |= 1 << bit(v);
    }
    Ok(mask)
}

const HOTSPOT_PARAMS: &[&str] = &[
    "f",
    "bbox",
    "bbox-crs",
    "crs",
    "datetime",
    "limit",
    "offset",
    "after",
    "status",
    "kind",
    "commune",
    "province",
    "filter",
    "filter-lang",
    "filter-crs",
];
const BOUNDARY_PARAMS: &[&str] = &[
    "f",
    "bbox",
    "bbox-crs",
    "crs",
    "datetime",
    "limit",
    "offset",
    "after",
    "province",
    "code",
    "filter",
    "filter-lang",
    "filter-crs",
];
/// Hotspots page by `after` (a cursor the index answers at any depth); `offset` is taken for
/// clients that always send it (GeoNetwork's ogc-client sends `offset=0`), up to this depth.
const MAX_HOTSPOT_OFFSET: usize = 10_000;

/// `offset`: a whole number (0 when absent).
fn parse_offset(m: &std::collections::HashMap<&str, &str>) -> Result<usize, ApiError> {
    match m.get("offset") {
        Some(s) => super::extract::parse_count(s)
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
            .ok_or_else(|| ApiError::bad_request(format!("offset={s:?}: expected a whole number"))),
        None => Ok(0),
    }
}

/// Items of a registry collection (hotspots, communes, provinces).
pub(super) async fn registry_items(c: CollectionId, r: Request) -> Result<Response, ApiError> {
    let Request {
        state,
        who,
        query: q,
        headers,
        base: b,
    } = r;
    let cid = c.id();
    let fmt = format(&q, &headers)?;
    let m = q.map();
    let (crs_uri, project) = output_crs(&m)?;
    let limit = parse_limit(&state, &m)?;
    let bbox = parse_bbox(&m)?;
    let path = format!("/collections/{cid}/items");
    let mut links = vec![
        Link::new(
            self_href(&b, &path, &q, "json"),
            if fmt == Format::Json {
                "self"
            } else {
                "alternate"
            },
            GEOJSON,
            "Trang này (GeoJSON)",
        ),
        Link::new(
            self_href(&b, &path, &q, "html"),
            if fmt == Format::Html {
                "self"
            } else {
                "alternate"
            },
            HTML,
            "Trang này (HTML)",
        ),
        Link::new(
            format!("{b}/collections/{cid}"),
            "collection",
            JSON,
            c.title(),
        ),
    ];
    let body = match c.level() {
        None => {
            q.only(HOTSPOT_PARAMS)?;
            let filter = hotspot_filter(&m, bbox)?;
            let after = match m.get("after") {
                Some(s) => Some(s.parse::<i64>().map_err(|_| {
                    ApiError::bad_request(format!(
                        "after={s:?}: expected a hotspot id (use the `next` link)"
                    ))
                })?),
                None => None,
            };
            let offset = parse_offset(&m)?;
            if offset > 0 && after.is_some() {
                return Err(ApiError::bad_request(
                    "give either after (the `next` link's cursor) or offset, not both",
                ));
            }
            if offset > MAX_HOTSPOT_OFFSET {
                return Err(ApiError::bad_request(format!(
                    "offset={offset}: hotspots page by cursor beyond {MAX_HOTSPOT_OFFSET}; follow the `next` link (after=…)"
                )));
            }
            // The index answers from memory; the page's features come from the render cache
            // when they can, else from the store. An offset reads that many more ids and drops
            // them; the next link is the cursor after the page either way.
            let mut page = state
                .vigil
                .hotspot_page(&who, &filter, after, offset + limit);
            page.ids.drain(..offset.min(page.ids.len()));
            if let Some(n) = page.next_after {
                links.push(Link::new(
                    next_href(&b, cid, &q, "after", n.to_string()),
                    "next",
                    GEOJSON,
                    "Trang sau",
                ));
            }
            // Only CRS84 renderings are cached. Decided by the CRS's name, never by comparing
            // function pointers (one function can have two addresses across codegen units).
            let cacheable = crs_uri == CRS84;
            let warm = if cacheable {
                state.vigil.with_cached_hotspots(&page.ids, |it| {
                    feature_collection(it, page.matched, &links)
                })
            } else {
                None
            };
            match warm {
                Some(body) => body?,
                None => {
                    let rendered =
                        render_hotspots(&state, who, &page.ids, project, cacheable).await?;
                    feature_collection(
                        &mut rendered.iter().map(|b| b.as_ref()),
                        page.matched,
                        &links,
                    )?
                }
            }
        }
        Some(level) => {
            q.only(BOUNDARY_PARAMS)?;
            // Boundaries have no time: a valid `datetime` is checked, and every boundary is in it.
            parse_datetime(&m)?;
            let offset = parse_offset(&m)?;
            let cql = parse_filter(&m, &crate::boundaries::QUERYABLES)?;
            let bi = state.vigil.boundaries();
            let all: Vec<&crate::boundaries::Boundary> = match bbox {
                Some(bb) => bi.in_bbox(level, bb),
                None => bi.list(level).iter().collect(),
            };
            let matching: Vec<_> = all
                .into_iter()
                .filter(|x| crate::service::boundary_visible(&bi, &who, x))
                .filter(|x| {
                    m.get("province").is_none_or(|p| {
                        x.parent.as_deref() == Some(*p)
                            || (level == Level::Province && x.code == *p)
                    })
                })
                .filter(|x| m.get("code").is_none_or(|c| x.code == *c))
                .filter(|x| cql.as_ref().is_none_or(|f| f.matches(*x)))
                .collect();
            let offset = page_start(&m, offset, &matching, |x| x.code.clone())?;
            let page: Vec<_> = matching.iter().skip(offset).take(limit).collect();
            if offset + page.len() < matching.len() {
                links.push(Link::new(
                    next_href(&b, cid, &q, "offset", (offset + page.len()).to_string()),
                    "next",
                    GEOJSON,
                    "Trang sau",
                ));
            }
            let fc = FeatureCollection {
                t: "FeatureCollection",
                number_returned: page.len(),
                features: page
                    .iter()
                    .map(|x| features::boundary(x, &bi, project, Vec::new()))
                    .collect(),
                number_matched: matching.len(),
                time_stamp: now_rfc3339(),
                links,
            };
            to_json(&fc)?.into_bytes()
        }
    };
    let mut resp = match fmt {
        Format::Json => json_response(StatusCode::OK, GEOJSON, body),
        Format::Html => html::items(c.id(), c.title(), &String::from_utf8_lossy(&body)),
    };
    resp.headers_mut().insert(
        "content-crs",
        HeaderValue::from_str(&format!("<{crs_uri}>")).unwrap_or(HeaderValue::from_static("")),
    );
    Ok(resp)
}

/// The hotspot filters every hotspot request takes: `status`, `kind`, `datetime`, `commune`,
/// `province` and a CQL2 `filter`, over `bbox`.
fn hotspot_filter(
    m: &std::collections::HashMap<&str, &str>,
    bbox: Option<[f64; 4]>,
) -> Result<HotspotFilter, ApiError> {
    let (from_day, to_day) = parse_datetime(m)?;
    let statuses = parse_set(
        m,
        "status",
        Status::from_code,
        Status::as_u8,
        "reported, verifying, eliminated, reemerged",
    )?;
    let kinds = parse_set(
        m,
        "kind",
        Kind::from_code,
        Kind::as_u8,
        "diem_ban_le, diem_su_dung, tu_diem_su_dung, diem_nong, boong_ke, khac",
    )?;
    Ok(HotspotFilter {
        bbox,
        statuses,
        kinds,
        commune: m.get("commune").map(|s| s.to_string()),
        province: m.get("province").map(|s| s.to_string()),
        from_day,
        to_day,
        cql: parse_filter(m, &crate::index::hotspots::QUERYABLES)?,
    })
}

/// `GET /collections/{cid}/tiles/WebMercatorQuad/{z}/{y}/{x}` (OGC API – Tiles): a Mapbox
/// Vector Tile of what the caller may see of a collection, with the items' filters — hotspots
/// as points (or counts per cell where they are many; `status`, `kind`, `datetime`, `commune`,
/// `province`), communes and provinces (`province`), surveys' footprints (`datetime`) and flags'
/// outlines (`class`, `status`, `datetime`, `survey`, `province`, `commune`, `min_confidence`) —,
/// each with a CQL2 `filter`.
pub async fn vector_tile(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((cid, z, y, x)): Path<(String, u32, u64, u64)>,
    q: RawQuery,
) -> Result<Response, ApiError> {
    let c = super::collections::find(&cid)?;
    let t = crate::grid::Tile::new(z, x, y)
        .map_err(|e| ApiError::not_found(format!("no tile {z}/{y}/{x}: {e}")))?;
    let m = q.map();
    let cql = |m: &std::collections::HashMap<&str, &str>| parse_filter(m, c.queryables());
    let body = match cid.as_str() {
        "hotspots" => {
            q.only(&[
                "status",
                "kind",
                "datetime",
                "commune",
                "province",
                "filter",
                "filter-lang",
                "filter-crs",
            ])?;
            let filter = hotspot_filter(&m, None)?;
            state.run(move |v| v.hotspot_tile(&who, &filter, t)).await?
        }
        "communes" | "provinces" => {
            q.only(&["province", "filter", "filter-lang", "filter-crs"])?;
            let level = if cid == "communes" {
                Level::Commune
            } else {
                Level::Province
            };
            let province = m.get("province").map(|p| p.to_string());
            let f = cql(&m)?;
            state
                .run(move |v| v.boundary_tile(&who, level, t, province.as_deref(), f.as_deref()))
                .await?
        }
        "surveys" => {
            q.only(&["datetime", "filter", "filter-lang", "filter-crs"])?;
            let search = crate::service::surveys::SurveySearch {
                when: super::query::parse_instants(&m)?,
                cql: cql(&m)?,
                ..Default::default()
            };
            state
                .run(move |v| v.survey_footprint_tile(&who, t, search))
                .await?
        }
        _ => {
            q.only(&[
                "class",
                "status",
                "datetime",
                "survey",
                "province",
                "commune",
                "min_confidence",
                "filter",
                "filter-lang",
                "filter-crs",
            ])?;
            let query = super::flags::flag_query(&state, &m, None)?;
            state.run(move |v| v.flag_tile(&who, t, query)).await?
        }
    };
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/vnd.mapbox-vector-tile"),
            (header::CACHE_CONTROL, "private, max-age=60"),
        ],
        body,
    )
        .into_response())
}

/// The GeoJSON of each hotspot in `ids` (missing ones skipped). CRS84 renderings are cached by
/// the service; other projections are rendered afresh.
async fn render_hotspots(
    state: &AppState,
    who: Principal,
    ids: &[i64],
    project: Project,
    cacheable: bool,
) -> Result<Vec<bytes::Bytes>, ApiError> {
    let render = move |h: &crate::hotspots::Hotspot, bi: &crate::index::BoundaryIndex| {
        serde_json::to_vec(&features::hotspot(h, bi, project, Vec::new()))
            .map(bytes::Bytes::from)
            .map_err(|e| ApiError::internal("serialise", e))
    };
    let ids = ids.to_vec();
    if cacheable {
        return state
            .run(move |v| Ok(v.rendered_hotspots(&who, &ids, render)))
            .await?;
    }
    let rows = state.run(move |v| v.hotspots_by_id(&who, &ids)).await?;
    let bi = state.vigil.boundaries();
    rows.iter().map(|h| render(h, &bi)).collect()
}

/// Writes a FeatureCollection around already-rendered features (valid UTF-8 JSON by construction).
fn feature_collection(
    features: &mut dyn Iterator<Item = &[u8]>,
    matched: usize,
    links: &[Link],
) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::with_capacity(64 * 1024);
    out.extend_from_slice(b"{\"type\":\"FeatureCollection\",\"features\":[");
    let mut returned = 0usize;
    for f in features {
        if returned > 0 {
            out.push(b',');
        }
        out.extend_from_slice(f);
        returned += 1;
    }
    out.extend_from_slice(
        format!(
            "],\"numberMatched\":{matched},\"numberReturned\":{returned},\"timeStamp\":\"{}\",\"links\":{}}}",
            now_rfc3339(),
            to_json(&links)?
        )
        .as_bytes(),
    );
    Ok(out)
}

fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

fn hotspot_response(
    state: &AppState,
    b: &str,
    h: &Hotspot,
    project: fn(f64, f64) -> [f64; 2],
    status: StatusCode,
) -> Result<Response, ApiError> {
    let bi = state.vigil.boundaries();
    let links = vec![
        Link::new(
            format!("{b}/collections/hotspots/items/{}", h.id),
            "self",
            GEOJSON,
            "Điểm này",
        ),
        Link::new(
            format!("{b}/collections/hotspots/items/{}?f=html", h.id),
            "alternate",
            HTML,
            "Trang HTML",
        ),
        Link::new(
            format!("{b}/collections/hotspots"),
            "collection",
            JSON,
            CollectionId::Hotspots.title(),
        ),
        Link::new(
            format!("{b}/v1/hotspots/{}/history", h.id),
            "history",
            JSON,
            "Lịch sử trạng thái",
        ),
    ];
    let body = to_json(&features::hotspot(h, &bi, project, links))?;
    let mut resp = (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(GEOJSON))],
        body,
    )
        .into_response();
    resp.headers_mut().insert(header::ETAG, etag(h.version));
    if status == StatusCode::CREATED {
        resp.headers_mut().insert(
            header::LOCATION,
            HeaderValue::from_str(&format!("{b}/collections/hotspots/items/{}", h.id))
                .map_err(|e| ApiError::internal("location", e))?,
        );
    }
    Ok(resp)
}

/// One feature of a registry collection (hotspots, communes, provinces).
pub(super) async fn registry_item(
    c: CollectionId,
    r: Request,
    fid: String,
) -> Result<Response, ApiError> {
    let Request {
        state,
        who,
        query: q,
        headers,
        base: b,
    } = r;
    q.only(&["f", "crs"])?;
    let fmt = format(&q, &headers)?;
    let (crs_uri, project) = output_crs(&q.map())?;
    let mut resp = match c.level() {
        None => {
            let id = parse_id(&fid, "hotspot")?;
            let h = state.run(move |v| v.get_hotspot(&who, id)).await?;
            let resp = hotspot_response(&state, &b, &h, project, StatusCode::OK)?;
            if fmt == Format::Html {
                let body = to_json(&features::hotspot(
                    &h,
                    &state.vigil.boundaries(),
                    project,
                    Vec::new(),
                ))?;
                html::feature(c.id(), &body)
            } else {
                resp
            }
        }
        Some(level) => {
            let bi = state.vigil.boundaries();
            let x = bi
                .get(level, &fid)
                .filter(|x| crate::service::boundary_visible(&bi, &who, x))
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "no {} with code {fid:?} in your jurisdiction",
                        level.code()
                    ))
                })?;
            let cid = c.id();
            let links = vec![
                Link::new(
                    format!("{b}/collections/{cid}/items/{}", x.code),
                    "self",
                    GEOJSON,
                    &x.name,
                ),
                Link::new(
                    format!("{b}/collections/{cid}/items/{}?f=html", x.code),
                    "alternate",
                    HTML,
                    "Trang HTML",
                ),
                Link::new(
                    format!("{b}/collections/{cid}"),
                    "collection",
                    JSON,
                    c.title(),
                ),
            ];
            let body = to_json(&features::boundary(x, &bi, project, links))?;
            match fmt {
                Format::Json => json_response(StatusCode::OK, GEOJSON, body),
                Format::Html => html::feature(c.id(), &body),
            }
        }
    };
    // OGC API – Features Part 2: every feature response names its CRS.
    if let Ok(v) = HeaderValue::from_str(&format!("<{crs_uri}>")) {
        resp.headers_mut().insert("content-crs", v);
    }
    Ok(resp)
}

// ---- Part 4: create, replace, update, delete -------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GeometryIn {
    #[serde(rename = "type")]
    t: String,
    coordinates: Value,
    #[serde(default)]
    #[allow(dead_code)]
    bbox: Option<Value>,
}

/// Hotspot properties a client may send. Server-assigned ones are accepted (so a GET body can be
/// PUT back) and ignored; anything else is refused by name.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct PropertiesIn {
    name: Option<String>,
    kind: Option<String>,
    status: Option<String>,
    address: Option<String>,
    source: Option<String>,
    notes: Option<String>,
    reported_on: Option<String>,
    // Read-only, ignored:
    kind_label: Option<Value>,
    status_label: Option<Value>,
    status_since: Option<Value>,
    commune_code: Option<Value>,
    commune_name: Option<Value>,
    province_code: Option<Value>,
    province_name: Option<Value>,
    created_at: Option<Value>,
    updated_at: Option<Value>,
    version: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureIn {
    #[serde(rename = "type")]
    t: String,
    #[serde(default)]
    #[allow(dead_code)]
    id: Option<Value>,
    geometry: Option<GeometryIn>,
    #[serde(default)]
    properties: Option<PropertiesIn>,
    #[serde(default)]
    #[allow(dead_code)]
    links: Option<Value>,
    #[serde(default)]
    #[allow(dead_code)]
    bbox: Option<Value>,
}

fn point(g: &GeometryIn) -> Result<(f64, f64), ApiError> {
    let invalid =
        |m: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("geometry: {m}"));
    if g.t != "Point" {
        return Err(invalid(format!("a hotspot is a Point, not a {}", g.t)));
    }
    let c = g
        .coordinates
        .as_array()
        .ok_or_else(|| invalid("coordinates must be [longitude, latitude]".into()))?;
    if c.len() < 2 || c.len() > 3 {
        return Err(invalid(format!(
            "coordinates must be [longitude, latitude], got {} numbers",
            c.len()
        )));
    }
    let lon = c[0]
        .as_f64()
        .ok_or_else(|| invalid("longitude is not a number".into()))?;
    let lat = c[1]
        .as_f64()
        .ok_or_else(|| invalid("latitude is not a number".into()))?;
    Ok((lon, lat))
}

fn raw_from_feature(f: FeatureIn) -> Result<RawHotspot, ApiError> {
    if f.t != "Feature" {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("type must be \"Feature\", got {:?}", f.t),
        ));
    }
    let geometry = f.geometry.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "geometry: a Point is required",
        )
    })?;
    let (lon, lat) = point(&geometry)?;
    let p = f.properties.unwrap_or_default();
    Ok(RawHotspot {
        lon: Some(lon),
        lat: Some(lat),
        name: p.name,
        kind: p.kind,
        status: p.status,
        address: p.address,
        source: p.source,
        notes: p.notes,
        reported_on: p.reported_on,
    })
}

fn hotspots_only(cid: &str) -> Result<(), ApiError> {
    match CollectionId::parse(cid)? {
        CollectionId::Hotspots => Ok(()),
        c => Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!(
                "collection {} is read-only here; boundaries change through `vigil import boundaries`, surveys through uploads",
                c.id()
            ),
        )),
    }
}

/// `If-Match: "3"` (or `W/"3"`, or `*`) → the version the client last read.
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let s = v
        .to_str()
        .map_err(|_| ApiError::bad_request("If-Match is not valid text"))?
        .trim();
    if s == "*" {
        return Ok(None);
    }
    let t = s.trim_start_matches("W/").trim_matches('"');
    t.parse::<i64>().map(Some).map_err(|_| {
        ApiError::bad_request(format!(
            "If-Match {s:?}: expected an ETag from this server, like \"3\""
        ))
    })
}

pub async fn create_item(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(cid): Path<String>,
    q: RawQuery,
    headers: HeaderMap,
    Json(f): Json<FeatureIn>,
) -> Result<Response, ApiError> {
    hotspots_only(&cid)?;
    q.only(&[])?;
    let raw = raw_from_feature(f)?;
    let h = state.run(move |v| v.create_hotspot(&who, raw)).await?;
    hotspot_response(
        &state,
        &base(&state, &headers),
        &h,
        features::identity,
        StatusCode::CREATED,
    )
}

pub async fn replace_item(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((cid, fid)): Path<(String, String)>,
    q: RawQuery,
    headers: HeaderMap,
    Json(f): Json<FeatureIn>,
) -> Result<Response, ApiError> {
    hotspots_only(&cid)?;
    q.only(&[])?;
    let id = parse_id(&fid, "hotspot")?;
    let expected = if_match(&headers)?;
    let raw = raw_from_feature(f)?;
    let h = state
        .run(move |v| {
            v.update_hotspot(&who, id, expected, |cur| {
                *cur = RawHotspot {
                    status: raw.status.clone().or(cur.status.take()),
                    ..raw
                }
            })
        })
        .await?;
    hotspot_response(
        &state,
        &base(&state, &headers),
        &h,
        features::identity,
        StatusCode::OK,
    )
}

/// JSON Merge Patch (RFC 7396) of a hotspot: `{"geometry": {...}, "properties": {"notes": null, ...}}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchIn {
    #[serde(default, rename = "type")]
    #[allow(dead_code)]
    t: Option<String>,
    geometry: Option<GeometryIn>,
    #[serde(default)]
    properties: Option<serde_json::Map<String, Value>>,
}

fn apply_patch(
    cur: &mut RawHotspot,
    geometry: Option<(f64, f64)>,
    props: &serde_json::Map<String, Value>,
) -> Result<(), ApiError> {
    if let Some((lon, lat)) = geometry {
        cur.lon = Some(lon);
        cur.lat = Some(lat);
    }
    for (k, v) in props {
        let text = match v {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("properties.{k}: expected a string or null, got {other}"),
                ));
            }
        };
        let slot = match k.as_str() {
            "name" => &mut cur.name,
            "kind" => &mut cur.kind,
            "status" => &mut cur.status,
            "address" => &mut cur.address,
            "source" => &mut cur.source,
            "notes" => &mut cur.notes,
            "reported_on" => &mut cur.reported_on,
            "kind_label" | "status_label" | "status_since" | "commune_code" | "commune_name"
            | "province_code" | "province_name" | "created_at" | "updated_at" | "version" => {
                continue;
            }
            other => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!(
                        "properties.{other}: unknown property; editable: name, kind, status, address, source, notes, reported_on"
                    ),
                ));
            }
        };
        *slot = text;
    }
    Ok(())
}

pub async fn patch_item(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((cid, fid)): Path<(String, String)>,
    q: RawQuery,
    headers: HeaderMap,
    Json(p): Json<PatchIn>,
) -> Result<Response, ApiError> {
    hotspots_only(&cid)?;
    q.only(&[])?;
    let id = parse_id(&fid, "hotspot")?;
    let expected = if_match(&headers)?;
    let geometry = p.geometry.as_ref().map(point).transpose()?;
    let props = p.properties.unwrap_or_default();
    // Validate the patch's shape before touching the store.
    apply_patch(&mut RawHotspot::default(), geometry, &props)?;
    let h = state
        .run(move |v| {
            v.update_hotspot(&who, id, expected, |cur| {
                let _ = apply_patch(cur, geometry, &props);
            })
        })
        .await?;
    hotspot_response(
        &state,
        &base(&state, &headers),
        &h,
        features::identity,
        StatusCode::OK,
    )
}

pub async fn delete_item(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((cid, fid)): Path<(String, String)>,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    hotspots_only(&cid)?;
    q.only(&[])?;
    let id = parse_id(&fid, "hotspot")?;
    let expected = if_match(&headers)?;
    state
        .run(move |v| v.delete_hotspot(&who, id, expected))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
