//! The classifier end to end: held-out scenes (seeds, band layouts, CRSs, resolutions and light the
//! built-in model was not trained on) go through `vigil eval`, which ingests them through the
//! normal path and scores the flags against the truth; and flags are served as the `flags`
//! collection, scoped by jurisdiction.

mod common;

use std::path::Path;

use common::{DataDir, TestServer, path_str, vigil_ok};
use serde_json::Value;

/// Held-out scenes: seeds far from the training seeds (1–36, held-out report 100001–100004).
const SCENES: &[(u64, &[&str])] = &[
    (
        9001,
        &["--layout", "rgba", "--gsd", "0.05", "--crs", "EPSG:32648"],
    ),
    (
        9002,
        &["--layout", "rgbn", "--gsd", "0.04", "--crs", "EPSG:3405"],
    ),
    (
        9003,
        &[
            "--layout",
            "rgbn",
            "--sixteen-bit",
            "--gsd",
            "0.06",
            "--crs",
            "EPSG:32648",
        ],
    ),
    (
        9004,
        &["--layout", "rgba", "--gsd", "0.03", "--crs", "EPSG:3405"],
    ),
    (
        9005,
        &[
            "--layout",
            "rgbn",
            "--sixteen-bit",
            "--gsd",
            "0.05",
            "--crs",
            "EPSG:3405",
        ],
    ),
];

fn scene(dir: &Path, seed: u64, args: &[&str], center: Option<&str>) -> (String, String) {
    let name = format!("h{seed}");
    let seed_s = seed.to_string();
    let mut a = vec![
        "sample-imagery",
        "--out",
        path_str(dir),
        "--name",
        &name,
        "--seed",
        &seed_s,
        "--size",
        "1024",
    ];
    a.extend_from_slice(args);
    if let Some(c) = center {
        a.extend_from_slice(&["--center", c]);
    }
    vigil_ok(&a);
    (
        dir.join(format!("{name}.tif")).display().to_string(),
        dir.join(format!("{name}.truth.geojson"))
            .display()
            .to_string(),
    )
}

#[derive(Default, Debug)]
struct Tally {
    tp: u64,
    fp: u64,
    fn_: u64,
}

impl Tally {
    fn f1(&self) -> f64 {
        2.0 * self.tp as f64 / (2 * self.tp + self.fp + self.fn_) as f64
    }
}

