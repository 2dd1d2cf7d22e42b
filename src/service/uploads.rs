//! Upload operations on [`Vigil`]: start a session, receive chunks, report status, commit, cancel,
//! and reconcile at start-up. Rules: only operators and admins upload; a session is visible to its
//! owner and to admins (404 for everyone else); a chunk is recorded only after its bytes are
//! fsynced; every state change is audited.
//!
//! These methods block (SQLite, file IO) except [`ChunkSink::send`] and [`ChunkSink::finish`],
//! which take a chunk's bytes as they arrive and hand the disk work to the blocking pool.
//!
//! The hook for ingest (issue 3, item 2) is [`Vigil::commit_upload`]: it returns the committed
//! file's path, and committed sessions keep that path in the store.
//!
//! Several nodes (issue 17): with object storage configured, every chunk is also stored in the
//! bucket (`PREFIX/uploads/{id}/chunks/{n}`) after its local fsync and before it is recorded, so
//! the next chunk, the status and the commit may reach any node. The node that commits fetches
//! the chunks it has not received itself into its part file, checks the whole file as before,
//! and stores the committed file in the bucket (`PREFIX/uploads/{id}/file`) before the store
//! calls it committed; a node that ingests (or serves) a survey whose source it does not hold
//! fetches that file first ([`Vigil::local_source`]). Without object storage every byte stays
//! on the node that received it, as in the embedded mode.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::json;

use crate::auth::Principal;
use crate::hotspots::model::FieldError;
use crate::service::{Error, Result, Vigil, invalid};
use crate::store::uploads::{self as us, UploadRow};
use crate::store::{self, NewAudit};
use crate::time_util::{now_rfc3339, rfc3339};
use crate::upload::disk::{self, Dirs};
use crate::upload::{self, Claim, Layout, MissingRange, State, Work};

/// Audit actor for changes nobody asked for (expiry, start-up reconciliation).
const SYSTEM: &str = "system:uploads";

/// The refusal of a commit while chunks are missing, naming them.
fn missing_chunks(status: UploadStatus) -> Error {
    Error::MissingChunks {
        message: format!(
            "upload {} cannot be committed: chunk(s) {} are missing ({} of {} received)",
            status.id,
            upload::describe_missing(&status.missing),
            status.received.len(),
            status.chunks
        ),
        missing: status.missing,
    }
}

/// Chunk `n` of upload `id` on object storage (under the configured prefix).
fn chunk_object(id: &str, n: u64) -> String {
    format!("uploads/{id}/chunks/{n}")
}

/// The committed file of upload `id` on object storage.
pub(super) fn file_object(id: &str) -> String {
    format!("uploads/{id}/file")
}

/// What a client declares when it starts an upload.
#[derive(Debug, Clone)]
pub struct NewUpload {
    pub filename: String,
    pub size: u64,
    pub sha256: String,
    pub content_type: Option<String>,
}

/// Where a session stands, for the status endpoint.
#[derive(Debug, Clone)]
pub struct UploadStatus {
    pub id: String,
    pub owner: String,
    pub filename: String,
    pub content_type: Option<String>,
    pub size: u64,
    pub sha256: String,
    pub chunk_size: u64,
    pub chunks: u64,
    pub state: State,
    pub failure: Option<String>,
    pub received: Vec<u64>,
    pub received_bytes: u64,
    pub missing: Vec<MissingRange>,
    pub created_at: String,
    pub updated_at: String,
    pub expires_at: String,
    /// The committed file (server-side; not shown to clients).
    pub path: Option<PathBuf>,
}

/// The answer to one chunk.
#[derive(Debug, Clone)]
pub struct ChunkReceipt {
    pub n: u64,
    pub sha256: String,
    pub length: u64,
    /// The chunk had already been received with the same bytes; nothing changed.
    pub repeated: bool,
    pub state: State,
    pub received_chunks: u64,
    pub chunks: u64,
}

/// A committed upload: what ingest will consume.
#[derive(Debug, Clone)]
pub struct Committed {
    pub status: UploadStatus,
    pub path: PathBuf,
}

/// What start-up reconciliation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    pub sessions: usize,
    pub chunks_dropped: usize,
    pub expired: usize,
    pub recovered_commits: usize,
    pub orphans_removed: usize,
}

fn disk_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let context = context.into();
    move |source| Error::Disk { context, source }
}

fn not_found(id: &str) -> Error {
    Error::NotFound(format!("upload {id:?} does not exist or is not yours"))
}

fn audit_upload(
    tx: &crate::store::sql::Connection<'_>,
    actor: &str,
    action: &str,
    id: &str,
    before: Option<serde_json::Value>,
    after: serde_json::Value,
    now: &str,
) -> std::result::Result<(), store::StoreError> {
    store::audit::append(
        tx,
        &NewAudit {
            actor,
            action,
            entity: "upload",
            entity_id: Some(id.to_string()),
            before,
            after: Some(after),
        },
        now,
    )
}

