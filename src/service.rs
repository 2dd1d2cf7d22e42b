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
use crate::store::{self, AuditEntry, AuditQuery, NewAudit, Store, StoreError, UserRecord};
use crate::time_util::{format_date, now_rfc3339, parse_date, today};

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

fn invalid(field: &str, message: impl Into<String>) -> Error {
    Error::Invalid(vec![FieldError::new(field, message)])
}

fn hotspot_not_found(id: i64) -> Error {
    Error::NotFound(format!(
        "hotspot {id} does not exist or is outside your jurisdiction"
    ))
}

/// The running registry.
pub struct Vigil {
    pub config: Config,
    store: Store,
    /// Recently authenticated tokens (by hash), so the hot path skips the store. Entries live
    /// [`AUTH_TTL`]; any change to users or tokens clears the cache.
    auth_cache: parking_lot::Mutex<std::collections::HashMap<String, (Principal, Instant)>>,
    /// Rendered features for the API; invalidated here, in commit order.
    pub rendered: crate::cache::RenderCache,
    pub(crate) hotspots: HotspotIndex,
    boundaries: RwLock<Arc<BoundaryIndex>>,
    /// Chunks, commits and cancels in progress (`service_uploads`).
    pub(crate) uploads: Arc<crate::upload::InFlight>,
    /// Ready surveys (`service_surveys`), and the store fingerprint they were loaded at.
    pub(crate) surveys: RwLock<Arc<crate::service_surveys::SurveyIndex>>,
    pub(crate) survey_fingerprint: parking_lot::Mutex<(i64, Option<String>)>,
    /// The ingest worker's wake-up, cancel flags and shutdown.
    pub(crate) jobs: crate::service_surveys::Jobs,
    /// The vegetation model, loaded on first use.
    pub(crate) model: parking_lot::Mutex<Option<Arc<crate::classify::model::Model>>>,
    /// Analytics units, weights and heat map scales (`service_analytics`).
    pub(crate) analytics: crate::service_analytics::AnalyticsCache,
    /// Rows left out at start-up because they could not be read (`/healthz` lists them).
    skipped_rows: Vec<store::SkippedRow>,
}

impl std::fmt::Debug for Vigil {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vigil")
            .field("hotspots", &self.hotspots.len())
            .finish()
    }
}

/// Result of a bulk hotspot import.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportSummary {
    pub imported: usize,
    pub first_id: Option<i64>,
    pub last_id: Option<i64>,
    pub outside_boundaries: usize,
}

/// Result of a boundary import.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BoundaryImportSummary {
    pub level: Level,
    pub imported: usize,
    pub hotspots_reassigned: usize,
}

