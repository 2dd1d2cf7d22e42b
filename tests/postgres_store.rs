//! The store on PostgreSQL 15 + PostGIS 3 (issue 17), on a throwaway cluster of its own:
//! the schema and its append-only rules, the refusal of a newer schema, and `vigil migrate`
//! copying an embedded installation — every table, history and audit — into an empty database,
//! verified, then served from there with the same tokens, ids and decisions. (The suites that
//! run on both engines are run by `make test` with `VIGIL_TEST_PG_URL`; see tests/common.)

mod common;
#[path = "common/postgres.rs"]
mod postgres_cluster;

use std::process::Command;

use common::{DataDir, TestServer};
use postgres_cluster::Postgres;
use serde_json::{Value, json};
use vigil::store::{Db, Store, sql::PgConn};

#[test]
fn the_schema_keeps_history_append_only_and_refuses_a_newer_one() {
    let pg = Postgres::start();
    let url = pg.database("schema");
    // Twice: the second start finds every migration applied.
    drop(Store::open_postgres(&url, 1).expect("first open"));
    drop(Store::open_postgres(&url, 1).expect("second open"));
    let c = PgConn::connect(&url).unwrap();
    let db = Db::Pg(&c);
    db.execute(
        "INSERT INTO audit_log (at, actor, action, entity) VALUES ('t', 'a', 'x', 'y')",
        (),
    )
    .unwrap();
    for sql in [
        "UPDATE audit_log SET actor = 'b'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let e = db.execute(sql, ()).unwrap_err();
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }
    let n: i64 = db
        .query_row("SELECT count(*) FROM audit_log", (), |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    // PostGIS geometry is kept beside the GeoJSON, for other GIS tools reading the database.
    db.execute(
        "INSERT INTO hotspots (lon, lat, name, kind, status, reported_on, status_since, created_at, updated_at) \
         VALUES (105.25, 22.5, 'a', 'khac', 'active', '2026-01-01', '2026-01-01', 't', 't')",
        (),
    )
    .unwrap();
    let wkt: String = db
        .query_row("SELECT ST_AsText(geom) FROM hotspots", (), |r| r.get(0))
        .unwrap();
    assert_eq!(wkt, "POINT(105.25 22.5)");
    db.execute("UPDATE vigil_schema SET version = 99", ())
        .unwrap();
    // (The cluster trusts loopback, so any password gets in; it must not get into messages.)
    let with_password = url.replace("postgres@", "postgres:s3cret@");
    let e = Store::open_postgres(&with_password, 1)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("schema version 99") && e.contains("upgrade Vigil"),
        "{e}"
    );
    assert!(!e.contains("s3cret") && e.contains("postgres:***@"), "{e}");
}

fn count(data: &DataDir, table: &str) -> i64 {
    let store = data.store();
    store
        .db()
        .query_row(&format!("SELECT count(*) FROM {table}"), (), |r| r.get(0))
        .unwrap()
}

fn hotspot(name: &str, reported_on: &str) -> Value {
    json!({ "type": "Feature", "geometry": { "type": "Point", "coordinates": [105.2, 22.0] },
            "properties": { "name": name, "kind": "khac", "reported_on": reported_on } })
}

fn migrate(data: &DataDir, url: &str) -> std::process::Output {
    Command::new(common::VIGIL)
        .args(["migrate", "--data-dir", data.path_str()])
        .env("VIGIL_DATABASE_URL", url)
        .env("VIGIL_LOG", "warn")
        .output()
        .expect("run vigil migrate")
}

