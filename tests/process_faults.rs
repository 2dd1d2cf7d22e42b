//! The real `vigil` binary under process faults, and who may do what over real HTTP.
//!
//! - An import killed with SIGKILL part-way leaves all rows or none, and a store that opens.
//! - `vigil serve` exits 0 on SIGTERM; a restart keeps what was written.
//! - An import with one bad row imports nothing and names the row.
//! - The role × action × jurisdiction matrix, as a table, against a running server.

mod common;

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use common::{
    BAC_NINH, DataDir, TUYEN_QUANG, TUYEN_QUANG_BOX, TestServer, describe_output, hotspot_feature,
};
use serde_json::{Value, json};

/// Writes a valid hotspot CSV of `rows` rows, every point inside fixture province 08.
fn write_hotspot_csv(path: &Path, rows: usize) {
    let file = std::fs::File::create(path).expect("create csv");
    let mut w = BufWriter::new(file);
    writeln!(
        w,
        "lon,lat,name,kind,status,address,source,notes,reported_on"
    )
    .expect("write csv");
    let kinds = [
        "diem_ban_le",
        "diem_su_dung",
        "tu_diem_su_dung",
        "diem_nong",
        "boong_ke",
        "khac",
    ];
    let [minx, miny, maxx, maxy] = TUYEN_QUANG_BOX;
    for i in 0..rows {
        // A low-discrepancy spread strictly inside the province.
        let fx = (i as f64 * 0.618_033_988_75).fract();
        let fy = (i as f64 * 0.754_877_666_25).fract();
        let lon = minx + 0.01 + fx * (maxx - minx - 0.02);
        let lat = miny + 0.01 + fy * (maxy - miny - 0.02);
        let day = 1 + i % 28;
        writeln!(
            w,
            "{lon:.6},{lat:.6},Đ{i},{},reported,,,,2026-02-{day:02}",
            kinds[i % kinds.len()]
        )
        .expect("write csv");
    }
    w.flush().expect("flush csv");
}

/// The calibration file grows until its import takes at least this long, so that a kill can land
/// in each of its phases (reading, validating, writing, committing).
const MIN_IMPORT_TIME: Duration = Duration::from_millis(1500);
/// Kept below the importer's 2,000,000-row and 64 MiB limits.
const MAX_ROWS: usize = 1_000_000;

/// Bytes of every file under `dir` (the store's database, WAL and journal files).
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0, // a file removed while we looked (a WAL checkpointed away)
        })
        .sum()
}

/// A completed import of the big file: how many rows, how long it took, and how many bytes it
/// added to the data directory.
struct Calibration {
    rows: usize,
    took: Duration,
    grew: u64,
}

/// Finds a file size whose import takes at least [`MIN_IMPORT_TIME`] (or [`MAX_ROWS`] rows) by
/// importing it for real, and checks that the completed import holds every row.
fn calibrate_big_import(work: &Path) -> Calibration {
    let mut rows = 50_000;
    loop {
        let csv = work.join(format!("hotspots-{rows}.csv"));
        write_hotspot_csv(&csv, rows);
        let data = DataDir::with_boundaries();
        let admin = data.add_user("admin", "admin", &[], true);
        let before = dir_bytes(data.path());
        let t0 = Instant::now();
        let out = data.import_hotspots(&csv, &[]);
        let took = t0.elapsed();
        assert!(
            out.status.success(),
            "importing {rows} valid rows failed\n{}",
            describe_output(&out)
        );
        let grew = dir_bytes(data.path()).saturating_sub(before);
        eprintln!(
            "calibration: {rows} rows imported in {took:?}; the data dir grew by {grew} bytes"
        );
        if took >= MIN_IMPORT_TIME || rows >= MAX_ROWS {
            let server = TestServer::serve(data);
            assert_eq!(
                server.hotspots_matched(&admin, ""),
                rows as u64,
                "a completed import holds every row"
            );
            return Calibration { rows, took, grew };
        }
        let _ = std::fs::remove_file(&csv);
        rows = (rows * 3).min(MAX_ROWS);
    }
}

/// When to SIGKILL the import.
#[derive(Debug, Clone, Copy)]
enum KillWhen {
    /// After this fraction of the calibrated import time (reading and validating the file).
    Elapsed(f64),
    /// Once the data directory has grown by this fraction of what a full import adds: the store
    /// is being written, so the kill lands inside the write transaction or its commit.
    Written(f64),
}

