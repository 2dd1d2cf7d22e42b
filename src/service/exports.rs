//! The imagery package of a field export: the mosaic around the selected flags as MBTiles (built
//! in a temporary file under `DATA_DIR/tmp/`, removed whatever happens) or as a PMTiles archive
//! (built in memory) for the web map's offline field packages, with the area's basemap (land and
//! the communes the user may see, as vector tiles) and the package's manifest (issue 16).

use crate::auth::Principal;
use crate::config::TileFormat;
use crate::export::mbtiles;
use crate::service::flags::LiveFilter;
use crate::service::{Error, Result, Vigil};

/// Metres of imagery around each plot in the package.
const MARGIN_M: f64 = 150.0;
/// Zoom levels below the surveys' native zoom included in the package.
const PACKAGE_LEVELS: u8 = 5;
/// Most tiles one package may hold (≈ 10–40 MiB of PNG).
const MAX_TILES: usize = 6000;

/// What the imagery of a package covers: the flags, the tiles and their bounds.
struct ImageryPlan {
    flags: Vec<crate::export::ExportFlag>,
    tiles: Vec<crate::grid::Tile>,
    zooms: std::ops::RangeInclusive<u8>,
    bounds: [f64; 4],
}

/// A mean PNG mosaic tile, for the size shown before a download (measured on the sample scenes:
/// 256² RGBA of vegetation compresses to 40–90 KB).
const EST_TILE_BYTES: u64 = 64 * 1024;
/// A mean reviewer chip.
const EST_CHIP_BYTES: u64 = 48 * 1024;
/// Deepest zoom of an area's basemap (communes stay sharp while walking).
const BASEMAP_MAX_ZOOM: u8 = 14;

/// The files of a field package and their sizes, shown before the download.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FieldManifest {
    pub flags: usize,
    pub imagery_tiles: usize,
    /// Bytes: the flags' GeoJSON exactly, the rest estimated.
    pub bytes_flags: u64,
    pub bytes_chips_estimate: u64,
    pub bytes_imagery_estimate: u64,
    pub bytes_basemap_estimate: u64,
    pub bytes_total_estimate: u64,
    pub max_bytes: u64,
    pub expires_at: String,
    pub bounds: [f64; 4],
}

impl Vigil {
    fn imagery_plan(
        &self,
        who: &Principal,
        filter: &LiveFilter,
        what: &str,
    ) -> Result<ImageryPlan> {
        let v = self;
        let flags = self.export_flags(who, filter, what)?;
        let bboxes: Vec<[f64; 4]> = flags.iter().filter_map(|f| f.bbox()).collect();
        let idx = v.survey_index();
        // Native zoom of the finest survey over the plots (none: an empty package at z16).
        let top = bboxes
            .iter()
            .flat_map(|b| {
                let a = crate::grid::lon_lat_to_mercator(b[0], b[1]);
                let c = crate::grid::lon_lat_to_mercator(b[2], b[3]);
                idx.in_mercator([a[0], a[1], c[0], c[1]])
                    .filter(|s| Vigil::survey_visible(who, &s.row))
                    .filter_map(|s| s.meta.as_ref().map(|m| m.native_zoom))
                    .collect::<Vec<_>>()
            })
            .max()
            .unwrap_or(16);
        let zooms = top.saturating_sub(PACKAGE_LEVELS)..=top;
        let tiles = mbtiles::tiles_covering(&bboxes, MARGIN_M, zooms.clone(), MAX_TILES).map_err(
            |e| Error::PayloadTooLarge {
                message: format!(
                    "the imagery package would be too big ({e}); select fewer flags or a smaller area"
                ),
                limit: "exports.max_tiles",
                bytes: 0,
            },
        )?;
        let bounds = mbtiles::tiles_bounds(&tiles).unwrap_or_else(|| {
            let [x, y] = flags.first().map_or([105.0, 21.0], |f| f.point);
            [x - 0.001, y - 0.001, x + 0.001, y + 0.001]
        });
        Ok(ImageryPlan {
            flags,
            tiles,
            zooms,
            bounds,
        })
    }

