//! Issue 16: the offline basemap as a PMTiles archive of vector tiles. The committed archive is
//! exactly what `vigil basemap` builds, GDAL's PMTiles driver reads it, and the web map's file
//! server answers the range requests the browser's PMTiles reader makes.

mod common;

use std::process::Command;

use common::{TestServer, manifest_dir, venv_python, vigil_ok};

fn committed() -> Vec<u8> {
    std::fs::read(manifest_dir().join("web/basemap/vietnam.pmtiles"))
        .expect("web/basemap/vietnam.pmtiles")
}

#[test]
fn the_committed_basemap_is_what_vigil_basemap_builds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("vietnam.pmtiles");
    vigil_ok(&["basemap", "--out", common::path_str(&out)]);
    let built = std::fs::read(&out).expect("the built archive");
    assert!(
        built == committed(),
        "web/basemap/vietnam.pmtiles ({} bytes) differs from what `vigil basemap` builds ({} bytes): \
         rebuild it with `vigil basemap --out web/basemap/vietnam.pmtiles`",
        committed().len(),
        built.len()
    );
    assert!(
        !dir.path().join("vietnam.pmtiles.part").exists(),
        "the .part file was left behind"
    );
}

#[test]
fn gdal_reads_the_basemap_land_layer() {
    let py = venv_python();
    assert!(
        py.exists(),
        "{} is missing: run `scripts/setup.sh test` (it installs pyogrio with GDAL's PMTiles driver)",
        py.display()
    );
    let path = manifest_dir().join("web/basemap/vietnam.pmtiles");
    let script = r#"
import json, sys, pyogrio
p = sys.argv[1]
info = pyogrio.read_info(p, layer="land")
print(json.dumps({"layers": [l[0] for l in pyogrio.list_layers(p)], "features": int(info["features"]),
                  "bounds": list(info["total_bounds"]), "driver": info["driver"]}))
"#;
    let out = Command::new(&py)
        .args(["-c", script])
        .arg(&path)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "pyogrio could not read the basemap:\n{}",
        common::describe_output(&out)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the script prints JSON");
    assert_eq!(v["driver"], "PMTiles", "{v}");
    assert_eq!(v["layers"], serde_json::json!(["land"]), "{v}");
    assert!(v["features"].as_u64().unwrap_or(0) > 100, "{v}");
    // EPSG:3857 metres of 96–120° E, 4–28° N (GDAL reads the most detailed zoom).
    let b: Vec<f64> = v["bounds"]
        .as_array()
        .expect("bounds")
        .iter()
        .filter_map(|x| x.as_f64())
        .collect();
    assert!(
        b[0] >= 10_686_000.0 && b[2] <= 13_359_000.0 && b[1] >= 445_000.0 && b[3] <= 3_250_000.0,
        "land outside the archive's extent: {b:?}"
    );
}

#[test]
fn the_web_map_serves_the_basemap_by_ranges() {
    let server = TestServer::start();
    let whole = committed();
    let n = whole.len();
    let path = "/map/basemap/vietnam.pmtiles";
    let r = server.request("GET", path, None, &[], None);
    assert_eq!(r.status, 200, "{}", r.describe());
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    assert_eq!(r.body.len(), n);

    // The PMTiles reader's first request: the header and root directory.
    let r = server.request("GET", path, None, &[("Range", "bytes=0-16383")], None);
    assert_eq!(r.status, 206, "{}", r.describe());
    assert_eq!(r.body, whole[..16384.min(n)], "the first 16 KiB");
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 0-{}/{n}", 16383.min(n - 1)).as_str())
    );
    assert_eq!(&r.body[..7], b"PMTiles");
    // A suffix range.
    let r = server.request("GET", path, None, &[("Range", "bytes=-100")], None);
    assert_eq!(r.status, 206, "{}", r.describe());
    assert_eq!(r.body, whole[n - 100..]);
    // Past the end, or two ranges: 416 with the length, and a problem naming the range.
    for bad in [format!("bytes={}-", n + 10), "bytes=0-1,5-9".to_string()] {
        let r = server.request("GET", path, None, &[("Range", bad.as_str())], None);
        assert_eq!(r.status, 416, "{bad}: {}", r.describe());
        assert_eq!(
            r.header("content-range"),
            Some(format!("bytes */{n}").as_str())
        );
        assert!(r.text().contains("Range"), "{}", r.text());
    }
}