/// Flowering poppy and cannabis are found on held-out scenes with F1 ≥ 0.85 and fewer than one
/// false flag per hectare over all of them (the goal is 0.9 and < 1 per ha; the figures
/// for these scenes are printed and recorded in BENCHMARKS.md).
#[test]
fn held_out_scenes_score_above_the_bar() {
    let dir = tempfile::tempdir().unwrap();
    let (mut flowering, mut cannabis, mut pre) =
        (Tally::default(), Tally::default(), Tally::default());
    let (mut false_flags, mut hectares) = (0.0, 0.0);
    for (seed, args) in SCENES {
        let (tif, truth) = scene(dir.path(), *seed, args, None);
        let out = vigil_ok(&["eval", &tif, &truth, "--json"]);
        let r: Value = serde_json::from_slice(&out.stdout).expect("eval --json");
        let class = |c: &str| {
            r["classes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["class"] == c)
                .unwrap()
                .clone()
        };
        let stage = |s: &str| {
            r["poppy_stages"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["stage"] == s)
                .cloned()
        };
        let c = class("cannabis");
        cannabis.tp += c["tp"].as_u64().unwrap();
        cannabis.fp += c["fp"].as_u64().unwrap();
        cannabis.fn_ += c["fn"].as_u64().unwrap();
        let p = class("poppy");
        // Stage rows count every false poppy flag against each stage; take them once here.
        flowering.fp += p["fp"].as_u64().unwrap();
        for (t, s) in [(&mut flowering, "flowering"), (&mut pre, "pre_flowering")] {
            if let Some(s) = stage(s) {
                t.tp += s["found"].as_u64().unwrap();
                t.fn_ += s["fn"].as_u64().unwrap();
            }
        }
        false_flags += r["false_flags"].as_f64().unwrap();
        hectares += r["area_ha"].as_f64().unwrap();
        eprintln!(
            "seed {seed}: poppy tp {} fp {} fn {}; cannabis tp {} fp {} fn {}",
            p["tp"], p["fp"], p["fn"], c["tp"], c["fp"], c["fn"]
        );
    }
    let per_ha = false_flags / hectares;
    eprintln!(
        "flowering poppy F1 {:.3} {flowering:?}; cannabis F1 {:.3} {cannabis:?}; pre-flowering recall {}/{}; {per_ha:.2} false flags/ha",
        flowering.f1(),
        cannabis.f1(),
        pre.tp,
        pre.tp + pre.fn_
    );
    assert!(
        flowering.tp + flowering.fn_ >= 5,
        "too few flowering plots to judge: {flowering:?}"
    );
    assert!(
        flowering.f1() >= 0.85,
        "flowering poppy F1 {:.3} ({flowering:?})",
        flowering.f1()
    );
    assert!(
        cannabis.f1() >= 0.85,
        "cannabis F1 {:.3} ({cannabis:?})",
        cannabis.f1()
    );
    assert!(per_ha < 1.0, "{per_ha:.2} false flags per hectare");
}

/// Flags are the `flags` collection: class, confidence, area and status, filtered, and visible
/// only inside the caller's jurisdiction.
#[test]
fn flags_collection_is_scoped_and_filtered() {
    let dir = tempfile::tempdir().unwrap();
    // Province 08 of the test boundaries.
    let (tif, _) = scene(dir.path(), 9003, SCENES[2].1, Some("105.2,22.0"));
    let data = DataDir::with_boundaries();
    data.run_ok(
        &["ingest"],
        &[&tif, "--acquired-at", "2026-02-10T08:00:00Z"],
    );
    let mut server = TestServer::serve(data);
    let inside = server.add_user("v08", "viewer", &["08"], false);
    let outside = server.add_user("v24", "viewer", &["24"], false);
    let r = server.get("/collections/flags/items?limit=100", Some(&inside));
    assert_eq!(r.status, 200, "{}", r.describe());
    let fc = r.json();
    let n = fc["numberMatched"].as_u64().unwrap();
    assert!(n >= 2, "expected poppy and cannabis flags: {fc}");
    for f in fc["features"].as_array().unwrap() {
        let p = &f["properties"];
        assert!(["poppy", "cannabis"].contains(&p["class"].as_str().unwrap()));
        let c = p["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c));
        // A probability per class; the confidence is the flagged class's mean probability
        // through the model's calibration (issue 12), and at least `min_confidence`.
        let probs = &p["probabilities"];
        let sum: f64 = ["poppy", "cannabis", "other_vegetation", "non_vegetation"]
            .iter()
            .map(|k| probs[*k].as_f64().unwrap())
            .sum();
        assert!((sum - 1.0).abs() < 0.01, "{probs}");
        let raw = probs[p["class"].as_str().unwrap()].as_f64().unwrap();
        let model = vigil::classify::model::Model::builtin();
        assert!(model.calibration.is_some());
        assert!((model.confidence(raw) - c).abs() < 0.005, "{p}");
        assert!(c >= 0.4, "{p}");
        assert!(p["area_m2"].as_f64().unwrap() >= 20.0);
        assert_eq!(p["status"], "new");
        assert_eq!(p["province_code"], "08");
        assert_eq!(p["acquired_at"], "2026-02-10T08:00:00.000Z");
        assert!(!p["drivers"].as_array().unwrap().is_empty());
        assert!(["Polygon", "MultiPolygon"].contains(&f["geometry"]["type"].as_str().unwrap()));
    }
    let poppy = server
        .get("/collections/flags/items?class=poppy", Some(&inside))
        .json();
    let cannabis = server
        .get("/collections/flags/items?class=cannabis", Some(&inside))
        .json();
    assert_eq!(
        poppy["numberMatched"].as_u64().unwrap() + cannabis["numberMatched"].as_u64().unwrap(),
        n
    );
    let early = server
        .get(
            "/collections/flags/items?datetime=2026-01-01T00:00:00Z/2026-02-01T00:00:00Z",
            Some(&inside),
        )
        .json();
    assert_eq!(early["numberMatched"], 0);
    let id = fc["features"][0]["id"].as_i64().unwrap();
    assert_eq!(
        server
            .get(&format!("/collections/flags/items/{id}"), Some(&inside))
            .status,
        200
    );
    // The reviewer's chip: the imagery around the plot, outlined.
    let chip = server.get(&format!("/v1/flags/{id}/chip.png"), Some(&inside));
    assert_eq!(chip.status, 200, "{}", chip.describe());
    assert_eq!(chip.header("content-type"), Some("image/png"));
    let img = image::load_from_memory(&chip.body)
        .expect("a PNG")
        .to_rgba8();
    assert!(img.width() > 16 && img.height() > 16);
    assert!(
        img.pixels().any(|p| p.0 == [255, 230, 0, 255]),
        "the outline is drawn"
    );
    assert_eq!(
        server
            .get(&format!("/v1/flags/{id}/chip.png"), Some(&outside))
            .status,
        404
    );
    // Outside the jurisdiction the flags do not exist.
    let none = server
        .get("/collections/flags/items", Some(&outside))
        .json();
    assert_eq!(none["numberMatched"], 0);
    assert_eq!(
        server
            .get(&format!("/collections/flags/items/{id}"), Some(&outside))
            .status,
        404
    );
    assert_eq!(
        server
            .get("/collections/flags/items?class=maize", Some(&inside))
            .status,
        400
    );
    assert_eq!(server.get("/collections/flags/items", None).status, 401);
    server.terminate(std::time::Duration::from_secs(5));
}

/// `vigil train` writes a model file that loads, with both heads, and ingest uses it when
/// `[classify] model` names it (its version is stamped on the survey and its flags).
#[test]
fn train_writes_a_model_that_ingest_uses() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let out = vigil_ok(&[
        "train",
        "--out",
        path_str(&model),
        "--generate",
        "3",
        "--size",
        "512",
        "--held-out",
        "1",
        "--epochs",
        "3",
        "--seed",
        "40",
        "--model-version",
        "test-model-1",
    ]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("held-out cell recall (rgb)"), "{text}");
    let m = vigil::classify::model::Model::load(&model).expect("the trained model loads");
    assert_eq!(m.version, "test-model-1");
    assert!(m.heads.iter().any(|h| h.bands == "rgbn"));
    let data = DataDir::empty();
    data.write_config(&format!(
        "[classify]\nmodel = {:?}\n",
        model.display().to_string()
    ));
    let sample = common::manifest_dir().join("sample-imagery/poppy-utm48n-rgba.tif");
    let out = data.run_ok(&["ingest"], &[path_str(&sample)]);
    let line: Value = serde_json::from_slice(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    assert!(
        line["stages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "classify"),
        "{line}"
    );
    let store = data.store();
    let db = store.db();
    let meta: String = db
        .query_row("SELECT meta FROM surveys", (), |r| r.get(0))
        .unwrap();
    assert!(
        meta.contains("\"model_version\":\"test-model-1\""),
        "{meta}"
    );
    // Re-classifying with the built-in model supersedes those flags (kept for their history) and
    // raises new ones, in one transaction.
    let id: String = db
        .query_row("SELECT id FROM surveys", (), |r| r.get(0))
        .unwrap();
    let live = |db: &vigil::store::Db<'_>| -> i64 {
        db.query_row(
            "SELECT count(*) FROM flags WHERE superseded_at IS NULL",
            (),
            |r| r.get(0),
        )
        .unwrap()
    };
    let before = live(&db);
    data.write_config("");
    let out = data.run_ok(&["reclassify"], &[&id]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("{before} superseded")),
        "{}",
        common::describe_output(&out)
    );
    let all: i64 = db
        .query_row("SELECT count(*) FROM flags", (), |r| r.get(0))
        .unwrap();
    assert_eq!(all, before + live(&db), "superseded flags stay");
    let meta: String = db
        .query_row("SELECT meta FROM surveys", (), |r| r.get(0))
        .unwrap();
    assert!(!meta.contains("test-model-1"), "{meta}");
    assert!(
        !data
            .run(&["reclassify"], &["sv0000000000000000"])
            .status
            .success()
    );
    // A model file that is not one is refused with its name, and the survey fails cleanly.
    std::fs::write(&model, "{\"format\": \"nope\"}").unwrap();
    let bad = DataDir::empty();
    bad.write_config(&format!(
        "[classify]\nmodel = {:?}\n",
        model.display().to_string()
    ));
    let out = bad.run(&["ingest"], &[path_str(&sample)]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("m.json"),
        "{}",
        common::describe_output(&out)
    );
    assert!(
        !bad.path()
            .join("tiles")
            .read_dir()
            .unwrap()
            .any(|e| e.is_ok()),
        "no tiles left behind"
    );
}

/// Re-planting (tái trồng): a second flight over plots recorded as eradicated raises flags linked
/// to the earlier plots; registry hotspots near a flag are linked to it.
#[test]
fn replanting_and_nearby_hotspots_are_linked() {
    let dir = tempfile::tempdir().unwrap();
    let (tif, _) = scene(dir.path(), 9001, SCENES[0].1, Some("105.2,22.0"));
    let data = DataDir::with_boundaries();
    data.run_ok(
        &["ingest"],
        &[&tif, "--acquired-at", "2026-01-10T08:00:00Z"],
    );
    let store = data.store();
    let db = store.db();
    let first: Vec<(i64, f64, f64)> = db
        .prepare("SELECT id, lon, lat FROM flags ORDER BY id")
        .unwrap()
        .query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(first.len() >= 2, "{first:?}");
    // Field teams recorded them eradicated (the review workflow, issue 5, will do this).
    db.execute("UPDATE flags SET status = 'eradicated'", ())
        .unwrap();
    // A hotspot of the registry right at the first plot.
    let csv = dir.path().join("h.csv");
    std::fs::write(
        &csv,
        format!(
            "lon,lat,name,kind\n{},{},Điểm mẫu,khac\n",
            first[0].1, first[0].2
        ),
    )
    .unwrap();
    data.run_ok(&["import", "hotspots"], &[path_str(&csv)]);
    // The second flight over the same fields.
    data.run_ok(
        &["ingest"],
        &[&tif, "--acquired-at", "2026-03-10T08:00:00Z"],
    );
    let second: Vec<(i64, Option<i64>, String)> = db
        .prepare(
            "SELECT id, replanting_of, near_hotspots FROM flags WHERE status = 'new' ORDER BY id",
        )
        .unwrap()
        .query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(second.len(), first.len());
    let earlier: Vec<i64> = first.iter().map(|f| f.0).collect();
    for (id, of, _) in &second {
        let of = of.unwrap_or_else(|| panic!("flag {id} is not linked to the eradicated plot"));
        assert!(earlier.contains(&of));
    }
    assert!(
        second.iter().any(|(_, _, near)| near != "[]"),
        "no flag links the hotspot: {second:?}"
    );
    let server = TestServer::serve(data);
    let admin = server.add_user("a", "admin", &[], true);
    let fc = server
        .get("/collections/flags/items?status=new", Some(&admin))
        .json();
    let f = &fc["features"][0]["properties"];
    assert_eq!(f["replanting"], true, "{f}");
    assert!(f["replanting_of"].as_i64().is_some());
}
