//! Hotspot statistics as GeoJSON layers and heat map tiles (issue 6, item 2), scoped to the
//! caller's jurisdiction: `GET /v1/analytics/{clusters,density,gistar,emerging}?province=CODE&…`
//! (without `province`: the caller's only province, or the whole country for national callers),
//! `GET /v1/analytics/density.json` (TileJSON) and `GET /v1/analytics/density/{z}/{x}/{y}.png`.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;
use super::extract::{Auth, RawQuery};
use crate::config::TileFormat;
use crate::reports::period::Kind;
use crate::service::analytics::{EmergingQuery, Grid, Measure};
use crate::tiling::image_ops;

fn number<T: std::str::FromStr>(
    m: &HashMap<&str, &str>,
    k: &str,
    default: T,
) -> Result<T, ApiError> {
    match m.get(k) {
        None => Ok(default),
        Some(s) => s
            .parse()
            .map_err(|_| ApiError::bad_request(format!("{k}={s:?} is not a number"))),
    }
}

/// `grid=commune` (default) or `grid=hex&cell_m=5000`.
fn grid(m: &HashMap<&str, &str>) -> Result<Grid, ApiError> {
    match m.get("grid").copied().unwrap_or("commune") {
        "commune" => {
            if m.contains_key("cell_m") {
                return Err(ApiError::bad_request(
                    "cell_m is the size of hexagons: use it with grid=hex",
                ));
            }
            Ok(Grid::Commune)
        }
        "hex" => Ok(Grid::Hex {
            cell_m: number(m, "cell_m", 5000.0)?,
        }),
        other => Err(ApiError::bad_request(format!(
            "grid={other:?} is not a grid; use commune or hex"
        ))),
    }
}

fn geojson(body: String) -> Response {
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/geo+json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-cache"),
            ),
        ],
        body,
    )
        .into_response()
}

/// `GET /v1/analytics/{layer}`: `clusters` (eps_m=150, min_points=3), `density` (bandwidth_m=1000,
/// cell_m=250), `gistar` (grid, cell_m, permutations=999), `emerging` (grid, cell_m,
/// step=quarter, periods=12, end=today, measure=active, permutations=0).
pub async fn layer(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(layer): Path<String>,
    q: RawQuery,
) -> Result<Response, ApiError> {
    let m = q.map();
    let province = m.get("province").map(|s| s.to_string());
    let fc = match layer.as_str() {
        "clusters" => {
            q.only(&["province", "eps_m", "min_points"])?;
            let (eps, min) = (
                number(&m, "eps_m", 150.0)?,
                number(&m, "min_points", 3usize)?,
            );
            state
                .run(move |v| v.hotspot_clusters(&who, province.as_deref(), eps, min))
                .await?
        }
        "density" => {
            q.only(&["province", "bandwidth_m", "cell_m"])?;
            let (bw, cell) = (
                number(&m, "bandwidth_m", 1000.0)?,
                number(&m, "cell_m", 250.0)?,
            );
            state
                .run(move |v| v.hotspot_density(&who, province.as_deref(), bw, cell))
                .await?
        }
        "gistar" => {
            q.only(&["province", "grid", "cell_m", "permutations"])?;
            let grid = grid(&m)?;
            let perms = number(&m, "permutations", 999usize)?.min(9999);
            state
                .run(move |v| v.hotspot_gi_star(&who, province.as_deref(), grid, perms))
                .await?
        }
        "emerging" => {
            q.only(&[
                "province",
                "grid",
                "cell_m",
                "step",
                "periods",
                "end",
                "measure",
                "permutations",
            ])?;
            let step = match m.get("step").copied().unwrap_or("quarter") {
                "month" => Kind::Month,
                "quarter" => Kind::Quarter,
                "half" => Kind::Half,
                "year" => Kind::Year,
                other => {
                    return Err(ApiError::bad_request(format!(
                        "step={other:?} is not a step; use month, quarter, half or year"
                    )));
                }
            };
            let measure = match m.get("measure").copied().unwrap_or("active") {
                "active" => Measure::Active,
                "new" => Measure::New,
                other => {
                    return Err(ApiError::bad_request(format!(
                        "measure={other:?} is not a measure; use active or new"
                    )));
                }
            };
            let end = m
                .get("end")
                .map(|s| {
                    crate::time_util::parse_date(s)
                        .map_err(|e| ApiError::bad_request(format!("end={s:?}: {e}")))
                })
                .transpose()?;
            let eq = EmergingQuery {
                grid: grid(&m)?,
                step,
                periods: number(&m, "periods", 12usize)?,
                end,
                measure,
                permutations: number(&m, "permutations", 0usize)?.min(999),
            };
            state
                .run(move |v| v.hotspot_emerging(&who, province.as_deref(), &eq))
                .await?
        }
        other => {
            return Err(ApiError::not_found(format!(
                "no analytics layer {other:?}; one of clusters, density, gistar, emerging"
            )));
        }
    };
    Ok(geojson(fc.to_string()))
}

/// `GET /v1/analytics/density.json?province=&bandwidth_m=1000`: TileJSON of the heat map.
pub async fn density_tilejson(
    State(state): State<AppState>,
    Auth(who): Auth,
    headers: HeaderMap,
    q: RawQuery,
) -> Result<Response, ApiError> {
    q.only(&["province", "bandwidth_m"])?;
    let m = q.map();
    let province = m.get("province").map(|s| s.to_string());
    let bw = number(&m, "bandwidth_m", 1000.0)?;
    let base = super::query::base(&state, &headers);
    let tj = state
        .run(move |v| v.density_tilejson(&who, province.as_deref(), bw, &base))
        .await?;
    Ok((
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-cache"),
            ),
        ],
        tj.to_string(),
    )
        .into_response())
}

/// `GET /v1/analytics/density/{z}/{x}/{y}.png?province=&bandwidth_m=1000`: a heat map tile.
pub async fn density_tile(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((z, x, y)): Path<(String, String, String)>,
    q: RawQuery,
) -> Result<Response, ApiError> {
    q.only(&["province", "bandwidth_m"])?;
    let (tile, fmt) = super::tiles::parse_tile(&z, &x, &y)?;
    if fmt != TileFormat::Png {
        return Err(ApiError::not_found("heat map tiles are PNG: use .png"));
    }
    let m = q.map();
    let province = m.get("province").map(|s| s.to_string());
    let bw = number(&m, "bandwidth_m", 1000.0)?;
    let rgba = state
        .run(move |v| v.density_tile_rgba(&who, province.as_deref(), bw, tile))
        .await?;
    let png = image_ops::encode(&rgba, TileFormat::Png)
        .map_err(|e| ApiError::internal("heat map tile encode", e))?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/png")),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=60"),
            ),
        ],
        png,
    )
        .into_response())
}
