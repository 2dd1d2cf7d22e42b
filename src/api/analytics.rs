//! Hotspot statistics as GeoJSON layers (issue 6, item 2): `GET /v1/analytics/{clusters,density,
//! gistar}?province=CODE&…`, scoped to the caller's jurisdiction.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;
use super::extract::{Auth, RawQuery};

fn number<T: std::str::FromStr>(
    m: &std::collections::HashMap<&str, &str>,
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

/// `GET /v1/analytics/{layer}`: `clusters` (eps_m=150, min_points=3), `density` (bandwidth_m=1000,
/// cell_m=250), `gistar` (permutations=999).
pub async fn layer(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(layer): Path<String>,
    q: RawQuery,
) -> Result<Response, ApiError> {
    let m = q.map();
    let province = m
        .get("province")
        .map(|s| s.to_string())
        .or_else(|| {
            (who.jurisdiction.provinces.len() == 1)
                .then(|| who.jurisdiction.provinces.iter().next().cloned())
                .flatten()
        })
        .ok_or_else(|| ApiError::bad_request("say which province: province=CODE"))?;
    let fc = match layer.as_str() {
        "clusters" => {
            q.only(&["province", "eps_m", "min_points"])?;
            let (eps, min) = (
                number(&m, "eps_m", 150.0)?,
                number(&m, "min_points", 3usize)?,
            );
            state
                .run(move |v| v.hotspot_clusters(&who, &province, eps, min))
                .await?
        }
        "density" => {
            q.only(&["province", "bandwidth_m", "cell_m"])?;
            let (bw, cell) = (
                number(&m, "bandwidth_m", 1000.0)?,
                number(&m, "cell_m", 250.0)?,
            );
            state
                .run(move |v| v.hotspot_density(&who, &province, bw, cell))
                .await?
        }
        "gistar" => {
            q.only(&["province", "permutations"])?;
            let perms = number(&m, "permutations", 999usize)?.min(9999);
            state
                .run(move |v| v.hotspot_gi_star(&who, &province, perms))
                .await?
        }
        other => {
            return Err(ApiError::not_found(format!(
                "no analytics layer {other:?}; one of clusters, density, gistar"
            )));
        }
    };
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/geo+json"),
        )],
        fc.to_string(),
    )
        .into_response())
}
