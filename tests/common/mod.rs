//! End-to-end harness: runs the real `vigil` binary (built by cargo for this test target) in a
//! temporary data directory, talks to it over loopback HTTP, and runs real third-party clients.
//!
//! - [`DataDir`] owns a temporary data directory with the fixture boundaries imported and runs CLI
//!   commands in it (`user add`, `demo seed-hotspots`, `import hotspots`).
//! - [`TestServer`] runs `vigil serve` on that directory, on a free loopback port, and kills it on
//!   drop. Its stderr goes to a file that is shown whenever start-up or a request fails.
//! - [`http`] is a tiny HTTP/1.1 client (one request per connection), so the tests need no HTTP crate.
//! - [`external_tool_missing`] implements the rule for third-party tools: a missing tool fails the
//!   test with a hint to run `make test`, unless `VIGIL_SKIP_EXTERNAL=1`, which skips it loudly.
#![allow(dead_code)] // each test crate uses a different part of the harness

pub mod photos;

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `vigil` binary cargo built for this test run.
pub const VIGIL: &str = env!("CARGO_BIN_EXE_vigil");

/// How long `vigil serve` may take to answer `/healthz`.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The package root (`/work/main`), where `tests/fixtures`, `tests/clients` and `tests/browser` live.
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    manifest_dir().join("tests/fixtures").join(rel)
}

/// Fixture province codes and the boxes their (rectangular) polygons cover: lon/lat min/max.
pub const TUYEN_QUANG: &str = "08";
pub const TUYEN_QUANG_BOX: [f64; 4] = [104.8, 21.5, 105.6, 22.5];
pub const BAC_NINH: &str = "24";
pub const BAC_NINH_BOX: [f64; 4] = [105.9, 21.0, 106.8, 21.5];
/// A box covering both fixture provinces.
pub const ALL_BOX: [f64; 4] = [104.0, 20.5, 107.5, 23.0];

// ---------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------

/// Runs `vigil ARGS...` to completion and returns its output, whatever the exit status.
pub fn vigil(args: &[&str]) -> Output {
    Command::new(VIGIL)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {VIGIL}: {e}"))
}

/// Runs `vigil ARGS...` and panics with its stdout and stderr unless it exits 0.
pub fn vigil_ok(args: &[&str]) -> Output {
    let out = vigil(args);
    assert!(
        out.status.success(),
        "`vigil {}` failed\n{}",
        args.join(" "),
        describe_output(&out)
    );
    out
}

