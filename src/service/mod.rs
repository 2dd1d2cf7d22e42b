//! The registry service: the operations users perform, with their rules — authentication,
//! role and jurisdiction checks, validation, the lifecycle, the audit trail — over the store and
//! the in-memory indexes. The CLI and the HTTP API both call these; neither holds domain logic.
//!
//! All methods block (SQLite, GDAL); async callers run them on the blocking pool.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use serde_json::json;

use crate::auth::{self, Jurisdiction, Principal, Role};
use crate::boundaries::{Boundary, Level};
use crate::config::Config;
use crate::hotspots::import::{self, Format, ImportError};
use crate::hotspots::model::{FieldError, RawHotspot};
use crate::hotspots::{Hotspot, HotspotEvent, Status};
use crate::index::hotspots::EntryRow;
use crate::index::{BoundaryIndex, HotspotFilter, HotspotIndex, Page};
use crate::ingest::crs::{CrsError, ToWgs84};
use crate::ingest::vector::{self, BoundaryFields, VectorError};
use crate::store::hotspots::{self as hs, HotspotChange};
use crate::store::{self, NewAudit, Store, StoreError, UserRecord};
pub use crate::store::{AuditEntry, AuditQuery};
use crate::time_util::{format_date, now_rfc3339, parse_date, today};

pub mod analytics;
mod boundaries;
mod hotspots;
mod users;

pub use boundaries::{BoundaryImportSummary, boundary_visible};
pub use hotspots::ImportSummary;
pub mod changes;
pub mod eval;
mod exports;
pub mod flags;
pub mod learn;
pub mod migrate;

/// A `postgres://` URL with its password hidden, for messages.
pub fn redact_database_url(url: &str) -> String {
    crate::store::sql::redact_url(url)
}
pub mod reports;
pub mod review;
pub mod similar;
pub mod surveys;
pub mod uploads;

/// What can go wrong in a registry operation. The API maps each to a status code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Throttled(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(
        "the resource changed since you read it: it is at version {current}; re-read it and try again"
    )]
    PreconditionFailed { current: i64 },
    /// A change the resource's state does not allow (409), with a stable `code`
    /// (`illegal_transition`, `superseded`) and where the resource stands.
    #[error("{message}")]
    StateConflict {
        code: &'static str,
        message: String,
        status: String,
        version: i64,
    },
    /// Input refused with a stable `code` (422), e.g. a survey file that cannot be ingested
    /// (`corrupt`, `unsupported_type`, `empty`…); the message names the file, never a server path.
    #[error("{message}")]
    Rejected { code: &'static str, message: String },
    /// A body in a format the endpoint does not take (415).
    #[error("{0}")]
    UnsupportedMedia(String),
    /// A change made on a version that is no longer current (409 with the current version).
    #[error(
        "{what} changed since you read it: it is at version {current}; re-read it, check the new state and decide again"
    )]
    StaleVersion { what: String, current: i64 },
    #[error("invalid input: {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Boundaries(#[from] VectorError),
    #[error(transparent)]
    Crs(#[from] CrsError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A declared size over a configured limit (`limit` names the setting).
    #[error("{message}")]
    PayloadTooLarge {
        message: String,
        limit: &'static str,
        bytes: u64,
    },
    /// An upload committed before all its chunks arrived.
    #[error("{message}")]
    MissingChunks {
        message: String,
        missing: Vec<crate::upload::MissingRange>,
    },
    /// An uploaded file whose SHA-256 is not the declared one.
    #[error(
        "upload {id} failed its checksum: expected SHA-256 {expected}, the received file has {actual}; start a new upload"
    )]
    Checksum {
        id: String,
        expected: String,
        actual: String,
    },
    /// A file operation failed (a server problem: reported as 500 and logged).
    #[error("{context}: {source}")]
    Disk {
        context: String,
        source: std::io::Error,
    },
    /// The object storage did not answer (503 with Retry-After: the request may succeed once it
    /// is back; nothing was changed). `reason` goes to the log, not to the client.
    #[error("{context}: object storage is not answering ({reason})")]
    Unavailable { context: String, reason: String },
}

