//! Vigil's hotspot statistics (`vigil::analytics`) against the tools police analysts and the
//! literature use, on the same seeded synthetic data, through tests/clients/esda_check.py:
//!
//! - Gi* z-scores, analytical p-values and G against esda `G_Local(star=True)`, binary and
//!   row-standardised, to 1e-9; permutation p-values in distribution (different random streams);
//! - FDR against statsmodels' `multipletests(fdr_bh)` and `esda.fdr`;
//! - queen and rook contiguity, k nearest neighbours and distance bands against libpysal;
//! - Mann–Kendall against `pymannkendall.original_test`;
//! - DBSCAN against scikit-learn (`metric="haversine"`): the same clusters;
//! - kernel density against the quartic kernel summed with numpy over haversine distances.
//!
//! The Python tools live in `.venv-test` (`make test` installs tests/clients/requirements.txt);
//! without them these tests fail, naming the packages, unless `VIGIL_SKIP_EXTERNAL=1`.

mod common;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{describe_output, external_tool_missing, manifest_dir, run_with_timeout, venv_python};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use vigil::analytics::{
    Contiguity, EARTH_RADIUS_M, GiStarOptions, HotCold, IdPoint, KdeParams, Kernel, PValue,
    SpatialWeights, Transform, Unit, benjamini_hochberg, counts_per_unit, dbscan, density_tile,
    fdr_threshold, gi_star, hex_grid, kernel_density, mann_kendall,
};
use vigil::grid::{mercator_to_lon_lat, tile_for_lon_lat};

const PACKAGES: &str =
    "esda==2.9.0 libpysal==4.14.1 scikit-learn==1.7.2 statsmodels==0.14.5 pymannkendall==1.4.3";

/// `true` if the test should return (reference tools missing, skip allowed).
fn references_missing() -> bool {
    let py = venv_python();
    let ok = Command::new(&py)
        .args([
            "-c",
            "import esda, libpysal, sklearn, statsmodels, pymannkendall, shapely",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    external_tool_missing(
        ok,
        &format!(
            "esda/libpysal/scikit-learn/statsmodels/pymannkendall (pip: {PACKAGES}; python {} with tests/clients/requirements.txt)",
            py.display()
        ),
    )
}

/// Runs esda_check.py on `request` and returns its JSON answer.
fn reference(request: Value) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("request.json");
    std::fs::write(&path, request.to_string()).expect("write request");
    let script = manifest_dir().join("tests/clients/esda_check.py");
    let (out, timed_out) = run_with_timeout(
        Command::new(venv_python()).arg(&script).arg(&path),
        Duration::from_secs(600),
    );
    assert!(
        !timed_out && out.status.success(),
        "esda_check.py failed (task {})\n{}",
        request["task"],
        describe_output(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "esda_check.py printed no JSON: {e}\n{}",
            describe_output(&out)
        )
    })
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

fn lists(v: &Value) -> Vec<Vec<usize>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect()
        })
        .collect()
}