#[test]
fn import_killed_midway_leaves_all_rows_or_none_and_the_store_opens() {
    let work = tempfile::tempdir().expect("tempdir");
    let cal = calibrate_big_import(work.path());
    let csv = work.path().join(format!("hotspots-{}.csv", cal.rows));

    let plan = [
        KillWhen::Elapsed(0.3),
        KillWhen::Written(0.02),
        KillWhen::Written(0.3),
        KillWhen::Written(0.7),
        KillWhen::Elapsed(0.9),
    ];
    for when in plan {
        let data = DataDir::with_boundaries();
        let admin = data.add_user("admin", "admin", &[], true);
        let baseline = dir_bytes(data.path());
        let mut child = data.spawn(&["import", "hotspots"], &[common::path_str(&csv)]);
        let t0 = Instant::now();
        let finished = loop {
            if let Some(status) = child.try_wait().expect("wait for import") {
                break Some(status);
            }
            let due = match when {
                KillWhen::Elapsed(f) => t0.elapsed() >= cal.took.mul_f64(f),
                KillWhen::Written(f) => {
                    dir_bytes(data.path()).saturating_sub(baseline) as f64
                        >= (cal.grew as f64 * f).max(65_536.0)
                }
            };
            if due {
                break None;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let outcome = match finished {
            Some(status) => format!("finished on its own ({status}) after {:?}", t0.elapsed()),
            None => {
                child.kill().expect("SIGKILL the import"); // SIGKILL on Unix
                let status = child.wait().expect("reap import");
                format!("killed after {:?} ({status})", t0.elapsed())
            }
        };

        let server = TestServer::serve(data);
        let n = server.hotspots_matched(&admin, "");
        eprintln!(
            "kill {when:?}: import of {} rows {outcome}; the store holds {n} hotspots",
            cal.rows
        );
        assert!(
            n == 0 || n == cal.rows as u64,
            "import of {} rows, kill {when:?}: {outcome}; the store holds {n} hotspots, a partial import",
            cal.rows
        );
        // The store is writable after the crash.
        let created = server.send_json(
            "POST",
            "/collections/hotspots/items",
            Some(&admin),
            &hotspot_feature("after crash", 105.0, 22.0),
        );
        assert_eq!(
            created.status,
            201,
            "POST after a killed import\n{}",
            created.describe()
        );
        assert_eq!(server.hotspots_matched(&admin, ""), n + 1);
    }
}

#[test]
fn serve_exits_zero_within_10s_on_sigterm_even_with_an_idle_keep_alive_connection() {
    let mut server = TestServer::start();
    let admin = server.add_user("admin", "admin", &[], true);
    let port = server.port;
    assert_eq!(
        server
            .get("/collections/hotspots/items", Some(&admin))
            .status,
        200
    );

    // A browser keeps its connection open after a response; shutdown must not wait for it.
    let mut idle = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    idle.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    write!(idle, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").expect("send");
    let mut buf = [0u8; 4096];
    let n =
        std::io::Read::read(&mut idle, &mut buf).expect("read /healthz on a keep-alive connection");
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );

    let status = server
        .terminate(Duration::from_secs(10))
        .unwrap_or_else(|| {
            panic!(
                "vigil serve still ran 10 s after SIGTERM (killed)\n--- stderr ---\n{}",
                server.stderr()
            )
        });
    assert!(
        status.success(),
        "vigil serve exited with {status} on SIGTERM\n--- stderr ---\n{}",
        server.stderr()
    );
    assert!(
        common::http("GET", port, "/healthz", None, &[], None).is_err(),
        "port {port} still answers after the server exited"
    );
    drop(idle);
}

#[test]
fn restart_keeps_a_hotspot_created_over_http() {
    let mut server = TestServer::start();
    let admin = server.add_user("admin", "admin", &[], true);
    let created = server.send_json(
        "POST",
        "/collections/hotspots/items",
        Some(&admin),
        &hotspot_feature("Tụ điểm bến xe", 105.05, 21.9),
    );
    assert_eq!(created.status, 201, "POST hotspot\n{}", created.describe());
    let location = created
        .header("location")
        .expect("201 has a Location header")
        .to_string();
    let path = location
        .find("/collections/")
        .map(|i| location[i..].to_string())
        .unwrap_or(location.clone());
    let before = server.get(&path, Some(&admin));
    assert_eq!(
        before.status,
        200,
        "GET {path} (from Location {location})\n{}",
        before.describe()
    );
    let before = before.json();

    server.restart();

    let after = server.get(&path, Some(&admin));
    assert_eq!(
        after.status,
        200,
        "GET {path} after restart\n{}",
        after.describe()
    );
    let after = after.json();
    assert_eq!(after["id"], before["id"]);
    assert_eq!(after["geometry"], before["geometry"]);
    assert_eq!(
        after["properties"], before["properties"],
        "properties changed across a restart"
    );
    let props = &after["properties"];
    assert_eq!(props["name"], "Tụ điểm bến xe");
    assert_eq!(props["province_code"], TUYEN_QUANG);
    assert_eq!(
        props["commune_code"], "02200",
        "lon 105.05 lies in commune 02200 (lon 104.8-105.2)"
    );
    assert_eq!(server.hotspots_matched(&admin, ""), 1);
}

#[test]
fn import_with_one_bad_row_imports_nothing_and_names_the_row() {
    let data = DataDir::with_boundaries();
    let admin = data.add_user("admin", "admin", &[], true);
    let csv = data.path().join("one-bad-row.csv");
    // Line 1 is the header; the bad row is on line 4 (the third data row).
    std::fs::write(
        &csv,
        "lon,lat,name,kind,status,address,source,notes,reported_on\n\
         105.0,22.0,Điểm A,diem_ban_le,reported,Thôn 1,,,2026-01-10\n\
         105.1,22.1,Điểm B,diem_su_dung,reported,Thôn 2,,,2026-01-11\n\
         105.3,22.2,Điểm C,not_a_kind,reported,Thôn 3,,,2026-01-12\n\
         105.4,21.8,Điểm D,diem_nong,verifying,Thôn 4,,,2026-01-13\n\
         105.5,21.7,Điểm E,khac,reported,Thôn 5,,,2026-01-14\n",
    )
    .expect("write csv");
    let out = data.import_hotspots(&csv, &[]);
    assert!(
        !out.status.success(),
        "an import with a bad row must fail\n{}",
        describe_output(&out)
    );
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("row 4"),
        "the error should name CSV line 4 as `row 4`\n{}",
        describe_output(&out)
    );
    assert!(
        said.contains("kind"),
        "the error should name the `kind` field\n{}",
        describe_output(&out)
    );

    let server = TestServer::serve(data);
    assert_eq!(
        server.hotspots_matched(&admin, ""),
        0,
        "the good rows of a refused file were imported"
    );
}

// ---------------------------------------------------------------------------------------------
// Roles × actions × jurisdiction over HTTP
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Action {
    Read,
    Create,
    Update,
    Transition,
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Place {
    /// A hotspot in province 08, the caller's jurisdiction.
    Inside,
    /// A hotspot in province 24.
    Outside,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Caller {
    Role(&'static str),
    NoToken,
    WrongToken,
}

/// Expected outcome: `Done` is the action's success status (201 create, 204 delete, else 200).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Done,
    Forbidden,
    NotFound,
    Unauthorized,
}

use Action::*;
use Caller::*;
use Expect::*;
use Place::*;

/// Every role is scoped to province 08 (admin included: jurisdiction does not depend on role).
/// Reads are open to all roles inside their jurisdiction; only admin and analyst write; what lies
/// outside is invisible (404) to those who could otherwise act on it; a role that may not write
/// is refused (403) wherever it tries; creating a hotspot outside one's jurisdiction is refused
/// (403); no token or a wrong one is 401.
#[rustfmt::skip]
const MATRIX: &[(Caller, Action, Place, Expect)] = &[
    (Role("admin"),    Read,       Inside,  Done),
    (Role("admin"),    Read,       Outside, NotFound),
    (Role("admin"),    Create,     Inside,  Done),
    (Role("admin"),    Create,     Outside, Forbidden),
    (Role("admin"),    Update,     Inside,  Done),
    (Role("admin"),    Update,     Outside, NotFound),
    (Role("admin"),    Transition, Inside,  Done),
    (Role("admin"),    Transition, Outside, NotFound),
    (Role("admin"),    Delete,     Inside,  Done),
    (Role("admin"),    Delete,     Outside, NotFound),

    (Role("analyst"),  Read,       Inside,  Done),
    (Role("analyst"),  Read,       Outside, NotFound),
    (Role("analyst"),  Create,     Inside,  Done),
    (Role("analyst"),  Create,     Outside, Forbidden),
    (Role("analyst"),  Update,     Inside,  Done),
    (Role("analyst"),  Update,     Outside, NotFound),
    (Role("analyst"),  Transition, Inside,  Done),
    (Role("analyst"),  Transition, Outside, NotFound),
    (Role("analyst"),  Delete,     Inside,  Done),
    (Role("analyst"),  Delete,     Outside, NotFound),

    (Role("reviewer"), Read,       Inside,  Done),
    (Role("reviewer"), Read,       Outside, NotFound),
    (Role("reviewer"), Create,     Inside,  Forbidden),
    (Role("reviewer"), Create,     Outside, Forbidden),
    (Role("reviewer"), Update,     Inside,  Forbidden),
    (Role("reviewer"), Update,     Outside, Forbidden),
    (Role("reviewer"), Transition, Inside,  Forbidden),
    (Role("reviewer"), Transition, Outside, Forbidden),
    (Role("reviewer"), Delete,     Inside,  Forbidden),
    (Role("reviewer"), Delete,     Outside, Forbidden),

    (Role("operator"), Read,       Inside,  Done),
    (Role("operator"), Read,       Outside, NotFound),
    (Role("operator"), Create,     Inside,  Forbidden),
    (Role("operator"), Create,     Outside, Forbidden),
    (Role("operator"), Update,     Inside,  Forbidden),
    (Role("operator"), Update,     Outside, Forbidden),
    (Role("operator"), Transition, Inside,  Forbidden),
    (Role("operator"), Transition, Outside, Forbidden),
    (Role("operator"), Delete,     Inside,  Forbidden),
    (Role("operator"), Delete,     Outside, Forbidden),

    (Role("viewer"),   Read,       Inside,  Done),
    (Role("viewer"),   Read,       Outside, NotFound),
    (Role("viewer"),   Create,     Inside,  Forbidden),
    (Role("viewer"),   Create,     Outside, Forbidden),
    (Role("viewer"),   Update,     Inside,  Forbidden),
    (Role("viewer"),   Update,     Outside, Forbidden),
    (Role("viewer"),   Transition, Inside,  Forbidden),
    (Role("viewer"),   Transition, Outside, Forbidden),
    (Role("viewer"),   Delete,     Inside,  Forbidden),
    (Role("viewer"),   Delete,     Outside, Forbidden),

    (NoToken,          Read,       Inside,  Unauthorized),
    (NoToken,          Create,     Inside,  Unauthorized),
    (NoToken,          Update,     Inside,  Unauthorized),
    (NoToken,          Transition, Inside,  Unauthorized),
    (NoToken,          Delete,     Inside,  Unauthorized),
    (WrongToken,       Read,       Inside,  Unauthorized),
    (WrongToken,       Create,     Inside,  Unauthorized),
    (WrongToken,       Update,     Inside,  Unauthorized),
    (WrongToken,       Transition, Inside,  Unauthorized),
    (WrongToken,       Delete,     Inside,  Unauthorized),
];

fn place_point(place: Place) -> (f64, f64) {
    match place {
        Inside => (105.0, 22.0),  // province 08, commune 02200
        Outside => (106.0, 21.2), // province 24, commune 07000
    }
}

/// What a hotspot looks like to a national admin (`None` if it does not exist).
fn hotspot_state(server: &TestServer, national: &str, id: i64) -> Option<Value> {
    let resp = server.get(&format!("/collections/hotspots/items/{id}"), Some(national));
    match resp.status {
        200 => Some(resp.json()),
        404 => None,
        _ => panic!("GET hotspot {id} as national admin\n{}", resp.describe()),
    }
}

#[test]
fn role_and_jurisdiction_matrix_over_http() {
    let server = TestServer::start();
    let national = server.add_user("national-admin", "admin", &[], true);
    let tokens: Vec<(&str, String)> = ["admin", "analyst", "reviewer", "operator", "viewer"]
        .into_iter()
        .map(|role| {
            (
                role,
                server.add_user(&format!("{role}-08"), role, &[TUYEN_QUANG], false),
            )
        })
        .collect();
    let token_of = |caller: Caller| -> Option<String> {
        match caller {
            Role(role) => tokens
                .iter()
                .find(|(r, _)| *r == role)
                .map(|(_, t)| t.clone()),
            NoToken => None,
            WrongToken => Some(format!("vgl_{}", "A".repeat(43))),
        }
    };

    let mut failures = Vec::new();
    for (i, &(caller, action, place, expect)) in MATRIX.iter().enumerate() {
        let token = token_of(caller);
        let token = token.as_deref();
        let (lon, lat) = place_point(place);
        // A fresh target for every row, so destructive rows do not affect each other.
        let target = server.send_json(
            "POST",
            "/collections/hotspots/items",
            Some(&national),
            &hotspot_feature(&format!("matrix target {i}"), lon, lat),
        );
        assert_eq!(
            target.status,
            201,
            "national admin creates a target\n{}",
            target.describe()
        );
        let target = target.json();
        let id = target["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("created feature has no integer id: {target}"));
        let expected_province = if place == Inside {
            TUYEN_QUANG
        } else {
            BAC_NINH
        };
        assert_eq!(target["properties"]["province_code"], expected_province);
        let before = hotspot_state(&server, &national, id);
        let count_before = server.hotspots_matched(&national, "");

        let item = format!("/collections/hotspots/items/{id}");
        let (resp, done_status) = match action {
            Read => (server.get(&item, token), 200),
            Create => (
                server.send_json(
                    "POST",
                    "/collections/hotspots/items",
                    token,
                    &hotspot_feature(&format!("matrix create {i}"), lon, lat),
                ),
                201,
            ),
            Update => (
                server.request(
                    "PATCH",
                    &item,
                    token,
                    &[("Content-Type", "application/merge-patch+json")],
                    Some(
                        json!({"properties": {"notes": "edited"}})
                            .to_string()
                            .as_bytes(),
                    ),
                ),
                200,
            ),
            Transition => (
                server.send_json(
                    "POST",
                    &format!("/v1/hotspots/{id}/transitions"),
                    token,
                    &json!({"to": "verifying", "on": "2026-03-01", "note": "matrix"}),
                ),
                200,
            ),
            Delete => (server.request("DELETE", &item, token, &[], None), 204),
        };
        let want = match expect {
            Done => done_status,
            Forbidden => 403,
            NotFound => 404,
            Unauthorized => 401,
        };
        let row = format!(
            "{caller:?} {action:?} {place:?}: expected {expect:?} ({want}), got {}",
            resp.status
        );
        if resp.status != want {
            failures.push(format!(
                "{row}\n    {}",
                resp.describe().replace('\n', "\n    ")
            ));
            continue;
        }
        if want >= 400 {
            let ctype = resp.header("content-type").unwrap_or("");
            if !ctype.starts_with("application/problem+json") {
                failures.push(format!(
                    "{row}: error body is {ctype:?}, not application/problem+json"
                ));
            }
            // A refused request changes nothing.
            if action == Create && server.hotspots_matched(&national, "") != count_before {
                failures.push(format!("{row}: the refused create added a hotspot"));
            }
            if action != Read && action != Create {
                let after = hotspot_state(&server, &national, id);
                if after != before {
                    failures.push(format!("{row}: the refused request changed the hotspot\n    before {before:?}\n    after {after:?}"));
                }
            }
        } else {
            let after = hotspot_state(&server, &national, id);
            let ok = match action {
                Read | Create => true,
                Update => after
                    .as_ref()
                    .is_some_and(|a| a["properties"]["notes"] == "edited"),
                Transition => after
                    .as_ref()
                    .is_some_and(|a| a["properties"]["status"] == "verifying"),
                Delete => after.is_none(),
            };
            if !ok {
                failures.push(format!(
                    "{row}: answered {want} but the hotspot is now {after:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} matrix rows failed:\n{}",
        failures.len(),
        MATRIX.len(),
        failures.join("\n")
    );
}
