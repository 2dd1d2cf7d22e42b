//! The embedded store: SQLite in WAL mode in the data dir, the source of truth for everything.
//!
//! One writer connection serialises writes (SQLite allows one writer anyway); a small pool of
//! read-only connections serves reads concurrently. Every multi-row change runs in one transaction,
//! so a crash leaves either all of it or none. Calls block: async callers use `spawn_blocking`.

pub mod audit;
pub mod boundaries;
pub mod copy;
pub mod flags;
pub mod hotspots;
pub(crate) mod migrations;
mod pg_migrations;
pub mod pg_tls;
pub mod reports;
pub mod review;
pub mod sql;
pub mod surveys;
pub mod uploads;
pub mod users;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use sql::Db;

pub use audit::{AuditEntry, AuditQuery, NewAudit};
pub use hotspots::{HotspotChange, StoredHotspot};
pub use users::UserRecord;

/// A store failure. Constraint and not-found cases are reported by callers, not here.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot create data dir {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the store at {path} has schema version {found}, newer than this build knows ({known}); upgrade Vigil"
    )]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
    #[error("corrupt row in {table}: {message}")]
    Corrupt {
        table: &'static str,
        message: String,
    },
    #[error("serialisation: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot connect to the PostgreSQL store at {url}: {message}")]
    Connect { url: String, message: String },
    #[error(
        "the PostgreSQL store at {url} has schema version {found}, newer than this build knows ({known}); upgrade Vigil"
    )]
    TooNewPg { url: String, found: i64, known: i64 },
    #[error("{0}")]
    Unsupported(&'static str),
}

/// A write's own error, or the store's (PostgreSQL transaction control).
enum Wrapped<E> {
    App(E),
    Sql(rusqlite::Error),
}

impl<E> From<rusqlite::Error> for Wrapped<E> {
    fn from(e: rusqlite::Error) -> Self {
        Wrapped::Sql(e)
    }
}

/// A stored row that could not be read at start-up (an old version's bug, a hand edit): it is
/// left out of the indexes, logged, and listed by `/healthz`, so one bad row never stops the
/// service from starting.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SkippedRow {
    pub table: &'static str,
    /// The row's key, e.g. `commune 02201` or `hotspot 17`.
    pub key: String,
    pub reason: String,
}

impl SkippedRow {
    fn from_corrupt(e: StoreError, key: String) -> SkippedRow {
        let (table, reason) = match e {
            StoreError::Corrupt { table, message } => (table, message),
            other => ("?", other.to_string()),
        };
        let s = SkippedRow { table, key, reason };
        tracing::warn!(table = s.table, row = %s.key, reason = %s.reason, "skipped a corrupt row");
        s
    }
}

/// The store: the embedded SQLite file, or a PostgreSQL database shared by several nodes.
pub struct Store {
    engine: Engine,
}

enum Engine {
    Lite {
        // Readers first: fields drop in order, and only the (last-closed) writer can checkpoint
        // the WAL and remove it; read-only connections cannot.
        readers: Vec<Mutex<Connection>>,
        writer: Mutex<Connection>,
        next_reader: AtomicUsize,
    },
    Pg {
        url: String,
        readers: Vec<Mutex<sql::PgConn>>,
        writer: Box<Mutex<sql::PgConn>>,
        next_reader: AtomicUsize,
    },
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (engine, readers) = match &self.engine {
            Engine::Lite { readers, .. } => ("sqlite", readers.len()),
            Engine::Pg { readers, .. } => ("postgres", readers.len()),
        };
        f.debug_struct("Store")
            .field("engine", &engine)
            .field("readers", &readers)
            .finish()
    }
}

fn configure(conn: &Connection, busy: Duration) -> rusqlite::Result<()> {
    conn.busy_timeout(busy)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "cache_size", -32_000)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// The first free reader of a pool, else the next one in turn.
fn pick<'p, C>(pool: &'p [Mutex<C>], next: &AtomicUsize) -> parking_lot::MutexGuard<'p, C> {
    let n = pool.len();
    let start = next.fetch_add(1, Ordering::Relaxed);
    for i in 0..n {
        if let Some(conn) = pool[(start + i) % n].try_lock() {
            return conn;
        }
    }
    pool[start % n].lock()
}

impl Store {
    /// Opens (creating if needed) the SQLite store and runs pending migrations.
    pub fn open(path: &Path, readers: usize, busy: Duration) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let mut writer = Connection::open(path)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        configure(&writer, busy)?;
        migrations::run(&mut writer, path)?;
        let readers = (0..readers.max(1))
            .map(|_| {
                let c = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                configure(&c, busy)?;
                Ok(Mutex::new(c))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Store {
            engine: Engine::Lite {
                writer: Mutex::new(writer),
                readers,
                next_reader: AtomicUsize::new(0),
            },
        })
    }

