//! `vigil migrate` (issue 17): an embedded installation's store copied table by table into the
//! configured PostgreSQL database ([`migrate_store`], [`crate::store::copy`]), and its survey
//! tiles and field photos into the configured object storage, verified file by file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::{Error, Result, Vigil};
use crate::auth::Principal;

pub use crate::store::copy::CopiedTable;

/// Copies the data dir's SQLite store into the (empty) PostgreSQL database of `[store]
/// database_url`, in one transaction, and verifies every table's row count and SHA-256;
/// `progress` hears each table as it is verified. Run before the service opens the PostgreSQL
/// store (it is no service operation: the source is the file, the target is empty).
pub fn migrate_store(
    config: &crate::Config,
    progress: &dyn Fn(&CopiedTable),
) -> Result<Vec<CopiedTable>> {
    let Some(url) = &config.store.database_url else {
        return Err(Error::Conflict(
            "no PostgreSQL store is configured: set [store] database_url or VIGIL_DATABASE_URL \
             (postgres://…)"
                .into(),
        ));
    };
    Ok(crate::store::copy::sqlite_to_postgres(
        &config.db_path(),
        url,
        progress,
    )?)
}

/// One survey copied and checked.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MigratedSurvey {
    pub survey: String,
    /// Display and analysis tile files compared after the round trip.
    pub files: u64,
    pub bytes: u64,
    pub seconds: f64,
}

/// What `migrate_tiles` did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct MigrateReport {
    pub surveys: Vec<MigratedSurvey>,
    /// Ready surveys with no local tile directory (on object storage already, or lost): left
    /// alone, listed.
    pub without_local_tiles: Vec<String>,
    /// Field photos copied and read back equal.
    pub evidence: u64,
    /// Committed upload files (the sources of surveys) copied and read back equal.
    pub uploads: u64,
    /// Province models copied and read back equal.
    pub models: u64,
}

impl Vigil {
    /// Publishes every ready survey's local tiles to the configured object storage, then restores
    /// them into a scratch directory and compares every file's SHA-256 with the original.
    /// `progress` hears each survey as it is done. Admins only; needs `[storage] url`.
    pub fn migrate_tiles(
        &self,
        who: &Principal,
        progress: &dyn Fn(&MigratedSurvey),
    ) -> Result<MigrateReport> {
        if !who.role.is_admin() {
            return Err(Error::Forbidden("migrating needs the admin role".into()));
        }
        let Some(objects) = self.objects() else {
            return Err(Error::Conflict(
                "no object storage is configured: set [storage] url or VIGIL_STORAGE_URL (s3://bucket/prefix)".into(),
            ));
        };
        let tiles = self.config().tiles_dir();
        let mut surveys: Vec<_> = self.survey_index().all().cloned().collect();
        surveys.sort_by(|a, b| a.row.id.cmp(&b.row.id));
        let mut report = MigrateReport::default();
        let disk = |context: String, e: String| Error::Disk {
            context,
            source: std::io::Error::other(e),
        };
        for s in surveys {
            let id = s.row.id.as_str();
            let Some(meta) = &s.meta else { continue };
            let dir = crate::tiling::layout::SurveyDir::new(&tiles, id);
            if !dir.root.is_dir() {
                report.without_local_tiles.push(id.to_string());
                continue;
            }
            let t0 = Instant::now();
            let archive = meta.archive_key(id);
            let published = objects
                .publish(&archive, &dir.root, &meta.format)
                .map_err(|e| disk(format!("publishing survey {id}"), e.to_string()))?;
            let check = tiles.join(format!("{id}.verify.part"));
            let _ = crate::tiling::remove_dir_if_exists(&check);
            std::fs::create_dir_all(&check)
                .map_err(|e| disk(format!("verifying survey {id}"), e.to_string()))?;
            let compared = objects
                .restore(&archive, &check, &meta.format)
                .map_err(|e| e.to_string())
                .and_then(|_| compare(&dir.root, &check));
            let _ = crate::tiling::remove_dir_if_exists(&check);
            let files = compared
                .map_err(|e| disk(format!("verifying survey {id} on object storage"), e))?;
            let done = MigratedSurvey {
                survey: id.to_string(),
                files,
                bytes: published.bytes,
                seconds: t0.elapsed().as_secs_f64(),
            };
            progress(&done);
            report.surveys.push(done);
        }
        report.evidence = self.migrate_evidence(objects)?;
        report.uploads = self.migrate_uploads(objects)?;
        report.models = self.migrate_models(objects)?;
        Ok(report)
    }

    /// Every committed upload of this installation whose file is in `DATA_DIR/uploads/complete/`:
    /// uploaded as the file any node fetches to ingest or serve it, read back into a scratch
    /// file and its SHA-256 compared with the upload's.
    fn migrate_uploads(&self, objects: &crate::storage::ObjectStorage) -> Result<u64> {
        let mut n = 0;
        for (id, path, sha) in self.committed_upload_files()? {
            let fail = |e: String| Error::Disk {
                context: format!("copying upload {id}"),
                source: std::io::Error::other(e),
            };
            let key = super::uploads::file_object(&id);
            objects
                .put_named(&key, &path)
                .map_err(|e| fail(e.to_string()))?;
            let check = path.with_extension("verify.part");
            let back = objects
                .get_named_to_file(&key, &check)
                .map_err(|e| fail(e.to_string()))
                .and_then(|found| {
                    if !found {
                        return Err(fail("missing after the upload".into()));
                    }
                    crate::upload::disk::hash_file(&check).map_err(|e| fail(e.to_string()))
                });
            let _ = std::fs::remove_file(&check);
            if back?.0 != sha {
                return Err(fail("differs after the round trip (SHA-256)".into()));
            }
            n += 1;
        }
        Ok(n)
    }

