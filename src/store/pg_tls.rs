//! How a node connects to PostgreSQL: TLS as the database URL's `sslmode` asks, in libpq's
//! words, so an operator's existing URLs mean what they mean to `psql`:
//!
//! | `sslmode` | what Vigil does |
//! |---|---|
//! | `disable` | no TLS |
//! | `prefer` (the default) | TLS when the server offers it, else plain; the certificate is not checked (as libpq: this guards against eavesdropping, not against an impostor) |
//! | `require` | TLS or no connection; the certificate is not checked |
//! | `verify-ca`, `verify-full` | TLS, the server's certificate checked against `sslrootcert` (a PEM file of CA certificates) or the system's roots, and its name against the URL's host (rustls always checks the name, so `verify-ca` is checked as `verify-full`) |
//!
//! The `postgres` crate knows only `disable`, `prefer` and `require` and no `sslrootcert`, so
//! both are read here and the URL handed on with `sslmode` one of those three. TLS is rustls on
//! aws-lc-rs, which object_store's S3 client links already (no OpenSSL).

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

/// What the URL's `sslmode` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Disable,
    Prefer,
    Require,
    Verify,
}

/// A URL's TLS settings, and the URL as the `postgres` crate takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub mode: Mode,
    pub root_cert: Option<String>,
    pub url: String,
}

/// Reads `sslmode` and `sslrootcert` from a `postgres://` URL. Errors name the bad value.
pub fn settings(url: &str) -> Result<Settings, String> {
    let parsed = match url::Url::parse(url) {
        Ok(u) => u,
        // Not a URL the `url` crate reads (a host list, say): the `postgres` crate gets it as it
        // is, and TLS as its default (`prefer`, unverified).
        Err(_) => {
            return Ok(Settings {
                mode: Mode::Prefer,
                root_cert: None,
                url: url.to_string(),
            });
        }
    };
    let mut mode = Mode::Prefer;
    let mut root_cert = None;
    let mut rest = Vec::new();
    for (k, v) in parsed.query_pairs() {
        match k.as_ref() {
            "sslmode" => {
                mode = match v.as_ref() {
                    "disable" => Mode::Disable,
                    "allow" | "prefer" => Mode::Prefer,
                    "require" => Mode::Require,
                    "verify-ca" | "verify-full" => Mode::Verify,
                    other => {
                        return Err(format!(
                            "sslmode={other} is not one of disable, prefer, require, verify-ca, verify-full"
                        ));
                    }
                }
            }
            "sslrootcert" => root_cert = Some(v.into_owned()),
            _ => rest.push((k.into_owned(), v.into_owned())),
        }
    }
    if root_cert.is_some() && mode != Mode::Verify {
        return Err("sslrootcert is only used with sslmode=verify-ca or verify-full".into());
    }
    let mut out = parsed.clone();
    out.set_query(None);
    {
        let mut q = out.query_pairs_mut();
        for (k, v) in &rest {
            q.append_pair(k, v);
        }
        q.append_pair(
            "sslmode",
            match mode {
                Mode::Disable => "disable",
                Mode::Prefer => "prefer",
                Mode::Require | Mode::Verify => "require",
            },
        );
    }
    Ok(Settings {
        mode,
        root_cert,
        url: out.to_string(),
    })
}

/// The rustls client configuration for `s` (`None` for `disable`).
pub fn client_config(s: &Settings) -> Result<Option<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    Ok(match s.mode {
        Mode::Disable => None,
        Mode::Prefer | Mode::Require => Some(
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Unchecked(provider)))
                .with_no_client_auth(),
        ),
        Mode::Verify => {
            let mut roots = rustls::RootCertStore::empty();
            match &s.root_cert {
                Some(file) => {
                    let certs = CertificateDer::pem_file_iter(Path::new(file))
                        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                        .map_err(|e| format!("sslrootcert {file}: {e}"))?;
                    if certs.is_empty() {
                        return Err(format!("sslrootcert {file}: no certificate in it"));
                    }
                    for c in certs {
                        roots
                            .add(c)
                            .map_err(|e| format!("sslrootcert {file}: {e}"))?;
                    }
                }
                None => {
                    let found = rustls_native_certs::load_native_certs();
                    roots.add_parsable_certificates(found.certs);
                    if roots.is_empty() {
                        return Err(
                            "sslmode=verify-full: no system CA certificates found; name one with sslrootcert"
                                .into(),
                        );
                    }
                }
            }
            Some(builder.with_root_certificates(roots).with_no_client_auth())
        }
    })
}

/// Connects to the database at `url` as its `sslmode` asks.
pub fn connect(url: &str) -> Result<postgres::Client, ConnectError> {
    let s = settings(url).map_err(ConnectError::Settings)?;
    match client_config(&s).map_err(ConnectError::Settings)? {
        None => postgres::Client::connect(&s.url, postgres::NoTls),
        Some(cfg) => {
            postgres::Client::connect(&s.url, tokio_postgres_rustls::MakeRustlsConnect::new(cfg))
        }
    }
    .map_err(ConnectError::Postgres)
}

/// Why a connection could not be made.
#[derive(Debug)]
pub enum ConnectError {
    /// The URL's TLS settings (named in the message).
    Settings(String),
    Postgres(postgres::Error),
}

/// Accepts any server certificate (`prefer` and `require`, as libpq), still checking that the
/// handshake's signatures are made with the certificate's key.
#[derive(Debug)]
struct Unchecked(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_is_read_in_libpq_words_and_handed_on_in_the_crate_s() {
        let s = settings("postgres://u:p%40ss@db:5432/vigil").unwrap();
        assert_eq!(s.mode, Mode::Prefer);
        assert_eq!(s.url, "postgres://u:p%40ss@db:5432/vigil?sslmode=prefer");
        let s = settings(
            "postgres://db/vigil?application_name=vigil&sslmode=verify-full&sslrootcert=/etc/ca.pem",
        )
        .unwrap();
        assert_eq!(s.mode, Mode::Verify);
        assert_eq!(s.root_cert.as_deref(), Some("/etc/ca.pem"));
        assert_eq!(
            s.url,
            "postgres://db/vigil?application_name=vigil&sslmode=require"
        );
        assert_eq!(
            settings("postgres://db/v?sslmode=disable").unwrap().mode,
            Mode::Disable
        );
        let bad = settings("postgres://db/v?sslmode=always").unwrap_err();
        assert!(bad.contains("sslmode=always"), "{bad}");
        let stray = settings("postgres://db/v?sslrootcert=/ca.pem").unwrap_err();
        assert!(stray.contains("verify-full"), "{stray}");
        let missing = client_config(
            &settings("postgres://db/v?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem")
                .unwrap(),
        )
        .unwrap_err();
        assert!(missing.contains("/nonexistent/ca.pem"), "{missing}");
    }
}
