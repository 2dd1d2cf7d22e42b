//! Survey tiles and field photos on S3-compatible object storage (issue 17, its first part).
//!
//! The embedded default uses none of this: tiles stay in `DATA_DIR/tiles` (`tiling::layout`).
//! With `[storage] url = "s3://bucket/prefix"` (or `VIGIL_STORAGE_URL`), credentials, endpoint and
//! region from the standard `AWS_*` variables (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ALLOW_HTTP`), a survey tiled on this node is also
//! *published* before the store calls it ready:
//!
//! ```text
//! PREFIX/evidence/{sha[..2]}/{sha}.jpg     a reviewer's field photo, by its SHA-256
//! PREFIX/tiles/{survey}/{attempt}/display.pmtiles    every display tile (PNG or WebP), one archive
//! PREFIX/tiles/{survey}/{attempt}/analysis.pmtiles   the analysis tiles (`.bands`, zstd), one archive
//! ```
//!
//! Each ingest attempt publishes into a folder of its own (the survey row's attempt number;
//! [`archive_key`]), and the survey's `meta.archive` names the folder of the attempt that made it
//! ready. An attempt that lost its job — its node paused past its lease while another node took
//! the job over — can still finish uploading, but only into its own folder, which no ready row
//! names and which it removes when the store refuses its final write: it can never overwrite
//! the archives another attempt made ready. Surveys published before attempts had folders (and
//! those `vigil migrate` publishes) have theirs directly under `PREFIX/tiles/{survey}/`.
//!
//! One archive per survey, not one object per tile: a survey of a few thousand tiles is two PUTs
//! (multipart past 8 MiB) instead of thousands, and a reader needs the archive's header and
//! directories (cached per survey) and then one range request per tile. A node without the
//! survey's local directory (another node, or this one after its disk was wiped) reads display
//! tiles from the archive; the local directory, where it exists, stays the faster path.
//!
//! The `object_store` crate speaks S3 (tested against SeaweedFS's S3 gateway); the `pmtiles`
//! crate writes the archives and reads them through its `object_store` backend. Calls block: a
//! small runtime of this module's own runs the requests, so the synchronous service code (run on
//! blocking threads) can wait on them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use parking_lot::Mutex;
use pmtiles::{
    AsyncPmTilesReader, Compression, HashMapCache, ObjectStoreBackend, PmTilesWriter, TileCoord,
    TileType,
};

use crate::grid::Tile;

/// How long one request to the object store may take before it is called failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// An object storage failure, naming the object.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("storage.url {url:?}: {reason}")]
    Config { url: String, reason: String },
    #[error("object storage {object}: {reason}")]
    Object { object: String, reason: String },
    #[error("local tiles {path}: {reason}")]
    Local { path: String, reason: String },
}

type Reader = AsyncPmTilesReader<ObjectStoreBackend, HashMapCache>;

/// A cached answer for one display tile: its bytes, or `None` when the archive has no such tile
/// (a mosaic asks every survey, so misses are worth keeping too).
type Cached = Option<Bytes>;
type TileKey = (Arc<str>, u8, u32, u32);

/// Weighs cached tiles by their bytes (plus a little for the key), so the cache's budget is
/// memory, not a count.
#[derive(Clone)]
struct TileWeight;

impl quick_cache::Weighter<TileKey, Cached> for TileWeight {
    fn weight(&self, k: &TileKey, v: &Cached) -> u64 {
        64 + k.0.len() as u64 + v.as_ref().map_or(0, |b| b.len() as u64)
    }
}

/// The configured bucket (and prefix) for survey tiles.
pub struct ObjectStorage {
    url: String,
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    runtime: tokio::runtime::Runtime,
    /// Open display archives by archive key (header and directories read once).
    readers: Mutex<HashMap<String, Arc<Reader>>>,
    /// Display tiles read from the archives, up to `[storage] tile_cache_mib`. A survey's tiles
    /// never change once published (a publish or removal of the survey clears its entries).
    tiles: quick_cache::sync::Cache<TileKey, Cached, TileWeight>,
    /// The last answer of [`ObjectStorage::ping`] and when it was taken.
    last_ping: Mutex<Option<(std::time::Instant, Result<(), String>)>>,
}

