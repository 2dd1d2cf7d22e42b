//! The web map in a real headless Chromium, against the real `vigil serve`: runs
//! `tests/browser/hotspot_map.mjs` (Playwright) as an analyst scoped to province 08 over seeded
//! hotspots. The script does the checking and exits non-zero on a failure; this test provides the
//! server and the user, and shows the script's output when it fails.
//!
//! Needs `node`, `tests/browser/node_modules/playwright-core` and `/usr/bin/chromium`; a missing
//! one fails the test with a hint to run `make test`, unless `VIGIL_SKIP_EXTERNAL=1`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{DataDir, TUYEN_QUANG, TestServer, describe_output};

/// Generous: a cold Chromium start plus the map's requests on a 2-core machine.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

#[test]
fn web_map_shows_analysts_province_08_hotspots_in_headless_chromium() {
    let Some((browser_dir, script)) = common::browser_script("hotspot_map.mjs") else {
        return;
    };

    let data = DataDir::with_boundaries();
    let analyst = data.add_user("analyst-08", "analyst", &[TUYEN_QUANG], false);
    let password = "mật-khẩu-kiểm-thử-2026";
    data.set_password("analyst-08", password);
    data.seed_hotspots(120);
    let server = TestServer::serve(data);
    let visible = server.hotspots_matched(&analyst, "");
    assert!(
        visible > 0,
        "the analyst of 08 should see some seeded hotspots"
    );

    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hotspot_map.png");
    let _ = std::fs::remove_file(&screenshot);
    let (out, timed_out) = common::run_with_timeout(
        Command::new("node")
            .arg(&script)
            .current_dir(&browser_dir)
            .env("VIGIL_URL", server.base_url())
            .env("VIGIL_TOKEN", &analyst)
            .env("VIGIL_USER", "analyst-08")
            .env("VIGIL_PASSWORD", password)
            .env("VIGIL_SCREENSHOT", &screenshot),
        SCRIPT_TIMEOUT,
    );
    assert!(
        !timed_out && out.status.success(),
        "node tests/browser/hotspot_map.mjs {} (analyst of 08 sees {visible} hotspots)\n{}\n--- server stderr ---\n{}",
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

/// Issue 16: a national user over a registry of a million hotspots sees the whole country — every
/// hotspot drawn one by one or counted per cell by the vector tiles — and the count in the
/// corner equals `numberMatched` at every zoom. The script prints the first render time.
#[test]
fn web_map_draws_a_million_hotspots_for_a_national_user() {
    let Some((browser_dir, script)) = common::browser_script("million.mjs") else {
        return;
    };
    let data = DataDir::with_boundaries();
    let national = data.add_user("analyst-vn", "analyst", &[], true);
    let t = std::time::Instant::now();
    data.seed_hotspots(1_000_000);
    println!(
        "seeded 1,000,000 hotspots in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let server = TestServer::serve(data);
    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("million.png");
    let (out, timed_out) = common::run_with_timeout(
        Command::new("node")
            .arg(&script)
            .current_dir(&browser_dir)
            .env("VIGIL_URL", server.base_url())
            .env("VIGIL_TOKEN", &national)
            .env("VIGIL_SCREENSHOT", &screenshot),
        SCRIPT_TIMEOUT,
    );
    assert!(
        !timed_out && out.status.success(),
        "node tests/browser/million.mjs {}\n{}\n--- server stderr ---\n{}",
        if timed_out { "timed out" } else { "failed" },
        describe_output(&out),
        server.stderr()
    );
    println!("{}", String::from_utf8_lossy(&out.stdout));
}
