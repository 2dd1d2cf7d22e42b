//! A survey's footprint at the source's own resolution: the valid-data mask (alpha band, GDAL
//! mask band, or nodata on red, green and blue) is polygonised by GDAL (`GDALPolygonize`, the
//! algorithm behind `gdal_polygonize`, 8-connected) in pixel space, simplified by half a pixel,
//! densified every 32 pixels, and placed on the globe through the geotransform and the source
//! CRS. A fully valid image is its pixel rectangle. So a footprint is within a pixel of the image
//! it outlines, in any CRS, and never empty for an image with valid pixels.
//!
//! Images over [`MAX_MASK_PIXELS`] are masked at a reduced resolution (nearest sample), and the
//! footprint is then within that many source pixels.

use gdal::raster::Buffer;
use gdal::spatial_ref::CoordTransform;
use gdal::vector::{LayerAccess, LayerOptions};
use gdal::{Dataset, DriverManager};
use geo::{Coord, Densify, Euclidean, LineString, MultiPolygon, Polygon, Simplify};

use super::raster::{RasterError, Role, SourceInfo, Validity};

/// The largest mask read at full resolution (a 16 384² image).
pub const MAX_MASK_PIXELS: usize = 1 << 28;

fn corrupt(what: &str) -> impl Fn(gdal::errors::GdalError) -> RasterError + '_ {
    move |e| RasterError::Corrupt(format!("{what}: {e}"))
}

/// The footprint of `info`'s image as lon/lat polygons, exteriors counter-clockwise.
pub fn source_footprint(ds: &Dataset, info: &SourceInfo) -> Result<MultiPolygon<f64>, RasterError> {
    let (w, h) = (info.width, info.height);
    let (pixels, scale) = match info.validity {
        Validity::All => {
            let ring = LineString::from(vec![
                (0.0, 0.0),
                (w as f64, 0.0),
                (w as f64, h as f64),
                (0.0, h as f64),
                (0.0, 0.0),
            ]);
            (MultiPolygon(vec![Polygon::new(ring, vec![])]), 1.0)
        }
        _ => polygonize_mask(ds, info)?,
    };
    // Half a (mask) pixel keeps every vertex within half a pixel of GDAL's outline; segments of
    // at most 32 pixels follow the curvature of the transformation to lon/lat.
    let simple = Euclidean.densify(&pixels.simplify(0.5), 32.0);
    place(&simple, scale, info)
}

