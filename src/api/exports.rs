//! Field exports for teams going out offline (issue 5, item 4): the selected flags — or a
//! commune's open flags — as GPX waypoints and tracks, KML or GeoJSON, and an MBTiles package of
//! the imagery around them that a phone map app opens. Every export is audited.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;
use super::extract::{Auth, RawQuery};
use super::review::live_filter;
use crate::export;

const PARAMS: &[&str] = &["ids", "commune", "survey", "class", "status", "from", "to"];

fn download(ctype: &'static str, name: &str, body: Vec<u8>) -> Response {
    let mut r = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(ctype))],
        body,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    r
}

/// Which flags: `ids=` (any status), else `commune=` and the other filters (open flags unless
/// `status=` says otherwise). An empty selection is a valid empty file.
fn selection(q: &RawQuery) -> Result<crate::service::flags::LiveFilter, ApiError> {
    q.only(PARAMS)?;
    let m = q.map();
    let by_ids = m.contains_key("ids");
    if !by_ids && !m.contains_key("commune") && !m.contains_key("survey") {
        return Err(ApiError::bad_request(
            "say which flags: ids=1,2,3, or commune=CODE (its open flags), or survey=ID",
        ));
    }
    live_filter(q, !by_ids)
}

/// `GET /v1/exports/{file}`: `flags.gpx`, `flags.kml`, `flags.geojson` or `imagery.mbtiles`.
pub async fn export(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(file): Path<String>,
    q: RawQuery,
    _headers: HeaderMap,
) -> Result<Response, ApiError> {
    let filter = selection(&q)?;
    let stamp = crate::time_util::format_date(crate::time_util::today());
    let title = format!("Vigil — cờ nghi vấn {stamp}");
    match file.as_str() {
        "flags.gpx" | "flags.kml" | "flags.geojson" => {
            let what = file.clone();
            let flags = state
                .run(move |v| v.export_flags(&who, &filter, &what))
                .await?;
            Ok(match file.as_str() {
                "flags.gpx" => download(
                    "application/gpx+xml",
                    &format!("vigil-flags-{stamp}.gpx"),
                    export::gpx::write(&flags, &title).into_bytes(),
                ),
                "flags.kml" => download(
                    "application/vnd.google-earth.kml+xml",
                    &format!("vigil-flags-{stamp}.kml"),
                    export::kml::write(&flags, &title).into_bytes(),
                ),
                _ => download(
                    "application/geo+json",
                    &format!("vigil-flags-{stamp}.geojson"),
                    export::geojson::write(&flags).into_bytes(),
                ),
            })
        }
        "imagery.mbtiles" => {
            let bytes = state
                .run(move |v| v.imagery_package(&who, &filter, &title))
                .await?;
            Ok(download(
                "application/vnd.sqlite3",
                &format!("vigil-imagery-{stamp}.mbtiles"),
                bytes,
            ))
        }
        // The web map's offline field package (issue 16): the same imagery and the area's basemap
        // as PMTiles archives, which the browser's PMTiles reader opens from IndexedDB.
        "imagery.pmtiles" => {
            let bytes = state.run(move |v| v.imagery_pmtiles(&who, &filter)).await?;
            Ok(download(
                "application/vnd.pmtiles",
                &format!("vigil-imagery-{stamp}.pmtiles"),
                bytes,
            ))
        }
        "basemap.pmtiles" => {
            let bytes = state.run(move |v| v.area_basemap(&who, &filter)).await?;
            Ok(download(
                "application/vnd.pmtiles",
                &format!("vigil-basemap-{stamp}.pmtiles"),
                bytes,
            ))
        }
        other => Err(ApiError::not_found(format!(
            "no export {other:?}; one of flags.gpx, flags.kml, flags.geojson, imagery.mbtiles, imagery.pmtiles, basemap.pmtiles"
        ))),
    }
}

/// `GET /v1/field-package?commune=CODE` (or `ids=`, `survey=` and the export filters): what an
/// offline field package of those flags holds and weighs — shown before the download — with the
/// files to fetch, the size cap (`[field] package_max_bytes`) and when the package expires
/// (`[field] package_days`).
pub async fn field_package(
    State(state): State<AppState>,
    Auth(who): Auth,
    q: RawQuery,
) -> Result<Response, ApiError> {
    let filter = selection(&q)?;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(q.0.iter())
        .finish();
    let m = state.run(move |v| v.field_manifest(&who, &filter)).await?;
    let file = |name: &str| format!("v1/exports/{name}?{query}");
    let body = serde_json::json!({
        "manifest": m,
        "files": {
            "flags": file("flags.geojson"),
            "imagery": file("imagery.pmtiles"),
            "basemap": file("basemap.pmtiles"),
        },
    });
    let mut r = (StatusCode::OK, axum::Json(body)).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(r)
}
