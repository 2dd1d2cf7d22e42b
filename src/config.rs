//! Configuration: one serde `Config` with a section per concern.
//!
//! Precedence, lowest first: built-in defaults → TOML file (`--config FILE`, or `vigil.toml` in the data
//! dir when present) → `VIGIL_*` environment variables → command-line flags. Unknown keys are rejected and
//! values are validated before anything starts.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Everything Vigil can be told at start-up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
#[derive(Default)]
pub struct Config {
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub api: ApiConfig,
    pub log: LogConfig,
    pub upload: UploadConfig,
    pub tiles: TilesConfig,
    pub ingest: IngestConfig,
    pub classify: ClassifyConfig,
    pub evidence: EvidenceConfig,
    pub field: FieldConfig,
    pub storage: StorageConfig,
    pub targets: TargetsConfig,
    pub reports: ReportsConfig,
}

/// The plans' targets that reports measure KPIs against (issue 6), with per-province overrides:
/// `[targets.provinces."08"] drug_free_share = { 2026 = 0.5 }` changes only what it names.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TargetsConfig {
    /// Hotspots eliminated in a period at least this fraction more than in the same period a year
    /// before (0.05: +5 %).
    pub elimination_growth: f64,
    /// Share of *điểm nóng* eliminated at the period's end (0.8: 80 %).
    pub diem_nong_eliminated_share: f64,
    /// Share of communes declared drug-free, by year; a year not listed takes the nearest listed
    /// year before it (none before the first).
    pub drug_free_share: BTreeMap<String, f64>,
    /// Share of confirmed cultivation area eradicated (1.0: all of it).
    pub eradicated_share: f64,
    /// New hotspots allowed in a period (the plans: none).
    pub max_new_hotspots: u32,
    /// Re-emerged hotspots allowed in a period (the plans: none).
    pub max_reemerged: u32,
    /// Re-planting cases allowed in a period (the plans: none).
    pub max_replanting: u32,
    /// A share or growth KPI short of its target by at most this many percentage points is amber
    /// rather than red.
    pub amber_margin_pp: f64,
    /// Overrides by province code.
    pub provinces: BTreeMap<String, ProvinceTargets>,
}

/// A province's own targets; what is not set comes from `[targets]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ProvinceTargets {
    pub elimination_growth: Option<f64>,
    pub diem_nong_eliminated_share: Option<f64>,
    /// Merged year by year over `[targets] drug_free_share`.
    pub drug_free_share: BTreeMap<String, f64>,
    pub eradicated_share: Option<f64>,
    pub max_new_hotspots: Option<u32>,
    pub max_reemerged: Option<u32>,
    pub max_replanting: Option<u32>,
}

impl Default for TargetsConfig {
    fn default() -> Self {
        TargetsConfig {
            elimination_growth: 0.05,
            diem_nong_eliminated_share: 0.8,
            drug_free_share: [
                ("2026", 0.4),
                ("2027", 0.6),
                ("2028", 0.8),
                ("2029", 0.9),
                ("2030", 1.0),
            ]
            .into_iter()
            .map(|(y, v)| (y.to_string(), v))
            .collect(),
            eradicated_share: 1.0,
            max_new_hotspots: 0,
            max_reemerged: 0,
            max_replanting: 0,
            amber_margin_pp: 10.0,
            provinces: BTreeMap::new(),
        }
    }
}

impl TargetsConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let share = |name: String, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(ConfigError::Invalid(format!(
                    "{name} must be a share between 0 and 1, got {v}"
                )))
            }
        };
        let growth = |name: String, v: f64| {
            if (-1.0..=10.0).contains(&v) {
                Ok(())
            } else {
                Err(ConfigError::Invalid(format!(
                    "{name} must be a fraction between -1 and 10 (0.05 = +5 %), got {v}"
                )))
            }
        };
        let years = |name: &str, m: &BTreeMap<String, f64>| {
            for (y, v) in m {
                if !y.parse::<i32>().is_ok_and(|y| (2000..=2100).contains(&y)) {
                    return Err(ConfigError::Invalid(format!(
                        "{name}: {y:?} is not a year (2000–2100)"
                    )));
                }
                share(format!("{name}.{y}"), *v)?;
            }
            Ok(())
        };
        growth("targets.elimination_growth".into(), self.elimination_growth)?;
        share(
            "targets.diem_nong_eliminated_share".into(),
            self.diem_nong_eliminated_share,
        )?;
        share("targets.eradicated_share".into(), self.eradicated_share)?;
        years("targets.drug_free_share", &self.drug_free_share)?;
        if !(0.0..=100.0).contains(&self.amber_margin_pp) {
            return Err(ConfigError::Invalid(format!(
                "targets.amber_margin_pp must be between 0 and 100 percentage points, got {}",
                self.amber_margin_pp
            )));
        }
        for (code, p) in &self.provinces {
            let name = |k: &str| format!("targets.provinces.{code:?}.{k}");
            if let Some(v) = p.elimination_growth {
                growth(name("elimination_growth"), v)?;
            }
            if let Some(v) = p.diem_nong_eliminated_share {
                share(name("diem_nong_eliminated_share"), v)?;
            }
            if let Some(v) = p.eradicated_share {
                share(name("eradicated_share"), v)?;
            }
            years(&name("drug_free_share"), &p.drug_free_share)?;
        }
        Ok(())
    }
}

