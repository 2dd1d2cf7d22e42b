//! `vigil import`: boundaries and hotspots from files, all or nothing.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use vigil::auth::Principal;
use vigil::boundaries::Level;
use vigil::hotspots::import::Format;
use vigil::ingest::vector::BoundaryFields;

use super::{Common, open, report};

#[derive(Subcommand)]
pub enum ImportCmd {
    /// Provinces or communes from any vector format GDAL reads.
    Boundaries {
        #[command(flatten)]
        common: Common,
        file: PathBuf,
        /// province or commune.
        #[arg(long)]
        level: String,
        #[arg(long, default_value = "code")]
        code_field: String,
        #[arg(long, default_value = "name")]
        name_field: String,
        /// Attribute holding a commune's province code (found by location when absent from the file).
        #[arg(long, default_value = "province_code")]
        parent_field: String,
        #[arg(long)]
        layer: Option<String>,
        /// Replace every boundary of this level instead of adding / updating by code.
        #[arg(long)]
        replace: bool,
    },
    /// Hotspots from CSV, GeoJSON or KML, all or nothing.
    Hotspots {
        #[command(flatten)]
        common: Common,
        file: PathBuf,
        /// CRS of the coordinates (e.g. EPSG:3405 for VN-2000 / UTM 48N, or a PROJ string); default WGS 84.
        #[arg(long)]
        crs: Option<String>,
        /// csv, geojson or kml (default: from the file extension).
        #[arg(long)]
        format: Option<String>,
    },
}

pub fn run(cmd: ImportCmd) -> anyhow::Result<()> {
    match cmd {
        ImportCmd::Boundaries {
            common,
            file,
            level,
            code_field,
            name_field,
            parent_field,
            layer,
            replace,
        } => {
            let v = open(&common)?;
            let level = Level::from_code(&level)
                .with_context(|| format!("unknown level {level:?}; province or commune"))?;
            let fields = BoundaryFields {
                level,
                code: code_field,
                name: name_field,
                parent: (level == Level::Commune).then_some(parent_field),
                layer,
            };
            let fields = with_optional_parent(&file, fields);
            let s = v
                .import_boundaries(&Principal::cli(), &file, &fields, replace)
                .map_err(report)?;
            println!(
                "imported {} {}(s); {} hotspot(s) reassigned",
                s.imported,
                s.level.code(),
                s.hotspots_reassigned
            );
            Ok(())
        }
        ImportCmd::Hotspots {
            common,
            file,
            crs,
            format,
        } => {
            let v = open(&common)?;
            let format = match format {
                Some(f) => Format::from_name(&f)
                    .with_context(|| format!("unknown format {f:?}; csv, geojson or kml"))?,
                None => Format::from_path(&file).with_context(|| {
                    format!(
                        "cannot tell the format of {}; give --format",
                        file.display()
                    )
                })?,
            };
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let s = v
                .import_hotspots(&Principal::cli(), &bytes, format, crs.as_deref(), &name)
                .map_err(report)?;
            println!(
                "imported {} hotspot(s) (ids {}–{}); {} outside the loaded boundaries",
                s.imported,
                s.first_id.unwrap_or(0),
                s.last_id.unwrap_or(0),
                s.outside_boundaries
            );
            Ok(())
        }
    }
}

/// The default parent field is optional: when the file lacks it, communes are placed by location.
fn with_optional_parent(file: &Path, mut fields: BoundaryFields) -> BoundaryFields {
    if let Some(parent) = &fields.parent
        && parent == "province_code"
    {
        let probe = BoundaryFields {
            parent: Some(parent.clone()),
            ..fields.clone()
        };
        if let Err(vigil::ingest::vector::VectorError::NoField { role: "parent", .. }) =
            vigil::ingest::vector::read_boundaries(file, &probe)
        {
            fields.parent = None;
        }
    }
    fields
}
