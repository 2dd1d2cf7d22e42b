//! `vigil serve`: reconcile unfinished uploads, re-queue interrupted jobs, start the ingest
//! worker and serve the API until shutdown.

use std::sync::Arc;

use anyhow::Context;
use vigil::{Vigil, api};

use super::{Common, init_logging, load_config};

pub fn run(common: Common, listen: Option<std::net::SocketAddr>) -> anyhow::Result<()> {
    let mut cfg = load_config(&common)?;
    if let Some(l) = listen {
        cfg.server.listen = l;
    }
    cfg.validate()?;
    init_logging(&cfg);
    let vigil = Vigil::open(cfg).context("cannot open the store")?;
    // Uploads left unfinished by a crash or restart: re-check their chunks on disk before
    // accepting more (reads every received byte; CLI commands skip it).
    let r = vigil
        .reconcile_uploads()
        .context("cannot reconcile unfinished uploads")?;
    tracing::info!(?r, "uploads reconciled");
    // Ingest jobs a dead process left running start again from scratch.
    let requeued = vigil
        .reset_interrupted()
        .context("cannot re-queue interrupted ingest jobs")?;
    if requeued > 0 {
        tracing::warn!(requeued, "re-queued interrupted ingest jobs");
    }
    let vigil = Arc::new(vigil);
    let worker = if vigil.config().ingest.worker {
        let v = vigil.clone();
        Some(
            std::thread::Builder::new()
                .name("vigil-ingest".into())
                .spawn(move || v.run_worker())
                .context("cannot start the ingest worker")?,
        )
    } else {
        tracing::info!("ingest worker off ([ingest] worker = false): other nodes run the jobs");
        None
    };
    // Several nodes on one PostgreSQL store: this node's index follows the others' writes.
    let feed = {
        let v = vigil.clone();
        std::thread::Builder::new()
            .name("vigil-changes".into())
            .spawn(move || v.follow_changes())
            .context("cannot start the change feed")?
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let served = rt.block_on(api::serve(vigil.clone()));
    // A job in progress stops at its next block and is re-queued for the next start.
    vigil.stop_worker();
    if let Some(w) = worker {
        let _ = w.join();
    }
    let _ = feed.join();
    served
}