    /// The planned tiles that hold imagery, composed as PNG.
    fn imagery_tiles<'a>(
        &'a self,
        who: &'a Principal,
        plan: &'a [crate::grid::Tile],
    ) -> impl Iterator<Item = std::io::Result<(crate::grid::Tile, Vec<u8>)>> + 'a {
        let days = (None, None);
        plan.iter().filter_map(move |&t| {
            let stack = self.mosaic_stack(who, t, &days);
            if stack.is_empty() {
                return None;
            }
            match self.compose_mosaic(&stack, t, TileFormat::Png) {
                Ok(Some(bytes)) => Some(Ok((t, bytes))),
                Ok(None) => None,
                Err(e) => Some(Err(std::io::Error::other(e.to_string()))),
            }
        })
    }

    /// The imagery package around the flags `filter` selects (audited as an export of
    /// `imagery.mbtiles`): levels down from the finest survey's native zoom over the plots,
    /// [`MARGIN_M`] around each, at most [`MAX_TILES`] tiles.
    pub fn imagery_package(
        &self,
        who: &Principal,
        filter: &LiveFilter,
        title: &str,
    ) -> Result<Vec<u8>> {
        let v = self;
        let plan = self.imagery_plan(who, filter, "imagery.mbtiles")?;
        let tiles = self.imagery_tiles(who, &plan.tiles);
        let dir = v.config().server.data_dir.join("tmp");
        std::fs::create_dir_all(&dir).map_err(|source| Error::Disk {
            context: format!("creating {}", dir.display()),
            source,
        })?;
        let mut name = [0u8; 8];
        getrandom::fill(&mut name).map_err(|e| Error::Disk {
            context: "random file name".into(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let path = dir.join(format!("export-{}.mbtiles", hex::encode(name)));
        let meta = mbtiles::MbtilesMeta {
            name: title.to_string(),
            format: TileFormat::Png,
            bounds: plan.bounds,
            zooms: plan.zooms.clone(),
            layer_type: mbtiles::LayerType::Baselayer,
            description: format!(
                "Ảnh bay khảo sát quanh {} lô nghi vấn — dữ liệu nghiệp vụ, không chia sẻ",
                plan.flags.len()
            ),
            attribution: "Vigil".into(),
        };
        let written = mbtiles::write(&path, &meta, tiles);
        let out = written
            .map_err(|e| Error::Disk {
                context: "writing the imagery package".into(),
                source: std::io::Error::other(e.to_string()),
            })
            .and_then(|_| {
                std::fs::read(&path).map_err(|source| Error::Disk {
                    context: format!("reading {}", path.display()),
                    source,
                })
            });
        let _ = std::fs::remove_file(&path);
        out
    }

    /// The same imagery as a raster PMTiles archive (PNG tiles), for the web map's offline field
    /// package (audited as an export of `imagery.pmtiles`); refused past `[field]
    /// package_max_bytes`.
    pub fn imagery_pmtiles(&self, who: &Principal, filter: &LiveFilter) -> Result<Vec<u8>> {
        use pmtiles::{Compression, PmTilesWriter, TileCoord, TileType};
        let plan = self.imagery_plan(who, filter, "imagery.pmtiles")?;
        let max = self.config().field.package_max_bytes;
        let [w, s, e, n] = plan.bounds;
        let disk = |e: String| Error::Disk {
            context: "writing the imagery archive".into(),
            source: std::io::Error::other(e),
        };
        let mut buf = std::io::Cursor::new(Vec::new());
        let mut out = PmTilesWriter::new(TileType::Png)
            .tile_compression(Compression::None)
            .min_zoom(*plan.zooms.start())
            .max_zoom(*plan.zooms.end())
            .bounds(w, s, e, n)
            .center((w + e) / 2.0, (s + n) / 2.0)
            .center_zoom(*plan.zooms.end())
            .metadata(r#"{"name":"Vigil imagery","attribution":"Vigil"}"#)
            .create(&mut buf)
            .map_err(|e| disk(e.to_string()))?;
        let mut bytes = 0u64;
        for tile in self.imagery_tiles(who, &plan.tiles) {
            let (t, png) = tile.map_err(|e| disk(e.to_string()))?;
            bytes += png.len() as u64;
            if bytes > max {
                return Err(Error::PayloadTooLarge {
                    message: format!(
                        "the imagery of this field package passed {max} bytes ([field] package_max_bytes); choose a smaller area"
                    ),
                    limit: "field.package_max_bytes",
                    bytes,
                });
            }
            let c = TileCoord::new(t.z, t.x, t.y).map_err(|e| disk(e.to_string()))?;
            out.add_tile(c, &png).map_err(|e| disk(e.to_string()))?;
        }
        out.finalize().map_err(|e| disk(e.to_string()))?;
        Ok(buf.into_inner())
    }

    /// The basemap of a field package's area: land and the communes `who` may see there, as a
    /// vector PMTiles archive to zoom 14 over the flags' bounds and 2 km around.
    pub fn area_basemap(&self, who: &Principal, filter: &LiveFilter) -> Result<Vec<u8>> {
        use crate::basemap::{Extent, Layer};
        use crate::mvt::Shape;
        use geozero::mvt::TileValue;
        let flags = self.export_flags(who, filter, "basemap.pmtiles")?;
        let bbox = area_of(&flags);
        let bi = self.boundaries();
        let communes: Vec<Shape> = bi
            .in_bbox(crate::boundaries::Level::Commune, bbox)
            .into_iter()
            .filter(|b| super::boundaries::boundary_visible(&bi, who, b))
            .map(|b| Shape {
                geometry: geo::Geometry::MultiPolygon(b.geometry.clone()),
                props: vec![
                    ("code".to_string(), TileValue::Str(b.code.clone())),
                    ("name".to_string(), TileValue::Str(b.name.clone())),
                ],
            })
            .collect();
        let land = crate::basemap::land().map_err(|e| Error::Disk {
            context: "reading the embedded land layer".into(),
            source: std::io::Error::other(e),
        })?;
        let layers = [
            land,
            Layer {
                name: "communes",
                shapes: communes,
            },
        ];
        let mut buf = std::io::Cursor::new(Vec::new());
        crate::basemap::write(
            &mut buf,
            Extent {
                bbox,
                min_zoom: 0,
                max_zoom: BASEMAP_MAX_ZOOM,
            },
            &layers,
        )
        .map_err(|e| Error::Disk {
            context: "writing the area basemap".into(),
            source: std::io::Error::other(e),
        })?;
        Ok(buf.into_inner())
    }

    /// What a field package of `filter`'s flags holds and weighs, before it is downloaded.
    pub fn field_manifest(&self, who: &Principal, filter: &LiveFilter) -> Result<FieldManifest> {
        let plan = self.imagery_plan(who, filter, "field-package.manifest")?;
        let bytes_flags = crate::export::geojson::write(&plan.flags).len() as u64;
        let n = plan.flags.len();
        let chips = n as u64 * EST_CHIP_BYTES;
        // Only the planned tiles some survey covers hold imagery (an index lookup each, nothing
        // composed).
        let days = (None, None);
        let with_imagery = plan
            .tiles
            .iter()
            .filter(|&&t| !self.mosaic_stack(who, t, &days).is_empty())
            .count();
        let imagery = with_imagery as u64 * EST_TILE_BYTES;
        let basemap = 400 * 1024;
        let cfg = &self.config().field;
        let expires =
            time::OffsetDateTime::now_utc() + time::Duration::days(i64::from(cfg.package_days));
        Ok(FieldManifest {
            flags: n,
            imagery_tiles: with_imagery,
            bytes_flags,
            bytes_chips_estimate: chips,
            bytes_imagery_estimate: imagery,
            bytes_basemap_estimate: basemap,
            bytes_total_estimate: bytes_flags + chips + imagery + basemap,
            max_bytes: cfg.package_max_bytes,
            expires_at: expires
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            bounds: area_of(&plan.flags),
        })
    }
}

/// The flags' bounds and about 2 km around (a commune's walk), or a small box at Hà Giang.
fn area_of(flags: &[crate::export::ExportFlag]) -> [f64; 4] {
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for f in flags {
        if let Some(x) = f.bbox() {
            b = [
                b[0].min(x[0]),
                b[1].min(x[1]),
                b[2].max(x[2]),
                b[3].max(x[3]),
            ];
        }
    }
    if b[0] > b[2] {
        return [104.9, 22.8, 105.0, 22.9];
    }
    let m = 0.02;
    [b[0] - m, b[1] - m, b[2] + m, b[3] + m]
}
