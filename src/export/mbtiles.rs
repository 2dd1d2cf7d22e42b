//! Offline imagery packages in MBTiles 1.3 (one SQLite file: `metadata` and `tiles`, rows
//! numbered TMS-style from the south) that phone map apps open without a network.
//!
//! [`tiles_covering`] plans which WebMercatorQuad tiles a set of areas needs, refusing plans over a
//! tile budget before anything is read; [`write`] streams tiles into `<file>.part` in one
//! transaction, fsyncs it and renames it into place, so the package is either complete or absent.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, params};

use super::ExportError;
use crate::config::TileFormat;
use crate::grid::{self, MAX_LAT, MAX_ZOOM, ORIGIN_SHIFT, Tile};

/// SQLite `application_id` the MBTiles 1.3 spec asks for ("MPBX").
pub const APPLICATION_ID: i32 = 0x4d50_4258;

/// What the package says about itself (the `metadata` table).
#[derive(Debug, Clone, PartialEq)]
pub struct MbtilesMeta {
    /// Human-readable name of the tileset.
    pub name: String,
    /// Every tile must be in this format (checked from its first bytes).
    pub format: TileFormat,
    /// `[west, south, east, north]` of the area the package is for, degrees. Readers crop to it
    /// (GDAL does), so include the margin: [`tiles_bounds`] of the planned tiles is a good choice.
    pub bounds: [f64; 4],
    /// The zooms the package covers; every tile must be within them.
    pub zooms: RangeInclusive<u8>,
    pub layer_type: LayerType,
    /// Written only when not empty.
    pub description: String,
    /// Written only when not empty.
    pub attribution: String,
}

/// `type` in the metadata: drawn over a base map or as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerType {
    Overlay,
    Baselayer,
}

impl LayerType {
    fn as_str(self) -> &'static str {
        match self {
            LayerType::Overlay => "overlay",
            LayerType::Baselayer => "baselayer",
        }
    }
}

/// What [`write`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MbtilesSummary {
    pub path: PathBuf,
    pub tiles: u64,
    /// Sum of the tile sizes.
    pub tile_bytes: u64,
    /// Zooms that got at least one tile (`None` for an empty package).
    pub zooms_written: Option<RangeInclusive<u8>>,
}

/// The tiles covering `bboxes` (`[west, south, east, north]`, degrees) grown by `margin_m` ground
/// metres on every side, at every zoom in `zooms`, sorted by zoom, column, row and without
/// duplicates. Fails before collecting more than `max_tiles` tiles, so a careless request for a
/// province at zoom 22 costs nothing.
pub fn tiles_covering(
    bboxes: &[[f64; 4]],
    margin_m: f64,
    zooms: RangeInclusive<u8>,
    max_tiles: usize,
) -> Result<Vec<Tile>, ExportError> {
    check_zooms(&zooms)?;
    if !margin_m.is_finite() || margin_m < 0.0 {
        return Err(ExportError::Margin(margin_m));
    }
    let mut boxes = Vec::with_capacity(bboxes.len());
    for (index, &bbox) in bboxes.iter().enumerate() {
        check_bbox(bbox).map_err(|reason| ExportError::Bbox {
            index,
            bbox,
            reason,
        })?;
        boxes.push(grow_mercator(bbox, margin_m));
    }
    let ranges = || {
        zooms.clone().flat_map(|z| {
            boxes
                .iter()
                .map(move |&b| (z, grid::tile_range_mercator(b, z)))
        })
    };
    let too_many = || ExportError::TooManyTiles {
        max: max_tiles,
        upper_bound: ranges()
            .map(|(_, (x0, y0, x1, y1))| u128::from(x1 - x0 + 1) * u128::from(y1 - y0 + 1))
            .sum(),
        start: *zooms.start(),
        end: *zooms.end(),
    };
    let mut out = BTreeSet::new();
    for (z, (x0, y0, x1, y1)) in ranges() {
        for x in x0..=x1 {
            for y in y0..=y1 {
                if out.insert(Tile { z, x, y }) && out.len() > max_tiles {
                    return Err(too_many());
                }
            }
        }
    }
    Ok(out.into_iter().collect())
}

