//! Everything that reads geodata files goes through GDAL here; no other module links GDAL.
//!
//! Now: vector boundaries (`vector`) and coordinate transformation for imports (`crs`). Survey
//! orthomosaics (raster ingest) will live here too.

pub mod crs;
pub mod vector;