#[test]
fn migrate_copies_an_embedded_installation_and_it_serves_from_postgres() {
    let pg = Postgres::start();
    let url = pg.database("migrated");
    let dir = tempfile::tempdir().unwrap();
    let tif = common::review_scene(dir.path());

    // An embedded installation with a season's worth of everything.
    let data = DataDir::embedded();
    data.import_fixture_boundaries();
    data.seed_hotspots(300);
    data.run_ok(
        &["ingest"],
        &[&tif, "--acquired-at", "2026-01-10T08:00:00Z"],
    );
    let mut server = TestServer::serve(data);
    let admin = server.add_user("admin", "admin", &[], true);
    let reviewer = server.add_user("bp08", "reviewer", &["08"], false);
    let q = server
        .get("/v1/review/queue?limit=100", Some(&reviewer))
        .json();
    let items = q["items"].as_array().unwrap().clone();
    assert!(items.len() >= 2, "{q}");
    let first = items[0]["id"].as_i64().unwrap();
    let second = items[1]["id"].as_i64().unwrap();
    for (id, body) in [
        (
            first,
            json!({ "decision": format!("confirmed_{}", items[0]["class"].as_str().unwrap()), "version": 1 }),
        ),
        (
            second,
            json!({ "decision": "false_positive", "version": 1, "reason": "lookalike_crop" }),
        ),
    ] {
        let r = server.send_json(
            "POST",
            &format!("/v1/flags/{id}/decisions"),
            Some(&reviewer),
            &body,
        );
        assert_eq!(r.status, 201, "{}", r.describe());
    }
    let created = server.send_json(
        "POST",
        "/collections/hotspots/items",
        Some(&admin),
        &hotspot("đã báo", "2026-01-20"),
    );
    assert_eq!(created.status, 201, "{}", created.describe());
    let hid = created.json()["id"].as_i64().unwrap();
    let r = server.send_json(
        "POST",
        &format!("/v1/hotspots/{hid}/transitions"),
        Some(&admin),
        &json!({ "to": "verifying", "on": "2026-02-01", "note": "đang xác minh" }),
    );
    assert_eq!(r.status, 200, "{}", r.describe());
    server.terminate(std::time::Duration::from_secs(10));

    let tables = vigil::store::copy::TABLES;
    let before: Vec<(&str, i64)> = tables
        .iter()
        .map(|(t, _)| (*t, count(&server.data, t)))
        .collect();
    assert!(
        before.iter().all(|(t, n)| *n > 0
            || matches!(
                *t,
                "uploads"
                    | "upload_chunks"
                    | "evidence"
                    | "commune_drug_free"
                    | "login_failures"
                    | "idempotency_keys"
            )),
        "{before:?}"
    );

    let out = migrate(&server.data, &url);
    assert!(out.status.success(), "{}", common::describe_output(&out));
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (table, n) in &before {
        let line = lines
            .iter()
            .find(|l| l["table"] == *table)
            .unwrap_or_else(|| panic!("no line for {table}: {lines:?}"));
        assert_eq!(line["rows"].as_i64(), Some(*n), "{table}: {line}");
        assert_eq!(line["sha256"].as_str().map(str::len), Some(64), "{line}");
    }
    let total: i64 = before.iter().map(|(_, n)| n).sum();
    assert_eq!(lines.last().unwrap()["rows_verified"].as_i64(), Some(total));

    // A second copy into the same database is refused by table, and changes nothing.
    let again = migrate(&server.data, &url);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already holds"),
        "{}",
        common::describe_output(&again)
    );

    // Served from PostgreSQL: the same token, hotspots, history, decisions, audit.
    std::fs::write(
        server.data.path().join("vigil.toml"),
        format!("[store]\ndatabase_url = {url:?}\n"),
    )
    .unwrap();
    std::fs::remove_file(server.data.path().join("vigil.sqlite")).unwrap();
    server.restart();
    let items = server
        .get("/collections/hotspots/items?limit=1", Some(&admin))
        .json();
    assert_eq!(items["numberMatched"], 301, "{items}");
    let h = server
        .get(&format!("/v1/hotspots/{hid}/history"), Some(&admin))
        .json();
    assert_eq!(h["events"].as_array().map(Vec::len), Some(2), "{h}");
    let f = server
        .get(&format!("/v1/flags/{second}"), Some(&reviewer))
        .json();
    assert_eq!(f["status"], "false_positive", "{f}");
    // New rows continue after the copied ids.
    let created = server.send_json(
        "POST",
        "/collections/hotspots/items",
        Some(&admin),
        &hotspot("mới", "2026-03-01"),
    );
    assert_eq!(created.status, 201, "{}", created.describe());
    assert_eq!(created.json()["id"], hid + 1, "{}", created.describe());
}

/// A data dir whose store is the PostgreSQL database at `url`.
fn node_dir(url: &str) -> DataDir {
    let data = DataDir::embedded();
    std::fs::write(
        data.path().join("vigil.toml"),
        format!("[store]\ndatabase_url = {url:?}\n"),
    )
    .unwrap();
    data
}

