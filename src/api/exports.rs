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
use super::tiles::{compose, mosaic_stack};
use crate::config::TileFormat;
use crate::export::{self, mbtiles};

const PARAMS: &[&str] = &["ids", "commune", "survey", "class", "status", "from", "to"];

/// Metres of imagery around each plot in the package.
const MARGIN_M: f64 = 150.0;
/// Zoom levels below the surveys' native zoom included in the package.
const PACKAGE_LEVELS: u8 = 5;
/// Most tiles one package may hold (≈ 10–40 MiB of PNG).
const MAX_TILES: usize = 6000;

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
            let st = state.clone();
            let bytes = state
                .run(move |v| {
                    let flags = v.export_flags(&who, &filter, "imagery.mbtiles")?;
                    package(&st, v, &who, &flags, &title)
                })
                .await?;
            Ok(download(
                "application/vnd.sqlite3",
                &format!("vigil-imagery-{stamp}.mbtiles"),
                bytes,
            ))
        }
        other => Err(ApiError::not_found(format!(
            "no export {other:?}; one of flags.gpx, flags.kml, flags.geojson, imagery.mbtiles"
        ))),
    }
}

/// Builds the imagery package around `flags` in a temporary file and returns its bytes.
fn package(
    state: &AppState,
    v: &crate::Vigil,
    who: &crate::auth::Principal,
    flags: &[export::ExportFlag],
    title: &str,
) -> Result<Vec<u8>, crate::service::Error> {
    use crate::service::Error;
    let bboxes: Vec<[f64; 4]> = flags.iter().filter_map(|f| f.bbox()).collect();
    let idx = v.survey_index();
    // Native zoom of the finest survey over the plots (none: an empty package at z16).
    let top = bboxes
        .iter()
        .flat_map(|b| {
            let a = crate::grid::lon_lat_to_mercator(b[0], b[1]);
            let c = crate::grid::lon_lat_to_mercator(b[2], b[3]);
            idx.in_mercator([a[0], a[1], c[0], c[1]])
                .filter(|s| crate::Vigil::survey_visible(who, &s.row))
                .filter_map(|s| s.meta.as_ref().map(|m| m.native_zoom))
                .collect::<Vec<_>>()
        })
        .max()
        .unwrap_or(16);
    let zooms = top.saturating_sub(PACKAGE_LEVELS)..=top;
    let plan = mbtiles::tiles_covering(&bboxes, MARGIN_M, zooms.clone(), MAX_TILES).map_err(
        |e| Error::PayloadTooLarge {
            message: format!(
                "the imagery package would be too big ({e}); select fewer flags or a smaller area"
            ),
            limit: "exports.max_tiles",
            bytes: 0,
        },
    )?;
    let bounds = mbtiles::tiles_bounds(&plan).unwrap_or_else(|| {
        let [x, y] = flags.first().map_or([105.0, 21.0], |f| f.point);
        [x - 0.001, y - 0.001, x + 0.001, y + 0.001]
    });
    let days = (None, None);
    let tiles = plan.iter().filter_map(|&t| {
        let stack: Vec<std::sync::Arc<crate::service::surveys::Survey>> =
            mosaic_stack(&idx, who, t, &days)
                .into_iter()
                .cloned()
                .collect();
        if stack.is_empty() {
            return None;
        }
        match compose(state, &stack, t, TileFormat::Png) {
            Ok(Some(bytes)) => Some(Ok((t, bytes))),
            Ok(None) => None,
            Err(e) => Some(Err(std::io::Error::other(e.detail))),
        }
    });
    let dir = v.config().server.data_dir.join("tmp");
    std::fs::create_dir_all(&dir).map_err(|source| Error::Disk {
        context: format!("creating {}", dir.display()),
        source,
    })?;
    let mut name = [0u8; 8];
    getrandom::fill(&mut name).map_err(|e| Error::Disk {
        context: "random file name".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let path = dir.join(format!("export-{}.mbtiles", hex::encode(name)));
    let meta = mbtiles::MbtilesMeta {
        name: title.to_string(),
        format: TileFormat::Png,
        bounds,
        zooms,
        layer_type: mbtiles::LayerType::Baselayer,
        description: format!(
            "Ảnh bay khảo sát quanh {} lô nghi vấn — dữ liệu nghiệp vụ, không chia sẻ",
            flags.len()
        ),
        attribution: "Vigil".into(),
    };
    let written = mbtiles::write(&path, &meta, tiles);
    let out = written
        .map_err(|e| Error::Disk {
            context: "writing the imagery package".into(),
            source: std::io::Error::other(e.to_string()),
        })
        .and_then(|_| {
            std::fs::read(&path).map_err(|source| Error::Disk {
                context: format!("reading {}", path.display()),
                source,
            })
        });
    let _ = std::fs::remove_file(&path);
    out
}
