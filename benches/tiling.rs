//! Hot paths of survey ingest and tile serving: the whole tiler over a committed sample scene
//! (read → warp → encode → write, all cores), PNG encoding of one tile, the overview reduction,
//! and serving a stored tile through the router in-process. The end-to-end figures beside
//! gdal2tiles and the tile-serving load test are `bench/ingest.sh` (`make bench`).

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::BodyExt;
use tower::ServiceExt;
use vigil::api::{AppState, app};
use vigil::auth::{Jurisdiction, Principal, Role};
use vigil::config::TileFormat;
use vigil::ingest::raster::{Limits, inspect};
use vigil::service::surveys::LocalFile;
use vigil::tiling::{self, Observer, Stage, image_ops};
use vigil::{Config, Vigil};

struct Quiet;
impl Observer for Quiet {
    fn progress(&self, _: Stage, _: u64, _: u64) {}
    fn cancelled(&self) -> bool {
        false
    }
}

fn scene() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-imagery/poppy-utm48n-rgba.tif")
}

fn tiler(c: &mut Criterion) {
    let info = inspect(
        &scene(),
        &Limits {
            max_pixels: 1 << 32,
        },
        None,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = tiling::Options {
        tiles_dir: dir.path().to_path_buf(),
        format: TileFormat::Png,
        threads: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2),
    };
    let mut g = c.benchmark_group("tiling");
    g.sample_size(10);
    g.throughput(Throughput::Elements((info.width * info.height) as u64));
    g.bench_function("scene_512px_rgba_all_zooms", |b| {
        b.iter(|| tiling::run(&info, "svbench000000000000", &opts, &Quiet).unwrap())
    });
    g.finish();
}

fn pixels(c: &mut Criterion) {
    let mut rgba = vec![0u8; 256 * 256 * 4];
    for (i, p) in rgba.chunks_exact_mut(4).enumerate() {
        p.copy_from_slice(&[
            (i * 7 % 251) as u8,
            (i * 3 % 241) as u8,
            (i % 199) as u8,
            255,
        ]);
    }
    let mut g = c.benchmark_group("tile_pixels");
    g.throughput(Throughput::Elements(256 * 256));
    g.bench_function("encode_png_256", |b| {
        b.iter(|| image_ops::encode(&rgba, TileFormat::Png).unwrap())
    });
    g.bench_function("encode_webp_256", |b| {
        b.iter(|| image_ops::encode(&rgba, TileFormat::Webp).unwrap())
    });
    let mut canvas = vec![0u8; 2048 * 2048 * 4];
    g.throughput(Throughput::Elements(2048 * 2048));
    g.bench_function("halve_2048", |b| {
        b.iter(|| image_ops::halve_in_place(&mut canvas, 2048, 2048, 2048))
    });
    g.finish();
}

fn serving(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::for_tests(dir.path());
    let vigil = Vigil::open(cfg).unwrap();
    let s = vigil
        .ingest_local(
            &Principal::cli(),
            LocalFile {
                path: scene(),
                name: None,
                acquired_at: None,
                bands: None,
            },
            false,
        )
        .unwrap();
    let token = vigil
        .add_user(
            &Principal::cli(),
            "bench",
            Role::Viewer,
            Jurisdiction::national(),
        )
        .unwrap();
    let m = s.meta.clone().unwrap();
    let top = m.levels.iter().find(|l| l.z == m.native_zoom).unwrap();
    let uri = format!(
        "/tiles/{}/{}/{}/{}.png",
        s.row.id,
        top.z,
        top.min_x + 1,
        top.min_y + 1
    );
    let router = app(AppState::new(Arc::new(vigil)));
    let rt = tokio::runtime::Runtime::new().unwrap();
    c.bench_function("serve_survey_tile_in_process", |b| {
        b.iter(|| {
            rt.block_on(async {
                let req = Request::get(&uri)
                    .header("authorization", format!("Bearer {token}"))
                    .body(Body::empty())
                    .unwrap();
                let resp = router.clone().oneshot(req).await.unwrap();
                assert_eq!(resp.status(), 200);
                resp.into_body().collect().await.unwrap().to_bytes().len()
            })
        })
    });
}

fn classify(c: &mut Criterion) {
    use vigil::classify::{features, model::Model};
    let info = inspect(
        &scene(),
        &Limits {
            max_pixels: 1 << 32,
        },
        None,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = tiling::Options {
        tiles_dir: dir.path().to_path_buf(),
        format: TileFormat::Png,
        threads: 1,
    };
    let out = tiling::run(&info, "svbench000000000001", &opts, &Quiet).unwrap();
    let native = *out.plan.level(out.plan.native_zoom).unwrap();
    let sd = tiling::layout::SurveyDir::new(dir.path(), "svbench000000000001");
    // The fullest analysis tile of the scene.
    let tile = (native.min_y..=native.max_y)
        .flat_map(|y| {
            (native.min_x..=native.max_x).map(move |x| vigil::grid::Tile { z: native.z, x, y })
        })
        .filter_map(|t| std::fs::read(sd.analysis(t)).ok())
        .map(|b| tiling::layout::AnalysisTile::decode(&b).unwrap())
        .max_by_key(|t| t.mask.iter().filter(|m| **m != 0).count())
        .unwrap();
    let lut = features::BandLuts::uniform(vigil::classify::train::domain_for(&info).lut(65_535));
    let model = Model::builtin();
    let head = model.head(false);
    let mut scratch = vec![0f32; vigil::classify::model::expanded_len(head.n_inputs)];
    let mut g = c.benchmark_group("classify_tile");
    g.throughput(Throughput::Elements(256 * 256));
    g.bench_function("features", |b| {
        b.iter(|| features::tile_features(&tile, &lut))
    });
    let f = features::tile_features(&tile, &lut);
    g.bench_function("predict_1024_cells_one_by_one", |b| {
        b.iter(|| {
            let mut s = 0f32;
            for (v, ok) in f.values.iter().zip(&f.valid) {
                if *ok {
                    s += head.predict(v, &mut scratch)[0];
                }
            }
            s
        })
    });
    // What the classify stage does: the valid cells, eight per vector.
    let xs: Vec<_> = f
        .values
        .iter()
        .zip(&f.valid)
        .filter(|(_, ok)| **ok)
        .map(|(v, _)| *v)
        .collect();
    let mut out = vec![[0f32; 4]; xs.len()];
    g.bench_function("predict_1024_cells", |b| {
        b.iter(|| {
            head.predict_batch(&xs, &mut out);
            out[0][0]
        })
    });
    g.finish();
}

criterion_group!(benches, tiler, pixels, serving, classify);
criterion_main!(benches);