/// `[west, south, east, north]` of the deepest zoom's tiles in `tiles` (the area that has full
/// detail), or `None` for no tiles.
pub fn tiles_bounds(tiles: &[Tile]) -> Option<[f64; 4]> {
    let deepest = tiles.iter().map(|t| t.z).max()?;
    tiles
        .iter()
        .filter(|t| t.z == deepest)
        .map(|t| t.bounds_lon_lat())
        .reduce(|a, b| {
            [
                a[0].min(b[0]),
                a[1].min(b[1]),
                a[2].max(b[2]),
                a[3].max(b[3]),
            ]
        })
}

fn check_zooms(zooms: &RangeInclusive<u8>) -> Result<(), ExportError> {
    if zooms.start() > zooms.end() || *zooms.end() > MAX_ZOOM {
        return Err(ExportError::Zooms {
            start: *zooms.start(),
            end: *zooms.end(),
        });
    }
    Ok(())
}

fn check_bbox([w, s, e, n]: [f64; 4]) -> Result<(), &'static str> {
    if ![w, s, e, n].iter().all(|v| v.is_finite()) {
        Err("a coordinate is not a finite number")
    } else if !(-180.0..=180.0).contains(&w)
        || !(-180.0..=180.0).contains(&e)
        || !(-90.0..=90.0).contains(&s)
        || !(-90.0..=90.0).contains(&n)
    {
        Err("outside lon -180..180 / lat -90..90")
    } else if w > e || s > n {
        Err(
            "west must not exceed east, nor south north (boxes across the antimeridian are not supported)",
        )
    } else {
        Ok(())
    }
}

/// The bbox in EPSG:3857 metres grown by `margin_m` ground metres. Mercator stretches by
/// 1/cos(lat); the latitude farthest from the equator gives the larger (safe) margin.
fn grow_mercator([w, s, e, n]: [f64; 4], margin_m: f64) -> [f64; 4] {
    let lat = s.abs().max(n.abs()).min(MAX_LAT);
    let m = margin_m / lat.to_radians().cos();
    let [x0, y0] = grid::lon_lat_to_mercator(w, s);
    let [x1, y1] = grid::lon_lat_to_mercator(e, n);
    let clamp = |v: f64| v.clamp(-ORIGIN_SHIFT, ORIGIN_SHIFT);
    [clamp(x0 - m), clamp(y0 - m), clamp(x1 + m), clamp(y1 + m)]
}

/// Writes an MBTiles package at `path` from `tiles` (XYZ numbering; tiles the source has nothing
/// for are simply not in the iterator). Everything goes into `path` + `.part` in one transaction;
/// only a complete, fsynced file is renamed to `path` (replacing an older package). On any error,
/// including one from `tiles`, the `.part` file is removed and `path` is untouched; a `.part` left
/// by a crash is replaced by the next run. One writer per `path` at a time.
///
/// An empty `tiles` still gives a valid package (metadata only).
pub fn write<I, E>(path: &Path, meta: &MbtilesMeta, tiles: I) -> Result<MbtilesSummary, ExportError>
where
    I: IntoIterator<Item = Result<(Tile, Vec<u8>), E>>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    check_meta(meta)?;
    let part = part_path(path)?;
    remove_if_present(&part)?;
    remove_if_present(&journal_path(&part))?;
    let result = write_part(&part, meta, tiles).and_then(|summary| {
        sync_file(&part)?;
        fs::rename(&part, path).map_err(|source| ExportError::Io {
            path: path.to_owned(),
            source,
        })?;
        sync_parent(path)?;
        Ok(MbtilesSummary {
            path: path.to_owned(),
            ..summary
        })
    });
    if result.is_err() {
        let _ = fs::remove_file(&part);
        let _ = fs::remove_file(journal_path(&part));
    }
    result
}