impl Error {
    /// An object storage failure while `context`.
    pub fn storage(context: impl Into<String>, e: crate::storage::StorageError) -> Error {
        Error::Unavailable {
            context: context.into(),
            reason: e.to_string(),
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Store(e.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Web-map sessions started with a password last this long.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Failed password logins allowed per user name within [`LOCKOUT_WINDOW`].
pub const MAX_LOGIN_FAILURES: u32 = 5;
pub const LOCKOUT_WINDOW: Duration = Duration::from_secs(15 * 60);

/// How long an authenticated token is trusted without asking the store again. Any change to users
/// or tokens clears the cache at once.
pub const AUTH_TTL: Duration = Duration::from_secs(30);

/// The one way the service refuses a field: `field` names it, `message` says what is wrong.
pub(crate) fn invalid(field: &str, message: impl std::fmt::Display) -> Error {
    Error::Invalid(vec![FieldError::new(field, message.to_string())])
}

fn hotspot_not_found(id: i64) -> Error {
    Error::NotFound(format!(
        "hotspot {id} does not exist or is outside your jurisdiction"
    ))
}

/// The running registry.
pub struct Vigil {
    config: Config,
    store: Store,
    /// Recently authenticated tokens (by hash), so the hot path skips the store. Entries live
    /// [`AUTH_TTL`]; any change to users or tokens clears the cache.
    auth_cache: parking_lot::Mutex<std::collections::HashMap<String, (Principal, Instant)>>,
    /// When each user's HTTP Basic sign-in (by kind of secret) was last audited.
    basic_audited: parking_lot::Mutex<std::collections::HashMap<(i64, &'static str), Instant>>,
    /// Rendered features for the API; invalidated here, in commit order.
    rendered: crate::cache::RenderCache,
    hotspots: HotspotIndex,
    boundaries: RwLock<Arc<BoundaryIndex>>,
    /// Chunks, commits and cancels in progress (`service::uploads`).
    uploads: Arc<crate::upload::InFlight>,
    /// Ready surveys (`service::surveys`), and the store fingerprint they were loaded at.
    surveys: RwLock<Arc<crate::service::surveys::SurveyIndex>>,
    survey_fingerprint: parking_lot::Mutex<(i64, Option<String>)>,
    /// The last change of the PostgreSQL change feed applied to the hotspot index
    /// (`service::changes`).
    change_seq: std::sync::atomic::AtomicI64,
    /// The boundary and user counters of the PostgreSQL store last acted on
    /// (`service::changes`).
    change_counters: parking_lot::Mutex<(i64, i64)>,
    /// The ingest worker's wake-up, cancel flags and shutdown.
    jobs: crate::service::surveys::Jobs,
    /// The vegetation model, loaded on first use.
    model: parking_lot::Mutex<Option<Arc<crate::classify::model::Model>>>,
    /// Analytics units, weights and heat map scales (`service::analytics`).
    analytics: crate::service::analytics::AnalyticsCache,
    /// Rows left out at start-up because they could not be read (`/healthz` lists them).
    skipped_rows: Vec<store::SkippedRow>,
    /// Survey tiles on object storage, when `[storage] url` is set (`crate::storage`).
    objects: Option<Arc<crate::storage::ObjectStorage>>,
    /// Held while a survey's directory is restored from object storage (`survey_dir`).
    restoring: parking_lot::Mutex<()>,
}

impl std::fmt::Debug for Vigil {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vigil")
            .field("hotspots", &self.hotspots.len())
            .finish()
    }
}

impl Vigil {
    /// Opens the store, runs migrations and rebuilds the in-memory indexes from it.
    pub fn open(config: Config) -> Result<Vigil> {
        let t0 = Instant::now();
        let store = match &config.store.database_url {
            Some(url) => Store::open_postgres(url, config.store.readers)?,
            None => Store::open(
                &config.db_path(),
                config.store.readers,
                Duration::from_millis(config.store.busy_timeout_ms),
            )?,
        };
        // Read before the rows they count: a change committed in between is acted on again.
        let change_counters = if store.is_postgres() {
            store.read(hs::change_counters)?
        } else {
            (0, 0)
        };
        let (boundaries, mut skipped_rows) = store.read(store::boundaries::load_all)?;
        let nb = boundaries.len();
        let boundaries = BoundaryIndex::new(boundaries);
        // Read before the rows: a change committed in between is applied again, harmlessly.
        let change_seq = if store.is_postgres() {
            store.read(hs::last_change)?
        } else {
            0
        };
        let (rows, skipped_hotspots) = store.read(hs::index_rows_checked)?;
        skipped_rows.extend(skipped_hotspots);
        let t_read = t0.elapsed();
        let hotspots = HotspotIndex::build(rows);
        let (surveys, survey_fingerprint) = Vigil::load_survey_index(&store)?;
        let objects = match &config.storage.url {
            None => None,
            Some(url) => {
                let o = crate::storage::ObjectStorage::open(url, config.storage.tile_cache_mib)
                    .map_err(|e| Error::Disk {
                        context: "opening the object storage".into(),
                        source: std::io::Error::other(e.to_string()),
                    })?;
                tracing::info!(
                    url = o.url(),
                    "survey tiles are published to object storage"
                );
                Some(Arc::new(o))
            }
        };
        tracing::info!(
            hotspots = hotspots.len(),
            boundaries = nb,
            read_ms = t_read.as_millis() as u64,
            total_ms = t0.elapsed().as_millis() as u64,
            "store opened and indexes rebuilt"
        );
        let vigil = Vigil {
            config,
            store,
            auth_cache: Default::default(),
            basic_audited: Default::default(),
            rendered: Default::default(),
            hotspots,
            boundaries: RwLock::new(Arc::new(boundaries)),
            uploads: Default::default(),
            surveys: RwLock::new(Arc::new(surveys)),
            survey_fingerprint: parking_lot::Mutex::new(survey_fingerprint),
            change_seq: std::sync::atomic::AtomicI64::new(change_seq),
            change_counters: parking_lot::Mutex::new(change_counters),
            jobs: Default::default(),
            model: Default::default(),
            analytics: Default::default(),
            skipped_rows,
            objects,
            restoring: Default::default(),
        };
        Ok(vigil)
    }

    /// The configuration the service was opened with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Whether the store is PostgreSQL (several nodes may share it).
    pub fn on_postgres(&self) -> bool {
        self.store.is_postgres()
    }

    /// The object storage survey tiles are published to, when configured.
    pub fn objects(&self) -> Option<&crate::storage::ObjectStorage> {
        self.objects.as_deref()
    }

    /// The local tile directory of ready survey `id` (extension `ext` for its display tiles),
    /// restored from object storage first when this node has none (another node ingested it, or
    /// this node's disk was replaced). Classification, "more like this" and reviewers' feedback
    /// read analysis tiles from it.
    pub fn survey_dir(
        &self,
        id: &str,
        ext: &str,
        archive: &str,
    ) -> Result<crate::tiling::layout::SurveyDir> {
        use crate::tiling::layout::SurveyDir;
        let tiles = self.config.tiles_dir();
        let dir = SurveyDir::new(&tiles, id);
        let Some(o) = self.objects.as_deref() else {
            return Ok(dir);
        };
        if dir.root.is_dir() {
            return Ok(dir);
        }
        // One restore at a time; whoever waited finds the directory there.
        let _one = self.restoring.lock();
        if dir.root.is_dir() {
            return Ok(dir);
        }
        let disk = |context: String, e: String| Error::Disk {
            context,
            source: std::io::Error::other(e),
        };
        let part = tiles.join(format!("{id}.restore.part"));
        let _ = crate::tiling::remove_dir_if_exists(&part);
        std::fs::create_dir_all(&part)
            .map_err(|e| disk(format!("restoring survey {id}"), e.to_string()))?;
        let t0 = Instant::now();
        match o.restore(archive, &part, ext) {
            Ok(n) => {
                std::fs::rename(&part, &dir.root)
                    .map_err(|e| disk(format!("restoring survey {id}"), e.to_string()))?;
                tracing::info!(
                    survey = id,
                    tiles = n,
                    ms = t0.elapsed().as_millis() as u64,
                    "restored from object storage"
                );
                Ok(dir)
            }
            Err(e) => {
                let _ = crate::tiling::remove_dir_if_exists(&part);
                Err(disk(
                    format!("restoring survey {id} from object storage"),
                    e.to_string(),
                ))
            }
        }
    }

    /// The stored display tile `t` (extension `ext`) of survey `id`: from the local tile
    /// directory when this node has it, else from the survey's archive (`archive`:
    /// `SurveyMeta::archive_key`) on object storage. `None` when neither holds it; a failing
    /// object store is logged and answers `None`, so a map draws the other surveys.
    pub fn display_tile_bytes(
        &self,
        id: &str,
        t: crate::grid::Tile,
        ext: &str,
        archive: &str,
    ) -> Option<Vec<u8>> {
        let dir = crate::tiling::layout::SurveyDir::new(&self.config.tiles_dir(), id);
        match std::fs::read(dir.display(t, ext)) {
            Ok(b) => return Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && dir.root.is_dir() => return None,
            Err(_) => {}
        }
        let o = self.objects.as_deref()?;
        match o.display_tile(archive, t) {
            Ok(b) => b.map(|b| b.to_vec()),
            Err(e) => {
                tracing::warn!(survey = id, error = %e, "cannot read a tile from object storage");
                None
            }
        }
    }

    /// Stored rows that could not be read when the service opened (left out, logged).
    pub fn skipped_rows(&self) -> &[store::SkippedRow] {
        &self.skipped_rows
    }

    pub fn boundaries(&self) -> Arc<BoundaryIndex> {
        self.boundaries.read().clone()
    }

    pub fn hotspot_count(&self) -> usize {
        self.hotspots.len()
    }

    // ---- audit -------------------------------------------------------------------------------------

    pub fn audit(&self, who: &Principal, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        if !who.role.is_admin() {
            return Err(Error::Forbidden("only admins read the audit log".into()));
        }
        Ok(self.store.read(|c| store::audit::list(c, q))?)
    }
}