/// Report rendering (issue 6).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ReportsConfig {
    /// TrueType font with Vietnamese glyphs for PDF reports. Default: the first found of DejaVu
    /// Sans (Debian `fonts-dejavu-core`), Noto Sans, Liberation Sans.
    pub font: Option<PathBuf>,
    /// Its bold face (default: found beside the regular one; the regular face when none).
    pub font_bold: Option<PathBuf>,
}

/// Field photos reviewers attach to flags (`DATA_DIR/evidence/`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EvidenceConfig {
    /// Largest photo accepted, in bytes.
    pub max_bytes: u64,
    /// Largest photo accepted, in pixels (width × height, read from the JPEG header).
    pub max_pixels: u64,
    /// A photo taken farther than this from the plot (metres, less its GPS error) is kept with a
    /// `far_from_plot` warning.
    pub max_distance_m: f64,
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        EvidenceConfig {
            max_bytes: 25 << 20,
            max_pixels: 100_000_000,
            max_distance_m: 200.0,
        }
    }
}

/// Offline field packages (issue 16): what a reviewer's phone may carry out of coverage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FieldConfig {
    /// Largest package a reviewer may download, in bytes (flags, chips, imagery, basemap).
    pub package_max_bytes: u64,
    /// Days a package may be used; after that the app wipes it.
    pub package_days: u32,
}

impl Default for FieldConfig {
    fn default() -> Self {
        FieldConfig {
            package_max_bytes: 200 << 20,
            package_days: 7,
        }
    }
}

/// The vegetation classifier run as a stage of every ingest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ClassifyConfig {
    /// Run it (flags are raised for poppy and cannabis plots).
    pub enabled: bool,
    /// Model file written by `vigil train`; the model built into the binary when unset.
    pub model: Option<PathBuf>,
    /// Minimum mapping unit: plots smaller than this many square metres are not flagged.
    pub min_area_m2: f64,
    /// Plots whose (calibrated) confidence is below this are not flagged: 0.4 means "raise a
    /// flag when at least 40 % of such flags were real plots on held-out scenes". Chosen on the
    /// calibration scenes (BENCHMARKS.md, "Detection"); 0 flags everything the model finds.
    pub min_confidence: f64,
    /// Registry hotspots within this many metres of a flag are linked to it.
    pub hotspot_link_m: f64,
}

impl Default for ClassifyConfig {
    fn default() -> Self {
        ClassifyConfig {
            enabled: true,
            model: None,
            min_area_m2: 20.0,
            min_confidence: 0.4,
            hotspot_link_m: 500.0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address the HTTP server binds to.
    pub listen: SocketAddr,
    /// Directory holding the SQLite store and, later, uploads.
    pub data_dir: PathBuf,
    /// Public base URL used in links (e.g. behind a proxy). Defaults to `http://{listen}`.
    pub public_url: Option<String>,
    /// Seconds to wait for in-flight requests on shutdown.
    pub shutdown_grace_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `postgres://user:password@host:port/db`: keep the store in PostgreSQL 15+ with PostGIS 3
    /// (several nodes may share it). Unset: SQLite in the data dir.
    pub database_url: Option<String>,
    /// Number of read-only connections (SQLite) or reader connections (PostgreSQL).
    pub readers: usize,
    /// SQLite busy timeout in milliseconds.
    pub busy_timeout_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// `limit` used when a request gives none.
    pub default_limit: usize,
    /// Largest `limit` a request may ask for; larger values are clamped (OGC API – Features 7.15.3).
    pub max_limit: usize,
    /// Largest JSON request body in bytes.
    pub max_body_bytes: usize,
    /// Largest bulk-import body in bytes.
    pub max_import_bytes: usize,
    /// Largest number of rows in one import.
    pub max_import_rows: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `tracing` filter directive, e.g. `info,vigil=debug`.
    pub level: String,
    /// `pretty` for people, `json` for log collectors.
    pub format: LogFormat,
}

/// Resumable uploads of survey imagery (`DATA_DIR/uploads/`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UploadConfig {
    /// Largest file one upload may declare, in bytes.
    pub max_bytes: u64,
    /// Bytes one user may hold in unfinished and committed uploads together.
    pub quota_bytes: u64,
    /// Size of every chunk but the last, for new sessions.
    pub chunk_bytes: u64,
    /// An unfinished session with no new chunk for this long is cancelled.
    pub expire_hours: u64,
}

/// Where files live beyond the data dir (issue 17): `url = "s3://bucket/prefix"` publishes every
/// survey's tiles to S3-compatible object storage (credentials and endpoint from the standard
/// `AWS_*` variables); absent, the data dir holds everything (the embedded default).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    pub url: Option<String>,
    /// Memory for display tiles read from object storage, in MiB.
    pub tile_cache_mib: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            url: None,
            tile_cache_mib: 256,
        }
    }
}

