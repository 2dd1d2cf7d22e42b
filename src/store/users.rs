//! Users and their API tokens.

use super::sql::{Connection, OptionalExtension, params};

use super::StoreError;
use crate::auth::{Jurisdiction, Principal, Role};

/// A user as listed to admins.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UserRecord {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub jurisdiction: Jurisdiction,
    pub created_at: String,
    pub disabled: bool,
}

pub fn insert_user(
    c: &Connection,
    name: &str,
    role: Role,
    j: &Jurisdiction,
    now: &str,
) -> Result<i64, StoreError> {
    Ok(c.query_row(
        "INSERT INTO users (name, role, national, provinces, communes, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        params![name, role.code(), j.national, serde_json::to_string(&j.provinces)?, serde_json::to_string(&j.communes)?, now],
        |r| r.get(0),
    )?)
}

/// Sets (or replaces) a user's password hash.
pub fn set_password(c: &Connection, id: i64, phc: &str) -> Result<(), StoreError> {
    c.execute(
        "UPDATE users SET password_hash = ?2 WHERE id = ?1",
        params![id, phc],
    )?;
    Ok(())
}

/// An enabled user by name with their password hash, if they have one.
pub fn for_login(
    c: &Connection,
    name: &str,
) -> Result<Option<(Principal, Option<String>)>, StoreError> {
    let row = c
        .query_row(
            "SELECT id, name, role, national, provinces, communes, password_hash FROM users WHERE name = ?1 AND disabled_at IS NULL",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get::<_, Option<String>>(6)?)),
        )
        .optional()?;
    row.map(|(id, n, r, nat, p, cm, phc)| Ok((principal(id, n, r, nat, p, cm)?, phc)))
        .transpose()
}

/// A token that expires (web-map sessions).
pub fn insert_expiring_token(
    c: &Connection,
    user_id: i64,
    hash: &str,
    label: &str,
    expires_at: &str,
    now: &str,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO tokens (user_id, hash, label, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![user_id, hash, label, now, expires_at],
    )?;
    Ok(())
}

/// Disables a user and revokes all their tokens; returns whether the user existed and was enabled.
pub fn disable(c: &Connection, name: &str, now: &str) -> Result<Option<i64>, StoreError> {
    let Some(id) = user_id(c, name)? else {
        return Ok(None);
    };
    c.execute(
        "UPDATE users SET disabled_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    c.execute(
        "UPDATE tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
        params![id, now],
    )?;
    Ok(Some(id))
}

pub fn user_id(c: &Connection, name: &str) -> Result<Option<i64>, StoreError> {
    Ok(c.query_row(
        "SELECT id FROM users WHERE name = ?1 AND disabled_at IS NULL",
        [name],
        |r| r.get(0),
    )
    .optional()?)
}

pub fn user_exists(c: &Connection, name: &str) -> Result<bool, StoreError> {
    Ok(
        c.query_row("SELECT 1 FROM users WHERE name = ?1", [name], |_| Ok(()))
            .optional()?
            .is_some(),
    )
}

pub fn insert_token(
    c: &Connection,
    user_id: i64,
    hash: &str,
    label: Option<&str>,
    now: &str,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO tokens (user_id, hash, label, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![user_id, hash, label, now],
    )?;
    Ok(())
}

fn principal(
    id: i64,
    name: String,
    role: String,
    national: bool,
    provinces: String,
    communes: String,
) -> Result<Principal, StoreError> {
    let role = Role::from_code(&role).ok_or_else(|| StoreError::Corrupt {
        table: "users",
        message: format!("unknown role {role}"),
    })?;
    Ok(Principal {
        user_id: id,
        name,
        role,
        jurisdiction: Jurisdiction {
            national,
            provinces: serde_json::from_str(&provinces)?,
            communes: serde_json::from_str(&communes)?,
        },
    })
}

/// The enabled user owning an unrevoked, unexpired token with this hash.
pub fn principal_by_token(
    c: &Connection,
    hash: &str,
    now: &str,
) -> Result<Option<Principal>, StoreError> {
    let row = c
        .prepare_cached(
            "SELECT u.id, u.name, u.role, u.national, u.provinces, u.communes FROM tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.hash = ?1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?2) AND u.disabled_at IS NULL",
        )?
        .query_row(params![hash, now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .optional()?;
    row.map(|(id, n, r, nat, p, cm)| principal(id, n, r, nat, p, cm))
        .transpose()
}

pub fn list(c: &Connection) -> Result<Vec<UserRecord>, StoreError> {
    let mut stmt = c.prepare("SELECT id, name, role, national, provinces, communes, created_at, disabled_at FROM users ORDER BY id")?;
    type UserRow = (
        i64,
        String,
        String,
        bool,
        String,
        String,
        String,
        Option<String>,
    );
    let rows: Vec<UserRow> = stmt
        .query_map((), |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(id, name, role, nat, p, cm, created_at, disabled)| {
            let pr = principal(id, name, role, nat, p, cm)?;
            Ok(UserRecord {
                id,
                name: pr.name,
                role: pr.role,
                jurisdiction: pr.jurisdiction,
                created_at,
                disabled: disabled.is_some(),
            })
        })
        .collect()
}

/// Counts a password login attempt for `name` *before* its password is checked: inside the
/// caller's write transaction, so parallel attempts are serialised and each is counted. Returns
/// the seconds left of the lock-out when `max` attempts were already counted within `window`
/// seconds of the first; otherwise counts this one. A successful login clears the count
/// ([`clear_login_failures`]). Expired counts of every name are dropped on the way.
pub fn count_login_attempt(
    c: &Connection,
    name: &str,
    now: i64,
    window: i64,
    max: i64,
) -> Result<Option<i64>, StoreError> {
    c.execute(
        "DELETE FROM login_failures WHERE first_at <= ?1",
        [now - window],
    )?;
    let row: Option<(i64, i64)> = c
        .query_row(
            "SELECT failures, first_at FROM login_failures WHERE name = ?1",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match row {
        Some((n, first)) if n >= max => Ok(Some((first + window - now).max(1))),
        Some(_) => {
            c.execute(
                "UPDATE login_failures SET failures = failures + 1 WHERE name = ?1",
                [name],
            )?;
            Ok(None)
        }
        None => {
            c.execute(
                "INSERT INTO login_failures (name, failures, first_at) VALUES (?1, 1, ?2)",
                params![name, now],
            )?;
            Ok(None)
        }
    }
}

/// Forgets the counted attempts of `name` after a successful login.
pub fn clear_login_failures(c: &Connection, name: &str) -> Result<(), StoreError> {
    c.execute("DELETE FROM login_failures WHERE name = ?1", [name])?;
    Ok(())
}
