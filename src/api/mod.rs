//! The HTTP API: OGC API – Features (Part 1 core, Part 4 create/replace/update/delete for
//! hotspots), Vigil's own `/v1` endpoints, and the web map's static files. Only this module knows
//! HTTP and JSON shapes; the rules live in `service`.

mod analytics;
mod collections;
mod error;
mod exports;
mod extract;
mod features;
mod flags;
#[doc(hidden)]
pub mod fuzzing;
mod html;
mod ogc;
mod openapi;
mod query;
mod reports;
mod review;
mod stac;
mod surveys;
mod tiles;
mod uploads;
mod v1;
mod web;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::routing::{get, post, put};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;

use crate::service::{Error, Vigil};

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub vigil: Arc<Vigil>,
    pub base_url: Arc<str>,
}

impl AppState {
    pub fn new(vigil: Arc<Vigil>) -> AppState {
        let base_url = vigil.config().base_url().into();
        AppState { vigil, base_url }
    }

    /// Runs a blocking registry operation on the blocking pool.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Vigil) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, ApiError> {
        let v = self.vigil.clone();
        match tokio::task::spawn_blocking(move || f(&v)).await {
            Ok(r) => r.map_err(ApiError::from),
            Err(e) => Err(ApiError::internal("blocking task failed", e)),
        }
    }
}

