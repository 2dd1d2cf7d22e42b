//! Who may do what, where: roles, jurisdictions, API tokens.
//!
//! Tokens are 256-bit random strings (`vgl_…`); only their SHA-256 is stored. A slow password hash
//! (argon2) buys nothing for secrets of that entropy and would cost every request, so none is used.
//! This module does no IO.

pub mod password;

use std::collections::BTreeSet;

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A user's role. Reads are open to every role inside its jurisdiction; writes are per role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages users and boundaries; reads the audit log; may do everything.
    Admin,
    /// Provincial police analyst: keeps the hotspot registry.
    Analyst,
    /// Border guard: reviews flagged plots.
    Reviewer,
    /// Drone operator: uploads survey flights.
    Operator,
    /// Leadership and others: read only.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Analyst,
        Role::Reviewer,
        Role::Operator,
        Role::Viewer,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Reviewer => "reviewer",
            Role::Operator => "operator",
            Role::Viewer => "viewer",
        }
    }

    pub fn from_code(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == s)
    }

    /// May create, edit, move through the lifecycle, import and delete hotspots.
    pub fn can_write_hotspots(self) -> bool {
        matches!(self, Role::Admin | Role::Analyst)
    }

    /// May read the audit log and manage boundaries.
    pub fn is_admin(self) -> bool {
        self == Role::Admin
    }
}

/// The area a user may see and act in: the whole country, or a set of provinces and communes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Jurisdiction {
    pub national: bool,
    pub provinces: BTreeSet<String>,
    pub communes: BTreeSet<String>,
}

impl Jurisdiction {
    pub fn national() -> Self {
        Jurisdiction {
            national: true,
            ..Default::default()
        }
    }

    pub fn provinces<I: IntoIterator<Item = S>, S: Into<String>>(codes: I) -> Self {
        Jurisdiction {
            national: false,
            provinces: codes.into_iter().map(Into::into).collect(),
            communes: BTreeSet::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        !self.national && self.provinces.is_empty() && self.communes.is_empty()
    }

    /// Whether a place in `province` / `commune` lies inside. Places with no province (outside every
    /// loaded boundary) are visible to national users only.
    pub fn covers(&self, province: Option<&str>, commune: Option<&str>) -> bool {
        self.national
            || province.is_some_and(|p| self.provinces.contains(p))
            || commune.is_some_and(|c| self.communes.contains(c))
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub user_id: i64,
    pub name: String,
    pub role: Role,
    pub jurisdiction: Jurisdiction,
}

impl Principal {
    /// The local operator running a CLI command on the server machine (audit actor `cli:<os user>`).
    pub fn cli() -> Principal {
        let who = std::env::var("USER").unwrap_or_else(|_| "root".into());
        Principal {
            user_id: 0,
            name: format!("cli:{who}"),
            role: Role::Admin,
            jurisdiction: Jurisdiction::national(),
        }
    }
}

/// A fresh random API token.
pub fn new_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!(
        "vgl_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// What the store keeps of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Cheap shape check before touching the store.
pub fn looks_like_token(token: &str) -> bool {
    token.len() == 47
        && token.starts_with("vgl_")
        && token[4..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_well_formed_and_hashed() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert!(looks_like_token(&a), "{a}");
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
        assert!(!looks_like_token("vgl_short"));
    }

    #[test]
    fn jurisdiction_cover_table() {
        let tq = Jurisdiction::provinces(["08"]);
        let commune_only = Jurisdiction {
            communes: ["07000".to_string()].into(),
            ..Default::default()
        };
        let cases: &[(&Jurisdiction, Option<&str>, Option<&str>, bool)] = &[
            (&tq, Some("08"), Some("02200"), true),
            (&tq, Some("24"), Some("07000"), false),
            (&tq, None, None, false),
            (&commune_only, Some("24"), Some("07000"), true),
            (&commune_only, Some("24"), Some("07001"), false),
        ];
        for (j, p, c, want) in cases {
            assert_eq!(j.covers(*p, *c), *want, "{j:?} {p:?} {c:?}");
        }
        assert!(Jurisdiction::national().covers(None, None));
    }

    #[test]
    fn write_permissions_by_role() {
        let writers: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| r.can_write_hotspots())
            .collect();
        assert_eq!(writers, vec![Role::Admin, Role::Analyst]);
    }
}
