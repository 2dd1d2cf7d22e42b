//! Hot paths of the hotspot layer: R-tree bbox queries over 1,000,000 hotspots, and a whole
//! `/collections/hotspots/items?bbox=…&limit=100` request in-process (index → SQLite → GeoJSON).
//! The end-to-end figure beside pygeoapi/PostGIS is `bench/run.sh` (`make bench`).

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::BodyExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tower::ServiceExt;
use vigil::api::{AppState, app};
use vigil::auth::{Jurisdiction, Principal, Role};
use vigil::hotspots::import::Format;
use vigil::hotspots::{Kind, Status};
use vigil::index::hotspots::EntryRow;
use vigil::index::{HotspotFilter, HotspotIndex};
use vigil::{Config, Vigil};

fn points(n: usize, seed: u64) -> Vec<(f64, f64)> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| (rng.random_range(102.2..109.4), rng.random_range(8.6..23.3)))
        .collect()
}

fn bboxes(n: usize) -> Vec<[f64; 4]> {
    let mut rng = StdRng::seed_from_u64(99);
    (0..n)
        .map(|_| {
            let (x, y) = (rng.random_range(102.5..109.0), rng.random_range(9.0..23.0));
            let s = rng.random_range(0.05..0.5);
            [x, y, x + s, y + s]
        })
        .collect()
}

fn index_query(c: &mut Criterion) {
    let rows = points(1_000_000, 1)
        .into_iter()
        .enumerate()
        .map(|(i, (lon, lat))| EntryRow {
            id: i as i64 + 1,
            lon,
            lat,
            status: Status::ALL[i % 4],
            kind: Kind::ALL[i % 6],
            province: Some(format!("{:02}", i % 34)),
            commune: None,
            reported: (i % 1000) as i32,
        });
    let idx = HotspotIndex::build(rows);
    let boxes = bboxes(1000);
    let national = Jurisdiction::national();
    let scoped = Jurisdiction::provinces(["01", "08", "24"]);
    let mut g = c.benchmark_group("index_1M");
    g.throughput(Throughput::Elements(1));
    let mut i = 0;
    g.bench_function("bbox_limit100_national", |b| {
        b.iter(|| {
            i = (i + 1) % boxes.len();
            idx.query(
                &HotspotFilter {
                    bbox: Some(boxes[i]),
                    ..Default::default()
                },
                &national,
                None,
                100,
            )
        })
    });
    g.bench_function("bbox_limit100_3_provinces_status", |b| {
        b.iter(|| {
            i = (i + 1) % boxes.len();
            let f = HotspotFilter {
                bbox: Some(boxes[i]),
                statuses: 0b0011,
                ..Default::default()
            };
            idx.query(&f, &scoped, None, 100)
        })
    });
    g.finish();
    c.bench_function("index_build_1M", |b| {
        b.iter_batched(
            || {
                points(1_000_000, 2)
                    .into_iter()
                    .enumerate()
                    .map(|(i, (lon, lat))| EntryRow {
                        id: i as i64,
                        lon,
                        lat,
                        status: Status::Reported,
                        kind: Kind::Khac,
                        province: None,
                        commune: None,
                        reported: 0,
                    })
                    .collect::<Vec<_>>()
            },
            HotspotIndex::build,
            criterion::BatchSize::LargeInput,
        )
    });
}

fn items_request(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let vigil = Vigil::open(Config::for_tests(dir.path())).expect("open");
    let mut csv = String::from("lon,lat,name,kind,status,reported_on\n");
    for (i, (lon, lat)) in points(200_000, 3).into_iter().enumerate() {
        csv.push_str(&format!(
            "{lon:.6},{lat:.6},Điểm mẫu {i},diem_ban_le,reported,2025-05-01\n"
        ));
    }
    vigil
        .import_hotspots(
            &Principal::cli(),
            csv.as_bytes(),
            Format::Csv,
            None,
            "bench",
        )
        .expect("import");
    let token = vigil
        .add_user(
            &Principal::cli(),
            "bench",
            Role::Viewer,
            Jurisdiction::national(),
        )
        .expect("user");
    let router = app(AppState::new(Arc::new(vigil)));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let boxes = bboxes(1000);
    let mut i = 0;
    let mut g = c.benchmark_group("items_200k");
    g.throughput(Throughput::Elements(1));
    g.bench_function("bbox_limit100_request", |b| {
        b.iter(|| {
            i = (i + 1) % boxes.len();
            let [x0, y0, x1, y1] = boxes[i];
            let req = Request::get(format!(
                "/collections/hotspots/items?bbox={x0},{y0},{x1},{y1}&limit=100"
            ))
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request");
            rt.block_on(async {
                let resp = router.clone().oneshot(req).await.expect("response");
                resp.into_body()
                    .collect()
                    .await
                    .expect("body")
                    .to_bytes()
                    .len()
            })
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(5));
    targets = index_query, items_request
}
criterion_main!(benches);
