//! The offline basemap as a PMTiles archive of vector tiles (issue 16): the web map's land layer,
//! built from `web/basemap/countries-10m.geojson` (Natural Earth through the npm package
//! `world-atlas`, see `web/basemap/README.md`) and, for a field package, the boundaries of its
//! area. Tiles are encoded by [`crate::mvt`] (geozero) and written by the `pmtiles` crate (the
//! PMTiles v3 writer Martin's authors keep), so every PMTiles reader — the `pmtiles` npm package
//! in the browser, `pmtiles` CLI, GDAL — reads them.
//!
//! The committed archive `web/basemap/vietnam.pmtiles` is this module's output for
//! [`VIETNAM`]; `vigil basemap --out FILE` rebuilds it, and a test checks the committed file is
//! exactly what the code builds.

use std::io::{Seek, Write};

use geo::{BoundingRect, Intersects};
use pmtiles::{Compression, PmTilesWriter, TileCoord, TileType};

use crate::grid::{self, Tile};
use crate::mvt::{self, Shape};

/// The land layer's source, embedded in the binary with the rest of the web map.
const LAND_GEOJSON: &str = include_str!("../web/basemap/countries-10m.geojson");

/// Where the committed basemap is served from by the web map (`/map/…`).
pub const WEB_PATH: &str = "basemap/vietnam.pmtiles";

/// What an archive covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Extent {
    /// `[west, south, east, north]` in degrees.
    pub bbox: [f64; 4],
    pub min_zoom: u8,
    pub max_zoom: u8,
}

/// The committed basemap: the land layer's own rectangle (Vietnam and its neighbours), zooms
/// 0–9 (the source is 1:10 million, about 1 km: past zoom 9 a map over-zooms the tiles).
pub const VIETNAM: Extent = Extent {
    bbox: [96.0, 4.0, 120.0, 28.0],
    min_zoom: 0,
    max_zoom: 9,
};

/// A named layer of shapes in lon/lat for the archive.
pub struct Layer {
    pub name: &'static str,
    pub shapes: Vec<Shape>,
}

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub tiles: usize,
    pub bytes: u64,
}

/// The land layer (plain land polygons, no attributes).
pub fn land() -> Result<Layer, String> {
    let gj: geojson::GeoJson = LAND_GEOJSON
        .parse()
        .map_err(|e| format!("the embedded basemap GeoJSON does not parse: {e}"))?;
    let fc = geojson::FeatureCollection::try_from(gj)
        .map_err(|e| format!("the embedded basemap is not a FeatureCollection: {e}"))?;
    let mut shapes = Vec::new();
    for f in fc.features {
        let Some(g) = f.geometry else { continue };
        let g: geo::Geometry<f64> = g
            .try_into()
            .map_err(|e| format!("a basemap geometry does not convert: {e}"))?;
        shapes.push(Shape {
            geometry: g,
            props: Vec::new(),
        });
    }
    Ok(Layer {
        name: "land",
        shapes,
    })
}

