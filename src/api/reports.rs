//! Report endpoints (issue 6): drug-free commune records, KPIs of an area for a period, the
//! per-commune choropleth and the report files (CSV, XLSX, HTML, PDF).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::{Auth, Json, RawQuery};
use super::query::base;
use super::query::json_value;
use crate::boundaries::Level;
use crate::reports::period::Period;
use crate::reports::{Format, KpiReport};
use crate::service::reports::DrugFreeRow;
use crate::service::reports::{AreaQuery, DrugFreeInput};

const REPORT_PARAMS: &[&str] = &["period", "province", "commune"];

fn drug_free_json(r: &DrugFreeRow) -> Value {
    json!({
        "id": r.id,
        "commune_code": r.commune_code,
        "province_code": r.province_code,
        "year": r.year,
        "status": r.status,
        "drug_free": r.status == "drug_free",
        "decision_ref": r.decision_ref,
        "decided_on": r.decided_on,
        "recorded_by": r.recorded_by,
        "recorded_at": r.recorded_at,
    })
}

/// `POST /v1/communes/{code}/drug-free` `{"year","drug_free","decision_ref","decided_on"}`.
pub async fn record_drug_free(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(code): Path<String>,
    Json(input): Json<DrugFreeInput>,
) -> Result<Response, ApiError> {
    let row = state
        .run(move |v| v.record_drug_free(&who, &code, input))
        .await?;
    Ok(json_value(StatusCode::CREATED, drug_free_json(&row)))
}

/// `GET /v1/communes/{code}/drug-free`: the commune's records, oldest first.
pub async fn drug_free_history(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let rows = state.run(move |v| v.drug_free_history(&who, &code)).await?;
    Ok(json_value(
        StatusCode::OK,
        json!({ "items": rows.iter().map(drug_free_json).collect::<Vec<_>>() }),
    ))
}

pub(super) fn parse(q: &RawQuery) -> Result<(AreaQuery, Period), ApiError> {
    q.only(REPORT_PARAMS)?;
    let m = q.map();
    let period = m.get("period").ok_or_else(|| {
        ApiError::bad_request(
            "period is required: a month (2026-03), quarter (2026-Q1), half year (2026-H1), year (2026) or range (2026-01-01..2026-03-31)",
        )
    })?;
    let period =
        Period::parse(period).map_err(|e| ApiError::bad_request(format!("period: {e}")))?;
    if m.contains_key("province") && m.contains_key("commune") {
        return Err(ApiError::bad_request(
            "give province= or commune=, not both",
        ));
    }
    let area = AreaQuery {
        province: m.get("province").map(|s| s.to_string()),
        commune: m.get("commune").map(|s| s.to_string()),
    };
    Ok((area, period))
}

async fn report(
    state: &AppState,
    who: crate::auth::Principal,
    q: &RawQuery,
) -> Result<KpiReport, ApiError> {
    let (area, period) = parse(q)?;
    state.run(move |v| v.kpi_report(&who, &area, &period)).await
}

/// `GET /v1/reports/kpis?period=&province=|commune=`: the KPIs with targets, ratings, the
/// previous period's values and the breakdown.
pub async fn kpis(
    State(state): State<AppState>,
    Auth(who): Auth,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let r = report(&state, who, &q).await?;
    let b = base(&state, &headers);
    let mut body = serde_json::to_value(&r).map_err(|e| ApiError::internal("serialise", e))?;
    let qs = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(q.0.iter())
        .finish();
    body["links"] = json!([
        { "rel": "self", "href": format!("{b}/v1/reports/kpis?{qs}"), "type": "application/json" },
        { "rel": "choropleth", "href": format!("{b}/v1/reports/communes?{qs}"), "type": "application/geo+json" },
        { "rel": "alternate", "href": format!("{b}/v1/reports/report.pdf?{qs}"), "type": "application/pdf" },
        { "rel": "alternate", "href": format!("{b}/v1/reports/report.xlsx?{qs}"), "type": Format::Xlsx.mime() },
        { "rel": "alternate", "href": format!("{b}/v1/reports/report.csv?{qs}"), "type": "text/csv" },
        { "rel": "alternate", "href": format!("{b}/v1/reports/report.html?{qs}"), "type": "text/html" },
    ]);
    Ok(json_value(StatusCode::OK, body))
}