impl Vigil {
    /// Opens the store, runs migrations and rebuilds the in-memory indexes from it.
    pub fn open(config: Config) -> Result<Vigil> {
        let t0 = Instant::now();
        let store = Store::open(
            &config.db_path(),
            config.store.readers,
            Duration::from_millis(config.store.busy_timeout_ms),
        )?;
        let (boundaries, mut skipped_rows) = store.read(store::boundaries::load_all)?;
        let nb = boundaries.len();
        let boundaries = BoundaryIndex::new(boundaries);
        let (rows, skipped_hotspots) = store.read(hs::index_rows_checked)?;
        skipped_rows.extend(skipped_hotspots);
        let t_read = t0.elapsed();
        let hotspots = HotspotIndex::build(rows);
        let (surveys, survey_fingerprint) = Vigil::load_survey_index(&store)?;
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
            rendered: Default::default(),
            hotspots,
            boundaries: RwLock::new(Arc::new(boundaries)),
            uploads: Default::default(),
            surveys: RwLock::new(Arc::new(surveys)),
            survey_fingerprint: parking_lot::Mutex::new(survey_fingerprint),
            jobs: Default::default(),
            model: Default::default(),
            analytics: Default::default(),
            skipped_rows,
        };
        Ok(vigil)
    }

    pub fn store(&self) -> &Store {
        &self.store
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

    // ---- users and authentication -------------------------------------------------------------

    /// The user of a recently seen token, without touching the store (cheap; safe on async threads).
    pub fn cached_principal(&self, token: &str) -> Option<Principal> {
        if !auth::looks_like_token(token) {
            return None;
        }
        let hash = auth::token_hash(token);
        let cache = self.auth_cache.lock();
        cache
            .get(&hash)
            .filter(|(_, at)| at.elapsed() < AUTH_TTL)
            .map(|(p, _)| p.clone())
    }

    /// Resolves a bearer token to its user.
    pub fn authenticate(&self, token: &str) -> Result<Principal> {
        if !auth::looks_like_token(token) {
            return Err(Error::Unauthorized("the token is malformed".into()));
        }
        if let Some(p) = self.cached_principal(token) {
            return Ok(p);
        }
        let hash = auth::token_hash(token);
        let now = now_rfc3339();
        let p = self
            .store
            .read(|c| store::users::principal_by_token(c, &hash, &now))?
            .ok_or_else(|| {
                Error::Unauthorized("the token is unknown, revoked or expired".into())
            })?;
        let mut cache = self.auth_cache.lock();
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(hash, (p.clone(), Instant::now()));
        Ok(p)
    }

    /// Forgets cached tokens after any change to users or tokens.
    fn forget_tokens(&self) {
        self.auth_cache.lock().clear();
    }

    /// Creates a user and its first API token; returns the token (shown once, stored hashed).
    pub fn add_user(
        &self,
        actor: &Principal,
        name: &str,
        role: Role,
        jurisdiction: Jurisdiction,
    ) -> Result<String> {
        if !actor.role.is_admin() {
            return Err(Error::Forbidden("only admins manage users".into()));
        }
        let name = name.trim();
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || "._-@".contains(c))
        {
            return Err(invalid("name", "must be 1–64 letters, digits or . _ - @"));
        }
        if jurisdiction.is_empty() && role != Role::Admin {
            return Err(invalid(
                "jurisdiction",
                "give at least one --province or --commune, or --national",
            ));
        }
        let jurisdiction = if role == Role::Admin && jurisdiction.is_empty() {
            Jurisdiction::national()
        } else {
            jurisdiction
        };
        let b = self.boundaries();
        if !b.is_empty() {
            let unknown: Vec<String> = jurisdiction
                .provinces
                .iter()
                .filter(|p| b.get(Level::Province, p).is_none())
                .chain(
                    jurisdiction
                        .communes
                        .iter()
                        .filter(|c| b.get(Level::Commune, c).is_none()),
                )
                .cloned()
                .collect();
            if !unknown.is_empty() {
                return Err(invalid(
                    "jurisdiction",
                    format!("unknown province/commune code(s): {}", unknown.join(", ")),
                ));
            }
        }
        let token = auth::new_token()
            .map_err(|e| Error::Forbidden(format!("no randomness available: {e}")))?;
        let hash = auth::token_hash(&token);
        let now = now_rfc3339();
        self.store.write(|tx| {
            if store::users::user_exists(tx, name)? {
                return Err(Error::Conflict(format!(
                    "a user named {name:?} already exists"
                )));
            }
            let id = store::users::insert_user(tx, name, role, &jurisdiction, &now)?;
            store::users::insert_token(tx, id, &hash, Some("created with the user"), &now)?;
            let after = json!({ "name": name, "role": role, "jurisdiction": jurisdiction });
            audit_user(tx, actor, "create", id, after, &now)?;
            Ok(())
        })?;
        self.forget_tokens();
        Ok(token)
    }

    /// Issues another token for an existing, enabled user.
    pub fn issue_token(&self, actor: &Principal, name: &str) -> Result<String> {
        if !actor.role.is_admin() {
            return Err(Error::Forbidden("only admins issue tokens".into()));
        }
        let token = auth::new_token()
            .map_err(|e| Error::Forbidden(format!("no randomness available: {e}")))?;
        let hash = auth::token_hash(&token);
        let now = now_rfc3339();
        self.store.write(|tx| {
            let id = store::users::user_id(tx, name)?
                .ok_or_else(|| Error::NotFound(format!("no user named {name:?}")))?;
            store::users::insert_token(tx, id, &hash, Some("issued"), &now)?;
            let after = json!({ "name": name });
            audit_user(tx, actor, "issue_token", id, after, &now)?;
            Ok::<(), Error>(())
        })?;
        self.forget_tokens();
        Ok(token)
    }

    /// Disables a user and revokes every token they hold. A running server notices within
    /// [`AUTH_TTL`] (its token cache), or at once when done through this process.
    pub fn disable_user(&self, actor: &Principal, name: &str) -> Result<()> {
        if !actor.role.is_admin() {
            return Err(Error::Forbidden("only admins disable users".into()));
        }
        let now = now_rfc3339();
        self.store.write(|tx| {
            let id = store::users::disable(tx, name, &now)?
                .ok_or_else(|| Error::NotFound(format!("no enabled user named {name:?}")))?;
            let after = json!({ "name": name, "disabled": true, "tokens_revoked": true });
            audit_user(tx, actor, "disable", id, after, &now)?;
            Ok::<(), Error>(())
        })?;
        self.forget_tokens();
        Ok(())
    }

    /// Sets a user's web-map password (admins; the CLI reads it from stdin).
    pub fn set_password(&self, actor: &Principal, name: &str, password: &str) -> Result<()> {
        if !actor.role.is_admin() {
            return Err(Error::Forbidden("only admins set passwords".into()));
        }
        auth::password::check_policy(password, name).map_err(|m| invalid("password", m))?;
        let phc = auth::password::hash(password)
            .map_err(|e| Error::Forbidden(format!("cannot hash the password: {e}")))?;
        let now = now_rfc3339();
        self.store.write(|tx| {
            let id = store::users::user_id(tx, name)?
                .ok_or_else(|| Error::NotFound(format!("no enabled user named {name:?}")))?;
            store::users::set_password(tx, id, &phc)?;
            audit_user(tx, actor, "set_password", id, json!({ "name": name }), &now)?;
            Ok::<(), Error>(())
        })
    }

    /// Checks a name and password and starts a web-map session: a token that expires after
    /// [`SESSION_TTL`]. Returns the token, its expiry and the user. After
    /// [`MAX_LOGIN_FAILURES`] failures within [`LOCKOUT_WINDOW`] the name is locked for the rest of it.
    pub fn login_password(
        &self,
        name: &str,
        password: &str,
    ) -> Result<(String, String, Principal)> {
        let name = name.trim();
        // Counted before the hash is checked, in one write transaction: parallel attempts cannot
        // all pass the check, and the count outlives a restart.
        let now_s = time::OffsetDateTime::now_utc().unix_timestamp();
        let window = LOCKOUT_WINDOW.as_secs() as i64;
        let locked = self.store.write(|tx| {
            store::users::count_login_attempt(
                tx,
                name,
                now_s,
                window,
                i64::from(MAX_LOGIN_FAILURES),
            )
        })?;
        if let Some(wait) = locked {
            return Err(Error::Throttled(format!(
                "too many failed logins for this name; try again in {} minute(s)",
                wait / 60 + 1
            )));
        }
        let found = self.store.read(|c| store::users::for_login(c, name))?;
        let ok = match &found {
            Some((_, Some(phc))) => auth::password::verify(password, phc),
            _ => {
                auth::password::verify_dummy(password);
                false
            }
        };
        let principal = match (ok, found) {
            (true, Some((p, _))) => p,
            _ => return Err(Error::Unauthorized("wrong user name or password".into())),
        };
        self.store
            .write(|tx| store::users::clear_login_failures(tx, name))?;
        let token = auth::new_token()
            .map_err(|e| Error::Forbidden(format!("no randomness available: {e}")))?;
        let hash = auth::token_hash(&token);
        let now = now_rfc3339();
        let expires_at = crate::time_util::rfc3339(time::OffsetDateTime::now_utc() + SESSION_TTL);
        self.store.write(|tx| {
            store::users::insert_expiring_token(
                tx,
                principal.user_id,
                &hash,
                "web session",
                &expires_at,
                &now,
            )?;
            audit_user(
                tx,
                &principal,
                "login",
                principal.user_id,
                json!({ "name": principal.name, "expires_at": expires_at }),
                &now,
            )?;
            Ok::<(), Error>(())
        })?;
        Ok((token, expires_at, principal))
    }

    pub fn list_users(&self, actor: &Principal) -> Result<Vec<UserRecord>> {
        if !actor.role.is_admin() {
            return Err(Error::Forbidden("only admins list users".into()));
        }
        self.store
            .read(|c| store::users::list(c).map_err(Error::from))
    }

    // ---- reading hotspots ------------------------------------------------------------------------

    /// One page of hotspots matching `filter` inside the caller's jurisdiction.
    /// One page of hotspot ids matching `filter` inside the caller's jurisdiction (memory only).
    pub fn hotspot_page(
        &self,
        who: &Principal,
        filter: &HotspotFilter,
        after: Option<i64>,
        limit: usize,
    ) -> Page {
        self.hotspots.query(filter, &who.jurisdiction, after, limit)
    }

    /// Ids of registry hotspots (any status, any jurisdiction) within `radius_m` of a point, at
    /// most `limit`, smallest ids first. For linking flags to hotspots inside the service.
    pub(crate) fn hotspots_near(
        &self,
        lon: f64,
        lat: f64,
        radius_m: f64,
        limit: usize,
    ) -> Vec<i64> {
        let dlat = radius_m / 111_320.0;
        let dlon = dlat / lat.to_radians().cos().max(0.01);
        let filter = HotspotFilter {
            bbox: Some([lon - dlon, lat - dlat, lon + dlon, lat + dlat]),
            ..Default::default()
        };
        self.hotspots
            .query(&filter, &Jurisdiction::national(), None, limit)
            .ids
    }

    /// Hotspots by id that the caller may see, ascending (ids from [`Vigil::hotspot_page`]).
    pub fn hotspots_by_id(&self, who: &Principal, ids: &[i64]) -> Result<Vec<Hotspot>> {
        let rows = self.store.read(|c| hs::get_many(c, ids))?;
        Ok(rows.into_iter().filter(|h| self.visible(who, h)).collect())
    }

    pub fn query_hotspots(
        &self,
        who: &Principal,
        filter: &HotspotFilter,
        after: Option<i64>,
        limit: usize,
    ) -> Result<(Vec<Hotspot>, Page)> {
        let page = self.hotspots.query(filter, &who.jurisdiction, after, limit);
        let rows = self.store.read(|c| hs::get_many(c, &page.ids))?;
        Ok((rows, page))
    }

    fn visible(&self, who: &Principal, h: &Hotspot) -> bool {
        who.jurisdiction
            .covers(h.province_code.as_deref(), h.commune_code.as_deref())
    }

    /// A hotspot the caller may see; outside the jurisdiction it does not exist (404, not 403).
    pub fn get_hotspot(&self, who: &Principal, id: i64) -> Result<Hotspot> {
        match self.store.read(|c| hs::get(c, id))? {
            Some(h) if self.visible(who, &h) => Ok(h),
            _ => Err(hotspot_not_found(id)),
        }
    }

    pub fn history(&self, who: &Principal, id: i64) -> Result<Vec<HotspotEvent>> {
        self.get_hotspot(who, id)?;
        Ok(self.store.read(|c| hs::history(c, id))?)
    }

    // ---- writing hotspots ------------------------------------------------------------------------

    fn require_writer(&self, who: &Principal) -> Result<()> {
        if who.role.can_write_hotspots() {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "role `{}` cannot change the hotspot registry (analyst or admin needed)",
                who.role.code()
            )))
        }
    }

    /// Resolves commune/province for a point and checks the caller may act there.
    fn place(
        &self,
        who: &Principal,
        input: crate::hotspots::HotspotInput,
    ) -> Result<HotspotChange> {
        let loc = self.boundaries().locate(input.lon, input.lat);
        if !who
            .jurisdiction
            .covers(loc.province.as_deref(), loc.commune.as_deref())
        {
            return Err(Error::Forbidden(format!(
                "the point ({}, {}) lies outside your jurisdiction{}",
                input.lon,
                input.lat,
                match &loc.province {
                    Some(p) => format!(" (province {p})"),
                    None => " (outside every loaded boundary)".into(),
                }
            )));
        }
        Ok(HotspotChange {
            input,
            province: loc.province,
            commune: loc.commune,
        })
    }

    /// Reads a hotspot inside a write transaction, as the caller may see it, at the version they read.
    fn load_for_write(
        &self,
        tx: &rusqlite::Connection,
        who: &Principal,
        id: i64,
        if_match: Option<i64>,
    ) -> Result<Hotspot> {
        let h = hs::get(tx, id)?
            .filter(|h| self.visible(who, h))
            .ok_or_else(|| hotspot_not_found(id))?;
        check_version(&h, if_match)?;
        Ok(h)
    }

    /// Brings the index and the render cache in step with a committed change (`after` = `None`: deleted).
    fn reindex(&self, before: &Hotspot, after: Option<&Hotspot>) {
        self.hotspots.remove(before.id, before.lon, before.lat);
        if let Some(after) = after {
            self.hotspots.insert(hs::entry_row(after));
        }
        self.rendered.invalidate(before.id);
    }

    /// Creates a hotspot.
    pub fn create_hotspot(&self, who: &Principal, raw: RawHotspot) -> Result<Hotspot> {
        self.require_writer(who)?;
        let input = raw.validate().map_err(Error::Invalid)?;
        let change = self.place(who, input)?;
        let now = now_rfc3339();
        let h = self.store.write_then(
            |tx| -> Result<Hotspot> {
                let id = hs::insert(tx, &change, &who.name, &now, Some("tạo mới / created"))?;
                let h = hs::get(tx, id)?.ok_or_else(|| hotspot_not_found(id))?;
                store::audit::append(tx, &audit_hotspot(who, "create", &h, None, Some(&h)), &now)?;
                Ok(h)
            },
            |h| self.hotspots.insert(hs::entry_row(h)),
        )?;
        Ok(h)
    }

    /// Replaces a hotspot's fields with `raw` (PUT, PATCH). A different status goes through the
    /// lifecycle; `if_match` is the version the caller last read.
    pub fn update_hotspot(
        &self,
        who: &Principal,
        id: i64,
        if_match: Option<i64>,
        edit: impl FnOnce(&mut RawHotspot),
    ) -> Result<Hotspot> {
        self.require_writer(who)?;
        let now = now_rfc3339();
        let result = self.store.write_then(
            |tx| -> Result<(Hotspot, Hotspot)> {
                let before = self.load_for_write(tx, who, id, if_match)?;
                let mut raw = RawHotspot::from(&before);
                edit(&mut raw);
                let input = raw.validate().map_err(Error::Invalid)?;
                let new_status = input.status;
                let change = self.place(who, input)?;
                hs::update_fields(tx, id, &change, &now)?;
                if new_status != before.status {
                    before
                        .status
                        .transition(new_status)
                        .map_err(|e| Error::Conflict(e.to_string()))?;
                    hs::set_status(
                        tx,
                        id,
                        before.status,
                        new_status,
                        &format_date(today()),
                        &who.name,
                        None,
                        &now,
                    )?;
                }
                let after = hs::get(tx, id)?.ok_or_else(|| hotspot_not_found(id))?;
                store::audit::append(
                    tx,
                    &audit_hotspot(who, "update", &after, Some(&before), Some(&after)),
                    &now,
                )?;
                Ok((before, after))
            },
            |(before, after)| self.reindex(before, Some(after)),
        )?;
        Ok(result.1)
    }

    /// Moves a hotspot along its lifecycle on a given date, with an optional note.
    pub fn transition(
        &self,
        who: &Principal,
        id: i64,
        to: Status,
        on: Option<&str>,
        note: Option<String>,
        if_match: Option<i64>,
    ) -> Result<Hotspot> {
        self.require_writer(who)?;
        let on = match on {
            Some(s) => parse_date(s).map_err(|e| invalid("on", e))?,
            None => today(),
        };
        if on > today().next_day().unwrap_or(on) {
            return Err(invalid(
                "on",
                format!("{} is in the future", format_date(on)),
            ));
        }
        let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        if note
            .as_ref()
            .is_some_and(|n| n.chars().count() > crate::hotspots::model::MAX_NOTES)
        {
            return Err(invalid("note", "is too long"));
        }
        let now = now_rfc3339();
        let (_, after) = self.store.write_then(
            |tx| -> Result<(Hotspot, Hotspot)> {
                let before = self.load_for_write(tx, who, id, if_match)?;
                before
                    .status
                    .transition(to)
                    .map_err(|e| Error::Conflict(e.to_string()))?;
                if on < before.status_since {
                    return Err(invalid(
                        "on",
                        format!(
                            "{} is before the current status began ({})",
                            format_date(on),
                            format_date(before.status_since)
                        ),
                    ));
                }
                hs::set_status(
                    tx,
                    id,
                    before.status,
                    to,
                    &format_date(on),
                    &who.name,
                    note.as_deref(),
                    &now,
                )?;
                let after = hs::get(tx, id)?.ok_or_else(|| hotspot_not_found(id))?;
                store::audit::append(
                    tx,
                    &audit_hotspot(who, "transition", &after, Some(&before), Some(&after)),
                    &now,
                )?;
                Ok((before, after))
            },
            |(before, after)| self.reindex(before, Some(after)),
        )?;
        Ok(after)
    }

    /// Deletes a hotspot from the registry (kept in the store with its history, for the record).
    pub fn delete_hotspot(&self, who: &Principal, id: i64, if_match: Option<i64>) -> Result<()> {
        self.require_writer(who)?;
        let now = now_rfc3339();
        self.store.write_then(
            |tx| -> Result<Hotspot> {
                let before = self.load_for_write(tx, who, id, if_match)?;
                hs::soft_delete(tx, id, &now)?;
                store::audit::append(
                    tx,
                    &audit_hotspot(who, "delete", &before, Some(&before), None),
                    &now,
                )?;
                Ok(before)
            },
            |before| self.reindex(before, None),
        )?;
        Ok(())
    }

    /// Imports a whole file of hotspots, all or nothing.
    pub fn import_hotspots(
        &self,
        who: &Principal,
        bytes: &[u8],
        format: Format,
        crs: Option<&str>,
        source_name: &str,
    ) -> Result<ImportSummary> {
        self.require_writer(who)?;
        let transform = match crs
            .map(str::trim)
            .filter(|c| !c.is_empty() && !is_wgs84_name(c))
        {
            Some(name) => Some(ToWgs84::new(name)?),
            None => None,
        };
        let (inputs, mut errors) = import::parse_rows(
            bytes,
            format,
            transform.as_ref().map(|t| t as &dyn import::PointTransform),
            self.config.api.max_import_rows,
        )?;
        let b = self.boundaries();
        let mut changes = Vec::with_capacity(inputs.len());
        let mut outside = 0;
        for (row, input) in inputs {
            let loc = b.locate(input.lon, input.lat);
            if loc.province.is_none() {
                outside += 1;
            }
            if !who
                .jurisdiction
                .covers(loc.province.as_deref(), loc.commune.as_deref())
            {
                errors.push(import::RowError {
                    row,
                    field: "geometry".into(),
                    message: format!(
                        "({}, {}) lies outside your jurisdiction",
                        input.lon, input.lat
                    ),
                });
                continue;
            }
            changes.push(HotspotChange {
                input,
                province: loc.province,
                commune: loc.commune,
            });
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.row);
            return Err(ImportError::Rows(errors).into());
        }
        let now = now_rfc3339();
        let n = changes.len();
        let note = format!("nhập từ tệp / imported from {source_name}");
        let ids = self.store.write_then(
            |tx| -> Result<Vec<i64>> {
                let mut ids = Vec::with_capacity(n);
                for ch in &changes {
                    ids.push(hs::insert(tx, ch, &who.name, &now, Some(&note))?);
                }
                let after = json!({ "file": source_name, "count": n, "first_id": ids.first(), "last_id": ids.last() });
                store::audit::append(tx, &NewAudit { actor: &who.name, action: "import", entity: "hotspot", entity_id: None, before: None, after: Some(after) }, &now)?;
                Ok(ids)
            },
            |ids| {
                self.hotspots.insert_many(ids.iter().zip(&changes).map(|(id, ch)| {
                    let h = &ch.input;
                    EntryRow {
                        id: *id,
                        lon: h.lon,
                        lat: h.lat,
                        status: h.status,
                        kind: h.kind,
                        province: ch.province.clone(),
                        commune: ch.commune.clone(),
                        reported: crate::time_util::day_number(h.reported_on),
                    }
                }));
            },
        )?;
        Ok(ImportSummary {
            imported: n,
            first_id: ids.first().copied(),
            last_id: ids.last().copied(),
            outside_boundaries: outside,
        })
    }

    // ---- boundaries --------------------------------------------------------------------------------

    /// Imports provinces or communes from a vector file, then reassigns every hotspot's commune and
    /// province, all in one transaction.
    pub fn import_boundaries(
        &self,
        who: &Principal,
        path: &Path,
        fields: &BoundaryFields,
        replace: bool,
    ) -> Result<BoundaryImportSummary> {
        if !who.role.is_admin() {
            return Err(Error::Forbidden("only admins import boundaries".into()));
        }
        let mut items = vector::read_boundaries(path, fields)?;
        let current = self.boundaries();
        let mut all: Vec<Boundary> = current
            .list(Level::Province)
            .iter()
            .chain(current.list(Level::Commune))
            .filter(|b| !(replace && b.level == fields.level))
            .filter(|b| !(b.level == fields.level && items.iter().any(|n| n.code == b.code)))
            .cloned()
            .collect();
        if fields.level == Level::Commune {
            // Communes without a parent attribute get the province containing their interior.
            for c in items.iter_mut().filter(|c| c.parent.is_none()) {
                if let Some(p) = geo::InteriorPoint::interior_point(&c.geometry) {
                    c.parent = current.locate(p.x(), p.y()).province;
                }
            }
        }
        all.extend(items.iter().cloned());
        let next = Arc::new(BoundaryIndex::new(all));
        let now = now_rfc3339();
        let source = path
            .file_name()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let n = items.len();
        let reassigned = self.store.write_then(
            |tx| -> Result<usize> {
                store::boundaries::upsert(tx, &items, replace.then_some(fields.level), &source, &now)?;
                let changed = hs::reassign(tx, &mut |lon, lat| {
                    let l = next.locate(lon, lat);
                    (l.province, l.commune)
                })?;
                let after = json!({ "file": source, "level": fields.level, "count": n, "replace": replace, "hotspots_reassigned": changed });
                store::audit::append(tx, &NewAudit { actor: &who.name, action: "import", entity: "boundary", entity_id: None, before: None, after: Some(after) }, &now)?;
                Ok(changed)
            },
            |_| {
                *self.boundaries.write() = next.clone();
                self.rendered.clear();
            },
        )?;
        if reassigned > 0 {
            let rows = self.store.read(hs::index_rows)?;
            self.hotspots.replace_all(rows);
        }
        Ok(BoundaryImportSummary {
            level: fields.level,
            imported: n,
            hotspots_reassigned: reassigned,
        })
    }

    // ---- audit -------------------------------------------------------------------------------------

    pub fn audit(&self, who: &Principal, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        if !who.role.is_admin() {
            return Err(Error::Forbidden("only admins read the audit log".into()));
        }
        Ok(self.store.read(|c| store::audit::list(c, q))?)
    }

    /// Adds `count` seeded synthetic hotspots inside the loaded communes (or provinces), for demos
    /// and benchmarks. Names say they are samples.
    pub fn seed_demo_hotspots(
        &self,
        who: &Principal,
        count: usize,
        seed: u64,
    ) -> Result<ImportSummary> {
        let csv = crate::demo::hotspots_csv(&self.boundaries(), count, seed)
            .map_err(|m| invalid("boundaries", m))?;
        self.import_hotspots(
            who,
            csv.as_bytes(),
            Format::Csv,
            None,
            &format!("demo seed {seed}"),
        )
    }
}

