//! The imagery package of a field export: the mosaic around the selected flags as MBTiles, built
//! in a temporary file under `DATA_DIR/tmp/` (removed whatever happens) and returned whole.

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

impl Vigil {
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
        let flags = &self.export_flags(who, filter, "imagery.mbtiles")?;
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
        let plan = mbtiles::tiles_covering(&bboxes, MARGIN_M, zooms.clone(), MAX_TILES).map_err(
        |e| Error::PayloadTooLarge {
            message: format!(
                "the imagery package would be too big ({e}); select fewer flags or a smaller area"
            ),
            limit: "exports.max_tiles",
            bytes: 0,
        },
    )?;
        let bounds = mbtiles::tiles_bounds(&plan).unwrap_or_else(|| {
            let [x, y] = flags.first().map_or([105.0, 21.0], |f| f.point);
            [x - 0.001, y - 0.001, x + 0.001, y + 0.001]
        });
        let days = (None, None);
        let tiles = plan.iter().filter_map(|&t| {
            let stack = v.mosaic_stack(who, t, &days);
            if stack.is_empty() {
                return None;
            }
            match v.compose_mosaic(&stack, t, TileFormat::Png) {
                Ok(Some(bytes)) => Some(Ok((t, bytes))),
                Ok(None) => None,
                Err(e) => Some(Err(std::io::Error::other(e.to_string()))),
            }
        });
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
            bounds,
            zooms,
            layer_type: mbtiles::LayerType::Baselayer,
            description: format!(
                "Ảnh bay khảo sát quanh {} lô nghi vấn — dữ liệu nghiệp vụ, không chia sẻ",
                flags.len()
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
}
