//! What every OGC API – Features collection shares: the output formats and CRSs, the one JSON
//! response, and the query parsers (`bbox`, `datetime`, `limit`/`offset`) and paging links, so
//! every collection refuses a bad parameter with the same words.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;
use super::extract::RawQuery;
use super::features::{self, GEOJSON, JSON, Link};
use crate::auth::Principal;
use crate::service::surveys::Instants;
use crate::time_util::{day_number, parse_date, rfc3339};

pub const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
pub const EPSG4326: &str = "http://www.opengis.net/def/crs/EPSG/0/4326";
pub const EPSG3857: &str = "http://www.opengis.net/def/crs/EPSG/0/3857";

/// Response format chosen by `f` or the Accept header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Html,
}

pub fn format(q: &RawQuery, headers: &HeaderMap) -> Result<Format, ApiError> {
    match q.map().get("f").copied() {
        Some("json" | "geojson") => Ok(Format::Json),
        Some("html") => Ok(Format::Html),
        Some(other) => Err(ApiError::bad_request(format!(
            "unknown format f={other:?}; use f=json or f=html"
        ))),
        None => {
            let accept = headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let html_pos = accept.find("text/html");
            let json_pos = accept.find("json");
            Ok(match (html_pos, json_pos) {
                (Some(h), Some(j)) if h < j => Format::Html,
                (Some(_), None) => Format::Html,
                _ => Format::Json,
            })
        }
    }
}

/// Base URL for links: the configured public URL, else the request's Host.
pub fn base(state: &AppState, headers: &HeaderMap) -> String {
    if state.vigil.config().server.public_url.is_some() {
        return state.base_url.to_string();
    }
    match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        Some(host)
            if host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".:-[]".contains(c)) =>
        {
            format!("http://{host}")
        }
        _ => state.base_url.to_string(),
    }
}

/// The one JSON response: a status, the media type (JSON, GeoJSON, STAC…) and the body.
pub fn json_response(
    status: StatusCode,
    media: &'static str,
    body: impl Into<axum::body::Body>,
) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(media))],
        Into::<axum::body::Body>::into(body),
    )
        .into_response()
}

/// A JSON value as `application/json`.
pub fn json_value(status: StatusCode, v: serde_json::Value) -> Response {
    json_response(status, JSON, v.to_string())
}

pub fn to_json<T: serde::Serialize>(v: &T) -> Result<String, ApiError> {
    serde_json::to_string(v).map_err(|e| ApiError::internal("serialisation", e))
}

/// Output coordinate conversion chosen by `crs`.
/// Converts WGS 84 lon/lat into an output CRS.
pub type Project = fn(f64, f64) -> [f64; 2];

pub fn output_crs(
    q: &std::collections::HashMap<&str, &str>,
) -> Result<(&'static str, Project), ApiError> {
    match q.get("crs").copied() {
        None | Some(CRS84) => Ok((CRS84, features::identity)),
        Some(EPSG4326) => Ok((EPSG4326, features::lat_lon)),
        Some(EPSG3857) => Ok((EPSG3857, features::web_mercator)),
        Some(other) => Err(ApiError::bad_request(format!(
            "unsupported crs {other:?}; supported: {CRS84}, {EPSG4326}, {EPSG3857}"
        ))),
    }
}

/// A GeoJSON feature (as built in CRS84) in the output CRS: every position of its geometry and
/// its `bbox` corners through `project` (nothing to do for CRS84).
pub fn project_feature(f: &mut serde_json::Value, crs_uri: &str, project: Project) {
    fn walk(v: &mut serde_json::Value, project: Project) {
        let Some(items) = v.as_array_mut() else {
            return;
        };
        if let [x, y, ..] = items.as_slice()
            && let (Some(lon), Some(lat)) = (x.as_f64(), y.as_f64())
        {
            let [a, b] = project(lon, lat);
            items[0] = serde_json::json!(a);
            items[1] = serde_json::json!(b);
            return;
        }
        for item in items {
            walk(item, project);
        }
    }
    if crs_uri == CRS84 {
        return;
    }
    walk(&mut f["geometry"]["coordinates"], project);
    if let Some([w, s, e, n]) = f["bbox"]
        .as_array()
        .and_then(|b| b.iter().map(|x| x.as_f64()).collect::<Option<Vec<_>>>())
        .and_then(|b| <[f64; 4]>::try_from(b).ok())
    {
        let (lo, hi) = (project(w, s), project(e, n));
        f["bbox"] = serde_json::json!([
            lo[0].min(hi[0]),
            lo[1].min(hi[1]),
            lo[0].max(hi[0]),
            lo[1].max(hi[1])
        ]);
    }
}