fn is_wgs84_name(c: &str) -> bool {
    matches!(
        c.to_ascii_uppercase().as_str(),
        "EPSG:4326" | "4326" | "CRS84" | "OGC:CRS84" | "WGS84"
    )
}

fn check_version(h: &Hotspot, if_match: Option<i64>) -> Result<()> {
    match if_match {
        Some(v) if v != h.version => Err(Error::PreconditionFailed { current: h.version }),
        _ => Ok(()),
    }
}

/// Appends an audit entry about user `id`.
fn audit_user(
    tx: &rusqlite::Connection,
    actor: &Principal,
    action: &str,
    id: i64,
    after: serde_json::Value,
    now: &str,
) -> Result<(), StoreError> {
    let entry = NewAudit {
        actor: &actor.name,
        action,
        entity: "user",
        entity_id: Some(id.to_string()),
        before: None,
        after: Some(after),
    };
    store::audit::append(tx, &entry, now)
}

fn audit_hotspot<'a>(
    who: &'a Principal,
    action: &'a str,
    h: &Hotspot,
    before: Option<&Hotspot>,
    after: Option<&Hotspot>,
) -> NewAudit<'a> {
    NewAudit {
        actor: &who.name,
        action,
        entity: "hotspot",
        entity_id: Some(h.id.to_string()),
        before: before.and_then(|b| serde_json::to_value(b).ok()),
        after: after.and_then(|a| serde_json::to_value(a).ok()),
    }
}
