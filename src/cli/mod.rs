//! The commands of `vigil`, one short function each. They read what only a command line has
//! (files, standard input, flags), call the service, and print; the rules live in the service.

pub mod demo;
pub mod detect;
pub mod import;
pub mod ingest;
pub mod report;
pub mod serve;
pub mod user;

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use vigil::Vigil;
use vigil::config::{Config, LogFormat};
use vigil::hotspots::import::ImportError;
use vigil::service::Error;

/// Where the data lives: every command that opens the store takes these.
#[derive(Args, Clone)]
pub struct Common {
    /// Data directory (SQLite store, uploads). Env: VIGIL_DATA_DIR.
    #[arg(long, env = "VIGIL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// TOML configuration file (default: DATA_DIR/vigil.toml when present).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

pub fn load_config(common: &Common) -> anyhow::Result<Config> {
    let mut cfg = Config::load(common.config.as_deref(), common.data_dir.as_deref())?;
    if let Some(d) = &common.data_dir {
        cfg.server.data_dir = d.clone();
    }
    Ok(cfg)
}

pub fn init_logging(cfg: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&cfg.log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    // Once per process: commands that open several scratch stores (learning-curve) call it again.
    let _ = match cfg.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// A fresh scratch directory under the system temp dir.
/// Each call gives another directory (a command may need several, e.g. one scratch store per
/// model it scores).
pub fn tempfile_dir() -> anyhow::Result<PathBuf> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("vigil-train-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

pub fn open(common: &Common) -> anyhow::Result<Vigil> {
    let cfg = load_config(common)?;
    cfg.validate()?;
    init_logging(&cfg);
    Vigil::open(cfg).context("cannot open the store")
}

/// Prints an import's row errors the way a person fixing the file needs them.
pub fn report(e: Error) -> anyhow::Error {
    if let Error::Import(ImportError::Rows(rows)) = &e {
        eprintln!(
            "error: {}; nothing was imported:",
            vigil::hotspots::import::bad_rows(rows)
        );
        for r in rows.iter().take(100) {
            eprintln!("  {r}");
        }
        if rows.len() > 100 {
            eprintln!("  … and {} more", rows.len() - 100);
        }
        return anyhow::anyhow!("import refused");
    }
    anyhow::Error::new(e)
}
