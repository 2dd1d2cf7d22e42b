//! Hotspot statistics at national scale (issue 6: "KPIs and Gi* over 1,000,000 hotspots and 3,321
//! communes … under one second"): 1,000,000 điểm over Vietnam's bbox (80 % scattered, 20 % in
//! 2,000 tụ điểm of σ 300 m) and a hexagon grid of about 3,321 cells standing in for the communes.
//!
//! - `gi_star/3321_units_analytical` and `…_999_permutations`: Gi* with queen weights;
//! - `counts_per_unit/1M_points`: the điểm counted per cell (the values Gi* reads);
//! - `kde/1M_points_1km_grid`: quartic kernel density, bandwidth 5 km, 1 km cells over the country;
//! - `kde/1M_points_tile_z12`: one 256² density tile at zoom 12 over Hà Nội, bandwidth 1 km;
//! - `dbscan/1M_points`: eps 200 m, min 5 points.
//!
//! `cargo bench --bench analytics`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vigil::analytics::{
    Contiguity, GiStarOptions, IdPoint, KdeParams, Kernel, PValue, SpatialWeights, Unit,
    counts_per_unit, dbscan, density_tile, gi_star, hex_grid, kernel_density,
};
use vigil::grid::tile_for_lon_lat;

const VIETNAM: [f64; 4] = [102.14, 8.18, 109.47, 23.39];
/// Hexagon width that gives ~3,321 cells over `VIETNAM`.
const HEX_M: f64 = 21_840.0;

fn points(n: usize, seed: u64) -> Vec<[f64; 2]> {
    let mut rng = StdRng::seed_from_u64(seed);
    let centres: Vec<[f64; 2]> = (0..2000)
        .map(|_| {
            [
                rng.random_range(VIETNAM[0]..VIETNAM[2]),
                rng.random_range(VIETNAM[1]..VIETNAM[3]),
            ]
        })
        .collect();
    let sigma_deg = 300.0 / 111_195.0;
    (0..n)
        .map(|i| {
            if i % 5 == 0 {
                let c = centres[rng.random_range(0..centres.len())];
                let (a, b): (f64, f64) = (rng.random_range(f64::EPSILON..1.0), rng.random());
                let r = (-2.0 * a.ln()).sqrt() * sigma_deg;
                let t = std::f64::consts::TAU * b;
                [c[0] + r * t.cos(), c[1] + r * t.sin()]
            } else {
                [
                    rng.random_range(VIETNAM[0]..VIETNAM[2]),
                    rng.random_range(VIETNAM[1]..VIETNAM[3]),
                ]
            }
        })
        .collect()
}

fn communes() -> (Vec<Unit>, SpatialWeights) {
    let units = hex_grid(VIETNAM, HEX_M).expect("hex grid");
    let geoms: Vec<_> = units.iter().map(|u| u.geometry.clone()).collect();
    let w = SpatialWeights::contiguity(&geoms, Contiguity::Queen);
    (units, w)
}

fn gi_star_bench(c: &mut Criterion) {
    let pts = points(1_000_000, 1);
    let (units, w) = communes();
    let counts = counts_per_unit(&units, &pts).expect("counts");
    println!(
        "{} hexagon units, max {} neighbours",
        units.len(),
        w.max_cardinality()
    );
    let mut g = c.benchmark_group("gi_star");
    g.sample_size(20);
    g.throughput(Throughput::Elements(units.len() as u64));
    let analytical = GiStarOptions {
        permutations: 0,
        ..GiStarOptions::default()
    };
    g.bench_function(format!("{}_units_analytical", units.len()), |b| {
        b.iter(|| gi_star(&counts, &w, &analytical).expect("gi*"))
    });
    let permuted = GiStarOptions {
        permutations: 999,
        decide_by: PValue::Permutation,
        ..GiStarOptions::default()
    };
    g.bench_function(format!("{}_units_999_permutations", units.len()), |b| {
        b.iter(|| gi_star(&counts, &w, &permuted).expect("gi*"))
    });
    g.finish();

    let mut g = c.benchmark_group("counts_per_unit");
    g.sample_size(10);
    g.throughput(Throughput::Elements(pts.len() as u64));
    g.bench_function("1M_points", |b| {
        b.iter(|| counts_per_unit(&units, &pts).expect("counts"))
    });
    g.finish();
}

fn kde_bench(c: &mut Criterion) {
    let pts = points(1_000_000, 2);
    let mut g = c.benchmark_group("kde");
    g.sample_size(10);
    g.throughput(Throughput::Elements(pts.len() as u64));
    let params = KdeParams {
        kernel: Kernel::Quartic,
        bandwidth_m: 5000.0,
        cell_m: 1000.0,
    };
    g.bench_function("1M_points_1km_grid", |b| {
        b.iter(|| kernel_density(&pts, None, VIETNAM, &params).expect("kde"))
    });
    let tile = tile_for_lon_lat(105.85, 21.03, 12);
    g.bench_function("1M_points_tile_z12", |b| {
        b.iter(|| density_tile(&pts, None, tile, Kernel::Quartic, 1000.0).expect("tile"))
    });
    g.finish();
}

fn dbscan_bench(c: &mut Criterion) {
    let ids: Vec<IdPoint> = points(1_000_000, 3)
        .into_iter()
        .enumerate()
        .map(|(i, [lon, lat])| IdPoint {
            id: i as i64,
            lon,
            lat,
        })
        .collect();
    let found = dbscan(&ids, 200.0, 5).expect("dbscan");
    println!(
        "dbscan: {} clusters, {} noise of {}",
        found.clusters.len(),
        found.labels.iter().filter(|l| l.is_none()).count(),
        ids.len()
    );
    let mut g = c.benchmark_group("dbscan");
    g.sample_size(10);
    g.throughput(Throughput::Elements(ids.len() as u64));
    g.bench_function("1M_points", |b| {
        b.iter(|| dbscan(&ids, 200.0, 5).expect("dbscan"))
    });
    g.finish();
}

criterion_group!(benches, gi_star_bench, kde_bench, dbscan_bench);
criterion_main!(benches);