fn max_abs_diff(a: &[f64], b: &[f64], skip: impl Fn(usize) -> bool) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .enumerate()
        .filter(|(i, _)| !skip(*i))
        .map(|(_, (x, y))| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Metres east/north of a base point, as lon/lat.
fn offset(base: [f64; 2], east_m: f64, north_m: f64) -> [f64; 2] {
    let dlat = (north_m / EARTH_RADIUS_M).to_degrees();
    let dlon = (east_m / (EARTH_RADIUS_M * base[1].to_radians().cos())).to_degrees();
    [base[0] + dlon, base[1] + dlat]
}

fn gaussian(rng: &mut StdRng) -> f64 {
    // Box–Muller.
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

const BBOX: [f64; 4] = [104.90, 21.30, 105.46, 21.77];
const HOT: [f64; 2] = [105.10, 21.45];
const COLD: [f64; 2] = [105.33, 21.64];

/// The synthetic province: ~1,000 hexagons of 2 km, điểm scattered uniformly, a planted hot
/// cluster (σ 3 km) and a cold area (no điểm within 10 km), from a fixed seed.
struct Province {
    units: Vec<Unit>,
    counts: Vec<f64>,
    weights: SpatialWeights,
    islands: Vec<usize>,
}

fn province() -> Province {
    let units = hex_grid(BBOX, 2000.0).unwrap();
    let mut rng = StdRng::seed_from_u64(20240611);
    let mut points = Vec::new();
    for _ in 0..4000 {
        let p = [
            rng.random_range(BBOX[0]..BBOX[2]),
            rng.random_range(BBOX[1]..BBOX[3]),
        ];
        if vigil::analytics::haversine_m(p, COLD) > 10_000.0 {
            points.push(p);
        }
    }
    for _ in 0..600 {
        points.push(offset(
            HOT,
            3000.0 * gaussian(&mut rng),
            3000.0 * gaussian(&mut rng),
        ));
    }
    let counts = counts_per_unit(&units, &points).unwrap();
    let geoms: Vec<_> = units.iter().map(|u| u.geometry.clone()).collect();
    let mut lists = SpatialWeights::contiguity(&geoms, Contiguity::Queen).to_lists();
    // Two islands: cut every link of two units.
    let islands = vec![37, 500];
    for &a in &islands {
        lists[a].clear();
        for l in lists.iter_mut() {
            l.retain(|&j| j != a);
        }
    }
    Province {
        units,
        counts,
        weights: SpatialWeights::from_neighbours(lists).unwrap(),
        islands,
    }
}

#[test]
fn gi_star_matches_esda() {
    if references_missing() {
        return;
    }
    let prov = province();
    let n = prov.units.len();
    assert!((900..1200).contains(&n), "{n} units");
    let permutations = 999;
    let opts = |transform| GiStarOptions {
        transform,
        permutations,
        seed: 7,
        alpha: 0.05,
        decide_by: PValue::Permutation,
    };
    let ours_b = gi_star(&prov.counts, &prov.weights, &opts(Transform::Binary)).unwrap();
    let ours_r = gi_star(&prov.counts, &prov.weights, &opts(Transform::Row)).unwrap();
    let non_island_p: Vec<f64> = ours_b.iter().map(|r| r.p_sim.unwrap_or(f64::NAN)).collect();
    let family: Vec<f64> = non_island_p
        .iter()
        .copied()
        .filter(|p| !p.is_nan())
        .collect();
    let esda = reference(json!({
        "task": "gi_star",
        "values": prov.counts,
        "neighbours": prov.weights.to_lists(),
        "transforms": ["B", "R"],
        "permutations": permutations,
        "seed": 7,
        "alpha": 0.05,
        "p": family,
    }));
    let is_island = |i: usize| prov.islands.contains(&i);

    for (name, ours) in [("B", &ours_b), ("R", &ours_r)] {
        let e = &esda[name];
        let z: Vec<f64> = ours.iter().map(|r| r.z).collect();
        let p: Vec<f64> = ours.iter().map(|r| r.p_norm).collect();
        let g: Vec<f64> = ours.iter().map(|r| r.g).collect();
        // esda with transform "R" gives islands a self-weight of 0 (the row maximum of an empty
        // row): G = 0 and z = NaN there. Vigil weights the island itself 1 in both transforms, as
        // esda does with "B", where islands match too.
        let skip = |i: usize| name == "R" && is_island(i);
        if name == "R" {
            let esda_z = floats(&e["z"]);
            assert!(prov.islands.iter().all(|&i| esda_z[i].is_nan()));
        }
        let dz = max_abs_diff(&z, &floats(&e["z"]), skip);
        let dp = max_abs_diff(&p, &floats(&e["p_norm"]), skip);
        let dg = max_abs_diff(&g, &floats(&e["g"]), skip);
        println!("Gi* {name}: max |Δz| = {dz:.2e}, max |Δp_norm| = {dp:.2e}, max |ΔG| = {dg:.2e}");
        assert!(
            dz < 1e-9 && dp < 1e-9 && dg < 1e-12,
            "{name}: Δz {dz} Δp {dp} ΔG {dg}"
        );

        // Permutation p-values: two independent Monte Carlo estimates of the same p. Their
        // difference has sd √(2p(1−p)/P); allow 5 sd (+ 2/P for the discreteness).
        let esda_sim = floats(&e["p_sim"]);
        let mut worst: f64 = 0.0;
        let mut mean_abs = 0.0;
        let mut agree = 0;
        let mut clear = 0;
        for (i, r) in ours.iter().enumerate() {
            if is_island(i) {
                // esda: islands get the smallest p_sim, 1/(P+1) (held in f32); Vigil leaves them
                // untested.
                assert_eq!(r.p_sim, None);
                assert!(
                    (esda_sim[i] - 1.0 / 1000.0).abs() < 1e-7,
                    "esda island p_sim {}",
                    esda_sim[i]
                );
                continue;
            }
            let (a, b) = (r.p_sim.unwrap(), esda_sim[i]);
            let pm = (a + b) / 2.0;
            let sd = (2.0 * pm * (1.0 - pm) / permutations as f64).sqrt();
            assert!(
                (a - b).abs() <= 5.0 * sd + 2.0 / permutations as f64,
                "unit {i}: p_sim {a} vs esda {b}"
            );
            worst = worst.max((a - b).abs());
            mean_abs += (a - b).abs();
            if !(0.02..=0.10).contains(&b) {
                clear += 1;
                agree += usize::from((a < 0.05) == (b < 0.05));
            }
        }
        mean_abs /= (n - prov.islands.len()) as f64;
        println!(
            "Gi* {name}: p_sim max |Δ| = {worst:.4}, mean |Δ| = {mean_abs:.4}, same 5 % call on {agree}/{clear} clear units"
        );
        assert_eq!(
            agree, clear,
            "{name}: significance differs on clearly (in)significant units"
        );
        assert!(mean_abs < 0.02, "{name}: mean |Δp_sim| {mean_abs}");
    }

    // FDR: our q-values vs statsmodels, our cut-off vs esda.fdr, and GiStar::p_fdr is the q-value
    // of p_sim over the units that are not islands.
    let q = benjamini_hochberg(&family);
    let dq = max_abs_diff(&q, &floats(&esda["bh"]), |_| false);
    let cut = fdr_threshold(&family, 0.05);
    let esda_cut = esda["fdr_threshold"].as_f64().unwrap();
    println!("FDR: max |Δq| = {dq:.2e}; cut-off {cut} (esda {esda_cut})");
    assert!(dq < 1e-12, "{dq}");
    assert!((cut - esda_cut).abs() < 1e-15);
    let q_all = benjamini_hochberg(&non_island_p);
    for (i, r) in ours_b.iter().enumerate() {
        if is_island(i) {
            assert!(r.p_fdr.is_nan());
        } else {
            assert_eq!(r.p_fdr, q_all[i]);
        }
    }

    // And the map says what was planted: hot around HOT, cold around COLD.
    let nearest = |at: [f64; 2]| {
        (0..n)
            .min_by(|&a, &b| {
                let da = vigil::analytics::haversine_m(prov.units[a].centroid(), at);
                let db = vigil::analytics::haversine_m(prov.units[b].centroid(), at);
                da.total_cmp(&db)
            })
            .unwrap()
    };
    // (With 999 permutations p_sim is at least 0.001, so after FDR over ~100 hot units its q-value
    // cannot reach 0.01; the analytical p-values can.)
    assert!(matches!(
        ours_b[nearest(HOT)].class_fdr,
        HotCold::Hot99 | HotCold::Hot95
    ));
    let analytical = gi_star(&prov.counts, &prov.weights, &GiStarOptions::default()).unwrap();
    assert_eq!(analytical[nearest(HOT)].class_fdr, HotCold::Hot99);
    assert!(matches!(
        analytical[nearest(COLD)].class,
        HotCold::Cold99 | HotCold::Cold95
    ));
    assert!(matches!(
        ours_b[nearest(COLD)].class,
        HotCold::Cold99 | HotCold::Cold95
    ));
}

#[test]
fn weights_match_libpysal() {
    if references_missing() {
        return;
    }
    let units = hex_grid([105.0, 21.0, 105.2, 21.15], 1500.0).unwrap();
    let geoms: Vec<_> = units.iter().map(|u| u.geometry.clone()).collect();
    let rings: Vec<Vec<[f64; 2]>> = geoms
        .iter()
        .map(|g| g.0[0].exterior().0.iter().map(|c| [c.x, c.y]).collect())
        .collect();
    let mut rng = StdRng::seed_from_u64(5);
    let points: Vec<[f64; 2]> = (0..400)
        .map(|_| [rng.random_range(105.0..105.3), rng.random_range(21.0..21.2)])
        .collect();
    let py = reference(json!({
        "task": "weights",
        "polygons": rings,
        "points": points,
        "k": 5,
        "threshold_m": 2500.0,
        "radius_m": EARTH_RADIUS_M,
    }));
    let queen = SpatialWeights::contiguity(&geoms, Contiguity::Queen);
    let rook = SpatialWeights::contiguity(&geoms, Contiguity::Rook);
    assert_eq!(queen.to_lists(), lists(&py["queen"]), "queen");
    assert_eq!(rook.to_lists(), lists(&py["rook"]), "rook");
    // Hexagons meet along edges only: queen and rook agree, 6 neighbours inside the grid.
    assert_eq!(queen.max_cardinality(), 6);
    let knn = SpatialWeights::knn(&points, 5).unwrap();
    assert_eq!(knn.to_lists(), lists(&py["knn"]), "knn");
    let band = SpatialWeights::distance_band(&points, 2500.0).unwrap();
    assert_eq!(band.to_lists(), lists(&py["band"]), "distance band");
    println!(
        "weights: {} hexagons (queen, rook), {} points (knn 5, band 2.5 km, {} islands) identical to libpysal",
        units.len(),
        points.len(),
        band.islands().len()
    );
}

#[test]
fn mann_kendall_matches_pymannkendall() {
    if references_missing() {
        return;
    }
    let mut rng = StdRng::seed_from_u64(11);
    let mut series: Vec<Vec<f64>> = vec![
        vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
        vec![5.0, 5.0, 4.0, 4.0, 3.0, 6.0, 2.0, 2.0, 1.0, 1.0, 0.0],
        vec![2.0, 2.0, 2.0, 2.0],
        vec![0.3, -1.2, 2.5],
        vec![1.0, 3.0, 2.0, 3.0, 5.0, 4.0, 5.0, 7.0, 6.0, 8.0, 8.0, 9.0],
    ];
    for len in [8, 12, 24, 40] {
        // Small integers: many ties.
        series.push(
            (0..len)
                .map(|_| f64::from(rng.random_range(0..5u8)))
                .collect(),
        );
        // Gi*-like z-scores with a drift.
        series.push(
            (0..len)
                .map(|t| 0.08 * f64::from(t) + gaussian(&mut rng))
                .collect(),
        );
    }
    let py = reference(json!({ "task": "mann_kendall", "series": series }));
    let mut worst: f64 = 0.0;
    for (x, r) in series.iter().zip(py.as_array().unwrap()) {
        let ours = mann_kendall(x, 0.05);
        assert_eq!(ours.s as f64, r["s"].as_f64().unwrap(), "{x:?}");
        for (a, key) in [
            (ours.var_s, "var_s"),
            (ours.z, "z"),
            (ours.p, "p"),
            (ours.tau, "tau"),
        ] {
            let b = r[key].as_f64().unwrap();
            worst = worst.max((a - b).abs());
            assert!((a - b).abs() < 1e-9, "{key}: {a} vs {b} for {x:?}");
        }
        let trend = serde_json::to_value(ours.trend).unwrap();
        let want = r["trend"].as_str().unwrap().replace(' ', "_");
        assert_eq!(trend, want, "{x:?}");
    }
    println!(
        "Mann–Kendall: {} series, max |Δ| over var_s, z, p, tau = {worst:.2e}",
        series.len()
    );
}

#[test]
fn dbscan_matches_scikit_learn() {
    if references_missing() {
        return;
    }
    let mut rng = StdRng::seed_from_u64(42);
    let mut points = Vec::new();
    // Eight tụ điểm of 30–150 điểm (σ 150–400 m) and 1,500 scattered điểm.
    for _ in 0..8 {
        let c = [rng.random_range(105.0..105.4), rng.random_range(21.0..21.3)];
        let sigma = rng.random_range(150.0..400.0);
        for _ in 0..rng.random_range(30..150) {
            points.push(offset(
                c,
                sigma * gaussian(&mut rng),
                sigma * gaussian(&mut rng),
            ));
        }
    }
    for _ in 0..1500 {
        points.push([rng.random_range(105.0..105.4), rng.random_range(21.0..21.3)]);
    }
    let ids: Vec<IdPoint> = points
        .iter()
        .enumerate()
        .map(|(i, p)| IdPoint {
            id: i as i64,
            lon: p[0],
            lat: p[1],
        })
        .collect();
    for (eps_m, min_points) in [(250.0, 5), (400.0, 8), (150.0, 3)] {
        let ours = dbscan(&ids, eps_m, min_points).unwrap();
        let py = reference(json!({
            "task": "dbscan",
            "points": points,
            "eps_m": eps_m,
            "min_points": min_points,
            "radius_m": EARTH_RADIUS_M,
        }));
        let theirs: Vec<i64> = py["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        // Same partition: a one-to-one map between labels, noise to noise.
        let mut map: HashMap<u32, i64> = HashMap::new();
        let mut back: HashMap<i64, u32> = HashMap::new();
        for (i, (a, &b)) in ours.labels.iter().zip(&theirs).enumerate() {
            match a {
                None => assert_eq!(b, -1, "point {i}: noise here, cluster {b} in scikit-learn"),
                Some(a) => {
                    assert!(b >= 0, "point {i}: cluster {a} here, noise in scikit-learn");
                    assert_eq!(*map.entry(*a).or_insert(b), b, "point {i}");
                    assert_eq!(*back.entry(b).or_insert(*a), *a, "point {i}");
                }
            }
        }
        let identical = ours
            .labels
            .iter()
            .zip(&theirs)
            .all(|(a, &b)| a.map_or(-1, i64::from) == b);
        println!(
            "DBSCAN eps {eps_m} m, min {min_points}: {} clusters, {} noise of {} — same partition as scikit-learn (labels identical: {identical})",
            ours.clusters.len(),
            ours.labels.iter().filter(|l| l.is_none()).count(),
            points.len()
        );
        assert!(ours.clusters.len() >= 5);
    }
}

#[test]
fn kernel_density_matches_numpy() {
    if references_missing() {
        return;
    }
    let mut rng = StdRng::seed_from_u64(3);
    let bbox = [105.80, 21.00, 105.90, 21.08];
    let points: Vec<[f64; 2]> = (0..800)
        .map(|_| {
            [
                rng.random_range(105.79..105.91),
                rng.random_range(20.99..21.09),
            ]
        })
        .collect();
    let weights: Vec<f64> = (0..points.len())
        .map(|_| rng.random_range(1..4u8).into())
        .collect();
    for (kernel, name) in [
        (Kernel::Quartic, "quartic"),
        (Kernel::Epanechnikov, "epanechnikov"),
    ] {
        let params = KdeParams {
            kernel,
            bandwidth_m: 1500.0,
            cell_m: 200.0,
        };
        let grid = kernel_density(&points, Some(&weights), bbox, &params).unwrap();
        let cells: Vec<(usize, usize)> = (0..60)
            .map(|_| {
                (
                    rng.random_range(0..grid.rows),
                    rng.random_range(0..grid.cols),
                )
            })
            .chain([(0, 0), (grid.rows - 1, grid.cols - 1)])
            .collect();
        // A few pixels of an XYZ tile over the same points.
        let tile = tile_for_lon_lat(105.85, 21.04, 13);
        let tile_values = density_tile(&points, Some(&weights), tile, kernel, 1500.0).unwrap();
        let [x0, _, x1, y1] = tile.bounds_mercator();
        let res = (x1 - x0) / 256.0;
        let pixels: Vec<(usize, usize)> = (0..20)
            .map(|_| (rng.random_range(0..256), rng.random_range(0..256)))
            .collect();
        let mut at: Vec<[f64; 2]> = cells.iter().map(|&(r, c)| grid.cell_center(r, c)).collect();
        at.extend(pixels.iter().map(|&(r, c)| {
            mercator_to_lon_lat(x0 + (c as f64 + 0.5) * res, y1 - (r as f64 + 0.5) * res)
        }));
        let py = reference(json!({
            "task": "kde",
            "points": points,
            "weights": weights,
            "cells": at,
            "bandwidth_m": 1500.0,
            "radius_m": EARTH_RADIUS_M,
            "kernel": name,
        }));
        let want = floats(&py["density"]);
        let ours: Vec<f64> = cells
            .iter()
            .map(|&(r, c)| f64::from(grid.value(r, c)))
            .chain(
                pixels
                    .iter()
                    .map(|&(r, c)| f64::from(tile_values[r * 256 + c])),
            )
            .collect();
        let mut worst: f64 = 0.0;
        for (i, (a, b)) in ours.iter().zip(&want).enumerate() {
            let rel = (a - b).abs() / b.abs().max(1e-3);
            worst = worst.max(rel);
            assert!(rel < 1e-4, "{name} sample {i}: {a} vs numpy {b}");
        }
        assert!(
            want.iter().all(|&v| v > 0.0),
            "samples should lie where there are điểm"
        );
        println!(
            "KDE {name}: {} grid cells + {} tile pixels, max relative difference {worst:.2e}",
            cells.len(),
            pixels.len()
        );
    }
}
