//! `vigil ingest`: orthomosaics on this machine, tiled here and now; one JSON line per file.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use vigil::Vigil;
use vigil::auth::Principal;

use super::{Common, open};

#[derive(Args)]
pub struct IngestArgs {
    #[command(flatten)]
    pub common: Common,
    /// GeoTIFF/COG orthomosaics (any format and CRS GDAL reads).
    #[arg(required_unless_present = "worker")]
    pub files: Vec<PathBuf>,
    /// Instead of files: run the queued ingest jobs (surveys uploaded through any node) here,
    /// as a worker like any node of a shared PostgreSQL store, until the queue is empty.
    #[arg(long, conflicts_with_all = ["files", "name", "acquired_at", "bands"])]
    pub worker: bool,
    /// With --worker: keep waiting for new jobs until stopped (SIGTERM or Ctrl-C re-queues the
    /// job in progress).
    #[arg(long, requires = "worker")]
    pub follow: bool,
    /// Survey name (default: the file name; with several files, NAME 1, NAME 2, …).
    #[arg(long)]
    pub name: Option<String>,
    /// Acquisition time, RFC 3339 (default: from the file's metadata, else now).
    #[arg(long)]
    pub acquired_at: Option<String>,
    /// Band roles in file order when the file does not say, e.g. red,green,blue,nir.
    #[arg(long)]
    pub bands: Option<String>,
}

pub fn run(a: IngestArgs) -> anyhow::Result<()> {
    if a.worker {
        return run_worker(a);
    }
    let v = open(&a.common)?;
    let who = Principal::cli();
    let many = a.files.len() > 1;
    let mut failed = 0;
    for (i, file) in a.files.iter().enumerate() {
        let name = a.name.as_ref().map(|n| {
            if many {
                format!("{n} {}", i + 1)
            } else {
                n.clone()
            }
        });
        eprintln!("ingesting {}", file.display());
        let s = v.ingest_local(
            &who,
            vigil::service::surveys::LocalFile {
                path: file.clone(),
                name,
                acquired_at: a.acquired_at.clone(),
                bands: a.bands.clone(),
            },
            true,
        )?;
        let line = survey_line(&v, &file.display().to_string(), &s);
        let r = &s.row;
        println!("{line}");
        if r.state != vigil::service::surveys::SurveyState::Ready {
            failed += 1;
            eprintln!(
                "error: {} was not ingested: {} ({})",
                file.display(),
                r.error.as_deref().unwrap_or("unknown"),
                r.error_code.as_deref().unwrap_or("?")
            );
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} file(s) failed", a.files.len());
    }
    Ok(())
}

/// The JSON line printed for one ingested survey.
fn survey_line(v: &Vigil, file: &str, s: &vigil::service::surveys::Survey) -> serde_json::Value {
    let r = &s.row;
    let m = s.meta.as_ref();
    let secs = r
        .started_at
        .as_deref()
        .zip(r.completed_at.as_deref())
        .and_then(|(a, b)| {
            let p = |t: &str| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            };
            Some((p(b)? - p(a)?).as_seconds_f64())
        });
    serde_json::json!({
        "file": file,
        "survey": r.id,
        "state": r.state,
        "error": r.error_code.as_ref().map(|c| serde_json::json!({ "code": c, "message": r.error })),
        "tiles": m.map(|m| m.display_tiles),
        "analysis_tiles": m.map(|m| m.analysis_tiles),
        "native_zoom": m.map(|m| m.native_zoom),
        "min_zoom": m.map(|m| m.min_zoom),
        "megapixels": m.map(|m| (m.width * m.height) as f64 / 1e6),
        "flags": m.map(|m| m.flags),
        "model": m.and_then(|m| m.model_version.clone()),
        "classification_skipped": m.and_then(|m| m.classification_skipped.clone()),
        "seconds": secs,
        "stages": m.map(|m| m.timings.iter().map(|(n, t)| serde_json::json!({ "name": n, "seconds": t })).collect::<Vec<_>>()),
        "tiles_dir": m.map(|_| v.config().tiles_dir().join(&r.id).display().to_string()),
    })
}

/// `vigil ingest --worker [--follow]`: queued jobs run here; one JSON line per job.
fn run_worker(a: IngestArgs) -> anyhow::Result<()> {
    let v = std::sync::Arc::new(open(&a.common)?);
    if a.follow {
        // SIGTERM or Ctrl-C: the job in progress stops and is re-queued for any node.
        let stop = v.clone();
        std::thread::Builder::new()
            .name("vigil-signals".into())
            .spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async {
                    let Ok(mut term) =
                        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                });
                eprintln!("stopping: the job in progress goes back to the queue");
                stop.stop_worker();
            })
            .context("cannot watch for signals")?;
    }
    let failed = std::cell::Cell::new(0);
    let ran = v.run_queued(a.follow, true, &|id| {
        let Ok(s) = v.survey(&Principal::cli(), id) else {
            return;
        };
        println!("{}", survey_line(&v, &s.row.filename, &s));
        if s.row.state == vigil::service::surveys::SurveyState::Failed {
            failed.set(failed.get() + 1);
        }
    });
    eprintln!("{ran} queued job(s) run");
    if failed.get() > 0 {
        anyhow::bail!("{} of {ran} job(s) failed", failed.get());
    }
    Ok(())
}

/// `vigil migrate`: the embedded store's every table copied into the PostgreSQL database of
/// `[store] database_url` and verified (one JSON line per table), then every ready survey's
/// tiles and every field photo published to the object storage of `[storage] url` and checked
/// file by file (one JSON line per survey); a summary line last. Either part runs when its
/// target is configured.
pub fn migrate(common: Common) -> anyhow::Result<()> {
    let cfg = super::load_config(&common)?;
    cfg.validate()?;
    super::init_logging(&cfg);
    if cfg.store.database_url.is_none() && cfg.storage.url.is_none() {
        anyhow::bail!(
            "nothing to migrate to: set [store] database_url / VIGIL_DATABASE_URL (postgres://…) \
             and/or [storage] url / VIGIL_STORAGE_URL (s3://bucket/prefix)"
        );
    }
    let mut summary = serde_json::Map::new();
    if let Some(url) = &cfg.store.database_url {
        let tables = vigil::service::migrate::migrate_store(&cfg, &|t| {
            println!("{}", serde_json::to_string(t).unwrap_or_default());
        })
        .with_context(|| {
            format!(
                "copying the store into PostgreSQL at {}",
                vigil::service::redact_database_url(url)
            )
        })?;
        summary.insert("tables".into(), tables.len().into());
        summary.insert(
            "rows_verified".into(),
            tables.iter().map(|t| t.rows).sum::<u64>().into(),
        );
    }
    if cfg.storage.url.is_some() {
        let v = Vigil::open(cfg).context("cannot open the store")?;
        let report = v.migrate_tiles(&Principal::cli(), &|s| {
            println!("{}", serde_json::to_string(s).unwrap_or_default());
        })?;
        let files: u64 = report.surveys.iter().map(|s| s.files).sum();
        summary.insert("surveys".into(), report.surveys.len().into());
        summary.insert("files_verified".into(), files.into());
        summary.insert(
            "without_local_tiles".into(),
            serde_json::json!(report.without_local_tiles),
        );
        summary.insert("evidence_verified".into(), report.evidence.into());
        summary.insert("uploads_verified".into(), report.uploads.into());
        summary.insert("models_verified".into(), report.models.into());
    }
    println!("{}", serde_json::Value::Object(summary));
    Ok(())
}