pub fn describe_output(out: &Output) -> String {
    format!(
        "exit: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A temporary data directory with the fixture boundaries imported (provinces 08 and 24,
/// communes 02200, 02201 in 08 and 07000, 07001 in 24).
pub struct DataDir {
    dir: tempfile::TempDir,
    /// The data dir's own PostgreSQL database, when the suite runs on PostgreSQL.
    database_url: Option<String>,
}

/// `VIGIL_TEST_PG_URL` (`postgres://…/postgres` of a throwaway cluster, as `make test` starts
/// with scripts/pg-throwaway.sh): every data dir then keeps its store in a fresh database there,
/// named in its `vigil.toml`, so the same suite runs on PostgreSQL (issue 17).
pub fn test_pg_url() -> Option<String> {
    std::env::var("VIGIL_TEST_PG_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

/// `Config::for_tests(dir)` for a `Vigil` opened in the test's process. With
/// `VIGIL_TEST_PG_URL` its store is a fresh database on the test cluster — the same one each
/// time for the same `dir` (a restart), remembered in `dir/test-database-url`. (Async tests
/// that call the service on their own thread use tokio's multi-thread flavour: the store runs
/// PostgreSQL calls there under `block_in_place`, which a current-thread runtime cannot.)
pub fn test_config(dir: &Path) -> vigil::Config {
    let mut c = vigil::Config::for_tests(dir);
    if let Some(server) = test_pg_url() {
        let remembered = dir.join("test-database-url");
        let url = match std::fs::read_to_string(&remembered) {
            Ok(u) => u,
            Err(_) => {
                // (On a plain thread: an async test's own may not run the blocking client.)
                let u = std::thread::scope(|t| t.spawn(|| fresh_database(&server)).join())
                    .expect("create a test database");
                std::fs::write(&remembered, &u).expect("remember the test database");
                u
            }
        };
        c.store.database_url = Some(url);
    }
    c
}

/// A temporary directory for a test's data dir.
fn e2e_tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("vigil-e2e-")
        .tempdir()
        .expect("tempdir")
}

/// A fresh database on the test cluster; its URL.
fn fresh_database(server: &str) -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let name = format!(
        "vigil_t{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    let mut client = postgres::Client::connect(server, postgres::NoTls)
        .unwrap_or_else(|e| panic!("VIGIL_TEST_PG_URL {server}: {e}"));
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create a test database");
    match server.rfind('/') {
        Some(i) => format!("{}/{name}", &server[..i]),
        None => panic!("VIGIL_TEST_PG_URL {server}: no database part"),
    }
}

impl DataDir {
    /// An empty data directory: nothing imported.
    pub fn empty() -> DataDir {
        let data = DataDir {
            dir: e2e_tempdir(),
            database_url: test_pg_url().map(|s| fresh_database(&s)),
        };
        data.write_config("");
        data
    }

    /// An empty data directory whose store is SQLite whatever the run (an embedded installation
    /// to migrate from, say).
    pub fn embedded() -> DataDir {
        DataDir {
            dir: e2e_tempdir(),
            database_url: None,
        }
    }

    /// Another node's data dir on the same store as `other`: its own tiles and files, the same
    /// PostgreSQL database. `None` on SQLite, where two processes share a store only through one
    /// data dir.
    pub fn sharing(other: &DataDir) -> Option<DataDir> {
        let data = DataDir {
            dir: e2e_tempdir(),
            database_url: Some(other.database_url.clone()?),
        };
        data.write_config("");
        Some(data)
    }

    /// Writes `DATA_DIR/vigil.toml` (read by every command given `--data-dir`): `toml`, and on a
    /// PostgreSQL run the `[store]` section naming this data dir's database. An empty `toml` on
    /// SQLite removes the file (the defaults apply).
    pub fn write_config(&self, toml: &str) {
        let path = self.dir.path().join("vigil.toml");
        match &self.database_url {
            Some(url) => {
                std::fs::write(&path, format!("{toml}\n[store]\ndatabase_url = {url:?}\n"))
                    .expect("write vigil.toml")
            }
            None if toml.is_empty() => match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    panic!("remove {}: {e}", path.display())
                }
                _ => {}
            },
            None => std::fs::write(&path, toml).expect("write vigil.toml"),
        }
    }

    /// Whether this data dir's store is PostgreSQL.
    pub fn on_postgres(&self) -> bool {
        self.database_url.is_some()
    }

    /// A connection to this data dir's store, whichever engine it is, for tests that read or
    /// change rows behind the service's back: `data.store().db().query_row(…)`.
    pub fn store(&self) -> TestStore {
        match &self.database_url {
            Some(url) => TestStore::Pg(Box::new(
                vigil::store::sql::PgConn::connect(url)
                    .unwrap_or_else(|e| panic!("connect to {url}: {e}")),
            )),
            None => TestStore::Lite(
                rusqlite::Connection::open(self.path().join("vigil.sqlite"))
                    .expect("open vigil.sqlite"),
            ),
        }
    }

    /// A data directory with the fixture provinces and communes imported through the CLI.
    pub fn with_boundaries() -> DataDir {
        let data = DataDir::empty();
        data.import_fixture_boundaries();
        data
    }

    /// Imports the fixture provinces and communes through the CLI.
    pub fn import_fixture_boundaries(&self) {
        let provinces = fixture("boundaries/provinces.geojson");
        let communes = fixture("boundaries/communes.geojson");
        self.run_ok(
            &["import", "boundaries"],
            &[path_str(&provinces), "--level", "province"],
        );
        self.run_ok(
            &["import", "boundaries"],
            &[path_str(&communes), "--level", "commune"],
        );
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn path_str(&self) -> &str {
        path_str(self.dir.path())
    }

    /// `vigil SUBCOMMAND... --data-dir DIR REST...`
    pub fn run(&self, subcommand: &[&str], rest: &[&str]) -> Output {
        vigil(&self.args(subcommand, rest))
    }

    pub fn run_ok(&self, subcommand: &[&str], rest: &[&str]) -> Output {
        vigil_ok(&self.args(subcommand, rest))
    }

    /// Spawns `vigil SUBCOMMAND... --data-dir DIR REST...` without waiting (stdout/stderr piped).
    pub fn spawn(&self, subcommand: &[&str], rest: &[&str]) -> Child {
        Command::new(VIGIL)
            .args(self.args(subcommand, rest))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {VIGIL}: {e}"))
    }

    fn args<'a>(&'a self, subcommand: &[&'a str], rest: &[&'a str]) -> Vec<&'a str> {
        let mut args: Vec<&str> = subcommand.to_vec();
        args.extend(["--data-dir", self.path_str()]);
        args.extend(rest);
        args
    }

    /// `vigil user add`; returns the API token (the last stdout line).
    pub fn add_user(&self, name: &str, role: &str, provinces: &[&str], national: bool) -> String {
        let mut rest = vec!["--name", name, "--role", role];
        for p in provinces {
            rest.extend(["--province", p]);
        }
        if national {
            rest.push("--national");
        }
        let out = self.run_ok(&["user", "add"], &rest);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let token = stdout
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        assert!(
            token.starts_with("vgl_"),
            "`vigil user add` did not print a vgl_ token as its last stdout line\n{}",
            describe_output(&out)
        );
        token.to_string()
    }

    /// `vigil demo seed-hotspots --count N --seed 7`.
    pub fn seed_hotspots(&self, n: usize) {
        let n = n.to_string();
        self.run_ok(&["demo", "seed-hotspots"], &["--count", &n, "--seed", "7"]);
    }

    /// `vigil user passwd`: sets `name`'s web-map password, read from standard input.
    pub fn set_password(&self, name: &str, password: &str) {
        use std::io::Write;
        let mut child = Command::new(VIGIL)
            .args([
                "user",
                "passwd",
                "--data-dir",
                self.path_str(),
                "--name",
                name,
            ])
            .env("VIGIL_LOG", "warn")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run vigil user passwd");
        writeln!(child.stdin.take().expect("stdin"), "{password}").expect("write password");
        let out = child.wait_with_output().expect("vigil user passwd");
        assert!(out.status.success(), "{}", describe_output(&out));
    }

    /// `vigil import hotspots FILE [EXTRA...]`, whatever the outcome.
    pub fn import_hotspots(&self, file: &Path, extra: &[&str]) -> Output {
        let mut rest = vec![path_str(file)];
        rest.extend(extra);
        self.run(&["import", "hotspots"], &rest)
    }
}