/// The `Content-Crs` header value of a response in `crs_uri`.
pub fn content_crs(crs_uri: &str) -> axum::http::HeaderValue {
    axum::http::HeaderValue::from_str(&format!("<{crs_uri}>"))
        .unwrap_or(axum::http::HeaderValue::from_static(""))
}

/// `bbox` and `bbox-crs`, as CRS84 lon/lat.
pub fn parse_bbox(q: &std::collections::HashMap<&str, &str>) -> Result<Option<[f64; 4]>, ApiError> {
    let Some(raw) = q.get("bbox") else {
        return Ok(None);
    };
    let nums: Vec<f64> = raw
        .split(',')
        .map(|s| s.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            ApiError::bad_request(format!(
                "bbox={raw:?}: expected 4 (or 6) comma-separated numbers"
            ))
        })?;
    let b = match nums.len() {
        4 => [nums[0], nums[1], nums[2], nums[3]],
        6 => [nums[0], nums[1], nums[3], nums[4]],
        n => {
            return Err(ApiError::bad_request(format!(
                "bbox has {n} numbers; expected 4 (or 6 with heights)"
            )));
        }
    };
    if b.iter().any(|x| !x.is_finite()) {
        return Err(ApiError::bad_request("bbox values must be finite numbers"));
    }
    let b = match q.get("bbox-crs").copied() {
        None | Some(CRS84) => b,
        Some(EPSG4326) => [b[1], b[0], b[3], b[2]],
        Some(EPSG3857) => {
            let lo = features::from_web_mercator(b[0], b[1]);
            let hi = features::from_web_mercator(b[2], b[3]);
            [lo[0], lo[1], hi[0], hi[1]]
        }
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "unsupported bbox-crs {other:?}; supported: {CRS84}, {EPSG4326}, {EPSG3857}"
            )));
        }
    };
    if b[1] > b[3] {
        return Err(ApiError::bad_request(format!(
            "bbox: the lower latitude {} is greater than the upper {}",
            b[1], b[3]
        )));
    }
    if !(-180.0..=180.0).contains(&b[0])
        || !(-180.0..=180.0).contains(&b[2])
        || !(-90.0..=90.0).contains(&b[1])
        || !(-90.0..=90.0).contains(&b[3])
    {
        return Err(ApiError::bad_request(
            "bbox is outside longitude -180..180 / latitude -90..90 (for other CRSs give bbox-crs)",
        ));
    }
    Ok(Some(b))
}

/// `datetime`: an instant or an interval `start/end` with `..` or empty for open ends, on the date.
pub fn parse_datetime(
    q: &std::collections::HashMap<&str, &str>,
) -> Result<(Option<i32>, Option<i32>), ApiError> {
    let Some(raw) = q.get("datetime") else {
        return Ok((None, None));
    };
    let bad = |e: String| ApiError::bad_request(format!("datetime={raw:?}: {e}"));
    // Clients send more than dates: GDAL `2025-01-01T` (from `-where "reported_on >= …"`),
    // OWSLib and QGIS full RFC 3339 date-times (their date as written counts: hotspots are
    // dated by the local day).
    let day = |s: &str| -> Result<Option<i32>, ApiError> {
        let s = s.trim();
        if s.is_empty() || s == ".." {
            return Ok(None);
        }
        parse_date(s.strip_suffix(['T', 't']).unwrap_or(s))
            .map(|d| Some(day_number(d)))
            .map_err(bad)
    };
    match raw.split_once('/') {
        Some((a, b)) => {
            let (from, to) = (day(a)?, day(b)?);
            if let (Some(f), Some(t)) = (from, to)
                && f > t
            {
                return Err(bad("the interval ends before it starts".into()));
            }
            Ok((from, to))
        }
        None => {
            let d = day(raw)?;
            if d.is_none() {
                return Err(bad("expected a date or an interval".into()));
            }
            Ok((d, d))
        }
    }
}