fn layout(row: &UploadRow) -> Result<Layout> {
    Layout::new(row.size, row.chunk_size).ok_or_else(|| {
        Error::Store(store::StoreError::Corrupt {
            table: "uploads",
            message: format!("upload {}: size or chunk size is zero", row.id),
        })
    })
}

fn status_of(row: UploadRow, chunks: &BTreeMap<u64, String>) -> Result<UploadStatus> {
    let l = layout(&row)?;
    let received: BTreeSet<u64> = chunks.keys().copied().collect();
    Ok(UploadStatus {
        chunks: l.count(),
        received_bytes: l.bytes_in(&received),
        missing: l.missing(&received),
        received: received.into_iter().collect(),
        id: row.id,
        owner: row.owner,
        filename: row.filename,
        content_type: row.content_type,
        size: row.size,
        sha256: row.sha256,
        chunk_size: row.chunk_size,
        state: row.state,
        failure: row.failure,
        created_at: row.created_at,
        updated_at: row.updated_at,
        expires_at: row.expires_at,
        path: row.path.map(PathBuf::from),
    })
}

/// Receives one chunk's bytes as they arrive (from [`Vigil::begin_chunk`]): a blocking-pool task
/// hashes them and writes them at the chunk's offset; [`ChunkSink::finish`] fsyncs and records.
#[derive(Debug)]
pub struct ChunkSink {
    who: Principal,
    id: String,
    n: u64,
    /// Where the chunk starts in the file.
    offset: u64,
    expected: u64,
    seen: u64,
    /// The recorded hash when the chunk was already received: the bytes are only compared.
    prior: Option<String>,
    state: State,
    received_chunks: u64,
    chunks: u64,
    tx: Option<tokio::sync::mpsc::Sender<Bytes>>,
    worker: Option<tokio::task::JoinHandle<std::io::Result<(String, u64)>>>,
    claim: Arc<Claim>,
}

impl ChunkSink {
    fn wrong_length(&self, got: &str) -> Error {
        invalid(
            "chunk",
            format!(
                "chunk {} must be exactly {} bytes; {got}",
                self.n, self.expected
            ),
        )
    }

    async fn worker_result(&mut self) -> Result<(String, u64)> {
        let w = self
            .worker
            .take()
            .ok_or_else(|| Error::Conflict("this chunk was already finished".into()))?;
        match w.await {
            Ok(r) => r.map_err(disk_err(format!(
                "writing chunk {} of upload {}",
                self.n, self.id
            ))),
            Err(e) => Err(Error::Disk {
                context: format!("chunk writer for upload {}", self.id),
                source: std::io::Error::other(e.to_string()),
            }),
        }
    }

    /// Ends the writer and waits for it, so its claim on the chunk is released before the refusal
    /// reaches the client (a prompt retry must not find the chunk still "being received").
    async fn stop_writer(&mut self) {
        self.tx = None;
        let _ = self.worker_result().await;
    }

    /// Takes the next piece of the body. Refuses more bytes than the chunk holds.
    pub async fn send(&mut self, bytes: Bytes) -> Result<()> {
        self.seen += bytes.len() as u64;
        if self.seen > self.expected {
            self.stop_writer().await;
            return Err(self.wrong_length("more bytes arrived"));
        }
        let Some(tx) = &self.tx else {
            return Err(Error::Conflict("this chunk was already finished".into()));
        };
        if tx.send(bytes).await.is_err() {
            // The writer stopped early: report its error.
            self.tx = None;
            self.worker_result().await?;
            return Err(Error::Disk {
                context: format!("chunk writer for upload {}", self.id),
                source: std::io::Error::other("stopped before the chunk ended"),
            });
        }
        Ok(())
    }

    /// Ends the chunk: checks its length, waits for the bytes to be fsynced, then records it (or,
    /// for a chunk received before, compares it with the recorded hash: same → repeated, else 409).
    pub async fn finish(mut self, vigil: Arc<Vigil>) -> Result<ChunkReceipt> {
        if self.seen != self.expected {
            self.stop_writer().await;
            return Err(self.wrong_length(&format!("{} arrived", self.seen)));
        }
        self.tx = None;
        let (sha, len) = self.worker_result().await?;
        if len != self.expected {
            return Err(self.wrong_length(&format!("{len} arrived")));
        }
        match self.prior.take() {
            Some(prior) if prior == sha => Ok(ChunkReceipt {
                n: self.n,
                sha256: sha,
                length: len,
                repeated: true,
                state: self.state,
                received_chunks: self.received_chunks,
                chunks: self.chunks,
            }),
            Some(prior) => Err(Error::Conflict(format!(
                "chunk {} of upload {} was already received with SHA-256 {prior}; these bytes hash to {sha}. \
                 A received chunk cannot change: if the file changed, cancel this upload and start a new one",
                self.n, self.id
            ))),
            None => {
                let ChunkSink {
                    who,
                    id,
                    n,
                    offset,
                    claim,
                    ..
                } = self;
                let v = vigil.clone();
                tokio::task::spawn_blocking(move || {
                    let r = v
                        .share_chunk(&id, n, offset, len)
                        .and_then(|()| v.record_chunk(&who, &id, n, &sha, len));
                    drop(claim);
                    r
                })
                .await
                .map_err(|e| Error::Disk {
                    context: "recording a chunk".into(),
                    source: std::io::Error::other(e.to_string()),
                })?
            }
        }
    }
}