/// An open connection to a data dir's store (see [`DataDir::store`]).
pub enum TestStore {
    Lite(rusqlite::Connection),
    Pg(Box<vigil::store::sql::PgConn>),
}

impl TestStore {
    /// The store's SQL surface over this connection (statements in SQLite's `?N` style).
    pub fn db(&self) -> vigil::store::Db<'_> {
        match self {
            TestStore::Lite(c) => vigil::store::Db::Lite(c),
            TestStore::Pg(c) => vigil::store::Db::Pg(c),
        }
    }
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

/// `vigil serve` on a loopback port, over a [`DataDir`]. Killed on drop.
pub struct TestServer {
    pub data: DataDir,
    pub port: u16,
    child: Option<Child>,
    log_dir: tempfile::TempDir,
    starts: u32,
}

impl TestServer {
    /// A fresh data directory with the fixture boundaries, served.
    pub fn start() -> TestServer {
        TestServer::serve(DataDir::with_boundaries())
    }

    /// Serves an existing data directory.
    pub fn serve(data: DataDir) -> TestServer {
        let log_dir = tempfile::Builder::new()
            .prefix("vigil-e2e-log-")
            .tempdir()
            .expect("tempdir");
        let mut server = TestServer {
            data,
            port: 0,
            child: None,
            log_dir,
            starts: 0,
        };
        server.launch();
        server
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url(), path)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server is running").id()
    }

    /// Everything the server wrote to stderr since it was last started.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.stderr_path()).unwrap_or_default()
    }

    fn stderr_path(&self) -> PathBuf {
        self.log_dir
            .path()
            .join(format!("serve-{}.stderr", self.starts))
    }

    fn launch(&mut self) {
        // A port picked by binding :0 can be taken by someone else before the server binds it;
        // try a few ports before giving up.
        let mut last_failure = String::new();
        for _ in 0..3 {
            let port = free_port();
            self.starts += 1;
            let stderr = File::create(self.stderr_path()).expect("server log file");
            let stdout = File::create(
                self.log_dir
                    .path()
                    .join(format!("serve-{}.stdout", self.starts)),
            )
            .expect("server log file");
            let listen = format!("127.0.0.1:{port}");
            let child = Command::new(VIGIL)
                .args([
                    "serve",
                    "--data-dir",
                    self.data.path_str(),
                    "--listen",
                    &listen,
                ])
                .stdin(Stdio::null())
                .stdout(stdout)
                .stderr(stderr)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {VIGIL} serve: {e}"));
            self.child = Some(child);
            self.port = port;
            match self.wait_healthy() {
                Ok(()) => return,
                Err(why) => {
                    last_failure = why;
                    self.kill();
                }
            }
        }
        panic!("vigil serve did not become healthy: {last_failure}");
    }

    fn wait_healthy(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Err(format!(
                    "it exited with {status} before answering /healthz\n--- server stderr ---\n{}",
                    self.stderr()
                ));
            }
            if let Ok(resp) = http("GET", self.port, "/healthz", None, &[], None)
                && resp.status == 200
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no 200 from /healthz on port {} within {START_TIMEOUT:?}\n--- server stderr ---\n{}",
                    self.port,
                    self.stderr()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM, then waits up to `within` for the exit; returns the exit status, or `None` if the
    /// server was still running then (it is killed in that case).
    pub fn terminate(&mut self, within: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        assert!(
            matches!(status, Ok(s) if s.success()),
            "kill -TERM failed: {status:?}"
        );
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = child.try_wait().expect("wait for server") {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server gracefully (SIGTERM, killed after 10 s) and starts it again on the same
    /// data directory (and a new port).
    pub fn restart(&mut self) {
        self.terminate(Duration::from_secs(10));
        self.launch();
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn add_user(&self, name: &str, role: &str, provinces: &[&str], national: bool) -> String {
        self.data.add_user(name, role, provinces, national)
    }

    /// Seeds hotspots through the CLI. The server may keep an in-memory index loaded at start-up,
    /// so seeding stops the server, seeds, and starts it again (on a new port).
    pub fn seed_hotspots(&mut self, n: usize) {
        self.terminate(Duration::from_secs(10));
        self.data.seed_hotspots(n);
        self.launch();
    }

    /// Any request; panics (with the server's stderr) only if the connection itself fails.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Response {
        http(method, self.port, path, token, headers, body).unwrap_or_else(|e| {
            panic!(
                "{method} {path}: {e}\n--- server stderr ---\n{}",
                self.stderr()
            )
        })
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request("GET", path, token, &[], None)
    }

    /// A request with a JSON body (`Content-Type: application/json`, or `application/geo+json`
    /// for Features).
    pub fn send_json(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Response {
        let ctype = if body.get("type").and_then(Value::as_str) == Some("Feature") {
            "application/geo+json"
        } else {
            "application/json"
        };
        let bytes = serde_json::to_vec(body).expect("serialise");
        self.request(
            method,
            path,
            token,
            &[("Content-Type", ctype)],
            Some(&bytes),
        )
    }

    /// `numberMatched` of `/collections/hotspots/items` with the given extra query (e.g.
    /// `bbox=...`), as seen by `token`.
    pub fn hotspots_matched(&self, token: &str, query: &str) -> u64 {
        let path = format!("/collections/hotspots/items?limit=1&{query}");
        let resp = self.get(&path, Some(token));
        assert_eq!(
            resp.status,
            200,
            "GET {path}\n{}\n{}",
            resp.describe(),
            self.stderr()
        );
        resp.json()["numberMatched"]
            .as_u64()
            .unwrap_or_else(|| panic!("GET {path}: no integer numberMatched\n{}", resp.describe()))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "--- vigil serve stderr (port {}) ---\n{}",
                self.port,
                self.stderr()
            );
        }
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

// ---------------------------------------------------------------------------------------------
// A tiny HTTP/1.1 client
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("response body is not JSON ({e})\n{}", self.describe()))
    }

    /// Status, content type and the first 2,000 characters of the body, for assertion messages.
    pub fn describe(&self) -> String {
        let text = self.text();
        let cut: String = text.chars().take(2000).collect();
        format!(
            "HTTP {} (content-type: {})\n{}",
            self.status,
            self.header("content-type").unwrap_or("-"),
            cut
        )
    }
}