/// `limit`, clamped to `api.max_limit` (`api.default_limit` when absent).
pub fn parse_limit(
    state: &AppState,
    q: &std::collections::HashMap<&str, &str>,
) -> Result<usize, ApiError> {
    let api = &state.vigil.config().api;
    match q.get("limit") {
        None => Ok(api.default_limit),
        Some(s) => match super::extract::parse_count(s) {
            Some(0) | None => Err(ApiError::bad_request(format!(
                "limit={s:?}: expected a whole number from 1 to {}",
                api.max_limit
            ))),
            Some(n) => Ok(n.min(api.max_limit as u64) as usize),
        },
    }
}

/// `limit` (clamped to `api.max_limit`) and `offset` of an items request.
pub fn limit_offset(
    state: &AppState,
    m: &std::collections::HashMap<&str, &str>,
) -> Result<(usize, usize), ApiError> {
    let limit = parse_limit(state, m)?;
    let offset = match m.get("offset") {
        Some(s) => super::extract::parse_count(s)
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
            .ok_or_else(|| {
                ApiError::bad_request(format!("offset={s:?}: expected a whole number"))
            })?,
        None => 0,
    };
    Ok((limit, offset))
}

/// Where a page of `items` starts: `offset`, or just past the item `after` names (the cursor
/// clients take from a `next` link, as on hotspots); not both.
pub fn page_start<T>(
    m: &std::collections::HashMap<&str, &str>,
    offset: usize,
    items: &[T],
    id: impl Fn(&T) -> String,
) -> Result<usize, ApiError> {
    let Some(after) = m.get("after") else {
        return Ok(offset);
    };
    if offset > 0 {
        return Err(ApiError::bad_request(
            "give either after (the `next` link's cursor) or offset, not both",
        ));
    }
    items
        .iter()
        .position(|x| id(x) == *after)
        .map(|i| i + 1)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "after={after:?} names no feature of this listing (take it from the `next` link)"
            ))
        })
}

/// The `next` link of an offset-paged items response: the same query with the next offset.
pub fn next_page(b: &str, collection: &str, q: &RawQuery, offset: usize) -> Link {
    let mut pairs: Vec<(String, String)> =
        q.0.iter().filter(|(k, _)| k != "offset").cloned().collect();
    pairs.push(("offset".into(), offset.to_string()));
    let qs = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    Link::new(
        format!("{b}/collections/{collection}/items?{qs}"),
        "next",
        GEOJSON,
        "Trang sau",
    )
}

/// The union of bboxes, or Việt Nam's when there is none.
pub fn union_bbox(it: impl Iterator<Item = [f64; 4]>) -> [f64; 4] {
    it.reduce(|a, c| {
        [
            a[0].min(c[0]),
            a[1].min(c[1]),
            a[2].max(c[2]),
            a[3].max(c[3]),
        ]
    })
    .unwrap_or([102.14, 8.18, 109.47, 23.39])
}

/// `datetime`: an instant, or `start/end` with `..` or empty for an open end (OGC API – Features
/// 7.15.4). Instants may carry any offset; a bare date means that whole day in UTC.
pub fn parse_instants(q: &std::collections::HashMap<&str, &str>) -> Result<Instants, ApiError> {
    let Some(raw) = q.get("datetime") else {
        return Ok((None, None));
    };
    let bad = |e: &str| ApiError::bad_request(format!("datetime={raw:?}: {e}"));
    let one = |s: &str, end: bool| -> Result<Option<String>, ApiError> {
        let s = s.trim();
        if s.is_empty() || s == ".." {
            return Ok(None);
        }
        // GDAL sends a date with a trailing `T` (`2025-01-01T`): that whole day.
        let s = s.strip_suffix(['T', 't']).unwrap_or(s);
        if let Ok(t) =
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        {
            return Ok(Some(rfc3339(t)));
        }
        let d = time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
            .map_err(|_| bad("expected RFC 3339 date-times (2026-03-10T08:00:00Z) or dates"))?;
        let t = if end {
            d.with_hms_milli(23, 59, 59, 999)
        } else {
            d.with_hms_milli(0, 0, 0, 0)
        }
        .map_err(|_| bad("impossible time"))?
        .assume_utc();
        Ok(Some(rfc3339(t)))
    };
    match raw.split_once('/') {
        Some((a, b)) => {
            let (from, to) = (one(a, false)?, one(b, true)?);
            if let (Some(f), Some(t)) = (&from, &to)
                && f > t
            {
                return Err(bad("the interval ends before it starts"));
            }
            Ok((from, to))
        }
        None => {
            let (from, to) = (one(raw, false)?, one(raw, true)?);
            if from.is_none() {
                return Err(bad("expected an instant or an interval"));
            }
            Ok((from, to))
        }
    }
}