impl Vigil {
    fn upload_dirs(&self) -> Dirs {
        Dirs::new(&self.config.server.data_dir)
    }

    fn expiry_from_now(&self) -> String {
        let ttl = Duration::from_secs(self.config.upload.expire_hours.saturating_mul(3600));
        rfc3339(time::OffsetDateTime::now_utc() + ttl)
    }

    /// The session if the caller may see it: role first (403), then existence and ownership (404).
    fn visible_upload(&self, who: &Principal, id: &str) -> Result<UploadRow> {
        if !upload::may_upload(who.role) {
            return Err(Error::Forbidden(
                "uploading survey imagery needs the operator or admin role".into(),
            ));
        }
        if !upload::is_id(id) {
            return Err(not_found(id));
        }
        let row = self
            .store()
            .read(|c| us::get(c, id))?
            .ok_or_else(|| not_found(id))?;
        if row.owner_id != who.user_id && !who.role.is_admin() {
            return Err(not_found(id));
        }
        Ok(row)
    }

    /// Deletes a committed file no live survey was made from (it stops counting against the
    /// quota). Refused while a survey made from it is queued, running or ready.
    fn discard_committed(&self, who: &Principal, row: UploadRow) -> Result<UploadStatus> {
        let id = row.id.clone();
        let now = now_rfc3339();
        self.store().write(|tx| {
            if let Some(s) = crate::store::surveys::live_for_upload(tx, &id)? {
                return Err(Error::Conflict(format!(
                    "upload {id} is the source of survey {} ({}); it cannot be discarded",
                    s.id,
                    s.state.code()
                )));
            }
            us::set_state(
                tx,
                &id,
                State::Cancelled,
                Some("discarded after commit"),
                None,
                &now,
            )?;
            audit_upload(
                tx,
                &who.name,
                "discard",
                &id,
                Some(json!({ "state": State::Committed })),
                json!({ "state": State::Cancelled }),
                &now,
            )?;
            Ok::<_, Error>(())
        })?;
        if let Some(p) = &row.path {
            match std::fs::remove_file(p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(disk_err(format!("removing the file of upload {id}"))(e)),
            }
        }
        self.forget_shared_upload(&id);
        let row = self
            .store()
            .read(|c| us::get(c, &id))?
            .ok_or_else(|| not_found(&id))?;
        self.status_for(row)
    }

    /// A committed upload of `who`'s (or any, for admins) that a survey may be made from.
    pub(crate) fn upload_for_ingest(&self, who: &Principal, id: &str) -> Result<UploadRow> {
        let row = self.visible_upload(who, id)?;
        if row.state != State::Committed {
            return Err(Error::Conflict(format!(
                "upload {id} is {}; only a committed upload can be ingested",
                row.state.code()
            )));
        }
        Ok(row)
    }

    fn status_for(&self, row: UploadRow) -> Result<UploadStatus> {
        let chunks = self.store().read(|c| us::chunks(c, &row.id))?;
        status_of(row, &chunks)
    }

    /// Moves an open (or failed) session to `to`, audits it, then removes its part file.
    fn close_upload(
        &self,
        actor: &str,
        id: &str,
        to: State,
        failure: Option<&str>,
        action: &str,
    ) -> Result<UploadRow> {
        let now = now_rfc3339();
        let row = self.store().write(|tx| {
            let row = us::get(tx, id)?.ok_or_else(|| not_found(id))?;
            if !row.state.can_cancel() {
                return Err(Error::Conflict(format!(
                    "upload {id} is {}; it can no longer be {}",
                    row.state.code(),
                    to.code()
                )));
            }
            us::set_state(tx, id, to, failure, None, &now)?;
            audit_upload(
                tx,
                actor,
                action,
                id,
                Some(json!({ "state": row.state })),
                json!({ "state": to, "failure": failure }),
                &now,
            )?;
            us::get(tx, id)?.ok_or_else(|| not_found(id))
        })?;
        self.upload_dirs()
            .remove_part(id)
            .map_err(disk_err(format!("removing the part file of upload {id}")))?;
        self.forget_shared_upload(id);
        Ok(row)
    }