/// One HTTP/1.1 request on a fresh connection to 127.0.0.1:PORT (`Connection: close`).
pub fn http(
    method: &str,
    port: u16,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Result<Response, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .map_err(|e| format!("connect to port {port}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    if let Some(token) = token {
        req.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.unwrap_or(&[]);
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes).map_err(|e| format!("send: {e}"))?;
    // No write half-close: hyper takes it for a client that went away and drops the request.
    // `Connection: close` makes the server close after the response instead.
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("read: {e}"))?;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no end of headers in {} bytes", raw.len()))?;
    let head = std::str::from_utf8(&raw[..head_end]).map_err(|e| format!("headers: {e}"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &raw[head_end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunked body")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).map_err(|e| e.to_string())?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|e| format!("chunk size: {e}"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        if rest.len() < size {
            return Err("truncated chunk".into());
        }
        body.extend_from_slice(&rest[..size]);
        rest = rest.get(size + 2..).unwrap_or(&[]);
    }
}

// ---------------------------------------------------------------------------------------------
// Third-party tools
// ---------------------------------------------------------------------------------------------

/// Whether `VIGIL_SKIP_EXTERNAL=1` is set.
/// The python of the test venv: `$VIGIL_PY`, else `.venv-test/bin/python` in the package root.
pub fn venv_python() -> PathBuf {
    std::env::var_os("VIGIL_PY")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join(".venv-test/bin/python"))
}