fn write_part<I, E>(
    part: &Path,
    meta: &MbtilesMeta,
    tiles: I,
) -> Result<MbtilesSummary, ExportError>
where
    I: IntoIterator<Item = Result<(Tile, Vec<u8>), E>>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let sql = |source| ExportError::Sqlite {
        path: part.to_owned(),
        source,
    };
    let mut conn = Connection::open(part).map_err(sql)?;
    // No crash safety is needed inside the file: a crash leaves only `.part`, never renamed. The
    // memory journal still lets an error roll back cleanly; the file is fsynced once at the end.
    conn.execute_batch(&format!(
        "PRAGMA application_id = {APPLICATION_ID};
         PRAGMA journal_mode = MEMORY;
         PRAGMA synchronous = OFF;"
    ))
    .map_err(sql)?;
    let tx = conn.transaction().map_err(sql)?;
    tx.execute_batch(
        "CREATE TABLE metadata (name TEXT NOT NULL, value TEXT);
         CREATE UNIQUE INDEX metadata_name ON metadata (name);
         CREATE TABLE tiles (zoom_level INTEGER NOT NULL, tile_column INTEGER NOT NULL,
                             tile_row INTEGER NOT NULL, tile_data BLOB NOT NULL);
         CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);",
    )
    .map_err(sql)?;
    {
        let mut put = tx
            .prepare("INSERT INTO metadata (name, value) VALUES (?1, ?2)")
            .map_err(sql)?;
        for (name, value) in metadata(meta) {
            put.execute(params![name, value]).map_err(sql)?;
        }
    }
    let mut summary = MbtilesSummary {
        path: part.to_owned(),
        tiles: 0,
        tile_bytes: 0,
        zooms_written: None,
    };
    {
        let mut put = tx
            .prepare("INSERT INTO tiles (zoom_level, tile_column, tile_row, tile_data) VALUES (?1, ?2, ?3, ?4)")
            .map_err(sql)?;
        for item in tiles {
            let (tile, data) = item.map_err(|e| ExportError::Source(e.into()))?;
            check_tile(meta, tile, &data)?;
            let row = (1u32 << tile.z) - 1 - tile.y; // TMS rows count from the south
            match put.execute(params![tile.z, tile.x, row, data]) {
                Ok(_) => {}
                Err(e) if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
                    return Err(ExportError::DuplicateTile(tile));
                }
                Err(e) => return Err(sql(e)),
            }
            summary.tiles += 1;
            summary.tile_bytes += data.len() as u64;
            summary.zooms_written = Some(match summary.zooms_written {
                None => tile.z..=tile.z,
                Some(r) => (*r.start()).min(tile.z)..=(*r.end()).max(tile.z),
            });
        }
    }
    tx.commit().map_err(sql)?;
    conn.close().map_err(|(_, e)| sql(e))?;
    Ok(summary)
}

/// The `metadata` rows (MBTiles 1.3).
fn metadata(meta: &MbtilesMeta) -> Vec<(&'static str, String)> {
    let [w, s, e, n] = meta.bounds;
    let (lon, lat, z) = center(meta);
    let mut rows = vec![
        ("name", meta.name.clone()),
        ("format", meta.format.extension().to_owned()),
        ("bounds", format!("{w},{s},{e},{n}")),
        ("center", format!("{lon},{lat},{z}")),
        ("minzoom", meta.zooms.start().to_string()),
        ("maxzoom", meta.zooms.end().to_string()),
        ("type", meta.layer_type.as_str().to_owned()),
        ("version", "1".to_owned()),
    ];
    if !meta.description.is_empty() {
        rows.push(("description", meta.description.clone()));
    }
    if !meta.attribution.is_empty() {
        rows.push(("attribution", meta.attribution.clone()));
    }
    rows
}