    /// Removes what object storage holds of upload `id` (its chunks, its committed file);
    /// failures are logged (an orphan object is wasted space, not wrong data).
    fn forget_shared_upload(&self, id: &str) {
        if let Some(o) = self.objects()
            && let Err(e) = o.remove_named_prefix(&format!("uploads/{id}"))
        {
            tracing::warn!(upload = %id, error = %e, "cannot remove the upload from object storage");
        }
    }

    /// With object storage: stores chunk `n` (fsynced in this node's part file at `offset`) in
    /// the bucket, so whichever node commits the upload can fetch it.
    fn share_chunk(&self, id: &str, n: u64, offset: u64, len: u64) -> Result<()> {
        let Some(o) = self.objects() else {
            return Ok(());
        };
        let bytes = disk::read_range(&self.upload_dirs().part(id), offset, len)
            .map_err(disk_err(format!("reading chunk {n} of upload {id}")))?;
        o.put_named_bytes(&chunk_object(id, n), Bytes::from(bytes))
            .map_err(|e| Error::storage(format!("storing chunk {n} of upload {id}"), e))
    }

    /// With object storage: brings every recorded chunk of `row` that this node's part file
    /// does not hold (received by another node) from the bucket, checked against its recorded
    /// SHA-256. A chunk the bucket does not have (or has with other bytes) is forgotten, so the
    /// commit answers which chunks to send again.
    fn gather_chunks(&self, row: &UploadRow) -> Result<()> {
        let Some(o) = self.objects() else {
            return Ok(());
        };
        let id = row.id.as_str();
        let dirs = self.upload_dirs();
        dirs.ensure_part(id, row.size)
            .map_err(disk_err(format!("creating the part file of upload {id}")))?;
        let l = layout(row)?;
        let chunks = self.store().read(|c| us::chunks(c, id))?;
        let mut lost = Vec::new();
        for (&n, sha) in &chunks {
            let (Some(off), Some(len)) = (l.offset(n), l.chunk_len(n)) else {
                continue;
            };
            let here = disk::hash_range(&dirs.part(id), off, len)
                .map_err(disk_err(format!("reading upload {id}")))?;
            if here.as_deref() == Some(sha.as_str()) {
                continue;
            }
            let got = o
                .get_named(&chunk_object(id, n))
                .map_err(|e| Error::storage(format!("fetching chunk {n} of upload {id}"), e))?;
            match got {
                Some(b) if disk::hash_bytes(&b) == *sha && b.len() as u64 == len => {
                    disk::write_range(&dirs, id, off, &b)
                        .map_err(disk_err(format!("writing chunk {n} of upload {id}")))?;
                }
                _ => lost.push(n),
            }
        }
        if lost.is_empty() {
            return Ok(());
        }
        self.drop_chunks(row, chunks.len() as u64, l.count(), &lost)?;
        tracing::warn!(upload = %id, lost = ?lost, "recorded chunks are on no node and not in object storage; they are missing again");
        let status = self.status_for(
            self.store()
                .read(|c| us::get(c, id))?
                .ok_or_else(|| not_found(id))?,
        )?;
        Err(missing_chunks(status))
    }

