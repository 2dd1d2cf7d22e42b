//! The flagged plots layer of the web map (issue 4, item 6: explainability for reviewers) in a
//! real headless Chromium, against the real `vigil serve`: runs `tests/browser/flags.mjs`
//! (Playwright) as an analyst of province 08 over flags the classifier raised while ingesting a
//! generated scene, then as an analyst of province 24, who must see none of them. The script does
//! the checking and exits non-zero on a failure; this test prepares the data and the users, and
//! shows the script's output when it fails.
//!
//! The scene is flown twice (two ingests of the same file, March and September). Between them one
//! flag of each class from March is recorded as eradicated, directly in the store: the review
//! workflow that will record eradication through the API is issue 5. The September flags over
//! those plots are then re-plantings (`replanting_of`), so the page's dashed outline, its
//! "Tái trồng" badge and the link to the earlier flag are exercised on what the server computed.
//!
//! Needs `node`, `tests/browser/node_modules/playwright-core` and `/usr/bin/chromium`; a missing
//! one fails the test with a hint to run `make test`, unless `VIGIL_SKIP_EXTERNAL=1`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::json;

use common::{
    BAC_NINH, DataDir, TUYEN_QUANG, TestServer, describe_output, ingest_scene, sample_scene,
};

/// A cold Chromium start, the map's requests and two chip renders on a 2-core machine.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

/// Scene centre (lon, lat): in fixture province 08, commune 02200.
const CENTRE: &str = "105.2,22.0";

#[test]
fn flagged_plots_layer_explains_flags_to_a_province_08_analyst_in_headless_chromium() {
    let Some((browser_dir, script)) = common::browser_script("flags.mjs") else {
        return;
    };

    let data = DataDir::with_boundaries();
    // A registry hotspot 40 m from the scene centre, so flags list it among `near_hotspots`.
    let work = tempfile::tempdir().expect("tempdir");
    let hotspots = work.path().join("hotspot-near-scene.geojson");
    let mut near = common::hotspot_feature("Nương gần lô nghi vấn", 105.2004, 22.0002);
    near["properties"]["notes"] = json!("web_flags test");
    std::fs::write(
        &hotspots,
        json!({ "type": "FeatureCollection", "features": [near] }).to_string(),
    )
    .expect("write hotspot file");
    let out = data.import_hotspots(&hotspots, &[]);
    assert!(
        out.status.success(),
        "vigil import hotspots\n{}",
        describe_output(&out)
    );

    let scene = sample_scene(work.path(), "scene", "9003", CENTRE);
    let march = ingest_scene(&data, &scene, "Đợt bay tháng 3", "2026-03-10T02:00:00Z");
    assert_eq!(
        mark_eradicated(&data, &march),
        2,
        "the March survey {march} should have flags of both classes"
    );
    let september = ingest_scene(
        &data,
        &scene,
        "Đợt bay tháng 9 (bay lại)",
        "2026-09-15T03:00:00Z",
    );

    let analyst = data.add_user("analyst-08", "analyst", &[TUYEN_QUANG], false);
    let other = data.add_user("analyst-24", "analyst", &[BAC_NINH], false);
    let server = TestServer::serve(data);

    // What the page should find: flags of both classes in 08, a re-planting among September's.
    let flags = server.get("/collections/flags/items?limit=1000", Some(&analyst));
    assert_eq!(flags.status, 200, "{}", flags.describe());
    let flags = flags.json();
    let features = flags["features"].as_array().cloned().unwrap_or_default();
    let has = |class: &str| features.iter().any(|f| f["properties"]["class"] == class);
    assert!(
        has("poppy") && has("cannabis"),
        "the analyst of 08 should see poppy and cannabis flags\n{flags:#}"
    );
    assert!(
        features
            .iter()
            .any(|f| f["properties"]["survey"] == september.as_str()
                && f["properties"]["replanting_of"].is_i64()),
        "a September flag should be a re-planting of an eradicated March plot\n{flags:#}"
    );
    let theirs = server.get("/collections/flags/items?limit=1000", Some(&other));
    assert_eq!(theirs.json()["numberMatched"], 0, "{}", theirs.describe());

    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("flags.png");
    let _ = std::fs::remove_file(&screenshot);
    let (out, timed_out) = common::run_with_timeout(
        Command::new("node")
            .arg(&script)
            .current_dir(&browser_dir)
            .env("VIGIL_URL", server.base_url())
            .env("VIGIL_TOKEN", &analyst)
            .env("VIGIL_OTHER_TOKEN", &other)
            .env("VIGIL_SCREENSHOT", &screenshot),
        SCRIPT_TIMEOUT,
    );
    assert!(
        !timed_out && out.status.success(),
        "node tests/browser/flags.mjs {} ({} flags for the analyst of 08)\n{}\n--- server stderr ---\n{}",
        if timed_out {
            format!("timed out after {SCRIPT_TIMEOUT:?}")
        } else {
            "failed".to_string()
        },
        features.len(),
        describe_output(&out),
        server.stderr()
    );
    println!("{}", String::from_utf8_lossy(&out.stdout));
    if screenshot.is_file() {
        println!("screenshot: {}", screenshot.display());
    }
}

/// Records the first flag of each class of `survey` as eradicated, directly in the store: this test
/// is about the layer; the review API's path to eradicated is `tests/review.rs`. Returns how many
/// flags changed.
fn mark_eradicated(data: &DataDir, survey: &str) -> usize {
    let store = data.store();
    store
        .db()
        .execute(
            "UPDATE flags SET status = 'eradicated' WHERE id IN \
         (SELECT MIN(id) FROM flags WHERE survey_id = ?1 AND superseded_at IS NULL GROUP BY class)",
            [survey],
        )
        .unwrap_or_else(|e| panic!("mark flags of {survey} eradicated: {e}"))
}
