//! In-process tests of resumable uploads (issue 3, item 1) through `api::app`: chunks in any order,
//! idempotent and conflicting retries, lengths and ranges, commit checks, limits and quota, roles and
//! ownership, cancel, expiry, and resuming after a restart (including a chunk corrupted on disk).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use vigil::api::{AppState, app};
use vigil::auth::{Jurisdiction, Principal, Role};
use vigil::{Config, Vigil};

mod common;

const CHUNK: usize = 1024;

struct Env {
    dir: tempfile::TempDir,
    config: Config,
    vigil: Option<Arc<Vigil>>,
    admin: String,
    op_a: String,
    op_b: String,
    viewer: String,
    analyst: String,
}

fn config(dir: &Path) -> Config {
    let mut c = common::test_config(dir);
    c.upload.chunk_bytes = CHUNK as u64;
    c.upload.max_bytes = 64 << 10;
    c.upload.quota_bytes = 100 << 10;
    c
}

fn env_with(edit: impl FnOnce(&mut Config)) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    edit(&mut config);
    let vigil = Vigil::open(config.clone()).unwrap();
    let cli = Principal::cli();
    let tq = || Jurisdiction::provinces(["08"]);
    let user = |name: &str, role| vigil.add_user(&cli, name, role, tq()).unwrap();
    let admin = vigil
        .add_user(&cli, "admin", Role::Admin, Jurisdiction::national())
        .unwrap();
    let op_a = user("op_a", Role::Operator);
    let op_b = user("op_b", Role::Operator);
    let viewer = user("viewer", Role::Viewer);
    let analyst = user("analyst", Role::Analyst);
    Env {
        dir,
        config,
        vigil: Some(Arc::new(vigil)),
        admin,
        op_a,
        op_b,
        viewer,
        analyst,
    }
}

fn env() -> Env {
    env_with(|_| {})
}

impl Env {
    fn vigil(&self) -> Arc<Vigil> {
        self.vigil.clone().unwrap()
    }

    /// Drops the service (closing the store) and opens it again on the same data dir.
    fn restart(&mut self) {
        let v = self.vigil.take().unwrap();
        assert_eq!(
            Arc::strong_count(&v),
            1,
            "a request still holds the service"
        );
        drop(v);
        let v = Vigil::open(self.config.clone()).unwrap();
        // What `vigil serve` does before it listens.
        v.reconcile_uploads().unwrap();
        self.vigil = Some(Arc::new(v));
    }

    fn part(&self, id: &str) -> PathBuf {
        self.dir.path().join("uploads").join(format!("{id}.part"))
    }

    fn complete(&self, id: &str, name: &str) -> PathBuf {
        self.dir
            .path()
            .join("uploads/complete")
            .join(format!("{id}-{name}"))
    }
}

struct Resp {
    status: StatusCode,
    body: Value,
    text: String,
}

async fn call(
    e: &Env,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<(&str, Vec<u8>)>,
) -> Resp {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    let req = match body {
        Some((ct, b)) => req
            .header(header::CONTENT_TYPE, ct)
            .body(Body::from(b))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let resp = app(AppState::new(e.vigil())).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).to_string();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp { status, body, text }
}

/// A deterministic file of `len` bytes.
fn file(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + 7) % 251) as u8 ^ seed)
        .collect()
}

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn chunk(data: &[u8], n: usize) -> Vec<u8> {
    data[n * CHUNK..((n + 1) * CHUNK).min(data.len())].to_vec()
}

async fn start(e: &Env, token: &str, name: &str, data: &[u8]) -> Resp {
    start_declared(e, token, name, data.len(), &sha(data)).await
}

async fn start_declared(e: &Env, token: &str, name: &str, size: usize, sha256: &str) -> Resp {
    let body =
        json!({ "filename": name, "size": size, "sha256": sha256, "content_type": "image/tiff" });
    call(
        e,
        "POST",
        "/v1/uploads",
        token,
        Some(("application/json", body.to_string().into_bytes())),
    )
    .await
}