/// `GET /v1/reports/communes?period=&province=|commune=`: every commune of the area with its
/// KPI values as properties (GeoJSON), for a choropleth.
pub async fn communes(
    State(state): State<AppState>,
    Auth(who): Auth,
    q: RawQuery,
) -> Result<Response, ApiError> {
    // `geometry=false`: the values and each commune's bbox only, for a map that draws the
    // communes from their vector tiles (/collections/communes/tiles/…).
    let with_geometry = match q.map().get("geometry").copied() {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "geometry must be true or false, not {other:?}"
            )));
        }
    };
    let q = RawQuery(q.0.into_iter().filter(|(k, _)| k != "geometry").collect());
    let r = report(&state, who, &q).await?;
    let bi = state.vigil.boundaries();
    let features: Vec<Value> = r
        .communes
        .iter()
        .map(|row| {
            let boundary = row.code.as_deref().and_then(|c| bi.get(Level::Commune, c));
            let bbox = boundary.and_then(|b| b.bbox());
            let geometry = boundary
                .filter(|_| with_geometry)
                .map(|b| {
                    serde_json::to_value(geojson::Geometry::from(&b.geometry))
                        .unwrap_or(Value::Null)
                })
                .unwrap_or(Value::Null);
            let mut props = serde_json::Map::new();
            props.insert("code".into(), json!(row.code));
            props.insert("name".into(), json!(row.name));
            props.insert("province_code".into(), json!(row.province_code));
            for k in &row.kpis.0 {
                props.insert(k.key.into(), json!(k.value));
                props.insert(format!("{}_status", k.key), json!(k.status));
            }
            props.insert(
                "drug_free".into(),
                json!(row.drug_free.as_ref().map(|d| d.status == "drug_free")),
            );
            props.insert(
                "drug_free_decision_ref".into(),
                json!(row.drug_free.as_ref().map(|d| &d.decision_ref)),
            );
            props.insert("tally".into(), json!(row.tally));
            let mut f = json!({ "type": "Feature", "id": row.code, "geometry": geometry, "properties": props });
            if let Some(b) = bbox {
                f["bbox"] = json!(b);
            }
            f
        })
        .collect();
    let body = json!({
        "type": "FeatureCollection",
        "area": r.area,
        "period": r.period,
        "numberMatched": features.len(),
        "numberReturned": features.len(),
        "features": features,
    });
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/geo+json"),
        )],
        body.to_string(),
    )
        .into_response())
}

/// The printable HTML report's CSP: inline style only.
const REPORT_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'none'; form-action 'none'; base-uri 'none'; frame-ancestors 'self'";

/// `GET /v1/reports/report.{csv,xlsx,html,pdf}?period=&province=|commune=`.
pub async fn file(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(name): Path<String>,
    q: RawQuery,
) -> Result<Response, ApiError> {
    let format = name
        .strip_prefix("report.")
        .and_then(Format::from_extension)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no report file {name:?}; report.csv, report.xlsx, report.html or report.pdf"
            ))
        })?;
    let (area, period) = parse(&q)?;
    let (bytes, filename) = state
        .run(move |v| v.render_report(&who, &area, &period, format))
        .await?;
    let disposition = if format == Format::Html {
        "inline"
    } else {
        "attachment"
    };
    let mut r = (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.mime()),
        )],
        bytes,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename=\"{filename}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    if format == Format::Html {
        // The printable report is a document: its own style sheet, nothing else, no scripts.
        r.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(REPORT_CSP),
        );
    }
    Ok(r)
}
