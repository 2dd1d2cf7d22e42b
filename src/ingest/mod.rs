//! Everything that reads geodata files goes through GDAL here; no other module links GDAL.
//!
//! Now: vector boundaries (`vector`), coordinate transformation for imports (`crs`), GeoTIFF
//! writing (`raster_write`) and the sample scenes' files (`sample_files`). Survey orthomosaics
//! (raster ingest, issue 3) will live here too.

pub mod crs;
pub mod footprint;
pub mod raster;
pub mod raster_write;
pub mod sample_files;
pub mod vector;