/// The middle of the bounds and the deepest zoom at which they fit in 4 × 4 tiles (about a phone
/// screen), so the app opens on the area rather than on the whole world.
fn center(meta: &MbtilesMeta) -> (f64, f64, u8) {
    let [w, s, e, n] = meta.bounds;
    let [x0, y0] = grid::lon_lat_to_mercator(w, s);
    let [x1, y1] = grid::lon_lat_to_mercator(e, n);
    let [lon, lat] = grid::mercator_to_lon_lat((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    let fits = |z: u8| {
        let (a, b, c, d) = grid::tile_range_mercator([x0, y0, x1, y1], z);
        c - a < 4 && d - b < 4
    };
    let z = meta
        .zooms
        .clone()
        .rev()
        .find(|&z| fits(z))
        .unwrap_or(*meta.zooms.start());
    (lon, lat, z)
}

fn check_meta(meta: &MbtilesMeta) -> Result<(), ExportError> {
    if meta.name.trim().is_empty() {
        return Err(ExportError::Meta("name must not be empty".into()));
    }
    check_bbox(meta.bounds)
        .map_err(|reason| ExportError::Meta(format!("bounds {:?}: {reason}", meta.bounds)))?;
    check_zooms(&meta.zooms)
}

fn check_tile(meta: &MbtilesMeta, tile: Tile, data: &[u8]) -> Result<(), ExportError> {
    let bad = |reason: String| Err(ExportError::Tile { tile, reason });
    if let Err(e) = Tile::new(tile.z.into(), tile.x.into(), tile.y.into()) {
        return bad(e.to_string());
    }
    if !meta.zooms.contains(&tile.z) {
        return bad(format!(
            "zoom outside the package's {}..={}",
            meta.zooms.start(),
            meta.zooms.end()
        ));
    }
    let ok = match meta.format {
        TileFormat::Png => data.starts_with(b"\x89PNG\r\n\x1a\n"),
        TileFormat::Webp => data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP",
    };
    if !ok {
        return bad(format!(
            "{} bytes that are not {} data (the package format)",
            data.len(),
            meta.format.extension()
        ));
    }
    Ok(())
}

/// `dir/name.mbtiles` → `dir/name.mbtiles.part`.
fn part_path(path: &Path) -> Result<PathBuf, ExportError> {
    let Some(name) = path.file_name() else {
        return Err(ExportError::Io {
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"),
        });
    };
    let mut part = name.to_owned();
    part.push(".part");
    Ok(path.with_file_name(part))
}

fn journal_path(part: &Path) -> PathBuf {
    let mut s = part.as_os_str().to_owned();
    s.push("-journal");
    PathBuf::from(s)
}

fn remove_if_present(path: &Path) -> Result<(), ExportError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(ExportError::Io {
            path: path.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}

fn sync_file(path: &Path) -> Result<(), ExportError> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|source| ExportError::Io {
            path: path.to_owned(),
            source,
        })
}

/// Makes the rename durable.
fn sync_parent(path: &Path) -> Result<(), ExportError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    sync_file(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> MbtilesMeta {
        MbtilesMeta {
            name: "Lũng Cú".into(),
            format: TileFormat::Png,
            bounds: [105.31, 23.36, 105.32, 23.37],
            zooms: 14..=16,
            layer_type: LayerType::Overlay,
            description: "Ảnh bay".into(),
            attribution: String::new(),
        }
    }

    fn png() -> Vec<u8> {
        let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
        v.extend_from_slice(&[0; 8]);
        v
    }

    type Item = Result<(Tile, Vec<u8>), std::io::Error>;

    #[test]
    fn tiles_cover_the_box_and_the_margin() {
        let b = Tile {
            z: 16,
            x: 52_000,
            y: 28_000,
        }
        .bounds_lon_lat();
        // Shrink a little so the box lies inside one tile.
        let inner = [b[0] + 1e-5, b[1] + 1e-5, b[2] - 1e-5, b[3] - 1e-5];
        let one = tiles_covering(&[inner], 0.0, 16..=16, 10).unwrap();
        assert_eq!(
            one,
            [Tile {
                z: 16,
                x: 52_000,
                y: 28_000
            }]
        );
        // A 50 m margin reaches the eight neighbours (tiles are ~560 m, inner box ~1 m from edges).
        let nine = tiles_covering(&[inner], 50.0, 16..=16, 100).unwrap();
        assert_eq!(nine.len(), 9);
        // Two boxes in the same tile are one tile; parents are added once per zoom.
        let both = tiles_covering(&[inner, inner], 0.0, 15..=16, 10).unwrap();
        assert_eq!(
            both,
            [
                Tile {
                    z: 15,
                    x: 26_000,
                    y: 14_000
                },
                Tile {
                    z: 16,
                    x: 52_000,
                    y: 28_000
                }
            ]
        );
        assert_eq!(tiles_bounds(&both), Some(b), "the deepest zoom's extent");
        let [w, s, e, n] = tiles_bounds(&nine).unwrap();
        assert!(w < b[0] && s < b[1] && e > b[2] && n > b[3]);
        assert_eq!(tiles_bounds(&[]), None);
    }

    #[test]
    fn tile_budget_and_bad_input_are_refused() {
        let vn = [102.1, 8.5, 109.5, 23.4];
        match tiles_covering(&[vn], 0.0, 0..=22, 1000) {
            Err(ExportError::TooManyTiles {
                max: 1000,
                upper_bound,
                ..
            }) => {
                assert!(upper_bound > 1_000_000_000, "{upper_bound}")
            }
            other => panic!("{other:?}"),
        }
        let err = |bbox, margin, zooms| tiles_covering(&[bbox], margin, zooms, 10).unwrap_err();
        assert!(matches!(
            err([f64::NAN, 0.0, 1.0, 1.0], 0.0, 1..=1),
            ExportError::Bbox { index: 0, .. }
        ));
        assert!(matches!(
            err([1.0, 0.0, 0.0, 1.0], 0.0, 1..=1),
            ExportError::Bbox { .. }
        ));
        assert!(matches!(
            err([0.0, 0.0, 1.0, 91.0], 0.0, 1..=1),
            ExportError::Bbox { .. }
        ));
        assert!(matches!(
            err([0.0, 0.0, 1.0, 1.0], -1.0, 1..=1),
            ExportError::Margin(_)
        ));
        assert!(matches!(
            err([0.0, 0.0, 1.0, 1.0], f64::NAN, 1..=1),
            ExportError::Margin(_)
        ));
        #[allow(clippy::reversed_empty_ranges)]
        let backwards = 5..=3;
        assert!(matches!(
            err([0.0, 0.0, 1.0, 1.0], 0.0, backwards),
            ExportError::Zooms { .. }
        ));
        assert!(matches!(
            err([0.0, 0.0, 1.0, 1.0], 0.0, 0..=25),
            ExportError::Zooms { .. }
        ));
        assert_eq!(tiles_covering(&[], 10.0, 0..=3, 0).unwrap(), []);
        // The whole world at zoom 0 even when a pole is asked for.
        assert_eq!(
            tiles_covering(&[[-180.0, -90.0, 180.0, 90.0]], 1e9, 0..=0, 1)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn rows_are_flipped_and_metadata_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.mbtiles");
        let t = Tile {
            z: 15,
            x: 26_000,
            y: 14_000,
        };
        let s = write(&path, &meta(), [Ok::<_, std::io::Error>((t, png()))]).unwrap();
        assert_eq!(
            (s.tiles, s.tile_bytes, s.zooms_written),
            (1, 16, Some(15..=15))
        );
        assert_eq!(s.path, path);
        assert!(!dir.path().join("a.mbtiles.part").exists());
        let c = Connection::open(&path).unwrap();
        let row: (u8, u32, u32) = c
            .query_row(
                "SELECT zoom_level, tile_column, tile_row FROM tiles",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(row, (15, 26_000, (1 << 15) - 1 - 14_000));
        let app: i32 = c
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .unwrap();
        assert_eq!(app, APPLICATION_ID);
        let m: Vec<(String, String)> = c
            .prepare("SELECT name, value FROM metadata ORDER BY name")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let get = |k: &str| m.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("format"), Some("png"));
        assert_eq!(get("bounds"), Some("105.31,23.36,105.32,23.37"));
        assert_eq!(get("minzoom"), Some("14"));
        assert_eq!(get("maxzoom"), Some("16"));
        assert_eq!(get("type"), Some("overlay"));
        assert_eq!(get("name"), Some("Lũng Cú"));
        assert_eq!(get("description"), Some("Ảnh bay"));
        assert_eq!(get("attribution"), None, "empty values are left out");
        let center = get("center").unwrap();
        assert!(
            center.starts_with("105.31") && center.ends_with(",16"),
            "{center}"
        );
    }

    #[test]
    fn errors_leave_neither_the_package_nor_the_part_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.mbtiles");
        let part = dir.path().join("b.mbtiles.part");
        let t = |x| Tile {
            z: 15,
            x,
            y: 14_000,
        };
        // A stale part file from a crash is replaced, then removed with the failed attempt.
        fs::write(&part, b"junk").unwrap();
        let cases: Vec<(Vec<Item>, &str)> = vec![
            (
                vec![Ok((t(1), png())), Err(std::io::Error::other("disk gone"))],
                "the tile source failed: disk gone",
            ),
            (
                vec![Ok((t(1), png())), Ok((t(1), png()))],
                "tile 15/1/14000 was given twice",
            ),
            (
                vec![Ok((t(1), b"RIFF0000WEBPVP8L".to_vec()))],
                "tile 15/1/14000: 16 bytes that are not png data (the package format)",
            ),
            (
                vec![Ok((Tile { z: 13, x: 1, y: 1 }, png()))],
                "tile 13/1/1: zoom outside the package's 14..=16",
            ),
            (
                vec![Ok((
                    Tile {
                        z: 15,
                        x: 1 << 15,
                        y: 0,
                    },
                    png(),
                ))],
                "tile 15/32768/0: tile 32768/0 does not exist at zoom 15 (0..32768 on each axis)",
            ),
        ];
        for (items, message) in cases {
            let e = write(&path, &meta(), items).unwrap_err();
            assert_eq!(e.to_string(), message);
            assert!(!path.exists() && !part.exists(), "{message}");
        }
        // A failed rewrite keeps the earlier package.
        write(&path, &meta(), [Ok::<_, std::io::Error>((t(2), png()))]).unwrap();
        let before = fs::read(&path).unwrap();
        write(&path, &meta(), [Err(std::io::Error::other("x"))]).unwrap_err();
        assert_eq!(fs::read(&path).unwrap(), before);
        assert!(!part.exists());
    }

    #[test]
    fn bad_metadata_is_refused_before_any_file_is_made() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.mbtiles");
        let mut m = meta();
        m.bounds = [105.0, f64::NAN, 106.0, 24.0];
        let none = std::iter::empty::<Item>();
        assert!(matches!(write(&path, &m, none), Err(ExportError::Meta(_))));
        m = meta();
        m.name = " ".into();
        assert!(matches!(
            write(&path, &m, std::iter::empty::<Item>()),
            Err(ExportError::Meta(_))
        ));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn empty_package_has_metadata_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.mbtiles");
        let s = write(&path, &meta(), std::iter::empty::<Item>()).unwrap();
        assert_eq!((s.tiles, s.zooms_written), (0, None));
        let c = Connection::open(&path).unwrap();
        let n: i64 = c
            .query_row("SELECT count(*) FROM metadata", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 9);
    }
}
