//! Survey tiles on object storage (issue 17): one PMTiles archive per survey against one object per
//! tile, on SeaweedFS's S3 gateway on loopback (`weed mini`, from `make test`'s venv or
//! `$VIGIL_WEED`; skipped with a message when it is missing).
//!
//! 1,024 tiles of 24 KiB (incompressible, like PNG tiles) are uploaded both ways — timed once each
//! and printed — then criterion times reading one random tile: a GET of its own object, a range
//! read from the archive (directory cached, as `storage::ObjectStorage` reads), and the service's
//! path with its tile cache warm.
//!
//!     cargo bench --bench object_storage

#[path = "../tests/common/seaweed.rs"]
mod seaweed;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, black_box};
use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use pmtiles::{AsyncPmTilesReader, HashMapCache, ObjectStoreBackend, TileCoord};
use seaweed::Seaweed;
use vigil::grid::Tile;
use vigil::storage::ObjectStorage;

const SIDE: u32 = 32; // 32 × 32 tiles at one zoom
const Z: u8 = 20;
const TILE_BYTES: usize = 24 << 10;

/// Deterministic incompressible bytes for tile `i` (xorshift).
fn tile_bytes(i: u32) -> Vec<u8> {
    let mut s = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(i + 1);
    (0..TILE_BYTES)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s as u8
        })
        .collect()
}

fn tiles() -> Vec<Tile> {
    (0..SIDE * SIDE)
        .map(|i| Tile {
            z: Z,
            x: 800_000 + i % SIDE,
            y: 450_000 + i / SIDE,
        })
        .collect()
}

fn main() {
    if !Seaweed::binary().is_file() {
        eprintln!(
            "skipped: SeaweedFS is not installed at {} (make test installs it; or set VIGIL_WEED)",
            Seaweed::binary().display()
        );
        return;
    }
    let (key, secret) = ("vigil-bench", "vigil-bench-secret");
    let weed = Seaweed::start(key, secret);
    for (k, v) in [
        ("AWS_ENDPOINT_URL", weed.endpoint().as_str()),
        ("AWS_ACCESS_KEY_ID", key),
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ALLOW_HTTP", "true"),
    ] {
        // SAFETY: set before any thread of this process reads the environment.
        unsafe { std::env::set_var(k, v) };
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let store: Arc<dyn ObjectStore> = Arc::new(
        object_store::aws::AmazonS3Builder::from_env()
            .with_url("s3://vigil/bench-objects")
            .build()
            .expect("S3 store"),
    );
    let tiles = tiles();
    let path =
        |t: &Tile| ObjectPath::from(format!("bench-objects/sv1/{}/{}/{}.png", t.z, t.x, t.y));

    // Upload, one object per tile (8 PUTs in flight).
    let t0 = Instant::now();
    rt.block_on(async {
        futures_util::stream::iter(tiles.iter().enumerate())
            .map(|(i, t)| {
                let store = store.clone();
                let p = path(t);
                async move { store.put(&p, PutPayload::from(tile_bytes(i as u32))).await }
            })
            .buffer_unordered(8)
            .for_each(|r| async move {
                r.expect("PUT");
            })
            .await;
    });
    let per_object_s = t0.elapsed().as_secs_f64();

    // Upload, one archive: the service's own publish (pack, multipart upload, read back).
    let dir = tempfile::tempdir().expect("tempdir");
    let survey_dir = dir.path().join("sv2");
    for (i, t) in tiles.iter().enumerate() {
        let d = survey_dir.join(t.z.to_string()).join(t.x.to_string());
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(format!("{}.png", t.y)), tile_bytes(i as u32)).unwrap();
    }
    let objects = ObjectStorage::open("s3://vigil/bench-archive", 64).expect("object tiles");
    let t0 = Instant::now();
    let published = objects.publish("sv2", &survey_dir, "png").expect("publish");
    let archive_s = t0.elapsed().as_secs_f64();
    println!(
        "object_storage/upload: {} tiles of {} KiB — one object per tile {per_object_s:.2} s ({:.0} tiles/s); one archive {archive_s:.2} s ({:.0} tiles/s, {} bytes, pack {:.2} s, upload {:.2} s)",
        tiles.len(),
        TILE_BYTES >> 10,
        tiles.len() as f64 / per_object_s,
        tiles.len() as f64 / archive_s,
        published.bytes,
        published.pack_s,
        published.upload_s
    );

    let reader = rt.block_on(async {
        let backend = ObjectStoreBackend::new(
            Box::new(store.clone()),
            ObjectPath::from("bench-archive/tiles/sv2/display.pmtiles"),
        );
        AsyncPmTilesReader::try_from_cached_source(backend, HashMapCache::default())
            .await
            .expect("archive reader")
    });
    // Warm the service's cache.
    for t in &tiles {
        objects
            .display_tile("sv2", *t)
            .expect("tile")
            .expect("present");
    }

    let mut c = Criterion::default()
        .sample_size(30)
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let mut g = c.benchmark_group("object_storage");
    let mut i = 0usize;
    let mut next = || {
        i = (i * 7919 + 13) % tiles.len();
        tiles[i]
    };
    g.bench_function("get_tile_per_object", |b| {
        b.iter(|| {
            let p = path(&next());
            let bytes = rt.block_on(async { store.get(&p).await.unwrap().bytes().await.unwrap() });
            black_box(bytes.len())
        })
    });
    g.bench_function("get_tile_from_archive", |b| {
        b.iter(|| {
            let t = next();
            let c = TileCoord::new(t.z, t.x, t.y).unwrap();
            let bytes = rt.block_on(reader.get_tile(c)).unwrap().expect("present");
            black_box(bytes.len())
        })
    });
    g.bench_function("display_tile_cached", |b| {
        b.iter(|| {
            black_box(
                objects
                    .display_tile("sv2", next())
                    .unwrap()
                    .map(|b| b.len()),
            )
        })
    });
    g.finish();
    c.final_summary();
    drop(weed);
}
