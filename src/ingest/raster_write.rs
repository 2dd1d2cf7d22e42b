//! Writes georeferenced GeoTIFFs through GDAL: tiled 256 × 256, DEFLATE with a horizontal
//! predictor, 8- or 16-bit, with each band's colour interpretation and description set so readers
//! (Vigil's own ingest, QGIS, `gdalinfo`) find the band roles: RGBA with alpha as the footprint,
//! or RGBN (`red`, `green`, `blue`, `nir`) with a nodata value outside it.

use std::path::Path;

use gdal::raster::{Buffer, ColorInterpretation, GdalType, RasterCreationOptions};
use gdal::{DriverManager, Metadata};

use super::crs::{CrsError, spatial_ref};

/// The role of a band, written as its colour interpretation and description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandRole {
    Red,
    Green,
    Blue,
    Nir,
    /// Alpha: 0 outside the footprint, the type's maximum inside.
    Alpha,
}

impl BandRole {
    /// The band description (lower case, as multispectral stacks name them).
    pub fn description(self) -> &'static str {
        match self {
            BandRole::Red => "red",
            BandRole::Green => "green",
            BandRole::Blue => "blue",
            BandRole::Nir => "nir",
            BandRole::Alpha => "alpha",
        }
    }

    fn color(self) -> ColorInterpretation {
        match self {
            BandRole::Red => ColorInterpretation::RedBand,
            BandRole::Green => ColorInterpretation::GreenBand,
            BandRole::Blue => ColorInterpretation::BlueBand,
            // GDAL 3.6 has no NIR colour interpretation (3.10 adds it): the description says it.
            BandRole::Nir => ColorInterpretation::Undefined,
            BandRole::Alpha => ColorInterpretation::AlphaBand,
        }
    }
}

/// A raster in memory, ready to be written.
#[derive(Debug)]
pub struct GeoRaster<'a, T> {
    pub width: usize,
    pub height: usize,
    /// Anything `ingest::crs::spatial_ref` accepts: `EPSG:3405`, a PROJ string, WKT.
    pub crs: &'a str,
    /// GDAL geotransform: [origin x, pixel width, row rotation, origin y, column rotation, pixel height].
    pub geotransform: [f64; 6],
    /// Bands in order, each `width × height` values, row-major.
    pub bands: Vec<(BandRole, &'a [T])>,
    /// Nodata value set on every non-alpha band.
    pub nodata: Option<f64>,
}

/// Why a GeoTIFF could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RasterWriteError {
    #[error("band {band} holds {got} values, expected {width} × {height}")]
    Shape {
        band: usize,
        got: usize,
        width: usize,
        height: usize,
    },
    #[error("{0}")]
    Crs(#[from] CrsError),
    #[error("cannot write {path}: {message}")]
    Gdal { path: String, message: String },
}

