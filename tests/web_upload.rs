//! The upload panel for drone operators (issue 3, item 8) in a real headless Chromium, against the
//! real `vigil serve`: runs `tests/browser/upload.mjs` (Playwright) as a national operator, with
//! `[upload] chunk_bytes = 65536` so the committed sample scene is cut into several chunks. The
//! script hashes in the browser (checked against the FIPS 180-4 vectors), drops the connection after
//! two chunks, reloads, re-picks the file and checks that only the missing chunks are sent, waits for
//! the ingest to be ready, opens the survey's imagery on the map (a 200 `image/png` mosaic tile),
//! checks the Vietnamese error for a text file renamed `.tif`, follows an ingest across a reload
//! without the file, and cancels an upload. This test provides the server and the users, and shows
//! the script's output when it fails.
//!
//! Needs `node`, `tests/browser/node_modules/playwright-core` and `/usr/bin/chromium`; a missing
//! one fails the test with a hint to run `make test`, unless `VIGIL_SKIP_EXTERNAL=1`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{DataDir, TUYEN_QUANG, TestServer, describe_output, manifest_dir};

/// A cold Chromium start, a resumed upload and an ingest on a 2-core machine.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(240);

/// Small enough to cut the 445 KB sample scene into 7 chunks.
const CHUNK_BYTES: u64 = 65_536;

#[test]
fn operator_upload_resumes_after_reload_and_the_survey_shows_on_the_map_in_headless_chromium() {
    let Some((browser_dir, script)) = common::browser_script("upload.mjs") else {
        return;
    };
    let sample = manifest_dir().join("sample-imagery/poppy-utm48n-rgba.tif");
    let sample2 = manifest_dir().join("sample-imagery/mixed-vn2000-rgbn.tif");
    let size = std::fs::metadata(&sample)
        .unwrap_or_else(|e| panic!("{}: {e}", sample.display()))
        .len();
    assert!(
        size.div_ceil(CHUNK_BYTES) >= 4,
        "the sample is too small for a resume test"
    );

    let data = DataDir::with_boundaries();
    // `vigil serve` reads DATA_DIR/vigil.toml when no --config is given.
    data.write_config(&format!("[upload]\nchunk_bytes = {CHUNK_BYTES}\n"));
    let operator = data.add_user("to-bay-uav", "operator", &[], true);
    let analyst = data.add_user("analyst-08", "analyst", &[TUYEN_QUANG], false);
    let server = TestServer::serve(data);

    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("upload.png");
    let _ = std::fs::remove_file(&screenshot);
    let (out, timed_out) = common::run_with_timeout(
        Command::new("node")
            .arg(&script)
            .current_dir(&browser_dir)
            .env("VIGIL_URL", server.base_url())
            .env("VIGIL_TOKEN", &operator)
            .env("VIGIL_ANALYST_TOKEN", &analyst)
            .env("VIGIL_SAMPLE", &sample)
            .env("VIGIL_SAMPLE2", &sample2)
            .env("VIGIL_SCREENSHOT", &screenshot),
        SCRIPT_TIMEOUT,
    );
    assert!(
        !timed_out && out.status.success(),
        "node tests/browser/upload.mjs {}\n{}\n--- server stderr ---\n{}",
        if timed_out {
            format!("timed out after {SCRIPT_TIMEOUT:?}")
        } else {
            "failed".to_string()
        },
        describe_output(&out),
        server.stderr()
    );
    println!("{}", String::from_utf8_lossy(&out.stdout));
    if screenshot.is_file() {
        println!("screenshot: {}", screenshot.display());
    }
}