/// The `next` link: the same query with the paging key (`after` or `offset`) set to `value`;
/// the other paging key is dropped (a cursor continues an offset page).
pub fn next_href(b: &str, cid: &str, q: &RawQuery, key: &str, value: String) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &q.0 {
        if k != "after" && k != "offset" && k != "f" {
            ser.append_pair(k, v);
        }
    }
    ser.append_pair(key, &value);
    format!("{b}/collections/{cid}/items?{}", ser.finish())
}

pub fn self_href(b: &str, path: &str, q: &RawQuery, f: &str) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &q.0 {
        if k != "f" {
            ser.append_pair(k, v);
        }
    }
    ser.append_pair("f", f);
    format!("{b}{path}?{}", ser.finish())
}

/// `filter` (with `filter-lang`, `filter-crs`) compiled against a collection's queryables.
pub fn parse_filter(
    m: &std::collections::HashMap<&str, &str>,
    qs: &[crate::filter::Queryable],
) -> Result<Option<std::sync::Arc<crate::filter::Filter>>, ApiError> {
    if let Some(c) = m.get("filter-crs")
        && *c != CRS84
    {
        return Err(ApiError::bad_request(format!(
            "filter-crs={c:?}: filters are in {CRS84} (lon/lat)"
        )));
    }
    let lang = m.get("filter-lang").copied();
    if let Some(l) = lang
        && !crate::filter::LANGS.contains(&l)
    {
        return Err(ApiError::bad_request(format!(
            "filter-lang={l:?}: expected one of {}",
            crate::filter::LANGS.join(", ")
        )));
    }
    let Some(text) = m.get("filter") else {
        return Ok(None);
    };
    crate::filter::Filter::parse(text, lang, qs)
        .map(|f| Some(std::sync::Arc::new(f)))
        .map_err(|e| ApiError::bad_request(format!("filter: {e}")))
}

/// What a request to one collection carries.
pub struct Request {
    pub state: AppState,
    pub who: Principal,
    pub query: RawQuery,
    pub headers: HeaderMap,
    /// The links' base URL (`query::base`).
    pub base: String,
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn q(datetime: &str) -> HashMap<&str, &str> {
        HashMap::from([("datetime", datetime)])
    }

    #[test]
    fn the_datetime_forms_clients_send_are_taken() {
        let day = |s: &str| Some(day_number(parse_date(s).unwrap()));
        // GDAL turns `-where "reported_on >= '2025-01-01'"` into a trailing `T`.
        assert_eq!(
            parse_datetime(&q("2025-01-01T/..")).unwrap(),
            (day("2025-01-01"), None)
        );
        // OWSLib and QGIS send full date-times; dates stay as written.
        assert_eq!(
            parse_datetime(&q("2025-01-01T00:00:00Z/2025-02-01T23:59:59+07:00")).unwrap(),
            (day("2025-01-01"), day("2025-02-01"))
        );
        assert_eq!(
            parse_datetime(&q("2025-03-04")).unwrap(),
            (day("2025-03-04"), day("2025-03-04"))
        );
        let (from, to) = parse_instants(&q("2025-01-01T/..")).unwrap();
        assert!(from.unwrap().starts_with("2025-01-01T00:00:00"));
        assert_eq!(to, None);
        let (from, to) = parse_instants(&q("../2025-01-31T")).unwrap();
        assert_eq!(from, None);
        assert!(to.unwrap().starts_with("2025-01-31T23:59:59"));
        // Still refused: what no client means.
        for bad in ["yesterday", "2025-13-01", "2025-02-01/2025-01-01", "T"] {
            assert!(parse_datetime(&q(bad)).is_err(), "{bad}");
            assert!(parse_instants(&q(bad)).is_err(), "{bad}");
        }
    }
}