async fn put(e: &Env, token: &str, id: &str, n: usize, bytes: Vec<u8>) -> Resp {
    call(
        e,
        "PUT",
        &format!("/v1/uploads/{id}/chunks/{n}"),
        token,
        Some(("application/octet-stream", bytes)),
    )
    .await
}

async fn status(e: &Env, token: &str, id: &str) -> Resp {
    call(e, "GET", &format!("/v1/uploads/{id}"), token, None).await
}

async fn commit(e: &Env, token: &str, id: &str) -> Resp {
    call(e, "POST", &format!("/v1/uploads/{id}/commit"), token, None).await
}

fn id_of(r: &Resp) -> String {
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().unwrap().to_string()
}

fn received(r: &Resp) -> Vec<u64> {
    r.body["received"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect()
}

async fn audit_actions(e: &Env, id: &str) -> Vec<String> {
    let r = call(
        e,
        "GET",
        &format!("/v1/audit?entity=upload&entity_id={id}"),
        &e.admin,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut actions: Vec<String> = r.body["entries"]
        .as_array()
        .or_else(|| r.body.as_array())
        .unwrap_or_else(|| panic!("audit list: {}", r.text))
        .iter()
        .map(|a| a["action"].as_str().unwrap().to_string())
        .collect();
    actions.reverse();
    actions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_in_any_order_then_commit_gives_the_identical_file() {
    let e = env();
    let data = file(3 * CHUNK + 500, 0);
    let r = start(&e, &e.op_a, "Mường Lống ortho.tif", &data).await;
    let id = id_of(&r);
    assert_eq!(r.body["chunk_size"], CHUNK);
    assert_eq!(r.body["chunks"], 4);
    assert_eq!(r.body["state"], "receiving");
    assert_eq!(r.body["received"], json!([]));
    assert!(r.body["expires_at"].is_string());
    assert!(e.part(&id).exists());

    for n in [3, 1] {
        let r = put(&e, &e.op_a, &id, n, chunk(&data, n)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["sha256"], sha(&chunk(&data, n)));
        assert_eq!(r.body["repeated"], false);
    }
    let s = status(&e, &e.op_a, &id).await;
    assert_eq!(received(&s), vec![1, 3]);
    assert_eq!(s.body["received_bytes"], CHUNK + 500);
    assert_eq!(
        s.body["missing"],
        json!([
            { "first": 0, "last": 0, "offset": 0, "length": CHUNK },
            { "first": 2, "last": 2, "offset": 2 * CHUNK, "length": CHUNK },
        ])
    );
    for n in [2, 0] {
        assert_eq!(
            put(&e, &e.op_a, &id, n, chunk(&data, n)).await.status,
            StatusCode::OK
        );
    }
    let s = status(&e, &e.op_a, &id).await;
    assert_eq!(s.body["state"], "complete");
    assert_eq!(s.body["missing"], json!([]));

    let c = commit(&e, &e.op_a, &id).await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    assert_eq!(c.body["state"], "committed");
    let dest = e.complete(&id, "Mường Lống ortho.tif");
    let stored = std::fs::read(&dest).unwrap();
    assert_eq!(sha(&stored), sha(&data));
    assert_eq!(stored, data);
    assert!(!e.part(&id).exists());

    // Committing again changes nothing; an identical late retry of a chunk is still fine.
    let again = commit(&e, &e.op_a, &id).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["state"], "committed");
    let late = put(&e, &e.op_a, &id, 2, chunk(&data, 2)).await;
    assert_eq!(late.status, StatusCode::OK, "{}", late.text);
    assert_eq!(late.body["repeated"], true);

    // The service hands the committed path to ingest.
    let who = e.vigil().authenticate(&e.op_a).unwrap();
    let committed = e.vigil().commit_upload(&who, &id).unwrap();
    assert_eq!(committed.path, dest);

    assert_eq!(
        audit_actions(&e, &id).await,
        ["create", "complete", "commit"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_lengths_and_indexes() {
    let e = env();
    let data = file(2 * CHUNK + 10, 1);
    let id = id_of(&start(&e, &e.op_a, "a.tif", &data).await);

    assert_eq!(
        put(&e, &e.op_a, &id, 0, chunk(&data, 0)).await.status,
        StatusCode::OK
    );
    let retry = put(&e, &e.op_a, &id, 0, chunk(&data, 0)).await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.text);
    assert_eq!(retry.body["repeated"], true);

    let mut other = chunk(&data, 0);
    other[5] ^= 0xff;
    let conflict = put(&e, &e.op_a, &id, 0, other).await;
    assert_eq!(conflict.status, StatusCode::CONFLICT, "{}", conflict.text);
    assert!(
        conflict.text.contains("already received"),
        "{}",
        conflict.text
    );
    // The conflicting bytes never reached the disk.
    let on_disk = std::fs::read(e.part(&id)).unwrap();
    assert_eq!(&on_disk[..CHUNK], &data[..CHUNK]);

    // Wrong lengths: short, long, and a full-size last chunk.
    let short = put(&e, &e.op_a, &id, 1, data[CHUNK..2 * CHUNK - 1].to_vec()).await;
    assert_eq!(
        short.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        short.text
    );
    assert!(short.text.contains("exactly 1024 bytes"), "{}", short.text);
    let long = put(&e, &e.op_a, &id, 1, data[CHUNK..2 * CHUNK + 1].to_vec()).await;
    assert_eq!(
        long.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        long.text
    );
    let last = put(&e, &e.op_a, &id, 2, vec![0; CHUNK]).await;
    assert_eq!(
        last.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        last.text
    );
    assert!(last.text.contains("exactly 10 bytes"), "{}", last.text);
    // Out of range and not a number.
    let out = put(&e, &e.op_a, &id, 3, vec![0; 10]).await;
    assert_eq!(out.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", out.text);
    assert!(out.text.contains("0–2"), "{}", out.text);
    let nan = call(
        &e,
        "PUT",
        &format!("/v1/uploads/{id}/chunks/x"),
        &e.op_a,
        Some(("application/octet-stream", vec![1])),
    )
    .await;
    assert_eq!(nan.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", nan.text);
    assert_eq!(
        nan.body["type"],
        "https://vigil.example/problems/invalid-input"
    );

    // None of that changed what was received.
    assert_eq!(received(&status(&e, &e.op_a, &id).await), vec![0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_names_missing_chunks_and_checks_the_whole_file() {
    let e = env();
    let data = file(5 * CHUNK, 2);
    let id = id_of(&start(&e, &e.op_a, "b.tif", &data).await);
    for n in [0, 2] {
        put(&e, &e.op_a, &id, n, chunk(&data, n)).await;
    }
    let c = commit(&e, &e.op_a, &id).await;
    assert_eq!(c.status, StatusCode::CONFLICT, "{}", c.text);
    assert!(c.text.contains("1, 3–4"), "{}", c.text);
    assert_eq!(c.body["missing"][0]["first"], 1);
    assert_eq!(c.body["missing"][1]["first"], 3);
    assert_eq!(c.body["missing"][1]["last"], 4);
    assert_eq!(status(&e, &e.op_a, &id).await.body["state"], "receiving");

    // Declared checksum that the bytes do not match.
    let wrong = sha(b"something else");
    let id2 = id_of(&start_declared(&e, &e.op_a, "c.tif", data.len(), &wrong).await);
    for n in 0..5 {
        assert_eq!(
            put(&e, &e.op_a, &id2, n, chunk(&data, n)).await.status,
            StatusCode::OK
        );
    }
    let c = commit(&e, &e.op_a, &id2).await;
    assert_eq!(c.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", c.text);
    assert_eq!(c.body["checksum"]["expected"], wrong);
    assert_eq!(c.body["checksum"]["actual"], sha(&data));
    let s = status(&e, &e.op_a, &id2).await;
    assert_eq!(s.body["state"], "failed");
    assert!(s.body["failure"].as_str().unwrap().contains(&wrong));
    assert!(!e.part(&id2).exists());
    assert!(!e.complete(&id2, "c.tif").exists());
    assert_eq!(commit(&e, &e.op_a, &id2).await.status, StatusCode::CONFLICT);
    assert_eq!(
        put(&e, &e.op_a, &id2, 0, chunk(&data, 0)).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        audit_actions(&e, &id2).await,
        ["create", "complete", "fail"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_limit_and_quota_answer_413_by_name() {
    let e = env();
    let too_big = start_declared(&e, &e.op_a, "big.tif", (64 << 10) + 1, &"a".repeat(64)).await;
    assert_eq!(
        too_big.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        too_big.text
    );
    assert_eq!(too_big.body["limit"]["name"], "upload.max_bytes");

    // Quota 100 KiB: one 60 KiB upload fits, a second does not, until the first is cancelled.
    let first = id_of(&start_declared(&e, &e.op_a, "one.tif", 60 << 10, &"a".repeat(64)).await);
    let second = start_declared(&e, &e.op_a, "two.tif", 60 << 10, &"b".repeat(64)).await;
    assert_eq!(
        second.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        second.text
    );
    assert_eq!(second.body["limit"]["name"], "upload.quota_bytes");
    assert!(second.text.contains("quota"), "{}", second.text);
    // The quota is per user.
    let other = start_declared(&e, &e.op_b, "two.tif", 60 << 10, &"b".repeat(64)).await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.text);
    let del = call(&e, "DELETE", &format!("/v1/uploads/{first}"), &e.op_a, None).await;
    assert_eq!(del.status, StatusCode::OK, "{}", del.text);
    let retry = start_declared(&e, &e.op_a, "two.tif", 60 << 10, &"b".repeat(64)).await;
    assert_eq!(retry.status, StatusCode::CREATED, "{}", retry.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_declarations_are_refused_by_field() {
    let e = env();
    for (name, size, hash, field) in [
        ("../etc/passwd", 10, "a".repeat(64), "filename"),
        ("dir/x.tif", 10, "a".repeat(64), "filename"),
        (&*"x".repeat(201), 10, "a".repeat(64), "filename"),
        ("x.tif", 10, "abc".to_string(), "sha256"),
        ("x.tif", 0, "a".repeat(64), "size"),
    ] {
        let r = start_declared(&e, &e.op_a, name, size, &hash).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: {}",
            r.text
        );
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.text);
    }
    let unknown = call(
        &e,
        "POST",
        "/v1/uploads",
        &e.op_a,
        Some((
            "application/json",
            br#"{"filename":"a","size":1,"sha256":"x","colour":1}"#.to_vec(),
        )),
    )
    .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.text
    );
    assert!(unknown.text.contains("colour"), "{}", unknown.text);
    // Nothing was created on disk.
    let parts = std::fs::read_dir(e.dir.path().join("uploads"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(parts, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_and_ownership() {
    let e = env();
    let data = file(CHUNK + 1, 3);
    for token in [&e.viewer, &e.analyst] {
        let r = start(&e, token, "x.tif", &data).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    }
    let id = id_of(&start(&e, &e.op_a, "x.tif", &data).await);
    // Another operator cannot see, feed, commit or cancel it.
    assert_eq!(status(&e, &e.op_b, &id).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        put(&e, &e.op_b, &id, 0, chunk(&data, 0)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(commit(&e, &e.op_b, &id).await.status, StatusCode::NOT_FOUND);
    let del = call(&e, "DELETE", &format!("/v1/uploads/{id}"), &e.op_b, None).await;
    assert_eq!(del.status, StatusCode::NOT_FOUND);
    // Viewers are refused by role whatever the id.
    assert_eq!(
        status(&e, &e.viewer, &id).await.status,
        StatusCode::FORBIDDEN
    );
    // Unknown and malformed ids are simply not found.
    assert_eq!(
        status(&e, &e.op_a, &"0".repeat(32)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(&e, &e.op_a, "..%2F..").await.status,
        StatusCode::NOT_FOUND
    );
    // Admins see everything.
    let s = status(&e, &e.admin, &id).await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.text);
    assert_eq!(s.body["owner"], "op_a");
    assert_eq!(received(&status(&e, &e.op_a, &id).await), Vec::<u64>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_removes_the_part_file() {
    let e = env();
    let data = file(2 * CHUNK, 4);
    let id = id_of(&start(&e, &e.op_a, "x.tif", &data).await);
    put(&e, &e.op_a, &id, 0, chunk(&data, 0)).await;
    assert!(e.part(&id).exists());
    let del = call(&e, "DELETE", &format!("/v1/uploads/{id}"), &e.op_a, None).await;
    assert_eq!(del.status, StatusCode::OK, "{}", del.text);
    assert_eq!(del.body["state"], "cancelled");
    assert!(!e.part(&id).exists());
    assert_eq!(
        put(&e, &e.op_a, &id, 1, chunk(&data, 1)).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(commit(&e, &e.op_a, &id).await.status, StatusCode::CONFLICT);
    let again = call(&e, "DELETE", &format!("/v1/uploads/{id}"), &e.op_a, None).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(audit_actions(&e, &id).await, ["create", "cancel"]);

    // A committed upload no survey was made from can be discarded: its file goes, and it stops
    // counting against the quota.
    let small = file(10, 5);
    let id2 = id_of(&start(&e, &e.op_a, "y.tif", &small).await);
    put(&e, &e.op_a, &id2, 0, small.clone()).await;
    assert_eq!(commit(&e, &e.op_a, &id2).await.status, StatusCode::OK);
    assert!(e.complete(&id2, "y.tif").exists());
    let del = call(&e, "DELETE", &format!("/v1/uploads/{id2}"), &e.op_a, None).await;
    assert_eq!(del.status, StatusCode::OK, "{}", del.text);
    assert_eq!(del.body["state"], "cancelled");
    assert!(!e.complete(&id2, "y.tif").exists());
    assert_eq!(
        audit_actions(&e, &id2).await,
        ["create", "complete", "commit", "discard"]
    );

    // One that a survey is being made from cannot. (It must be an image: since issue 13 a file
    // that is none is refused when it is queued.)
    let tiny = tiny_geotiff();
    let id3 = id_of(&start(&e, &e.op_a, "z.tif", &tiny).await);
    for n in 0..tiny.len().div_ceil(CHUNK) {
        put(&e, &e.op_a, &id3, n, chunk(&tiny, n)).await;
    }
    assert_eq!(commit(&e, &e.op_a, &id3).await.status, StatusCode::OK);
    let s = call(
        &e,
        "POST",
        "/v1/surveys",
        &e.op_a,
        Some((
            "application/json",
            serde_json::json!({ "upload": id3 })
                .to_string()
                .into_bytes(),
        )),
    )
    .await;
    assert_eq!(s.status, StatusCode::ACCEPTED, "{}", s.text);
    let del = call(&e, "DELETE", &format!("/v1/uploads/{id3}"), &e.op_a, None).await;
    assert_eq!(del.status, StatusCode::CONFLICT, "{}", del.text);
    assert!(del.text.contains("survey"), "{}", del.text);
    assert!(e.complete(&id3, "z.tif").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_is_cancelled() {
    // With no time to live, the session expires the moment it starts (expiry is `now >= expires_at`).
    let e = env_with(|c| c.upload.expire_hours = 0);
    let data = file(2 * CHUNK, 6);
    let id = id_of(&start(&e, &e.op_a, "x.tif", &data).await);
    let r = put(&e, &e.op_a, &id, 0, chunk(&data, 0)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.text.contains("expired"), "{}", r.text);
    assert_eq!(status(&e, &e.op_a, &id).await.body["state"], "cancelled");
    assert!(!e.part(&id).exists());
    assert_eq!(audit_actions(&e, &id).await, ["create", "expire"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn received_chunks_survive_a_restart_and_the_upload_completes() {
    let mut e = env();
    let data = file(4 * CHUNK + 3, 7);
    let id = id_of(&start(&e, &e.op_a, "resume.tif", &data).await);
    for n in [0, 2, 4] {
        assert_eq!(
            put(&e, &e.op_a, &id, n, chunk(&data, n)).await.status,
            StatusCode::OK
        );
    }
    e.restart();
    let s = status(&e, &e.op_a, &id).await;
    assert_eq!(received(&s), vec![0, 2, 4], "{}", s.text);
    assert_eq!(s.body["state"], "receiving");
    // A retry of a chunk received before the restart is still recognised.
    assert_eq!(
        put(&e, &e.op_a, &id, 2, chunk(&data, 2)).await.body["repeated"],
        true
    );
    for n in [3, 1] {
        assert_eq!(
            put(&e, &e.op_a, &id, n, chunk(&data, n)).await.status,
            StatusCode::OK
        );
    }
    let c = commit(&e, &e.op_a, &id).await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    assert_eq!(std::fs::read(e.complete(&id, "resume.tif")).unwrap(), data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_damaged_on_disk_is_missing_again_after_a_restart() {
    let mut e = env();
    let data = file(3 * CHUNK, 8);
    let id = id_of(&start(&e, &e.op_a, "damaged.tif", &data).await);
    for n in 0..3 {
        put(&e, &e.op_a, &id, n, chunk(&data, n)).await;
    }
    assert_eq!(status(&e, &e.op_a, &id).await.body["state"], "complete");
    // Damage chunk 1 behind the service's back (a torn write, a bad sector).
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(e.part(&id))
            .unwrap();
        f.write_all_at(b"XXXX", CHUNK as u64 + 100).unwrap();
    }
    e.restart();
    let s = status(&e, &e.op_a, &id).await;
    assert_eq!(received(&s), vec![0, 2], "{}", s.text);
    assert_eq!(s.body["state"], "receiving");
    assert_eq!(
        put(&e, &e.op_a, &id, 1, chunk(&data, 1)).await.status,
        StatusCode::OK
    );
    let c = commit(&e, &e.op_a, &id).await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    assert_eq!(std::fs::read(e.complete(&id, "damaged.tif")).unwrap(), data);
    assert_eq!(
        audit_actions(&e, &id).await,
        ["create", "complete", "reconcile", "complete", "commit"]
    );

    // A part file deleted by hand comes back empty: every chunk is missing again.
    let small = file(2 * CHUNK, 9);
    let id2 = id_of(&start(&e, &e.op_a, "gone.tif", &small).await);
    put(&e, &e.op_a, &id2, 0, chunk(&small, 0)).await;
    std::fs::remove_file(e.part(&id2)).unwrap();
    e.restart();
    assert!(e.part(&id2).exists());
    assert_eq!(
        received(&status(&e, &e.op_a, &id2).await),
        Vec::<u64>::new()
    );
}

/// A 16 × 16 RGB GeoTIFF at 5 cm in UTM 48N (inside province 08): the smallest file ingest takes.
fn tiny_geotiff() -> Vec<u8> {
    use gdal::raster::ColorInterpretation;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.tif");
    {
        let driver = gdal::DriverManager::get_driver_by_name("GTiff").unwrap();
        let mut ds = driver
            .create_with_band_type::<u8, _>(&path, 16, 16, 3)
            .unwrap();
        ds.set_geo_transform(&[520_000.0, 0.05, 0.0, 2_435_000.0, 0.0, -0.05])
            .unwrap();
        ds.set_spatial_ref(&gdal::spatial_ref::SpatialRef::from_epsg(32648).unwrap())
            .unwrap();
        for (i, ci) in [
            ColorInterpretation::RedBand,
            ColorInterpretation::GreenBand,
            ColorInterpretation::BlueBand,
        ]
        .into_iter()
        .enumerate()
        {
            let mut b = ds.rasterband(i + 1).unwrap();
            b.set_color_interpretation(ci).unwrap();
            let mut buf = gdal::raster::Buffer::new((16, 16), vec![90u8 + 30 * i as u8; 256]);
            b.write((0, 0), (16, 16), &mut buf).unwrap();
        }
    }
    std::fs::read(&path).unwrap()
}