/// The on-disk tile store.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TilesConfig {
    /// Where survey tiles are kept. Relative paths are taken from the data dir; the default is
    /// `DATA_DIR/tiles`, beside the store that indexes them.
    pub dir: Option<PathBuf>,
    /// Format of stored display tiles: `png` or `webp` (lossless). The other one is transcoded
    /// when asked for.
    pub format: TileFormat,
}

/// Raster ingest of survey orthomosaics.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Largest source image accepted, in pixels (width × height): refuses decompression bombs
    /// before anything is read.
    pub max_pixels: u64,
    /// Worker threads for tiling; 0 means one per core (at most 8, which bounds memory).
    pub threads: usize,
    /// GDAL block cache in MiB, shared by the workers.
    pub gdal_cache_mib: usize,
    /// Whether `vigil serve` runs the ingest worker. `false` makes an API-only node of several
    /// on one PostgreSQL store (the jobs are run by the other nodes, or by `vigil ingest`).
    pub worker: bool,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TileFormat {
    Png,
    Webp,
}

impl TileFormat {
    pub fn extension(self) -> &'static str {
        match self {
            TileFormat::Png => "png",
            TileFormat::Webp => "webp",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            TileFormat::Png => "image/png",
            TileFormat::Webp => "image/webp",
        }
    }

    pub fn from_extension(ext: &str) -> Option<TileFormat> {
        match ext {
            "png" => Some(TileFormat::Png),
            "webp" => Some(TileFormat::Webp),
            _ => None,
        }
    }
}

impl Default for TilesConfig {
    fn default() -> Self {
        TilesConfig {
            dir: None,
            format: TileFormat::Png,
        }
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_pixels: 2_000_000_000,
            threads: 0,
            gdal_cache_mib: 256,
            worker: true,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            public_url: None,
            shutdown_grace_secs: 10,
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            database_url: None,
            readers: 4,
            busy_timeout_ms: 5_000,
        }
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            default_limit: 100,
            max_limit: 10_000,
            max_body_bytes: 1 << 20,
            max_import_bytes: 64 << 20,
            max_import_rows: 2_000_000,
        }
    }
}

impl Default for UploadConfig {
    fn default() -> Self {
        UploadConfig {
            max_bytes: 20 << 30,
            quota_bytes: 100 << 30,
            chunk_bytes: 8 << 20,
            expire_hours: 72,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: LogFormat::Pretty,
        }
    }
}