/// How long a ping's answer is reused: `/healthz` answers anyone, and a monitor or a load
/// balancer polling it must not become a listing of the bucket per request.
const PING_TTL: Duration = Duration::from_secs(5);

impl std::fmt::Debug for ObjectStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectStorage")
            .field("url", &self.url)
            .finish()
    }
}

/// What a publish wrote.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Published {
    pub display_tiles: u64,
    pub analysis_tiles: u64,
    pub bytes: u64,
    /// Seconds spent writing the archives locally, and uploading them.
    pub pack_s: f64,
    pub upload_s: f64,
}

impl ObjectStorage {
    /// Connects to `url` (`s3://bucket[/prefix]`) with the `AWS_*` variables of the process,
    /// caching up to `cache_mib` MiB of display tiles in memory.
    pub fn open(url: &str, cache_mib: u64) -> Result<ObjectStorage, StorageError> {
        let bad = |reason: String| StorageError::Config {
            url: url.to_string(),
            reason,
        };
        let parsed = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
        if !matches!(parsed.scheme(), "s3" | "s3a") {
            return Err(bad(format!(
                "the scheme is {:?}; only s3://bucket/prefix is supported (leave storage.url unset for the data dir)",
                parsed.scheme()
            )));
        }
        if parsed.host_str().unwrap_or("").is_empty() {
            return Err(bad("no bucket named (s3://bucket/prefix)".into()));
        }
        // A few quick retries: a store that is down fails the publish (and the ingest, which the
        // worker retries) within seconds rather than the crate's default of minutes.
        let retry = object_store::RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(15),
            ..Default::default()
        };
        let store = object_store::aws::AmazonS3Builder::from_env()
            .with_url(url)
            .with_retry(retry)
            .build()
            .map_err(|e| bad(e.to_string()))?;
        let prefix = ObjectPath::from(parsed.path().trim_matches('/'));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("vigil-objects")
            .enable_all()
            .build()
            .map_err(|e| bad(format!("cannot start the storage runtime: {e}")))?;
        Ok(ObjectStorage {
            url: url.to_string(),
            store: Arc::new(store),
            prefix,
            runtime,
            readers: Mutex::new(HashMap::new()),
            tiles: quick_cache::sync::Cache::with_weighter(
                (cache_mib as usize * 1024 * 1024 / 20_000).max(64),
                cache_mib.max(1) * 1024 * 1024,
                TileWeight,
            ),
            last_ping: Mutex::new(None),
        })
    }

    /// The URL it was opened with (no secrets: those come from the environment).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs `fut` on this module's runtime and waits for it (from any thread).
    fn block<T: Send + 'static>(
        &self,
        fut: impl std::future::Future<Output = T> + Send + 'static,
    ) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        self.runtime.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv().expect("the storage runtime dropped a request")
    }

    /// `PREFIX/{name}` (`name` with `/` between its parts).
    /// One request to the object store (`fut`), given `limit` to answer, waited for; its failure
    /// names `object`.
    fn request<T, E>(
        &self,
        object: String,
        limit: Duration,
        fut: impl std::future::Future<Output = Result<T, E>> + Send + 'static,
    ) -> Result<T, StorageError>
    where
        T: Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        self.block(async move {
            match tokio::time::timeout(limit, fut).await {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(_) => Err(format!("no answer within {} s", limit.as_secs())),
            }
        })
        .map_err(|reason| StorageError::Object { object, reason })
    }

    fn named(&self, name: &str) -> ObjectPath {
        let mut parts: Vec<String> = self
            .prefix
            .parts()
            .map(|p| p.as_ref().to_string())
            .collect();
        parts.extend(name.split('/').map(str::to_string));
        ObjectPath::from_iter(parts)
    }

    /// Uploads a local file as `PREFIX/{name}`.
    pub fn put_named(&self, name: &str, file: &Path) -> Result<(), StorageError> {
        self.put_file(self.named(name), file)
    }

    /// Stores `bytes` as `PREFIX/{name}` (one PUT: for objects of a few MiB, like upload chunks).
    pub fn put_named_bytes(&self, name: &str, bytes: Bytes) -> Result<(), StorageError> {
        let path = self.named(name);
        let store = self.store.clone();
        self.request(path.to_string(), REQUEST_TIMEOUT, async move {
            store.put(&path, PutPayload::from(bytes)).await.map(|_| ())
        })
    }

    /// Writes `PREFIX/{name}` to the local file `dest` as it streams in (through `dest`'s
    /// `.part` sibling, fsynced and renamed into place); `false` when there is no such object.
    pub fn get_named_to_file(&self, name: &str, dest: &Path) -> Result<bool, StorageError> {
        let path = self.named(name);
        let store = self.store.clone();
        let dest = dest.to_path_buf();
        // Generous, as for an upload: a survey's source file is gigabytes.
        self.request(path.to_string(), REQUEST_TIMEOUT * 30, async move {
            use futures_util::StreamExt;
            use tokio::io::AsyncWriteExt;
            let got = match store.get(&path).await {
                Ok(r) => r,
                Err(object_store::Error::NotFound { .. }) => return Ok(false),
                Err(e) => return Err(e.to_string()),
            };
            let mut part = dest.clone().into_os_string();
            part.push(".part");
            let part = PathBuf::from(part);
            if let Some(dir) = dest.parent() {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            let local = |e: std::io::Error| format!("{}: {e}", part.display());
            let mut f = tokio::fs::File::create(&part).await.map_err(local)?;
            let mut stream = got.into_stream();
            while let Some(b) = stream.next().await {
                f.write_all(&b.map_err(|e| e.to_string())?)
                    .await
                    .map_err(local)?;
            }
            f.sync_all().await.map_err(local)?;
            drop(f);
            tokio::fs::rename(&part, &dest).await.map_err(local)?;
            Ok(true)
        })
    }

    /// Removes every object under `PREFIX/{name}/` (an upload's chunks, say); a missing one is
    /// not an error.
    pub fn remove_named_prefix(&self, name: &str) -> Result<(), StorageError> {
        let path = self.named(name);
        let store = self.store.clone();
        self.request(path.to_string(), REQUEST_TIMEOUT, async move {
            use futures_util::TryStreamExt;
            let objects: Vec<object_store::ObjectMeta> =
                store.list(Some(&path)).try_collect().await?;
            for o in objects {
                match store.delete(&o.location).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })
    }

    /// The bytes of `PREFIX/{name}`; `None` when there is no such object.
    pub fn get_named(&self, name: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let path = self.named(name);
        let store = self.store.clone();
        self.request(path.to_string(), REQUEST_TIMEOUT, async move {
            match store.get(&path).await {
                Ok(r) => r.bytes().await.map(|b| Some(b.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    /// `PREFIX/tiles/{archive}/{name}` (`archive`: an [`archive_key`]).
    fn object(&self, archive: &str, name: &str) -> ObjectPath {
        let mut parts: Vec<String> = self
            .prefix
            .parts()
            .map(|p| p.as_ref().to_string())
            .collect();
        parts.push("tiles".to_string());
        parts.extend(archive.split('/').map(str::to_string));
        parts.push(name.to_string());
        ObjectPath::from_iter(parts)
    }

    /// Packs the survey directory `dir` (display tiles with extension `ext`, analysis tiles under
    /// `analysis/`) into the two archives of `archive` (an [`archive_key`]) and uploads them; then
    /// reads each archive's header back to check it. Any earlier archive of that key is replaced.
    pub fn publish(&self, archive: &str, dir: &Path, ext: &str) -> Result<Published, StorageError> {
        self.forget(archive);
        let display_type = match ext {
            "webp" => TileType::Webp,
            _ => TileType::Png,
        };
        let display = list_tiles(dir, ext, &["analysis"])?;
        let analysis = list_tiles(&dir.join("analysis"), "bands", &[])?;
        let mut bytes = 0;
        let (mut pack_s, mut upload_s) = (0.0, 0.0);
        for (name, tiles, kind) in [
            ("display.pmtiles", &display, display_type),
            ("analysis.pmtiles", &analysis, TileType::Unknown),
        ] {
            // Packed into a file beside the survey directory (never held whole in memory: the
            // analysis archive of a large survey is gigabytes), uploaded, then removed.
            let file = dir.with_file_name(format!("{}.{name}.part", archive.replace('/', ".")));
            let t0 = std::time::Instant::now();
            let packed = pack(tiles, kind, dir, &file);
            pack_s += t0.elapsed().as_secs_f64();
            let t1 = std::time::Instant::now();
            let res =
                packed.and_then(|n| self.put_file(self.object(archive, name), &file).map(|()| n));
            upload_s += t1.elapsed().as_secs_f64();
            let _ = std::fs::remove_file(&file);
            bytes += res?;
        }
        // Read back: the archives open and hold as many tiles as were packed.
        let reader = self.reader(archive)?;
        let h = reader.get_header();
        if h.n_addressed_tiles().map(u64::from) != Some(display.len() as u64) {
            return Err(StorageError::Object {
                object: self.object(archive, "display.pmtiles").to_string(),
                reason: format!(
                    "read back {:?} tiles, {} were written",
                    h.n_addressed_tiles(),
                    display.len()
                ),
            });
        }
        Ok(Published {
            display_tiles: display.len() as u64,
            analysis_tiles: analysis.len() as u64,
            bytes,
            pack_s,
            upload_s,
        })
    }

    /// Uploads a local file: one PUT up to 8 MiB, else a multipart upload of 8 MiB parts read
    /// from the file as they go (a few parts in flight, so memory stays small).
    fn put_file(&self, path: ObjectPath, file: &Path) -> Result<(), StorageError> {
        const PART: usize = 8 << 20;
        let store = self.store.clone();
        let name = path.to_string();
        let file = file.to_path_buf();
        // Generous: a slow link moves a large analysis archive for a while.
        self.request(name, REQUEST_TIMEOUT * 30, async move {
            let len = tokio::fs::metadata(&file)
                .await
                .map_err(|e| e.to_string())?
                .len();
            if len <= PART as u64 {
                let data = tokio::fs::read(&file).await.map_err(|e| e.to_string())?;
                return store
                    .put(&path, PutPayload::from(data))
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string());
            }
            use tokio::io::AsyncReadExt;
            let mut f = tokio::fs::File::open(&file)
                .await
                .map_err(|e| e.to_string())?;
            let upload = store
                .put_multipart(&path)
                .await
                .map_err(|e| e.to_string())?;
            let mut w = WriteMultipart::new_with_chunk_size(upload, PART);
            let mut buf = vec![0u8; PART];
            loop {
                let n = f.read(&mut buf).await.map_err(|e| e.to_string())?;
                if n == 0 {
                    break;
                }
                w.wait_for_capacity(4).await.map_err(|e| e.to_string())?;
                w.write(&buf[..n]);
            }
            w.finish().await.map(|_| ()).map_err(|e| e.to_string())
        })
    }

    /// The display archive of `archive`, opened once.
    fn reader(&self, archive: &str) -> Result<Arc<Reader>, StorageError> {
        if let Some(r) = self.readers.lock().get(archive) {
            return Ok(r.clone());
        }
        let path = self.object(archive, "display.pmtiles");
        let name = path.to_string();
        let backend = ObjectStoreBackend::new(Box::new(self.store.clone()), path);
        let reader = Arc::new(self.request(
            name,
            REQUEST_TIMEOUT,
            AsyncPmTilesReader::try_from_cached_source(backend, HashMapCache::default()),
        )?);
        self.readers
            .lock()
            .insert(archive.to_string(), reader.clone());
        Ok(reader)
    }

    /// Display tile `t` from the archive `archive` (an [`archive_key`]); `None` when the archive
    /// has no such tile.
    pub fn display_tile(&self, archive: &str, t: Tile) -> Result<Option<Bytes>, StorageError> {
        let key: TileKey = (Arc::from(archive), t.z, t.x, t.y);
        if let Some(hit) = self.tiles.get(&key) {
            return Ok(hit);
        }
        let got = self.fetch_tile(archive, t)?;
        self.tiles.insert(key, got.clone());
        Ok(got)
    }

    fn fetch_tile(&self, archive: &str, t: Tile) -> Result<Option<Bytes>, StorageError> {
        let reader = self.reader(archive)?;
        let coord = TileCoord::new(t.z, t.x, t.y).map_err(|e| StorageError::Object {
            object: format!("tile {}/{}/{}", t.z, t.x, t.y),
            reason: e.to_string(),
        })?;
        let name = self.object(archive, "display.pmtiles").to_string();
        self.request(name, REQUEST_TIMEOUT, async move {
            reader.get_tile_decompressed(coord).await
        })
    }

    /// Drops what this node holds in memory of an archive.
    fn forget(&self, archive: &str) {
        self.readers.lock().remove(archive);
        self.tiles.retain(|k, _| &*k.0 != archive);
    }

    /// Writes every tile of the two archives of `archive` under `dest` (display tiles as
    /// `{z}/{x}/{y}.{ext}`, analysis tiles under `analysis/`), for a node that needs the survey's
    /// directory itself (classifying it again, "more like this", reviewers' feedback); returns the
    /// number of tiles written. The caller renames `dest` into place.
    pub fn restore(&self, archive: &str, dest: &Path, ext: &str) -> Result<u64, StorageError> {
        let mut written = 0;
        for (name, root, ext) in [
            ("display.pmtiles", dest.to_path_buf(), ext.to_string()),
            (
                "analysis.pmtiles",
                dest.join("analysis"),
                "bands".to_string(),
            ),
        ] {
            let path = self.object(archive, name);
            let object = path.to_string();
            let backend = ObjectStoreBackend::new(Box::new(self.store.clone()), path);
            // Generous, as for an upload: a large analysis archive takes a while.
            let n = self.request(object, REQUEST_TIMEOUT * 30, async move {
                use futures_util::TryStreamExt;
                let reader = Arc::new(
                    AsyncPmTilesReader::try_from_cached_source(backend, HashMapCache::default())
                        .await
                        .map_err(|e| e.to_string())?,
                );
                let entries: Vec<pmtiles::DirEntry> = reader
                    .clone()
                    .entries()
                    .try_collect()
                    .await
                    .map_err(|e| e.to_string())?;
                let mut n = 0u64;
                for entry in entries {
                    for id in entry.iter_coords() {
                        let Some(data) = reader
                            .get_tile_decompressed(id)
                            .await
                            .map_err(|e| e.to_string())?
                        else {
                            continue;
                        };
                        let c = TileCoord::from(id);
                        let dir = root.join(c.z().to_string()).join(c.x().to_string());
                        tokio::fs::create_dir_all(&dir)
                            .await
                            .map_err(|e| format!("{}: {e}", dir.display()))?;
                        let file = dir.join(format!("{}.{ext}", c.y()));
                        tokio::fs::write(&file, &data)
                            .await
                            .map_err(|e| format!("{}: {e}", file.display()))?;
                        n += 1;
                    }
                }
                Ok::<u64, String>(n)
            })?;
            written += n;
        }
        Ok(written)
    }

    /// Whether the bucket answers (a listing of the prefix, within 3 s): `Err` says why not. An
    /// answer younger than [`PING_TTL`] is given again without asking.
    pub fn ping(&self) -> Result<(), String> {
        if let Some((at, res)) = &*self.last_ping.lock()
            && at.elapsed() < PING_TTL
        {
            return res.clone();
        }
        let store = self.store.clone();
        let prefix = self.prefix.clone();
        let res = self
            .request(self.url.clone(), Duration::from_secs(3), async move {
                let p = (!prefix.as_ref().is_empty()).then_some(&prefix);
                store.list_with_delimiter(p).await.map(|_| ())
            })
            .map_err(|e| e.to_string());
        *self.last_ping.lock() = Some((std::time::Instant::now(), res.clone()));
        res
    }

    /// Removes the two archives of `archive` (an attempt that failed, was cancelled or lost its
    /// job after publishing).
    pub fn remove(&self, archive: &str) -> Result<(), StorageError> {
        self.forget(archive);
        for name in ["display.pmtiles", "analysis.pmtiles"] {
            let path = self.object(archive, name);
            let store = self.store.clone();
            self.request(path.to_string(), REQUEST_TIMEOUT, async move {
                match store.delete(&path).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                    Err(e) => Err(e),
                }
            })?;
        }
        Ok(())
    }
}

/// The archive key of ingest attempt `attempt` of `survey`: the folder `{survey}/{attempt}`
/// under `PREFIX/tiles/`.
pub fn archive_key(survey: &str, attempt: i64) -> String {
    format!("{survey}/{attempt}")
}

/// Every `{z}/{x}/{y}.{ext}` under `root` (skipping the top-level directories in `skip`), in
/// the order PMTiles stores them (by tile id). A missing `root` holds no tiles.
fn list_tiles(
    root: &Path,
    ext: &str,
    skip: &[&str],
) -> Result<Vec<(u64, Tile, PathBuf)>, StorageError> {
    let local = |p: &Path, e: std::io::Error| StorageError::Local {
        path: p.display().to_string(),
        reason: e.to_string(),
    };
    let mut out = Vec::new();
    let zs = match std::fs::read_dir(root) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(local(root, e)),
    };
    let num = |p: &Path| -> Option<u32> { p.file_name()?.to_str()?.parse().ok() };
    for z in zs {
        let z = z.map_err(|e| local(root, e))?.path();
        if skip.iter().any(|s| z.file_name().is_some_and(|n| n == *s)) {
            continue;
        }
        let Some(zn) = num(&z).and_then(|v| u8::try_from(v).ok()) else {
            continue;
        };
        for x in std::fs::read_dir(&z).map_err(|e| local(&z, e))? {
            let x = x.map_err(|e| local(&z, e))?.path();
            let Some(xn) = num(&x) else { continue };
            for y in std::fs::read_dir(&x).map_err(|e| local(&x, e))? {
                let y = y.map_err(|e| local(&x, e))?.path();
                if y.extension().is_none_or(|e| e != ext) {
                    continue;
                }
                let Some(yn) = y
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .and_then(|s| s.parse().ok())
                else {
                    continue;
                };
                let id = pmtiles::TileId::from(TileCoord::new(zn, xn, yn).map_err(|e| {
                    StorageError::Local {
                        path: y.display().to_string(),
                        reason: e.to_string(),
                    }
                })?)
                .value();
                out.push((
                    id,
                    Tile {
                        z: zn,
                        x: xn,
                        y: yn,
                    },
                    y,
                ));
            }
        }
    }
    out.sort_by_key(|(id, _, _)| *id);
    Ok(out)
}

/// Writes one PMTiles archive of `tiles` (files under `dir`) to `out`; returns its size.
fn pack(
    tiles: &[(u64, Tile, PathBuf)],
    kind: TileType,
    dir: &Path,
    out: &Path,
) -> Result<u64, StorageError> {
    let fail = |reason: String| StorageError::Local {
        path: dir.display().to_string(),
        reason: format!("packing the archive: {reason}"),
    };
    let (min_z, max_z) = tiles.iter().fold((u8::MAX, 0u8), |(lo, hi), (_, t, _)| {
        (lo.min(t.z), hi.max(t.z))
    });
    let file = std::fs::File::create(out).map_err(|e| fail(format!("{}: {e}", out.display())))?;
    let mut buf = std::io::BufWriter::with_capacity(1 << 20, file);
    // Analysis tiles are raw samples: zstd takes most of their size off the upload. Display
    // tiles are PNG or WebP already.
    let compression = match kind {
        TileType::Unknown => Compression::Zstd,
        _ => Compression::None,
    };
    let mut w = PmTilesWriter::new(kind)
        .tile_compression(compression)
        .min_zoom(if tiles.is_empty() { 0 } else { min_z })
        .max_zoom(max_z)
        .metadata(r#"{"name":"Vigil survey tiles"}"#)
        .create(&mut buf)
        .map_err(|e| fail(e.to_string()))?;
    for (_, t, path) in tiles {
        let data = std::fs::read(path).map_err(|e| StorageError::Local {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let c = TileCoord::new(t.z, t.x, t.y).map_err(|e| fail(e.to_string()))?;
        w.add_tile(c, &data).map_err(|e| fail(e.to_string()))?;
    }
    w.finalize().map_err(|e| fail(e.to_string()))?;
    let file = buf.into_inner().map_err(|e| fail(e.to_string()))?;
    file.sync_all().map_err(|e| fail(e.to_string()))?;
    Ok(file.metadata().map_err(|e| fail(e.to_string()))?.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_s3_urls_with_a_bucket_are_taken() {
        for (url, says) in [
            ("file:///tmp/x", "only s3://bucket/prefix"),
            ("s3://", "no bucket"),
            ("not a url", "relative URL"),
        ] {
            let e = ObjectStorage::open(url, 16).unwrap_err().to_string();
            assert!(e.contains(says) && e.contains("storage.url"), "{url}: {e}");
        }
    }

    #[test]
    fn tiles_are_listed_in_tile_id_order_and_packed() {
        let dir = tempfile::tempdir().unwrap();
        for (z, x, y) in [(3u8, 6u32, 3u32), (2, 3, 1), (3, 7, 3)] {
            let p = dir.path().join(format!("{z}/{x}"));
            std::fs::create_dir_all(&p).unwrap();
            std::fs::write(p.join(format!("{y}.png")), [z, x as u8, y as u8]).unwrap();
        }
        std::fs::create_dir_all(dir.path().join("analysis/3/6")).unwrap();
        std::fs::write(dir.path().join("analysis/3/6/3.bands"), b"VGA1").unwrap();
        let tiles = list_tiles(dir.path(), "png", &["analysis"]).unwrap();
        let order: Vec<(u8, u32, u32)> = tiles.iter().map(|(_, t, _)| (t.z, t.x, t.y)).collect();
        // PMTiles' order: by zoom, then along the Hilbert curve (7,3 comes before 6,3 at z3).
        assert_eq!(order, vec![(2, 3, 1), (3, 7, 3), (3, 6, 3)]);
        assert!(tiles.windows(2).all(|w| w[0].0 < w[1].0));
        let out = dir.path().join("display.pmtiles");
        let n = pack(&tiles, TileType::Png, dir.path(), &out).unwrap();
        let archive = std::fs::read(&out).unwrap();
        assert_eq!((&archive[..7], archive.len() as u64), (&b"PMTiles"[..], n));
        assert_eq!(
            list_tiles(&dir.path().join("analysis"), "bands", &[])
                .unwrap()
                .len(),
            1
        );
        assert!(
            list_tiles(&dir.path().join("nowhere"), "png", &[])
                .unwrap()
                .is_empty()
        );
    }
}