/// Writes `raster` to `path` as a tiled, DEFLATE-compressed GeoTIFF.
pub fn write_geotiff<T: GdalType + Copy>(
    path: &Path,
    raster: &GeoRaster<'_, T>,
) -> Result<(), RasterWriteError> {
    let (w, h) = (raster.width, raster.height);
    for (i, (_, data)) in raster.bands.iter().enumerate() {
        if data.len() != w * h {
            return Err(RasterWriteError::Shape {
                band: i + 1,
                got: data.len(),
                width: w,
                height: h,
            });
        }
    }
    let srs = spatial_ref(raster.crs)?;
    let p = path.display().to_string();
    let gdal_err = |e: gdal::errors::GdalError| RasterWriteError::Gdal {
        path: p.clone(),
        message: e.to_string(),
    };
    let roles: Vec<BandRole> = raster.bands.iter().map(|b| b.0).collect();
    let rgb = roles.len() >= 3 && roles[..3] == [BandRole::Red, BandRole::Green, BandRole::Blue];
    let mut options = vec![
        "TILED=YES",
        "BLOCKXSIZE=256",
        "BLOCKYSIZE=256",
        "COMPRESS=DEFLATE",
        "PREDICTOR=2",
        "INTERLEAVE=PIXEL",
    ];
    if rgb {
        options.push("PHOTOMETRIC=RGB");
    }
    if roles.contains(&BandRole::Alpha) {
        options.push("ALPHA=YES");
    }
    let options: RasterCreationOptions = options.into_iter().collect();
    let driver = DriverManager::get_driver_by_name("GTiff").map_err(gdal_err)?;
    let mut ds = driver
        .create_with_band_type_with_options::<T, _>(path, w, h, raster.bands.len(), &options)
        .map_err(gdal_err)?;
    ds.set_spatial_ref(&srs).map_err(gdal_err)?;
    ds.set_geo_transform(&raster.geotransform)
        .map_err(gdal_err)?;
    for (i, (role, data)) in raster.bands.iter().enumerate() {
        let mut band = ds.rasterband(i + 1).map_err(gdal_err)?;
        band.set_color_interpretation(role.color())
            .map_err(gdal_err)?;
        band.set_description(role.description()).map_err(gdal_err)?;
        if *role != BandRole::Alpha
            && let Some(nd) = raster.nodata
        {
            band.set_no_data_value(Some(nd)).map_err(gdal_err)?;
        }
        let mut buf = Buffer::new((w, h), data.to_vec());
        band.write((0, 0), (w, h), &mut buf).map_err(gdal_err)?;
    }
    ds.close().map_err(gdal_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdal::Dataset;

    #[test]
    fn writes_bands_roles_crs_and_geotransform() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.tif");
        let (w, h) = (300, 200);
        let data: Vec<u16> = (0..w * h).map(|i| (i % 1000) as u16 + 1).collect();
        let gt = [500_000.0, 0.05, 0.0, 2_550_000.0, 0.0, -0.05];
        let raster = GeoRaster {
            width: w,
            height: h,
            crs: "EPSG:3405",
            geotransform: gt,
            bands: vec![
                (BandRole::Red, &data[..]),
                (BandRole::Green, &data[..]),
                (BandRole::Blue, &data[..]),
                (BandRole::Nir, &data[..]),
            ],
            nodata: Some(0.0),
        };
        write_geotiff(&path, &raster).unwrap();
        let ds = Dataset::open(&path).unwrap();
        assert_eq!(ds.raster_size(), (w, h));
        assert_eq!(ds.raster_count(), 4);
        assert_eq!(ds.geo_transform().unwrap(), gt);
        assert_eq!(ds.spatial_ref().unwrap().auth_code().unwrap(), 3405);
        let descs: Vec<String> = (1..=4)
            .map(|i| ds.rasterband(i).unwrap().description().unwrap())
            .collect();
        assert_eq!(descs, ["red", "green", "blue", "nir"]);
        let b4 = ds.rasterband(4).unwrap();
        assert_eq!(b4.no_data_value(), Some(0.0));
        assert_eq!(b4.block_size(), (256, 256));
        let back = b4.read_as::<u16>((0, 0), (w, h), (w, h), None).unwrap();
        assert_eq!(back.data(), &data[..]);
    }

    #[test]
    fn wrong_band_length_and_unknown_crs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let data = [1u8; 10];
        let mut raster = GeoRaster {
            width: 4,
            height: 4,
            crs: "EPSG:32648",
            geotransform: [0.0, 1.0, 0.0, 0.0, 0.0, -1.0],
            bands: vec![(BandRole::Red, &data[..])],
            nodata: None,
        };
        let e = write_geotiff(&dir.path().join("a.tif"), &raster).unwrap_err();
        assert!(e.to_string().contains("expected 4 × 4"), "{e}");
        raster.height = 2;
        raster.width = 5;
        raster.crs = "EPSG:999999";
        let e = write_geotiff(&dir.path().join("b.tif"), &raster).unwrap_err();
        assert!(e.to_string().contains("EPSG:999999"), "{e}");
    }
}
