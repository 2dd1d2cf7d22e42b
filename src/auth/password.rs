//! Web-map passwords: argon2id (the `argon2` crate's defaults, PHC strings), policy checks.
//! API tokens remain the credential for machines; a password login issues a short-lived token.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 256;

/// Why a password is refused.
pub fn check_policy(password: &str, user: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(format!(
            "is {n} characters long; at least {MIN_LEN} are needed"
        ));
    }
    if n > MAX_LEN {
        return Err(format!("is longer than {MAX_LEN} characters"));
    }
    if password.to_lowercase().contains(&user.to_lowercase()) {
        return Err("must not contain the user name".into());
    }
    Ok(())
}

/// An argon2id PHC string for `password` with a fresh random salt.
pub fn hash(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches the PHC string.
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Spends the same time as a real verification, so unknown users cannot be told from wrong passwords.
pub fn verify_dummy(password: &str) {
    let _ = verify(password, DUMMY);
}

const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Wl6W9hvN0u1F7Y8b3mxkXHxT7r0B2Ue1Tf1Q1s1pX0A";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let phc = hash("đúng-mật-khẩu-2026").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify("đúng-mật-khẩu-2026", &phc));
        assert!(!verify("sai-mật-khẩu-2026", &phc));
        assert!(!verify("x", "not a phc string"));
    }

    #[test]
    fn the_dummy_hash_parses_so_it_costs_a_real_verification() {
        assert!(PasswordHash::new(DUMMY).is_ok());
    }

    #[test]
    fn policy_table() {
        for (pw, ok) in [
            ("short", false),
            ("lan-password-1", false),
            ("một câu dài đủ", true),
            (&"x".repeat(300)[..], false),
        ] {
            assert_eq!(check_policy(pw, "lan").is_ok(), ok, "{pw}");
        }
    }
}