    /// Committed uploads whose file this node holds: (id, path, SHA-256), for `vigil migrate`.
    pub(super) fn committed_upload_files(&self) -> Result<Vec<(String, PathBuf, String)>> {
        let rows = self.store().read(us::committed)?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let path = PathBuf::from(r.path.as_deref()?);
                path.is_file().then_some((r.id, path, r.sha256))
            })
            .collect())
    }

    /// Forgets chunks `gone` of session `row` (which had `received` of its `total` chunks): they
    /// are missing again, the client sends them anew. Audited as a reconciliation.
    fn drop_chunks(&self, row: &UploadRow, received: u64, total: u64, gone: &[u64]) -> Result<()> {
        let id = row.id.as_str();
        let now = now_rfc3339();
        let expires = self.expiry_from_now();
        let state = State::after_chunk(received - gone.len() as u64, total);
        self.store().write(|tx| {
            for &n in gone {
                us::delete_chunk(tx, id, n)?;
            }
            us::touch(tx, id, state, &now, &expires)?;
            audit_upload(
                tx,
                SYSTEM,
                "reconcile",
                id,
                Some(json!({ "state": row.state })),
                json!({ "state": state, "chunks_dropped": gone }),
                &now,
            )?;
            Ok::<_, Error>(())
        })
    }

    /// A local path of a survey's source file. For a survey made from upload `upload_id` on an
    /// installation with object storage: this node's own copy in its `uploads/complete/`,
    /// fetched from the bucket first when it has none (once; its SHA-256 checked against the
    /// upload's) — never the path the committing node stored, which names that node's disk.
    /// Otherwise `stored` as it is (opening it then says if the file is gone).
    pub fn local_source(&self, upload_id: Option<&str>, stored: &str) -> Result<PathBuf> {
        let (Some(o), Some(id)) = (self.objects(), upload_id) else {
            return Ok(PathBuf::from(stored));
        };
        let row = self
            .store()
            .read(|c| us::get(c, id))?
            .ok_or_else(|| not_found(id))?;
        let local = self.upload_dirs().complete(id, &row.filename);
        if local.is_file() {
            return Ok(local);
        }
        // One fetch at a time (the survey-restore lock): whoever waited finds the file there.
        let _one = self.restoring.lock();
        if local.is_file() {
            return Ok(local);
        }
        let t0 = std::time::Instant::now();
        if !o
            .get_named_to_file(&file_object(id), &local)
            .map_err(|e| Error::storage(format!("fetching the file of upload {id}"), e))?
        {
            return Err(Error::NotFound(format!(
                "the file of upload {id} is on no node and not in object storage"
            )));
        }
        let (sha, len) = disk::hash_file(&local)
            .map_err(disk_err(format!("reading the fetched file of upload {id}")))?;
        if sha != row.sha256 || len != row.size {
            let _ = std::fs::remove_file(&local);
            return Err(Error::Disk {
                context: format!("fetching the file of upload {id}"),
                source: std::io::Error::other(format!(
                    "object storage holds {len} bytes with SHA-256 {sha}; the upload was {} bytes with {}",
                    row.size, row.sha256
                )),
            });
        }
        tracing::info!(upload = %id, bytes = len, ms = t0.elapsed().as_millis() as u64, "fetched an upload from object storage");
        Ok(local)
    }

    /// Cancels an open session whose time is up and refuses the request; otherwise does nothing.
    /// `whole` is the caller's commit/cancel claim, if it holds one.
    fn refuse_if_expired(&self, row: &UploadRow, whole: Option<&Arc<Claim>>) -> Result<()> {
        if !row.state.is_open() || now_rfc3339() < row.expires_at {
            return Ok(());
        }
        let claim = match whole {
            Some(_) => None,
            // A commit or cancel is running; let it finish.
            None => match self.uploads.try_claim(&row.id, Work::Whole) {
                Some(c) => Some(c),
                None => return Ok(()),
            },
        };
        let reason = format!("expired at {}", row.expires_at);
        self.close_upload(SYSTEM, &row.id, State::Cancelled, Some(&reason), "expire")?;
        drop(claim);
        Err(Error::Conflict(format!(
            "upload {} {reason} (no chunk arrived for {} hours) and was cancelled; start a new upload",
            row.id, self.config.upload.expire_hours
        )))
    }

    /// Starts an upload session for `who` and creates its (sparse) part file.
    pub fn create_upload(&self, who: &Principal, new: NewUpload) -> Result<UploadStatus> {
        if !upload::may_upload(who.role) {
            return Err(Error::Forbidden(
                "uploading survey imagery needs the operator or admin role".into(),
            ));
        }
        let mut errors = Vec::new();
        if let Err(m) = upload::validate_filename(&new.filename) {
            errors.push(FieldError::new("filename", m));
        }
        let sha256 = upload::normalize_sha256(&new.sha256)
            .map_err(|m| errors.push(FieldError::new("sha256", m)))
            .unwrap_or_default();
        if new.size == 0 {
            errors.push(FieldError::new("size", "must be at least 1 byte"));
        }
        if let Some(ct) = &new.content_type {
            if let Err(m) = upload::validate_content_type(ct) {
                errors.push(FieldError::new("content_type", m));
            }
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        let cfg = &self.config.upload;
        if new.size > cfg.max_bytes {
            return Err(Error::PayloadTooLarge {
                limit: "upload.max_bytes",
                bytes: cfg.max_bytes,
                message: format!(
                    "the file is {} bytes; one upload may be at most {} bytes (upload.max_bytes)",
                    new.size, cfg.max_bytes
                ),
            });
        }
        let id = upload::new_id()
            .map_err(|e| Error::Forbidden(format!("no randomness available: {e}")))?;
        let now = now_rfc3339();
        let row = UploadRow {
            id: id.clone(),
            owner_id: who.user_id,
            owner: who.name.clone(),
            jurisdiction: serde_json::to_string(&who.jurisdiction)
                .map_err(|e| Error::Store(e.into()))?,
            filename: new.filename,
            content_type: new.content_type,
            size: new.size,
            sha256,
            chunk_size: cfg.chunk_bytes,
            state: State::Receiving,
            failure: None,
            path: None,
            created_at: now.clone(),
            updated_at: now.clone(),
            expires_at: self.expiry_from_now(),
        };
        let dirs = self.upload_dirs();
        let quota = cfg.quota_bytes;
        let created = self.store().write(|tx| {
            let held = us::bytes_held(tx, who.user_id)?;
            if held.saturating_add(row.size) > quota {
                return Err(Error::PayloadTooLarge {
                    limit: "upload.quota_bytes",
                    bytes: quota,
                    message: format!(
                        "this upload of {} bytes would exceed your quota: you hold {held} of {quota} bytes \
                         (upload.quota_bytes) in unfinished and stored uploads; cancel some first",
                        row.size
                    ),
                });
            }
            dirs.create_part(&row.id, row.size)
                .map_err(disk_err("creating the part file"))?;
            us::insert(tx, &row)?;
            let after = json!({ "filename": row.filename, "size": row.size, "sha256": row.sha256, "chunk_size": row.chunk_size, "state": row.state });
            audit_upload(tx, &who.name, "create", &row.id, None, after, &now)?;
            Ok(())
        });
        if let Err(e) = created {
            if !matches!(e, Error::PayloadTooLarge { .. }) {
                let _ = dirs.remove_part(&id);
            }
            return Err(e);
        }
        tracing::info!(upload = %id, user = %who.name, size = row.size, "upload started");
        status_of(row, &BTreeMap::new())
    }

    /// A session's status.
    pub fn upload_status(&self, who: &Principal, id: &str) -> Result<UploadStatus> {
        let row = self.visible_upload(who, id)?;
        self.status_for(row)
    }

    /// Prepares to receive chunk `n` of session `id` (`declared` is the request's Content-Length).
    /// The returned sink takes the bytes; only one request at a time may send a given chunk.
    pub fn begin_chunk(
        &self,
        who: &Principal,
        id: &str,
        n: u64,
        declared: Option<u64>,
    ) -> Result<ChunkSink> {
        let row = self.visible_upload(who, id)?;
        self.refuse_if_expired(&row, None)?;
        if matches!(row.state, State::Failed | State::Cancelled) {
            return Err(Error::Conflict(format!(
                "upload {id} is {}; start a new upload",
                row.state.code()
            )));
        }
        let l = layout(&row)?;
        let (Some(offset), Some(expected)) = (l.offset(n), l.chunk_len(n)) else {
            return Err(invalid(
                "chunk",
                format!(
                    "chunk index {n} is out of range: this upload has chunks 0–{}",
                    l.count() - 1
                ),
            ));
        };
        if let Some(d) = declared.filter(|&d| d != expected) {
            return Err(invalid(
                "chunk",
                format!("chunk {n} must be exactly {expected} bytes; the request declares {d}"),
            ));
        }
        let claim = self.uploads.try_claim(id, Work::Chunk(n)).ok_or_else(|| {
            Error::Conflict(format!(
                "chunk {n} of upload {id} is being received by another request; retry shortly"
            ))
        })?;
        let (prior, received_chunks) = self
            .store()
            .read(|c| Ok::<_, Error>((us::chunk_hash(c, id, n)?, us::chunk_count(c, id)?)))?;
        let file = match (&prior, row.state) {
            (Some(_), _) => None,
            (None, State::Receiving) => {
                let dirs = self.upload_dirs();
                // Another node may have started the session: this node's part file is made
                // when its first chunk arrives here.
                if self.objects().is_some() {
                    dirs.ensure_part(id, row.size)
                        .map_err(disk_err(format!("creating the part file of upload {id}")))?;
                }
                Some(
                    dirs.open_part(id)
                        .map_err(disk_err(format!("opening the part file of upload {id}")))?,
                )
            }
            (None, s) => {
                return Err(Error::Conflict(format!(
                    "upload {id} is {} and takes no new chunks",
                    s.code()
                )));
            }
        };
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(8);
        let worker_claim = claim.clone();
        let worker = tokio::task::spawn_blocking(move || {
            let r = disk::write_chunk(file, offset, rx);
            drop(worker_claim);
            r
        });
        Ok(ChunkSink {
            who: who.clone(),
            id: id.to_string(),
            n,
            offset,
            expected,
            seen: 0,
            prior,
            state: row.state,
            received_chunks,
            chunks: l.count(),
            tx: Some(tx),
            worker: Some(worker),
            claim,
        })
    }

    /// Records a chunk whose bytes are fsynced; the session becomes `complete` with its last chunk.
    fn record_chunk(
        &self,
        who: &Principal,
        id: &str,
        n: u64,
        sha: &str,
        len: u64,
    ) -> Result<ChunkReceipt> {
        let now = now_rfc3339();
        let expires = self.expiry_from_now();
        let (state, received, total) = self.store().write(|tx| {
            let row = us::get(tx, id)?.ok_or_else(|| not_found(id))?;
            if row.state != State::Receiving {
                return Err(Error::Conflict(format!(
                    "upload {id} became {} while chunk {n} arrived; the chunk was not recorded",
                    row.state.code()
                )));
            }
            let total = layout(&row)?.count();
            us::insert_chunk(tx, id, n, sha, &now)?;
            let received = us::chunk_count(tx, id)?;
            let state = State::after_chunk(received, total);
            us::touch(tx, id, state, &now, &expires)?;
            if state != row.state {
                audit_upload(
                    tx,
                    &who.name,
                    "complete",
                    id,
                    Some(json!({ "state": row.state })),
                    json!({ "state": state, "chunks": total }),
                    &now,
                )?;
            }
            Ok::<_, Error>((state, received, total))
        })?;
        Ok(ChunkReceipt {
            n,
            sha256: sha.to_string(),
            length: len,
            repeated: false,
            state,
            received_chunks: received,
            chunks: total,
        })
    }

    /// Checks that every chunk is there and the whole file's SHA-256 matches, then moves it to
    /// `uploads/complete/<id>-<filename>` and marks the session committed. Idempotent once committed.
    /// On a checksum mismatch the session becomes `failed` and its part file is removed (which
    /// chunk is wrong cannot be known), so the client starts again.
    pub fn commit_upload(&self, who: &Principal, id: &str) -> Result<Committed> {
        let row = self.visible_upload(who, id)?;
        let committed = |row: UploadRow| -> Result<Committed> {
            let status = self.status_for(row)?;
            let path = status.path.clone().ok_or_else(|| {
                Error::Store(store::StoreError::Corrupt {
                    table: "uploads",
                    message: format!("committed upload {id} has no path"),
                })
            })?;
            Ok(Committed { status, path })
        };
        if row.state == State::Committed {
            return committed(row);
        }
        let claim = self.uploads.try_claim(id, Work::Whole).ok_or_else(|| {
            Error::Conflict(format!(
                "upload {id} is being committed or cancelled by another request; check its status"
            ))
        })?;
        // Re-read: the state may have changed while another request held the claim.
        let row = self
            .store()
            .read(|c| us::get(c, id))?
            .ok_or_else(|| not_found(id))?;
        if row.state == State::Committed {
            return committed(row);
        }
        self.refuse_if_expired(&row, Some(&claim))?;
        match row.state {
            State::Failed | State::Cancelled => {
                return Err(Error::Conflict(format!(
                    "upload {id} is {}; start a new upload",
                    row.state.code()
                )));
            }
            State::Receiving => return Err(missing_chunks(self.status_for(row)?)),
            State::Complete | State::Committed => {}
        }
        let dirs = self.upload_dirs();
        self.gather_chunks(&row)?;
        let (actual, len) = disk::hash_file(&dirs.part(id))
            .map_err(disk_err(format!("reading the part file of upload {id}")))?;
        if actual != row.sha256 || len != row.size {
            let reason = format!(
                "checksum mismatch: expected SHA-256 {}, the received file ({len} bytes) has {actual}",
                row.sha256
            );
            self.close_upload(&who.name, id, State::Failed, Some(&reason), "fail")?;
            tracing::warn!(upload = %id, "{reason}");
            return Err(Error::Checksum {
                id: id.to_string(),
                expected: row.sha256,
                actual,
            });
        }
        // In the bucket before the store calls it committed, so any node can ingest it.
        if let Some(o) = self.objects() {
            o.put_named(&file_object(id), &dirs.part(id))
                .map_err(|e| Error::storage(format!("storing upload {id}"), e))?;
        }
        let dest = dirs
            .commit(id, &row.filename)
            .map_err(disk_err(format!("moving upload {id} into place")))?;
        let now = now_rfc3339();
        let dest_text = dest.to_string_lossy().to_string();
        self.store().write(|tx| {
            us::set_state(tx, id, State::Committed, None, Some(&dest_text), &now)?;
            audit_upload(
                tx,
                &who.name,
                "commit",
                id,
                Some(json!({ "state": row.state })),
                json!({ "state": State::Committed, "sha256": row.sha256, "size": row.size }),
                &now,
            )?;
            Ok::<_, Error>(())
        })?;
        drop(claim);
        tracing::info!(upload = %id, path = %dest.display(), "upload committed");
        if let Some(o) = self.objects()
            && let Err(e) = o.remove_named_prefix(&format!("uploads/{id}/chunks"))
        {
            tracing::warn!(upload = %id, error = %e, "cannot remove the upload's chunks from object storage");
        }
        let row = self
            .store()
            .read(|c| us::get(c, id))?
            .ok_or_else(|| not_found(id))?;
        committed(row)
    }

    /// Cancels a session and removes its part file. Cancelling a cancelled session changes
    /// nothing; a committed one is refused (409).
    pub fn cancel_upload(&self, who: &Principal, id: &str) -> Result<UploadStatus> {
        let row = self.visible_upload(who, id)?;
        if row.state == State::Cancelled {
            return self.status_for(row);
        }
        let _claim = self.uploads.try_claim(id, Work::Whole).ok_or_else(|| {
            Error::Conflict(format!(
                "upload {id} is being committed or cancelled by another request; check its status"
            ))
        })?;
        if row.state == State::Committed {
            return self.discard_committed(who, row);
        }
        let failure = row.failure.clone();
        let row = self.close_upload(
            &who.name,
            id,
            State::Cancelled,
            failure.as_deref(),
            "cancel",
        )?;
        self.status_for(row)
    }

    /// At start-up: cancels expired sessions, recreates missing part files, drops chunks whose bytes
    /// no longer match their recorded SHA-256 (back to missing; with object storage they are left
    /// for the commit to fetch, as another node may have received them), finishes commits
    /// interrupted after the rename, and removes part files no open session owns. Reads every
    /// received byte once.
    pub fn reconcile_uploads(&self) -> Result<Reconciled> {
        let dirs = self.upload_dirs();
        let mut out = Reconciled::default();
        let open = self.store().read(us::open_sessions)?;
        let now = now_rfc3339();
        for row in &open {
            out.sessions += 1;
            let id = row.id.as_str();
            if now >= row.expires_at {
                let reason = format!("expired at {}", row.expires_at);
                self.close_upload(SYSTEM, id, State::Cancelled, Some(&reason), "expire")?;
                out.expired += 1;
                continue;
            }
            let done = dirs.complete(id, &row.filename);
            if row.state == State::Complete && !dirs.part(id).exists() && done.exists() {
                // The rename happened; the store write did not.
                let (actual, _) = disk::hash_file(&done)
                    .map_err(disk_err(format!("reading {}", done.display())))?;
                if actual == row.sha256 {
                    let p = done.to_string_lossy().to_string();
                    self.store().write(|tx| {
                        us::set_state(tx, id, State::Committed, None, Some(&p), &now)?;
                        audit_upload(
                            tx,
                            SYSTEM,
                            "commit",
                            id,
                            Some(json!({ "state": row.state })),
                            json!({ "state": State::Committed, "recovered": true }),
                            &now,
                        )?;
                        Ok::<_, Error>(())
                    })?;
                    out.recovered_commits += 1;
                    continue;
                }
                std::fs::remove_file(&done)
                    .map_err(disk_err(format!("removing {}", done.display())))?;
            }
            let existed = dirs
                .ensure_part(id, row.size)
                .map_err(disk_err(format!("restoring the part file of upload {id}")))?;
            let l = layout(row)?;
            let chunks = self.store().read(|c| us::chunks(c, id))?;
            let mut bad = Vec::new();
            for (&n, sha) in &chunks {
                let ok = existed
                    && match (l.offset(n), l.chunk_len(n)) {
                        (Some(off), Some(len)) => {
                            disk::hash_range(&dirs.part(id), off, len)
                                .map_err(disk_err(format!("reading upload {id}")))?
                                .as_deref()
                                == Some(sha.as_str())
                        }
                        _ => false,
                    };
                // With object storage a chunk this node's part file lacks was received by
                // another node (or is damaged here): the commit fetches it from the bucket.
                if !ok && self.objects().is_none() {
                    bad.push(n);
                }
            }
            if bad.is_empty() {
                continue;
            }
            self.drop_chunks(row, chunks.len() as u64, l.count(), &bad)?;
            tracing::warn!(upload = %id, dropped = bad.len(), "chunks failed their checksum at start-up and are missing again");
            out.chunks_dropped += bad.len();
        }
        // Part files of sessions that are no longer open (a crash between the store write and the
        // removal).
        let open_ids: BTreeSet<&str> = open.iter().map(|r| r.id.as_str()).collect();
        let root = self.config.server.data_dir.join("uploads");
        if let Ok(entries) = std::fs::read_dir(&root) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                let Some(stem) = name.strip_suffix(".part") else {
                    continue;
                };
                if upload::is_id(stem) && !open_ids.contains(stem) {
                    let still_open = self
                        .store()
                        .read(|c| us::get(c, stem))?
                        .is_some_and(|r| r.state.is_open());
                    if !still_open {
                        dirs.remove_part(stem)
                            .map_err(disk_err(format!("removing {name}")))?;
                        out.orphans_removed += 1;
                    }
                }
            }
        }
        if out != Reconciled::default() {
            tracing::info!(?out, "upload sessions reconciled");
        }
        Ok(out)
    }
}
