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
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
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
        let r = &s.row;
        let m = s.meta.as_ref();
        let secs = r
            .started_at
            .as_deref()
            .zip(r.completed_at.as_deref())
            .and_then(|(a, b)| {
                let p = |t: &str| {
                    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                        .ok()
                };
                Some((p(b)? - p(a)?).as_seconds_f64())
            });
        let line = serde_json::json!({
            "file": file.display().to_string(),
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
        });
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