/// Polls `node`'s hotspot items until `pred` holds for the hotspot `id` (its feature, or `None`
/// when absent); returns how long that took.
fn until_seen(
    node: &TestServer,
    token: &str,
    id: i64,
    pred: impl Fn(Option<&Value>) -> bool,
) -> std::time::Duration {
    let t0 = std::time::Instant::now();
    loop {
        let items = node
            .get("/collections/hotspots/items?limit=10000", Some(token))
            .json();
        let f = items["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id);
        if pred(f) {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(10),
            "node never saw the change to hotspot {id}: {f:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn two_nodes_on_one_database_see_each_others_writes() {
    let pg = Postgres::start();
    let url = pg.database("nodes");
    let a_dir = node_dir(&url);
    a_dir.import_fixture_boundaries();
    let admin = a_dir.add_user("admin", "admin", &[], true);
    let viewer = a_dir.add_user("viewer", "viewer", &[], true);
    let a = TestServer::serve(a_dir);
    let b = TestServer::serve(node_dir(&url));

    // Created on A, listed by B (the token, kept in the store, works on both).
    let created = a.send_json(
        "POST",
        "/collections/hotspots/items",
        Some(&admin),
        &hotspot("tạo ở nút A", "2026-03-01"),
    );
    assert_eq!(created.status, 201, "{}", created.describe());
    let id = created.json()["id"].as_i64().unwrap();
    let seen = until_seen(&b, &admin, id, |f| f.is_some());
    eprintln!("node B listed node A's new hotspot after {seen:?}");
    // Renamed on B while A holds its rendering: A drops it and renders the new name.
    until_seen(&a, &admin, id, |f| f.is_some());
    let renamed = b.send_json(
        "PATCH",
        &format!("/collections/hotspots/items/{id}"),
        Some(&admin),
        &json!({ "properties": { "name": "đổi tên ở nút B" } }),
    );
    assert_eq!(renamed.status, 200, "{}", renamed.describe());
    let seen = until_seen(&a, &admin, id, |f| {
        f.is_some_and(|f| f["properties"]["name"] == "đổi tên ở nút B")
    });
    eprintln!("node A rendered node B's new name after {seen:?}");
    // Moved on B, seen at its new place by A (and no longer at the old one).
    let moved = b.send_json(
        "PATCH",
        &format!("/collections/hotspots/items/{id}"),
        Some(&admin),
        &json!({ "geometry": { "type": "Point", "coordinates": [105.3, 22.1] } }),
    );
    assert_eq!(moved.status, 200, "{}", moved.describe());
    let seen = until_seen(&a, &admin, id, |f| {
        f.is_some_and(|f| f["geometry"]["coordinates"] == json!([105.3, 22.1]))
    });
    eprintln!("node A saw node B's move after {seen:?}");
    let near_old = a
        .get(
            "/collections/hotspots/items?bbox=105.19,21.99,105.21,22.01",
            Some(&admin),
        )
        .json();
    assert_eq!(
        near_old["numberMatched"], 0,
        "the old place is empty: {near_old}"
    );
    // Deleted on A, gone from B.
    let r = a.request(
        "DELETE",
        &format!("/collections/hotspots/items/{id}"),
        Some(&admin),
        &[],
        None,
    );
    assert!(r.status == 204 || r.status == 200, "{}", r.describe());
    let seen = until_seen(&b, &admin, id, |f| f.is_none());
    eprintln!("node B dropped the deleted hotspot after {seen:?}");

    // A commune imported through B's data dir (the CLI, another process) is in A's boundary
    // index.
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("commune.geojson");
    let commune = json!({ "type": "FeatureCollection", "features": [{
        "type": "Feature",
        "properties": { "code": "02299", "name": "Xã Mới Nhập", "province_code": "08" },
        "geometry": { "type": "Polygon", "coordinates": [[
            [105.5, 22.3], [105.6, 22.3], [105.6, 22.4], [105.5, 22.4], [105.5, 22.3]
        ]] }
    }]});
    std::fs::write(&file, commune.to_string()).unwrap();
    b.data.run_ok(
        &["import", "boundaries"],
        &[file.to_str().unwrap(), "--level", "commune"],
    );
    let t0 = std::time::Instant::now();
    loop {
        let items = a
            .get("/collections/communes/items?limit=1000", Some(&admin))
            .json();
        let codes: Vec<&str> = items["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["properties"]["code"].as_str())
            .collect();
        if codes.contains(&"02299") {
            break;
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(10),
            "node A never saw the commune imported through B: {codes:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    eprintln!("node A saw B's boundary import after {:?}", t0.elapsed());

    // A user disabled through B's data dir: A refuses their token within a second, not after
    // its token cache's 30 s.
    assert_eq!(a.get("/v1/me", Some(&viewer)).status, 200);
    b.data.run_ok(&["user", "disable"], &["--name", "viewer"]);
    let t0 = std::time::Instant::now();
    while a.get("/v1/me", Some(&viewer)).status != 401 {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(5),
            "node A still accepts a disabled user's token"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    eprintln!("node A refused the disabled user after {:?}", t0.elapsed());
}

/// The change feed is pruned (rows older than `service::changes::KEEP`); a node that had not
/// applied the pruned rows — stopped in a debugger, its connection down for minutes — cannot
/// replay them and reloads its hotspot index whole instead.
#[test]
fn a_node_behind_the_pruned_feed_reloads_its_hotspot_index() {
    let pg = Postgres::start();
    let url = pg.database("prune");
    let data = node_dir(&url);
    data.import_fixture_boundaries();
    let mut config = vigil::config::Config::for_tests(data.path());
    config.store.database_url = Some(url.clone());
    let node = vigil::service::Vigil::open(config).unwrap();
    assert_eq!(node.hotspot_count(), 0);
    // Another process writes 40 hotspots; this node has not looked at the feed yet.
    data.seed_hotspots(40);
    let feed = |db: &Db<'_>| -> Result<i64, vigil::store::StoreError> {
        Ok(db.query_row("SELECT count(*) FROM hotspot_changes", (), |r| r.get(0))?)
    };
    assert_eq!(node.store().read(feed).unwrap(), 40);
    // Pruned with nothing kept: the rows this node needs are gone, the horizon says so.
    let gone = node
        .store()
        .write(|tx| vigil::store::hotspots::prune_changes(tx, 0))
        .unwrap();
    assert_eq!(gone, 40);
    assert_eq!(node.store().read(feed).unwrap(), 0);
    let horizon = node
        .store()
        .read(vigil::store::hotspots::change_horizon)
        .unwrap();
    assert!(horizon >= 40, "horizon {horizon}");
    node.apply_changes().unwrap();
    assert_eq!(
        node.hotspot_count(),
        40,
        "the node did not reload the hotspots it could no longer replay"
    );
    // Later changes are replayed as before.
    data.seed_hotspots(5);
    node.apply_changes().unwrap();
    assert_eq!(node.hotspot_count(), 45);
}

/// TLS to PostgreSQL by the URL's `sslmode`, in libpq's words: the session is encrypted when
/// asked, the server's certificate is checked against `sslrootcert` for `verify-full`, and a
/// certificate from another CA is refused by name.
#[test]
fn the_store_speaks_tls_as_the_url_s_sslmode_asks() {
    let pg = Postgres::start_tls();
    let url = pg.database("tls");
    let ca = pg.dir().join("ca.pem");
    let encrypted = |url: &str| -> bool {
        let store = Store::open_postgres(url, 1)
            .unwrap_or_else(|e| panic!("{}: {e}", vigil::store::sql::redact_url(url)));
        store
            .read(|db: &Db<'_>| -> Result<bool, vigil::store::StoreError> {
                Ok(db.query_row(
                    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                    (),
                    |r| r.get(0),
                )?)
            })
            .unwrap()
    };
    let host = url.replace("127.0.0.1", "localhost");
    assert!(!encrypted(&format!("{url}?sslmode=disable")));
    assert!(
        encrypted(&url),
        "sslmode=prefer (the default) did not use TLS"
    );
    assert!(encrypted(&format!("{url}?sslmode=require")));
    assert!(encrypted(&format!(
        "{host}?sslmode=verify-full&sslrootcert={}",
        ca.display()
    )));
    // Another CA's certificate: refused, saying why.
    let other = tempfile::tempdir().unwrap();
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "k.pem",
        ])
        .args(["-out", "other.pem", "-days", "1", "-subj", "/CN=other CA"])
        .current_dir(other.path())
        .output()
        .unwrap();
    assert!(made.status.success());
    let refused = Store::open_postgres(
        &format!(
            "{host}?sslmode=verify-full&sslrootcert={}",
            other.path().join("other.pem").display()
        ),
        1,
    )
    .map(|_| ())
    .expect_err("a server certificate of another CA was accepted");
    let said = refused.to_string();
    assert!(
        said.contains("cannot connect") && said.to_lowercase().contains("certificate"),
        "{said}"
    );
}
