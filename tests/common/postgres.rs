//! A throwaway PostgreSQL 15 + PostGIS 3 cluster on a free loopback port, for the tests that run
//! the store on PostgreSQL (issue 17); stopped and removed on drop. The binaries are Debian's
//! (`postgresql-15`, `postgresql-15-postgis-3`, installed by `scripts/setup.sh`), or those in
//! `$VIGIL_PG_BIN`. As root, the cluster runs as the `postgres` user (initdb refuses root).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Postgres {
    pub port: u16,
    dir: tempfile::TempDir,
    bin: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `cmd` as the `postgres` user when root.
fn as_pg(bin: &Path, args: &[&str]) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin).args(args);
        c
    } else {
        let mut c = Command::new(bin);
        c.args(args);
        c
    }
}

impl Postgres {
    pub fn bin_dir() -> PathBuf {
        std::env::var_os("VIGIL_PG_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/lib/postgresql/15/bin"))
    }

    /// initdb + start; panics with the server's log when it does not come up.
    pub fn start() -> Postgres {
        Postgres::start_with(false)
    }

    /// Like [`Postgres::start`], with TLS on: a throwaway CA (`ca.pem` in [`Postgres::dir`])
    /// signs the server's certificate for `localhost` and `127.0.0.1` (made with the `openssl`
    /// command).
    pub fn start_tls() -> Postgres {
        Postgres::start_with(true)
    }

    /// The cluster's directory (`ca.pem` is there when it runs TLS).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn start_with(tls: bool) -> Postgres {
        let bin = Postgres::bin_dir();
        let dir = tempfile::Builder::new()
            .prefix("vigil-pg-")
            .tempdir()
            .expect("tempdir");
        let data = dir.path().join("data");
        let sock = dir.path().join("sock");
        std::fs::create_dir_all(&sock).unwrap();
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown")
                .success();
            assert!(ok, "chown of the cluster dir to postgres failed");
        }
        let data_s = data.to_string_lossy().to_string();
        let out = as_pg(
            &bin.join("initdb"),
            &[
                "-D",
                &data_s,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
        )
        .stdin(Stdio::null())
        .output()
        .expect("initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let log = dir.path().join("server.log");
        let mut opts = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            sock.display()
        );
        if tls {
            make_certificates(dir.path(), &data);
            opts += " -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key";
        }
        let out = as_pg(
            &bin.join("pg_ctl"),
            &[
                "-D",
                &data_s,
                "-o",
                &opts,
                "-l",
                &log.to_string_lossy(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
        .stdin(Stdio::null())
        .output()
        .expect("pg_ctl start");
        assert!(
            out.status.success(),
            "PostgreSQL did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        Postgres { port, dir, bin }
    }

    /// Creates database `name` and returns its URL.
    pub fn database(&self, name: &str) -> String {
        let mut client = postgres::Client::connect(
            &format!("postgres://postgres@127.0.0.1:{}/postgres", self.port),
            postgres::NoTls,
        )
        .expect("connect to the throwaway cluster");
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

/// A CA (`DIR/ca.pem`) and a server certificate it signs (`DATA/server.crt`, `server.key`,
/// owned by the cluster's user, the key readable by it only).
fn make_certificates(dir: &Path, data: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .expect("openssl (Debian's openssl package)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=vigil test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    for f in ["server.crt", "server.key"] {
        std::fs::copy(dir.join(f), data.join(f)).unwrap();
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        data.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    if is_root() {
        let ok = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(data.join("server.crt"))
            .arg(data.join("server.key"))
            .status()
            .expect("chown")
            .success();
        assert!(ok, "chown of the server certificate failed");
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = as_pg(
            &self.bin.join("pg_ctl"),
            &["-D", &data.to_string_lossy(), "-m", "immediate", "stop"],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    }
}
