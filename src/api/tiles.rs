//! XYZ tiles from the tile store: one survey's (`/tiles/{survey}/{z}/{x}/{y}.png|webp`), the
//! mosaic of every visible survey, newest on top (`/tiles/mosaic/{z}/{x}/{y}[.png|.webp]`,
//! optionally `?datetime=from/to`), and TileJSON 3.0.0 documents for both.
//!
//! Tiles are read straight from disk (the OS page cache keeps hot ones in memory); a survey's
//! tiles never change once it is ready, so their ETags are their coordinates under the survey id.
//! A tile with nothing in it is `204 No Content` without touching the disk when it lies outside
//! every survey. Paths are parsed into numbers and a survey id of fixed shape before any file
//! name is built, so nothing in a request can reach outside the store.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use super::error::ApiError;
use super::extract::{Auth, RawQuery};
use super::query::base;
use super::query::parse_instants;
use crate::auth::Principal;
use crate::config::TileFormat;
use crate::grid::Tile;
use crate::service::surveys::Instants;
use crate::service::surveys::Survey;

const CACHE_SURVEY: &str = "private, max-age=86400";
const CACHE_MOSAIC: &str = "private, max-age=60";

/// `{y}.png` → (y, format); a bare `{y}` is PNG.
fn parse_y(s: &str) -> Result<(u64, TileFormat), ApiError> {
    let (num, fmt) = match s.rsplit_once('.') {
        Some((n, ext)) => (
            n,
            TileFormat::from_extension(ext).ok_or_else(|| {
                ApiError::not_found(format!("unknown tile format {ext:?}; use .png or .webp"))
            })?,
        ),
        None => (s, TileFormat::Png),
    };
    let y = num
        .parse::<u64>()
        .map_err(|_| ApiError::not_found(format!("tile row {num:?} is not a number")))?;
    Ok((y, fmt))
}

pub(super) fn parse_tile(z: &str, x: &str, y: &str) -> Result<(Tile, TileFormat), ApiError> {
    let bad =
        |what: &str, v: &str| ApiError::not_found(format!("tile {what} {v:?} is not a number"));
    let z: u32 = z.parse().map_err(|_| bad("zoom", z))?;
    let x: u64 = x.parse().map_err(|_| bad("column", x))?;
    let (y, fmt) = parse_y(y)?;
    let t = Tile::new(z, x, y).map_err(|e| ApiError::not_found(e.to_string()))?;
    Ok((t, fmt))
}

fn empty(cache: &'static str) -> Response {
    (
        StatusCode::NO_CONTENT,
        [(header::CACHE_CONTROL, HeaderValue::from_static(cache))],
    )
        .into_response()
}

fn image(bytes: Vec<u8>, fmt: TileFormat, etag: &str, cache: &'static str) -> Response {
    let mut resp = Response::new(axum::body::Body::from(bytes));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(fmt.mime()));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    resp
}

fn not_modified(headers: &HeaderMap, etag: &str, cache: &'static str) -> Option<Response> {
    let inm = headers.get(header::IF_NONE_MATCH)?.to_str().ok()?;
    inm.split(',')
        .any(|t| t.trim() == etag || t.trim() == "*")
        .then(|| {
            let mut r = StatusCode::NOT_MODIFIED.into_response();
            if let Ok(v) = HeaderValue::from_str(etag) {
                r.headers_mut().insert(header::ETAG, v);
            }
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            r
        })
}

/// A ready survey visible to `who`, or 404.
fn visible_survey(state: &AppState, who: &Principal, id: &str) -> Result<Arc<Survey>, ApiError> {
    state
        .vigil
        .ready_survey(who, id)
        .ok_or_else(|| ApiError::not_found(format!("no ready survey {id:?} in your jurisdiction")))
}