    /// Connects to a PostgreSQL database (`postgres://…`) and runs pending migrations there:
    /// one writer connection and `readers` reader connections per node.
    pub fn open_postgres(url: &str, readers: usize) -> Result<Store, StoreError> {
        pg_blocking(|| Store::open_postgres_here(url, readers))
    }

    fn open_postgres_here(url: &str, readers: usize) -> Result<Store, StoreError> {
        let connect = || {
            sql::PgConn::connect(url).map_err(|e| StoreError::Connect {
                url: sql::redact_url(url),
                message: e.to_string(),
            })
        };
        let writer = connect()?;
        pg_migrations::run(&writer, url)?;
        let readers = (0..readers.max(1))
            .map(|_| connect().map(Mutex::new))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Store {
            engine: Engine::Pg {
                url: url.to_string(),
                writer: Box::new(Mutex::new(writer)),
                readers,
                next_reader: AtomicUsize::new(0),
            },
        })
    }

    /// A connection listening to the change feed (PostgreSQL; `None` on SQLite, where one
    /// process holds the store).
    pub fn listen_changes(&self) -> Result<Option<sql::Listener>, StoreError> {
        match &self.engine {
            Engine::Lite { .. } => Ok(None),
            Engine::Pg { url, .. } => Ok(Some(pg_blocking(|| {
                sql::Listener::connect(url, "vigil_changes")
            })?)),
        }
    }

    /// Whether the store is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.engine, Engine::Pg { .. })
    }

    /// Runs `f` in one write transaction (SQLite: immediate, write-locked; PostgreSQL: holding
    /// the cluster-wide writer lock); commits only if it returns `Ok`.
    pub fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Db<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.write_then(f, |_| {})
    }

    /// Like [`Store::write`], then runs `on_commit` with the result while still holding the writer
    /// lock, so in-memory indexes are updated in the same order as the commits.
    pub fn write_then<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Db<'_>) -> Result<T, E>,
        on_commit: impl FnOnce(&T),
    ) -> Result<T, E> {
        match &self.engine {
            Engine::Lite { writer, .. } => {
                let mut conn = writer.lock();
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(|e| E::from(e.into()))?;
                let out = f(&Db::Lite(&tx))?;
                tx.commit().map_err(|e| E::from(e.into()))?;
                on_commit(&out);
                Ok(out)
            }
            Engine::Pg { writer, .. } => pg_blocking(|| {
                let conn = writer.lock();
                let out = conn
                    .write(|db| f(db).map_err(Wrapped::App))
                    .map_err(|e| match e {
                        Wrapped::App(e) => e,
                        Wrapped::Sql(e) => E::from(e.into()),
                    })?;
                on_commit(&out);
                Ok(out)
            }),
        }
    }

    /// Runs `f` on a read-only connection (a consistent snapshot within one statement; use a
    /// transaction inside `f` for several).
    pub fn read<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Db<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        match &self.engine {
            Engine::Lite {
                readers,
                next_reader,
                ..
            } => f(&Db::Lite(&pick(readers, next_reader))),
            Engine::Pg {
                readers,
                next_reader,
                ..
            } => pg_blocking(|| {
                let conn = pick(readers, next_reader);
                conn.check().map_err(|e| E::from(e.into()))?;
                f(&Db::Pg(&conn))
            }),
        }
    }

    /// Checks the database answers (for `/healthz`).
    pub fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| {
            c.query_row("SELECT 1", (), |_| Ok(()))
                .map_err(StoreError::from)
        })
    }

    /// Copies the live database to `dest` (online backup).
    pub fn backup(&self, dest: &Path) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Lite { writer, .. } => {
                writer
                    .lock()
                    .execute("VACUUM INTO ?1", [dest.to_string_lossy()])?;
                Ok(())
            }
            Engine::Pg { .. } => Err(StoreError::Unsupported(
                "a backup of a PostgreSQL store is taken with pg_dump, not by Vigil",
            )),
        }
    }
}

/// Runs blocking PostgreSQL work `f`. The `postgres` client drives a runtime of its own, which
/// tokio refuses to block on from an async worker thread; called from one (an in-process test,
/// or an async caller by mistake), `f` runs under `block_in_place`, which moves that worker's
/// other tasks elsewhere first. Everywhere else (the blocking pool, plain threads) it just runs.
pub(crate) fn pg_blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}