/// `scripts/fetch-test-data.sh ARGS` (pinned, sha256-checked real GeoTIFFs): the paths it prints,
/// or `None` when it failed and skipping third-party data is allowed (it panics otherwise).
pub fn fetch_test_data(args: &[&str]) -> Option<Vec<PathBuf>> {
    let out = Command::new(manifest_dir().join("scripts/fetch-test-data.sh"))
        .args(args)
        .output();
    match out {
        Ok(o) if o.status.success() => Some(
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(PathBuf::from)
                .collect(),
        ),
        other => {
            let _ = external_tool_missing(false, &format!("test data {args:?} ({other:?})"));
            None
        }
    }
}

pub fn skip_external() -> bool {
    std::env::var("VIGIL_SKIP_EXTERNAL").is_ok_and(|v| v == "1")
}

/// The rule for third-party tools. Returns `true` if the tool is missing and the caller should
/// return (only when `VIGIL_SKIP_EXTERNAL=1`, after printing "skipped: ..."); panics with a hint
/// to run `make test` if it is missing otherwise; returns `false` if it is present.
#[must_use]
pub fn external_tool_missing(present: bool, what: &str) -> bool {
    if present {
        return false;
    }
    if skip_external() {
        println!("skipped: {what} is not installed (VIGIL_SKIP_EXTERNAL=1)");
        return true;
    }
    panic!(
        "{what} is not installed. Run `make test`, which installs the test clients \
         (or set VIGIL_SKIP_EXTERNAL=1 to skip tests that need third-party tools)."
    );
}