/// The whole router, for the server and for in-process tests.
pub fn app(state: AppState) -> Router {
    let cfg = &state.vigil.config().api;
    let import_limit = cfg.max_import_bytes;
    let body_limit = cfg.max_body_bytes;
    let data = Router::new()
        .route("/collections", get(collections::collections))
        .route("/collections/{cid}", get(collections::collection))
        .route(
            "/collections/{cid}/queryables",
            get(collections::queryables),
        )
        .route("/collections/{cid}/schema", get(collections::queryables))
        .route("/collections/{cid}/tiles", get(collections::tilesets))
        .route(
            "/collections/{cid}/tiles/WebMercatorQuad",
            get(collections::tileset_metadata),
        )
        .route(
            "/collections/{cid}/tiles/WebMercatorQuad/tilejson.json",
            get(collections::vector_tilejson),
        )
        .route(
            "/collections/{cid}/tiles/WebMercatorQuad/{z}/{y}/{x}",
            get(ogc::vector_tile),
        )
        .route(
            "/collections/{cid}/items",
            get(collections::items).post(ogc::create_item),
        )
        .route(
            "/collections/{cid}/items/{fid}",
            get(collections::item)
                .put(ogc::replace_item)
                .patch(ogc::patch_item)
                .delete(ogc::delete_item),
        )
        .route("/v1/me", get(v1::me))
        .route("/v1/vocab", get(v1::vocab))
        .route("/v1/hotspots/{id}/transitions", post(v1::transition))
        .route("/v1/hotspots/{id}/history", get(v1::history))
        .route("/v1/audit", get(v1::audit))
        .route("/v1/users", get(v1::users))
        .route("/v1/uploads", post(uploads::create))
        .route(
            "/v1/uploads/{id}",
            get(uploads::status).delete(uploads::cancel),
        )
        .route("/v1/uploads/{id}/commit", post(uploads::commit))
        .route("/v1/surveys", get(surveys::list).post(surveys::create))
        .route("/v1/surveys/{id}", get(surveys::get_one))
        .route("/v1/surveys/{id}/cancel", post(surveys::cancel))
        .route("/v1/review/queue", get(review::queue))
        .route("/v1/review/vocab", get(review::vocab))
        .route("/v1/flags/{id}", get(review::get_one))
        .route(
            "/v1/flags/{id}/decisions",
            get(review::decisions).post(review::decide),
        )
        .route("/v1/flags/{id}/priority", put(review::priority))
        .route("/v1/flags/{id}/similar", get(review::similar))
        .route("/v1/exports/{file}", get(exports::export))
        .route("/v1/field-package", get(exports::field_package))
        .route(
            "/v1/communes/{code}/drug-free",
            get(reports::drug_free_history).post(reports::record_drug_free),
        )
        .route("/v1/analytics/{layer}", get(analytics::layer))
        .route(
            "/v1/analytics/density.json",
            get(analytics::density_tilejson),
        )
        .route(
            "/v1/analytics/density/{z}/{x}/{y}",
            get(analytics::density_tile),
        )
        .route("/v1/reports/kpis", get(reports::kpis))
        .route("/v1/reports/communes", get(reports::communes))
        .route("/v1/reports/{file}", get(reports::file))
        .route("/stac", get(stac::landing))
        .route("/stac/conformance", get(stac::conformance))
        .route("/stac/collections", get(stac::collections))
        .route("/stac/collections/{cid}", get(stac::collection_one))
        .route("/stac/collections/{cid}/items", get(stac::items))
        .route("/stac/collections/{cid}/items/{id}", get(stac::item_one))
        .route(
            "/stac/search",
            get(stac::search_get).post(stac::search_post),
        )
        .route("/stac/items", get(stac::legacy_items))
        .route("/stac/items/{id}", get(stac::legacy_item))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        ))
        .layer(DefaultBodyLimit::max(body_limit));
    // Field photos: up to `[evidence] max_bytes` (the service names the limit when it is hit).
    let evidence_limit = usize::try_from(state.vigil.config().evidence.max_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(64 << 10);
    let evidence = Router::new()
        .route(
            "/v1/flags/{id}/evidence",
            get(review::list_evidence).post(review::add_evidence),
        )
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        ))
        .layer(DefaultBodyLimit::max(evidence_limit));
    let import = Router::new()
        .route("/v1/import/hotspots", post(v1::import_hotspots))
        .layer(DefaultBodyLimit::max(import_limit));
    // The chunk handler streams the body and stops at the session's exact chunk length; this
    // limit (configured chunk size + 64 KiB) is the outer bound for anything buffering it.
    let chunk_limit = usize::try_from(state.vigil.config().upload.chunk_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(64 << 10);
    let chunks = Router::new()
        .route("/v1/uploads/{id}/chunks/{n}", put(uploads::put_chunk))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        ))
        .layer(DefaultBodyLimit::max(chunk_limit));
    // Tiles carry their own Cache-Control (private; immutable per survey); the source download
    // streams.
    let tiles = Router::new()
        .route("/tiles/mosaic/tilejson.json", get(tiles::mosaic_tilejson))
        .route("/tiles/mosaic/{z}/{x}/{y}", get(tiles::mosaic_tile))
        .route("/tiles/{survey}/tilejson.json", get(tiles::survey_tilejson))
        .route("/tiles/{survey}/{z}/{x}/{y}", get(tiles::survey_tile))
        .route("/v1/surveys/{id}/source", get(surveys::source))
        .route("/v1/flags/{id}/chip.png", get(flags::chip))
        .route("/v1/evidence/{id}", get(review::photo));
    Router::new()
        .route("/", get(ogc::landing))
        .route("/conformance", get(ogc::conformance))
        .route("/tileMatrixSets", get(ogc::tile_matrix_sets))
        .route(
            "/tileMatrixSets/WebMercatorQuad",
            get(ogc::web_mercator_quad),
        )
        .route("/api", get(openapi::document))
        .route("/healthz", get(v1::healthz))
        .route(
            "/v1/auth/login",
            post(v1::login).layer(DefaultBodyLimit::max(4096)),
        )
        .route("/map", get(web::redirect))
        .route("/map/", get(web::index))
        .route("/map/{*path}", get(web::asset))
        .merge(data)
        .merge(import)
        .merge(evidence)
        .merge(chunks)
        .merge(tiles)
        .fallback(|| async {
            ApiError::not_found("no such resource; see /api for the API definition")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "this method is not allowed on this resource",
            )
        })
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        // What a user may see depends on who asks: a browser shared by two users (log out, log
        // in) must not answer the second from what it kept for the first (`private, max-age`
        // tiles, items).
        .layer(SetResponseHeaderLayer::appending(
            header::VARY,
            HeaderValue::from_static("Authorization"),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves until SIGINT/SIGTERM, then drains in-flight requests.
pub async fn serve(vigil: Arc<Vigil>) -> anyhow::Result<()> {
    let addr = vigil.config().server.listen;
    let grace = Duration::from_secs(vigil.config().server.shutdown_grace_secs);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr()?;
    let router = app(AppState::new(vigil));
    tracing::info!(%local, "listening");
    println!("vigil listening on http://{local}");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: draining requests");
        let _ = tx.send(());
    });
    let drain = async move {
        let _ = rx.await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        r = server => r?,
        _ = drain => tracing::warn!("grace period over; closing remaining connections"),
    }
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