/// Writes `layers` as an MVT PMTiles archive over `extent` into `out`: every tile of the extent
/// holding at least one shape, each layer clipped and simplified per tile, gzip-compressed.
pub fn write<W: Write + Seek>(out: W, extent: Extent, layers: &[Layer]) -> Result<Stats, String> {
    if extent.min_zoom > extent.max_zoom || extent.max_zoom > 16 {
        return Err(format!(
            "zoom range {}–{} is not within 0–16",
            extent.min_zoom, extent.max_zoom
        ));
    }
    let [w, s, e, n] = extent.bbox;
    if !(w < e && s < n && (-180.0..=180.0).contains(&w) && (-85.0..=85.0).contains(&s)) {
        return Err(format!(
            "{:?} is not a west,south,east,north box",
            extent.bbox
        ));
    }
    // Each shape's bounding box once, so a tile tests only shapes that may touch it.
    let boxes: Vec<Vec<Option<geo::Rect<f64>>>> = layers
        .iter()
        .map(|l| {
            l.shapes
                .iter()
                .map(|s| s.geometry.bounding_rect())
                .collect()
        })
        .collect();
    let meta = serde_json::json!({
        "name": "Vigil basemap",
        "attribution": "Natural Earth (public domain) via world-atlas",
        "vector_layers": layers.iter().map(|l| serde_json::json!({ "id": l.name, "fields": {} })).collect::<Vec<_>>(),
    });
    let mut writer = PmTilesWriter::new(TileType::Mvt)
        .tile_compression(Compression::Gzip)
        .min_zoom(extent.min_zoom)
        .max_zoom(extent.max_zoom)
        .bounds(w, s, e, n)
        .center((w + e) / 2.0, (s + n) / 2.0)
        .center_zoom(extent.min_zoom.max(5).min(extent.max_zoom))
        .metadata(meta.to_string())
        .create(out)
        .map_err(|e| format!("cannot start the PMTiles archive: {e}"))?;
    let mut stats = Stats::default();
    let [mw, ms] = grid::lon_lat_to_mercator(w, s);
    let [me, mn] = grid::lon_lat_to_mercator(e, n);
    for z in extent.min_zoom..=extent.max_zoom {
        let (x0, y0, x1, y1) = grid::tile_range_mercator([mw, ms, me, mn], z);
        for y in y0..=y1 {
            for x in x0..=x1 {
                let t = Tile { z, x, y };
                let [tw, ts, te, tn] = t.bounds_lon_lat();
                let m = (te - tw) / 64.0;
                let rect = geo::Rect::new(
                    geo::coord! { x: tw - m, y: ts - m },
                    geo::coord! { x: te + m, y: tn + m },
                );
                let mut bytes = Vec::new();
                for (layer, lboxes) in layers.iter().zip(&boxes) {
                    let picked: Vec<Shape> = layer
                        .shapes
                        .iter()
                        .zip(lboxes)
                        .filter(|(sh, b)| {
                            b.is_some_and(|b| b.intersects(&rect)) && sh.geometry.intersects(&rect)
                        })
                        .map(|(sh, _)| Shape {
                            geometry: sh.geometry.clone(),
                            props: sh.props.clone(),
                        })
                        .collect();
                    if picked.is_empty() {
                        continue;
                    }
                    // Layers are repeated fields of the tile message: encoded one by one and
                    // concatenated, they make one tile with every layer.
                    bytes.extend(mvt::encode_shapes(
                        layer.name,
                        t.bounds_mercator(),
                        &picked,
                    )?);
                }
                if bytes.is_empty() {
                    continue;
                }
                let coord = TileCoord::new(z, x, y)
                    .map_err(|e| format!("tile {z}/{x}/{y} is not a PMTiles coordinate: {e}"))?;
                writer
                    .add_tile(coord, &bytes)
                    .map_err(|e| format!("cannot write tile {z}/{x}/{y}: {e}"))?;
                stats.tiles += 1;
            }
        }
    }
    writer
        .finalize()
        .map_err(|e| format!("cannot finish the PMTiles archive: {e}"))?;
    Ok(stats)
}

/// Builds the land basemap over `extent` into `path` (written beside it as `….part`, synced, then
/// renamed over it, so a reader never sees half an archive).
pub fn build_file(path: &std::path::Path, extent: Extent) -> Result<Stats, String> {
    let land = land()?;
    let part = path.with_extension("pmtiles.part");
    let file = std::fs::File::create(&part)
        .map_err(|e| format!("cannot create {}: {e}", part.display()))?;
    let mut stats = write(std::io::BufWriter::new(&file), extent, &[land])?;
    let done = file
        .sync_all()
        .and_then(|()| file.metadata())
        .and_then(|m| {
            stats.bytes = m.len();
            std::fs::rename(&part, path)
        });
    if let Err(e) = done {
        let _ = std::fs::remove_file(&part);
        return Err(format!("cannot write {}: {e}", path.display()));
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_archive_reads_back_with_its_tiles() {
        let land = land().expect("land");
        assert!(land.shapes.len() > 5, "{} land shapes", land.shapes.len());
        let mut buf = std::io::Cursor::new(Vec::new());
        let ext = Extent {
            bbox: [105.0, 20.0, 106.5, 21.5],
            min_zoom: 0,
            max_zoom: 6,
        };
        let stats = write(&mut buf, ext, &[land]).expect("write");
        assert_eq!(
            stats.tiles, 7,
            "one land tile a zoom over Hà Nội: {stats:?}"
        );
        let bytes = buf.into_inner();
        assert_eq!(&bytes[..7], b"PMTiles", "magic");
        assert_eq!(bytes[7], 3, "PMTiles version 3");
    }

    #[test]
    fn a_bad_extent_is_refused_by_name() {
        let e = write(
            std::io::Cursor::new(Vec::new()),
            Extent {
                bbox: [10.0, 0.0, 5.0, 1.0],
                min_zoom: 0,
                max_zoom: 1,
            },
            &[],
        )
        .unwrap_err();
        assert!(e.contains("west,south,east,north"), "{e}");
    }
}