    /// Every province model under `DATA_DIR/models/`: uploaded and read back equal.
    fn migrate_models(&self, objects: &crate::storage::ObjectStorage) -> Result<u64> {
        let root = self.config().server.data_dir.join("models");
        let Ok(entries) = std::fs::read_dir(&root) else {
            return Ok(0);
        };
        let mut n = 0;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            let Some(province) = name
                .strip_prefix("province-")
                .and_then(|s| s.strip_suffix(".json"))
            else {
                continue;
            };
            let fail = |e: String| Error::Disk {
                context: format!("copying province {province}'s model"),
                source: std::io::Error::other(e),
            };
            let bytes = std::fs::read(e.path()).map_err(|e| fail(e.to_string()))?;
            let key = super::learn::province_model_key(province);
            objects
                .put_named(&key, &e.path())
                .map_err(|e| fail(e.to_string()))?;
            let back = objects
                .get_named(&key)
                .map_err(|e| fail(e.to_string()))?
                .ok_or_else(|| fail("missing after the upload".into()))?;
            if back != bytes {
                return Err(fail("differs after the round trip".into()));
            }
            n += 1;
        }
        Ok(n)
    }

    /// Every field photo under `DATA_DIR/evidence/`: uploaded, read back, and its SHA-256
    /// compared with its name (photos are stored by their hash).
    fn migrate_evidence(&self, objects: &crate::storage::ObjectStorage) -> Result<u64> {
        let root = self.config().server.data_dir.join("evidence");
        let files = match hashes(&root) {
            Ok(f) => f,
            Err(_) if !root.exists() => return Ok(0),
            Err(e) => {
                return Err(Error::Disk {
                    context: "reading the evidence directory".into(),
                    source: std::io::Error::other(e),
                });
            }
        };
        let fail = |file: &Path, e: String| Error::Disk {
            context: format!("copying evidence file {}", file.display()),
            source: std::io::Error::other(e),
        };
        let mut n = 0;
        for (rel, hash) in files {
            let sha = hex::encode(hash);
            // Anything else there (a half-written temporary file) is not evidence.
            if rel.file_name().and_then(|f| f.to_str()) != Some(&format!("{sha}.jpg")) {
                continue;
            }
            let key = super::review::evidence_key(&sha);
            objects
                .put_named(&key, &root.join(&rel))
                .map_err(|e| fail(&rel, e.to_string()))?;
            let back = objects
                .get_named(&key)
                .map_err(|e| fail(&rel, e.to_string()))?
                .ok_or_else(|| fail(&rel, "missing after the upload".into()))?;
            if hex::encode(Sha256::digest(&back)) != sha {
                return Err(fail(&rel, "differs after the round trip (SHA-256)".into()));
            }
            n += 1;
        }
        Ok(n)
    }
}

/// Every file under `root`, by path relative to it, with its SHA-256.
fn hashes(root: &Path) -> std::result::Result<BTreeMap<PathBuf, [u8; 32]>, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let p = e.map_err(|e| e.to_string())?.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
                let rel = p
                    .strip_prefix(root)
                    .map_err(|e| e.to_string())?
                    .to_path_buf();
                out.insert(rel, Sha256::digest(&bytes).into());
            }
        }
    }
    Ok(out)
}

/// The number of files compared, or what differs between the two trees.
fn compare(original: &Path, copy: &Path) -> std::result::Result<u64, String> {
    let (a, b) = (hashes(original)?, hashes(copy)?);
    if let Some(p) = a.keys().find(|p| !b.contains_key(*p)) {
        return Err(format!(
            "{} is missing after the round trip ({} of {} files came back)",
            p.display(),
            b.len(),
            a.len()
        ));
    }
    if let Some(p) = b.keys().find(|p| !a.contains_key(*p)) {
        return Err(format!("{} came back but was never written", p.display()));
    }
    if let Some((p, _)) = a.iter().find(|(p, h)| b.get(*p) != Some(h)) {
        return Err(format!(
            "{} differs after the round trip (SHA-256)",
            p.display()
        ));
    }
    Ok(a.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_compares_equal_only_to_the_same_files() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        for d in [a.path(), b.path()] {
            std::fs::create_dir_all(d.join("21/5")).unwrap();
            std::fs::write(d.join("21/5/7.png"), b"tile").unwrap();
        }
        assert_eq!(compare(a.path(), b.path()).unwrap(), 1);
        std::fs::write(b.path().join("21/5/7.png"), b"tilf").unwrap();
        assert!(compare(a.path(), b.path()).unwrap_err().contains("differs"));
        std::fs::remove_file(b.path().join("21/5/7.png")).unwrap();
        assert!(compare(a.path(), b.path()).unwrap_err().contains("missing"));
        std::fs::write(b.path().join("21/5/7.png"), b"tile").unwrap();
        std::fs::write(b.path().join("21/5/8.png"), b"x").unwrap();
        assert!(
            compare(a.path(), b.path())
                .unwrap_err()
                .contains("never written")
        );
    }
}
