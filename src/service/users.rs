//! Users, tokens, password sign-in with lock-out, and the token cache.

use super::*;

impl Vigil {
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

    /// The user of recently accepted HTTP Basic credentials, without touching the store.
    pub fn cached_basic(&self, name: &str, secret: &str) -> Option<Principal> {
        let key = basic_key(name, secret);
        let cache = self.auth_cache.lock();
        cache
            .get(&key)
            .filter(|(_, at)| at.elapsed() < AUTH_TTL)
            .map(|(p, _)| p.clone())
    }

    /// HTTP Basic sign-in, for desktop GIS that can send nothing else (QGIS's and ArcGIS's
    /// "Basic" authentication): the user name, and as the password one of that user's access
    /// tokens or their web-map password. Every attempt counts towards the same lock-out as the
    /// web-map login ([`MAX_LOGIN_FAILURES`] in [`LOCKOUT_WINDOW`]); accepted credentials are
    /// remembered for [`AUTH_TTL`] like tokens, and a sign-in is audited at most once an hour per
    /// user and kind of secret.
    pub fn authenticate_basic(&self, name: &str, secret: &str) -> Result<Principal> {
        let name = name.trim();
        if let Some(p) = self.cached_basic(name, secret) {
            return Ok(p);
        }
        self.count_attempt(name, "sign-ins")?;
        let by_token = if auth::looks_like_token(secret) {
            match self.authenticate(secret) {
                Ok(p) if p.name == name => Some(p),
                _ => None,
            }
        } else {
            None
        };
        let (principal, kind) = match by_token {
            Some(p) => (p, "token"),
            None => match self.check_password(name, secret)? {
                Some(p) => (p, "password"),
                None => {
                    return Err(Error::Unauthorized(
                            "wrong user name, or the password is neither an access token of that user nor their password"
                                .into(),
                        ));
                }
            },
        };
        let audit_now = {
            let mut last = self.basic_audited.lock();
            let key = (principal.user_id, kind);
            let due = last
                .get(&key)
                .is_none_or(|at| at.elapsed() >= BASIC_AUDIT_EVERY);
            if due {
                last.insert(key, Instant::now());
            }
            due
        };
        let now = now_rfc3339();
        self.store.write(|tx| {
            store::users::clear_login_failures(tx, name)?;
            if audit_now {
                audit_user(
                    tx,
                    &principal,
                    "sign_in_basic",
                    principal.user_id,
                    json!({ "name": principal.name, "secret": kind }),
                    &now,
                )?;
            }
            Ok::<(), Error>(())
        })?;
        let mut cache = self.auth_cache.lock();
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(basic_key(name, secret), (principal.clone(), Instant::now()));
        Ok(principal)
    }

    /// Counts a password or Basic attempt for `name` before any secret is checked, in one write
    /// transaction: parallel attempts cannot all pass the check, and the count outlives a
    /// restart. Refused (`what`: "logins", "sign-ins") once the name is locked.
    fn count_attempt(&self, name: &str, what: &str) -> Result<()> {
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
        match locked {
            Some(wait) => Err(Error::Throttled(format!(
                "too many failed {what} for this name; try again in {} minute(s)",
                wait / 60 + 1
            ))),
            None => Ok(()),
        }
    }

    /// The user whose web-map password `password` is (`None` otherwise; an unknown name costs
    /// the same hash time as a known one).
    fn check_password(&self, name: &str, password: &str) -> Result<Option<Principal>> {
        let found = self.store.read(|c| store::users::for_login(c, name))?;
        let ok = match &found {
            Some((_, Some(phc))) => auth::password::verify(password, phc),
            _ => {
                auth::password::verify_dummy(password);
                false
            }
        };
        Ok(match (ok, found) {
            (true, Some((p, _))) => Some(p),
            _ => None,
        })
    }

    /// Forgets cached tokens after any change to users or tokens.
    pub(super) fn forget_tokens(&self) {
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
        self.count_attempt(name, "logins")?;
        let Some(principal) = self.check_password(name, password)? else {
            return Err(Error::Unauthorized("wrong user name or password".into()));
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
}

/// Appends an audit entry about user `id`.
fn audit_user(
    tx: &crate::store::sql::Connection<'_>,
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

/// How often a user's HTTP Basic sign-ins are written to the audit log (per kind of secret).
pub const BASIC_AUDIT_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// The auth cache's key for Basic credentials (a hash: the cache never holds a secret).
fn basic_key(name: &str, secret: &str) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(b"basic\0");
    h.update(name.trim().as_bytes());
    h.update(b"\0");
    h.update(secret.as_bytes());
    format!("basic:{}", hex::encode(h.finalize()))
}