pub async fn survey_tile(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((id, z, x, y)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (t, fmt) = parse_tile(&z, &x, &y)?;
    let s = visible_survey(&state, &who, &id)?;
    let etag = format!(
        "\"{}.{}.{}.{}.{}\"",
        s.row.id,
        t.z,
        t.x,
        t.y,
        fmt.extension()
    );
    if let Some(r) = not_modified(&headers, &etag, CACHE_SURVEY) {
        return Ok(r);
    }
    // One small file from the page cache: read in place, as before the service owned it.
    Ok(match state.vigil.survey_tile(&s, t, fmt)? {
        None => empty(CACHE_SURVEY),
        Some(bytes) => image(bytes, fmt, &etag, CACHE_SURVEY),
    })
}

/// `datetime` for the mosaic: acquisition instants in `[from, to]`.
fn mosaic_days(q: &RawQuery) -> Result<Instants, ApiError> {
    q.only(&["datetime"])?;
    parse_instants(&q.map())
}

pub async fn mosaic_tile(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((z, x, y)): Path<(String, String, String)>,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (t, fmt) = parse_tile(&z, &x, &y)?;
    let days = mosaic_days(&q)?;
    let stack = state.vigil.mosaic_stack(&who, t, &days);
    if stack.is_empty() {
        return Ok(empty(CACHE_MOSAIC));
    }
    let ids: Vec<&str> = stack.iter().map(|s| s.row.id.as_str()).collect();
    let etag = {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(ids.join(",").as_bytes());
        h.update(format!("{}/{}/{}.{}", t.z, t.x, t.y, fmt.extension()).as_bytes());
        format!("\"m{}\"", &hex::encode(h.finalize())[..24])
    };
    if let Some(r) = not_modified(&headers, &etag, CACHE_MOSAIC) {
        return Ok(r);
    }
    let st = state.clone();
    let out = tokio::task::spawn_blocking(move || st.vigil.compose_mosaic(&stack, t, fmt))
        .await
        .map_err(|e| ApiError::internal("mosaic", e))??;
    Ok(match out {
        None => empty(CACHE_MOSAIC),
        Some(bytes) => image(bytes, fmt, &etag, CACHE_MOSAIC),
    })
}

fn tilejson(
    name: &str,
    tiles_url: String,
    minzoom: u8,
    maxzoom: u8,
    bbox: [f64; 4],
    attribution: &str,
) -> Response {
    // TileJSON 3.0.0: `center` is [longitude, latitude, zoom] with an integer zoom.
    let center = json!([
        (bbox[0] + bbox[2]) / 2.0,
        (bbox[1] + bbox[3]) / 2.0,
        minzoom.max(maxzoom.saturating_sub(3)),
    ]);
    let body = json!({
        "tilejson": "3.0.0",
        "name": name,
        "scheme": "xyz",
        "tiles": [tiles_url],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": bbox,
        "center": center,
        "attribution": attribution,
        "format": "png",
    });
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        body.to_string(),
    )
        .into_response()
}

pub async fn survey_tilejson(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let s = visible_survey(&state, &who, &id)?;
    let m = s
        .meta
        .as_ref()
        .ok_or_else(|| ApiError::internal("tilejson", "ready survey without metadata"))?;
    let b = base(&state, &headers);
    Ok(tilejson(
        &s.row.name,
        format!("{b}/tiles/{}/{{z}}/{{x}}/{{y}}.png", s.row.id),
        m.min_zoom,
        m.native_zoom,
        s.row.bbox.unwrap_or([-180.0, -85.0, 180.0, 85.0]),
        &format!("Vigil survey by {}", s.row.operator),
    ))
}

pub async fn mosaic_tilejson(
    State(state): State<AppState>,
    Auth(who): Auth,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let days = mosaic_days(&q)?;
    let visible = state.vigil.ready_surveys(&who, None, &days);
    let bbox = super::query::union_bbox(visible.iter().filter_map(|s| s.row.bbox));
    let minzoom = visible
        .iter()
        .filter_map(|s| s.meta.as_ref().map(|m| m.min_zoom))
        .min()
        .unwrap_or(0);
    let maxzoom = visible
        .iter()
        .filter_map(|s| s.meta.as_ref().map(|m| m.native_zoom))
        .max()
        .unwrap_or(0);
    let b = base(&state, &headers);
    let query = q
        .map()
        .get("datetime")
        .map(|d| {
            format!(
                "?datetime={}",
                url::form_urlencoded::byte_serialize(d.as_bytes()).collect::<String>()
            )
        })
        .unwrap_or_default();
    Ok(tilejson(
        "Vigil mosaic",
        format!("{b}/tiles/mosaic/{{z}}/{{x}}/{{y}}.png{query}"),
        minzoom,
        maxzoom,
        bbox,
        "Vigil surveys",
    ))
}