/// Whether `program ARGS` can be run at all (exit status ignored).
pub fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Points spread over a box, away from its edges (deterministic).
pub fn grid_points(bbox: [f64; 4], n: usize) -> Vec<(f64, f64)> {
    let [minx, miny, maxx, maxy] = bbox;
    let side = (n as f64).sqrt().ceil() as usize;
    (0..n)
        .map(|i| {
            let (col, row) = (i % side, i / side);
            let fx = (col as f64 + 0.5) / side as f64;
            let fy = (row as f64 + 0.5) / side as f64;
            (
                minx + 0.05 + fx * (maxx - minx - 0.1),
                miny + 0.05 + fy * (maxy - miny - 0.1),
            )
        })
        .collect()
}

/// A hotspot Feature for POST /collections/hotspots/items.
pub fn hotspot_feature(name: &str, lon: f64, lat: f64) -> Value {
    serde_json::json!({
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "name": name,
            "kind": "diem_ban_le",
            "address": "Thôn 3",
            "source": "tin báo quần chúng",
            "notes": "e2e test",
            "reported_on": "2026-01-15"
        }
    })
}

/// Runs `cmd` to completion, killing it after `timeout`; returns its output and whether it was
/// killed. Output goes through temporary files, so a chatty child cannot block on a full pipe.
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> (Output, bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (out_path, err_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("wait");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = std::fs::read(&out_path).unwrap_or_default();
    let stderr = std::fs::read(&err_path).unwrap_or_default();
    (
        Output {
            status,
            stdout,
            stderr,
        },
        timed_out,
    )
}

// ---------------------------------------------------------------------------------------------
// A dated registry
// ---------------------------------------------------------------------------------------------

/// One hotspot of a dated registry: position, kind, `reported_on`, and its lifecycle steps
/// `(to, on)` in order.
pub type DatedHotspot<'a> = ((f64, f64), &'a str, &'a str, Vec<(&'a str, &'a str)>);

impl TestServer {
    /// Imports `rows` as CSV (`Điểm mẫu {i}`, status `reported`) through `POST
    /// /v1/import/hotspots`, then records each one's dated steps through `POST
    /// /v1/hotspots/{id}/transitions`; returns the first id (the rest follow in order).
    pub fn import_dated_hotspots(&self, admin: &str, rows: &[DatedHotspot<'_>]) -> i64 {
        let mut csv = String::from("lon,lat,name,kind,status,reported_on\n");
        for (i, ((lon, lat), kind, reported, _)) in rows.iter().enumerate() {
            csv.push_str(&format!(
                "{lon},{lat},Điểm mẫu {i},{kind},reported,{reported}\n"
            ));
        }
        let r = self.request(
            "POST",
            "/v1/import/hotspots",
            Some(admin),
            &[("Content-Type", "text/csv")],
            Some(csv.as_bytes()),
        );
        assert_eq!(r.status, 200, "import: {}", r.describe());
        let first = r.json()["first_id"].as_i64().expect("first_id");
        for (i, (_, _, _, steps)) in rows.iter().enumerate() {
            for (to, on) in steps {
                let r = self.send_json(
                    "POST",
                    &format!("/v1/hotspots/{}/transitions", first + i as i64),
                    Some(admin),
                    &serde_json::json!({ "to": to, "on": on }),
                );
                assert_eq!(r.status, 200, "#{i} → {to} on {on}: {}", r.describe());
            }
        }
        first
    }
}

// ---------------------------------------------------------------------------------------------
// Crashes
// ---------------------------------------------------------------------------------------------

impl TestServer {
    /// SIGKILLs the server, so no shutdown code runs (as in a power cut or an OOM kill), and
    /// starts it again on the same data directory (and a new port).
    pub fn crash_and_restart(&mut self) {
        self.kill();
        self.launch();
    }
}

impl TestServer {
    /// SIGKILLs the server and leaves it down, so a test can look at what the crash left on disk;
    /// [`TestServer::start_again`] brings it back.
    pub fn crash(&mut self) {
        self.kill();
    }

    /// Starts a crashed or terminated server again on the same data directory (and a new port).
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the server is still running");
        self.launch();
    }
}

/// The browser tests' directory and its script `name`, or `None` (the test skips, or fails in CI:
/// see [`external_tool_missing`]) when node, playwright-core or Chromium is missing.
pub fn browser_script(name: &str) -> Option<(PathBuf, PathBuf)> {
    let browser_dir = manifest_dir().join("tests/browser");
    let script = browser_dir.join(name);
    if external_tool_missing(runs("node", &["--version"]), "node")
        || external_tool_missing(
            browser_dir.join("node_modules/playwright-core").is_dir(),
            "playwright-core (tests/browser/node_modules, from `npm ci` in tests/browser)",
        )
        || external_tool_missing(
            Path::new("/usr/bin/chromium").exists(),
            "chromium (/usr/bin/chromium)",
        )
    {
        return None;
    }
    assert!(script.is_file(), "{} is missing", script.display());
    Some((browser_dir, script))
}

/// The seeded scene of the review and report tests: 1024² RGBN at 5 cm in UTM 48N, centred on
/// the border of communes 02200 and 02201 (province 08); the classifier finds poppy and cannabis
/// plots in it. Returns the GeoTIFF's path.
pub fn review_scene(dir: &Path) -> String {
    vigil_ok(&[
        "sample-imagery",
        "--out",
        path_str(dir),
        "--name",
        "r",
        "--seed",
        "9003",
        "--size",
        "1024",
        "--layout",
        "rgbn",
        "--gsd",
        "0.05",
        "--crs",
        "EPSG:32648",
        "--center",
        "105.2,22.0",
    ]);
    dir.join("r.tif").display().to_string()
}

/// `vigil sample-imagery`: a 1024 × 1024 16-bit RGBN scene at 6 cm around `centre`.
pub fn sample_scene(dir: &Path, name: &str, seed: &str, centre: &str) -> PathBuf {
    let out = dir.join(name);
    vigil_ok(&[
        "sample-imagery",
        "--out",
        path_str(&out),
        "--seed",
        seed,
        "--size",
        "1024",
        "--layout",
        "rgbn",
        "--sixteen-bit",
        "--gsd",
        "0.06",
        "--center",
        centre,
    ]);
    std::fs::read_dir(&out)
        .expect("read the scene directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "tif"))
        .unwrap_or_else(|| panic!("vigil sample-imagery wrote no .tif in {}", out.display()))
}

/// `vigil ingest` (the classifier is one of its stages); returns the survey id.
pub fn ingest_scene(data: &DataDir, scene: &Path, name: &str, acquired_at: &str) -> String {
    let out = data.run_ok(
        &["ingest"],
        &[
            "--name",
            name,
            "--acquired-at",
            acquired_at,
            path_str(scene),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "vigil ingest printed no JSON line\n{}",
                describe_output(&out)
            )
        });
    assert_eq!(line["state"], "ready", "vigil ingest: {line:#}");
    line["survey"]
        .as_str()
        .unwrap_or_else(|| panic!("vigil ingest: no survey id in {line:#}"))
        .to_string()
}