/// The valid-data mask polygonised in (possibly reduced) pixel coordinates, and the factor back
/// to source pixels.
fn polygonize_mask(
    ds: &Dataset,
    info: &SourceInfo,
) -> Result<(MultiPolygon<f64>, f64), RasterError> {
    let (w, h) = (info.width, info.height);
    let k = ((w * h) as f64 / MAX_MASK_PIXELS as f64)
        .sqrt()
        .ceil()
        .max(1.0) as usize;
    let (mw, mh) = (w.div_ceil(k), h.div_ceil(k));
    let mem = DriverManager::get_driver_by_name("MEM").map_err(corrupt("GDAL's MEM driver"))?;
    let mask_ds = mem
        .create_with_band_type::<u8, _>("", mw, mh, 1)
        .map_err(corrupt("an in-memory mask"))?;
    // Read in strips of source rows.
    let strip = (4096 / k).max(1);
    let read = |b: usize, y: usize, rows: usize, out: &mut Vec<u8>, mask_band: bool| {
        let band = ds.rasterband(b).map_err(corrupt("a band"))?;
        let (sy, sh) = (y * k, (rows * k).min(h - y * k));
        out.resize(mw * rows, 0);
        let result = if mask_band {
            band.open_mask_band()
                .map_err(corrupt("the mask band"))?
                .read_into_slice::<u8>((0, sy as isize), (w, sh), (mw, rows), out, None)
        } else {
            band.read_into_slice::<u8>((0, sy as isize), (w, sh), (mw, rows), out, None)
        };
        result.map_err(corrupt("reading the valid-data mask"))
    };
    let rgb: Vec<usize> = [Role::Red, Role::Green, Role::Blue]
        .iter()
        .filter_map(|r| info.band(*r))
        .collect();
    let mut rows_buf = Vec::new();
    let mut other = Vec::new();
    let mut y = 0;
    while y < mh {
        let rows = strip.min(mh - y);
        let mut valid = vec![0u8; mw * rows];
        match info.validity {
            Validity::Alpha(b) => {
                read(b, y, rows, &mut rows_buf, false)?;
                for (v, a) in valid.iter_mut().zip(&rows_buf) {
                    *v = u8::from(*a > 0);
                }
            }
            Validity::MaskBand => {
                let first = info.roles.first().map_or(1, |(_, b)| *b);
                read(first, y, rows, &mut rows_buf, true)?;
                for (v, m) in valid.iter_mut().zip(&rows_buf) {
                    *v = u8::from(*m > 0);
                }
            }
            Validity::NoData(nd) => {
                // Outside where red, green and blue all equal the nodata value (read as f64 so
                // 16-bit values compare exactly).
                let mut all_nd = vec![true; mw * rows];
                for &b in &rgb {
                    let band = ds.rasterband(b).map_err(corrupt("a band"))?;
                    let (sy, sh) = (y * k, (rows * k).min(h - y * k));
                    other.resize(mw * rows, 0.0f64);
                    band.read_into_slice::<f64>(
                        (0, sy as isize),
                        (w, sh),
                        (mw, rows),
                        &mut other,
                        None,
                    )
                    .map_err(corrupt("reading the valid-data mask"))?;
                    for (n, v) in all_nd.iter_mut().zip(&other) {
                        *n &= *v == nd;
                    }
                }
                for (v, n) in valid.iter_mut().zip(&all_nd) {
                    *v = u8::from(!*n);
                }
            }
            Validity::All => valid.fill(1),
        }
        let mut band = mask_ds
            .rasterband(1)
            .map_err(corrupt("the in-memory mask"))?;
        let mut buf = Buffer::new((mw, rows), valid);
        band.write((0, y as isize), (mw, rows), &mut buf)
            .map_err(corrupt("the in-memory mask"))?;
        y += rows;
    }

    let vector = DriverManager::get_driver_by_name("Memory")
        .or_else(|_| DriverManager::get_driver_by_name("MEM"))
        .map_err(corrupt("GDAL's in-memory vector driver"))?;
    let mut out_ds = vector
        .create_vector_only("")
        .map_err(corrupt("an in-memory layer"))?;
    let layer = out_ds
        .create_layer(LayerOptions {
            name: "footprint",
            ..Default::default()
        })
        .map_err(corrupt("an in-memory layer"))?;
    let band = mask_ds
        .rasterband(1)
        .map_err(corrupt("the in-memory mask"))?;
    let mut options = gdal::cpl::CslStringList::new();
    options
        .set_name_value("8CONNECTED", "8")
        .map_err(corrupt("polygonize options"))?;
    // SAFETY: the band and the layer are live GDAL objects owned above for the whole call; the
    // band is its own mask, so only valid (1) pixels become polygons; no progress callback.
    let err = unsafe {
        gdal_sys::GDALPolygonize(
            band.c_rasterband(),
            band.c_rasterband(),
            layer.c_layer(),
            -1,
            options.as_ptr(),
            None,
            std::ptr::null_mut(),
        )
    };
    if err != gdal_sys::CPLErr::CE_None {
        return Err(RasterError::Corrupt(
            "GDAL could not outline the valid pixels".into(),
        ));
    }
    let mut layer = layer;
    let mut polys = Vec::new();
    for f in layer.features() {
        if let Some(g) = f.geometry()
            && let Ok(geo) = g.to_geo()
        {
            match geo {
                geo::Geometry::Polygon(p) => polys.push(p),
                geo::Geometry::MultiPolygon(mp) => polys.extend(mp.0),
                _ => {}
            }
        }
    }
    Ok((MultiPolygon(polys), k as f64))
}

/// Pixel coordinates (× `scale` to source pixels) → source CRS → lon/lat, oriented for GeoJSON.
fn place(
    mp: &MultiPolygon<f64>,
    scale: f64,
    info: &SourceInfo,
) -> Result<MultiPolygon<f64>, RasterError> {
    let srs = info.spatial_ref()?;
    let wgs = super::crs::wgs84();
    let to_wgs = CoordTransform::new(&srs, &wgs)
        .map_err(|e| RasterError::UnknownCrs(format!("no transformation to WGS 84: {e}")))?;
    let ring = |ls: &LineString<f64>| -> Result<LineString<f64>, RasterError> {
        let (mut xs, mut ys): (Vec<f64>, Vec<f64>) =
            ls.0.iter()
                .map(|c| info.pixel_to_crs(c.x * scale, c.y * scale))
                .unzip();
        to_wgs
            .transform_coords(&mut xs, &mut ys, &mut [])
            .map_err(|e| RasterError::UnknownCrs(format!("placing the footprint: {e}")))?;
        Ok(LineString(
            xs.into_iter()
                .zip(ys)
                .map(|(x, y)| Coord { x, y })
                .collect(),
        ))
    };
    let mut out = Vec::with_capacity(mp.0.len());
    for p in &mp.0 {
        if p.exterior().0.len() < 4 {
            continue;
        }
        let interiors = p
            .interiors()
            .iter()
            .filter(|r| r.0.len() >= 4)
            .map(ring)
            .collect::<Result<Vec<_>, _>>()?;
        use geo::orient::{Direction, Orient};
        out.push(Polygon::new(ring(p.exterior())?, interiors).orient(Direction::Default));
    }
    Ok(MultiPolygon(out))
}