/// A configuration problem, named precisely enough to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("environment variable {name}={value:?}: {reason}")]
    Env {
        name: String,
        value: String,
        reason: String,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Environment variables Vigil reads, and the setting each one overrides.
pub const ENV_VARS: &[(&str, &str)] = &[
    ("VIGIL_LISTEN", "server.listen"),
    ("VIGIL_DATA_DIR", "server.data_dir"),
    ("VIGIL_PUBLIC_URL", "server.public_url"),
    ("VIGIL_LOG", "log.level"),
    ("VIGIL_LOG_FORMAT", "log.format"),
    ("VIGIL_MAX_LIMIT", "api.max_limit"),
    ("VIGIL_READERS", "store.readers"),
    ("VIGIL_TILES_DIR", "tiles.dir"),
    ("VIGIL_INGEST_THREADS", "ingest.threads"),
    ("VIGIL_STORAGE_URL", "storage.url"),
    ("VIGIL_DATABASE_URL", "store.database_url"),
];

impl Config {
    /// Defaults suited to tests: quiet logs, small pools.
    pub fn for_tests(data_dir: &Path) -> Config {
        let mut c = Config::default();
        c.server.data_dir = data_dir.to_path_buf();
        c.server.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        c.store.readers = 2;
        c.log.level = "warn".into();
        c
    }

    /// Parses a TOML document.
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            source: Box::new(e),
        })
    }

    /// Loads the file if given (or `DATA_DIR/vigil.toml` when it exists), then applies the environment.
    pub fn load(file: Option<&Path>, data_dir_hint: Option<&Path>) -> Result<Config, ConfigError> {
        let implicit = data_dir_hint
            .map(|d| d.join("vigil.toml"))
            .filter(|p| p.is_file());
        let mut cfg = match file.map(Path::to_path_buf).or(implicit) {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                Config::from_toml(&text, &path)?
            }
            None => Config::default(),
        };
        cfg.apply_env(|k| std::env::var(k).ok())?;
        Ok(cfg)
    }

    /// Applies `VIGIL_*` overrides from `get` (the process environment in production).
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let bad = |name: &str, value: &str, reason: String| ConfigError::Env {
            name: name.into(),
            value: value.into(),
            reason,
        };
        for (name, _) in ENV_VARS {
            let Some(value) = get(name) else { continue };
            match *name {
                "VIGIL_LISTEN" => {
                    self.server.listen = value
                        .parse()
                        .map_err(|e| bad(name, &value, format!("{e}")))?
                }
                "VIGIL_DATA_DIR" => self.server.data_dir = PathBuf::from(&value),
                "VIGIL_PUBLIC_URL" => self.server.public_url = Some(value.clone()),
                "VIGIL_LOG" => self.log.level = value.clone(),
                "VIGIL_LOG_FORMAT" => {
                    self.log.format = match value.as_str() {
                        "pretty" => LogFormat::Pretty,
                        "json" => LogFormat::Json,
                        _ => return Err(bad(name, &value, "expected `pretty` or `json`".into())),
                    }
                }
                "VIGIL_MAX_LIMIT" => {
                    self.api.max_limit = value
                        .parse()
                        .map_err(|e| bad(name, &value, format!("{e}")))?
                }
                "VIGIL_TILES_DIR" => self.tiles.dir = Some(PathBuf::from(&value)),
                "VIGIL_STORAGE_URL" => {
                    self.storage.url = Some(value.clone()).filter(|v| !v.trim().is_empty())
                }
                "VIGIL_DATABASE_URL" => {
                    self.store.database_url = Some(value.clone()).filter(|v| !v.trim().is_empty())
                }
                "VIGIL_INGEST_THREADS" => {
                    self.ingest.threads = value
                        .parse()
                        .map_err(|e| bad(name, &value, format!("{e}")))?
                }
                "VIGIL_READERS" => {
                    self.store.readers = value
                        .parse()
                        .map_err(|e| bad(name, &value, format!("{e}")))?
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let a = &self.api;
        if a.default_limit == 0 || a.max_limit == 0 || a.default_limit > a.max_limit {
            return Err(ConfigError::Invalid(format!(
                "api.default_limit ({}) must be between 1 and api.max_limit ({})",
                a.default_limit, a.max_limit
            )));
        }
        if a.max_body_bytes < 1024 || a.max_import_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "api.max_body_bytes and api.max_import_bytes must be at least 1024".into(),
            ));
        }
        if self.store.readers == 0 || self.store.readers > 64 {
            return Err(ConfigError::Invalid(format!(
                "store.readers must be 1..=64, got {}",
                self.store.readers
            )));
        }
        let u = &self.upload;
        if !(1024..=(256 << 20)).contains(&u.chunk_bytes) {
            return Err(ConfigError::Invalid(format!(
                "upload.chunk_bytes must be between 1024 and 268435456, got {}",
                u.chunk_bytes
            )));
        }
        if u.max_bytes == 0 || u.quota_bytes == 0 || u.expire_hours == 0 {
            return Err(ConfigError::Invalid(
                "upload.max_bytes, upload.quota_bytes and upload.expire_hours must be positive"
                    .into(),
            ));
        }
        if self.ingest.max_pixels == 0 || self.ingest.gdal_cache_mib == 0 {
            return Err(ConfigError::Invalid(
                "ingest.max_pixels and ingest.gdal_cache_mib must be positive".into(),
            ));
        }
        if !(self.classify.min_area_m2 >= 0.0 && self.classify.min_area_m2 < 1e7) {
            return Err(ConfigError::Invalid(format!(
                "classify.min_area_m2 must be between 0 and 10000000, got {}",
                self.classify.min_area_m2
            )));
        }
        if !(0.0..=1.0).contains(&self.classify.min_confidence) {
            return Err(ConfigError::Invalid(format!(
                "classify.min_confidence must be between 0 and 1, got {}",
                self.classify.min_confidence
            )));
        }
        if self.ingest.threads > 256 {
            return Err(ConfigError::Invalid(format!(
                "ingest.threads must be 0 (one per core) to 256, got {}",
                self.ingest.threads
            )));
        }
        self.targets.validate()?;
        if let Some(url) = &self.storage.url {
            let u = url::Url::parse(url)
                .map_err(|e| ConfigError::Invalid(format!("storage.url {url:?}: {e}")))?;
            if !matches!(u.scheme(), "s3" | "s3a") || u.host_str().unwrap_or("").is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "storage.url {url:?}: expected s3://bucket/prefix (leave it unset to keep files in the data dir)"
                )));
            }
        }
        if let Some(url) = &self.store.database_url {
            let shown = crate::store::sql::redact_url(url);
            let u = url::Url::parse(url)
                .map_err(|e| ConfigError::Invalid(format!("store.database_url {shown:?}: {e}")))?;
            if !matches!(u.scheme(), "postgres" | "postgresql") {
                return Err(ConfigError::Invalid(format!(
                    "store.database_url {shown:?}: expected postgres://user:password@host:port/database (leave it unset to keep the store in SQLite in the data dir)"
                )));
            }
        }
        if let Some(url) = &self.server.public_url {
            url::Url::parse(url)
                .map_err(|e| ConfigError::Invalid(format!("server.public_url {url:?}: {e}")))?;
        }
        Ok(())
    }

    /// Base URL for links in responses, without a trailing slash.
    pub fn base_url(&self) -> String {
        match &self.server.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.server.listen),
        }
    }

    /// The tile store directory.
    pub fn tiles_dir(&self) -> PathBuf {
        match &self.tiles.dir {
            Some(d) if d.is_absolute() => d.clone(),
            Some(d) => self.server.data_dir.join(d),
            None => self.server.data_dir.join("tiles"),
        }
    }

    /// Worker threads for tiling.
    pub fn ingest_threads(&self) -> usize {
        match self.ingest.threads {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
                .min(8),
            n => n,
        }
    }

    /// The SQLite database file.
    pub fn db_path(&self) -> PathBuf {
        self.server.data_dir.join("vigil.sqlite")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_rejected_with_their_name() {
        let err = Config::from_toml("[server]\nlisen = \"127.0.0.1:1\"\n", Path::new("x.toml"))
            .unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
    }

    #[test]
    fn file_then_env_precedence() {
        let mut c = Config::from_toml(
            "[server]\nlisten = \"127.0.0.1:9000\"\n[api]\nmax_limit = 50\n",
            Path::new("x"),
        )
        .unwrap();
        assert_eq!(c.server.listen.port(), 9000);
        c.apply_env(|k| (k == "VIGIL_LISTEN").then(|| "127.0.0.1:9100".to_string()))
            .unwrap();
        assert_eq!(c.server.listen.port(), 9100);
        assert_eq!(c.api.max_limit, 50);
    }

    #[test]
    fn bad_env_value_is_named() {
        let mut c = Config::default();
        let err = c
            .apply_env(|k| (k == "VIGIL_LISTEN").then(|| "nope".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("VIGIL_LISTEN"));
    }

    #[test]
    fn targets_default_to_the_plans_and_take_province_overrides() {
        let c = Config::from_toml(
            "[targets.provinces.\"08\"]\ndrug_free_share = { 2026 = 0.5 }\n",
            Path::new("x"),
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.targets.drug_free_share["2030"], 1.0);
        assert_eq!(c.targets.provinces["08"].drug_free_share["2026"], 0.5);
        let bad = Config::from_toml("[targets]\neradicated_share = 1.5\n", Path::new("x")).unwrap();
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("eradicated_share")
        );
        let bad = Config::from_toml(
            "[targets.provinces.\"08\"]\ndrug_free_share = { soon = 0.5 }\n",
            Path::new("x"),
        )
        .unwrap();
        assert!(bad.validate().unwrap_err().to_string().contains("soon"));
        assert!(Config::from_toml("[targets]\nmax_new = 1\n", Path::new("x")).is_err());
    }

    #[test]
    fn validate_rejects_inverted_limits() {
        let mut c = Config::default();
        c.api.default_limit = 500;
        c.api.max_limit = 100;
        assert!(c.validate().is_err());
    }
}
