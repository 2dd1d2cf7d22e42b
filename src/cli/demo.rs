//! `vigil demo` and `vigil sample-imagery`: seeded sample hotspots and drone scenes.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use vigil::auth::Principal;

use super::{Common, open, report};

#[derive(Subcommand)]
pub enum DemoCmd {
    /// Add seeded synthetic hotspots inside the loaded boundaries.
    SeedHotspots {
        #[command(flatten)]
        common: Common,
        #[arg(long, default_value_t = 500)]
        count: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

pub fn run(cmd: DemoCmd) -> anyhow::Result<()> {
    match cmd {
        DemoCmd::SeedHotspots {
            common,
            count,
            seed,
        } => {
            let v = open(&common)?;
            let s = v
                .seed_demo_hotspots(&Principal::cli(), count, seed)
                .map_err(report)?;
            println!("seeded {} sample hotspot(s)", s.imported);
            Ok(())
        }
    }
}

#[derive(Args)]
pub struct SampleImageryArgs {
    /// Output directory; writes NAME.tif and NAME.truth.geojson.
    #[arg(long)]
    pub out: PathBuf,
    /// File stem (default sample-SEED-LAYOUT-CRS).
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Width and height in pixels.
    #[arg(long, default_value_t = 1024)]
    pub size: usize,
    /// Ground resolution in metres per pixel.
    #[arg(long, default_value_t = 0.05)]
    pub gsd: f64,
    /// rgba (alpha = footprint) or rgbn (red, green, blue, nir; nodata 0).
    #[arg(long, default_value = "rgba")]
    pub layout: vigil::ingest::sample_files::BandLayout,
    /// Write 16-bit reflectance × 10000 instead of 8-bit.
    #[arg(long)]
    pub sixteen_bit: bool,
    /// Output CRS: EPSG:32648 (UTM 48N), EPSG:3405 (VN-2000 / UTM 48N), a PROJ string, …
    #[arg(long, default_value = "EPSG:32648")]
    pub crs: String,
    /// Scene centre as LON,LAT (default: a mountain commune in Tuyên Quang / Hà Giang).
    #[arg(long, default_value = "105.3,23.1")]
    pub center: vigil::ingest::sample_files::LonLat,
    /// Comma-separated classes that must appear (default: all).
    #[arg(long, value_delimiter = ',')]
    pub classes: Vec<vigil::sample::Class>,
    /// Field condition beyond the seeded range: normal, haze, shadow, dark, warm, cool, bright.
    #[arg(long, value_parser = parse_condition)]
    pub condition: Option<vigil::sample::Condition>,
    /// Write this many scenes (seeds SEED, SEED+1, …) cycling layouts, CRSs, ground resolutions
    /// (3–16 cm) and conditions, as `vigil train --generate` draws them; --name, --gsd,
    /// --layout, --crs and --condition are then ignored.
    #[arg(long)]
    pub suite: Option<usize>,
}

pub fn parse_condition(s: &str) -> Result<vigil::sample::Condition, String> {
    vigil::sample::Condition::parse(s).ok_or_else(|| {
        format!(
            "unknown condition {s:?}; one of {}",
            vigil::sample::Condition::ALL.map(|c| c.name()).join(", ")
        )
    })
}

pub fn sample_imagery(a: SampleImageryArgs) -> anyhow::Result<()> {
    if let Some(n) = a.suite {
        let scenes = vigil::classify::train::generate_scenes(&a.out, n, a.seed, a.size)
            .map_err(|e| anyhow::anyhow!(e))?;
        for s in scenes {
            println!("wrote {}", s.tif.display());
        }
        return Ok(());
    }
    let spec = vigil::sample::SceneSpec {
        width: a.size,
        height: a.size,
        gsd: a.gsd,
        classes: if a.classes.is_empty() {
            vigil::sample::Class::ALL.to_vec()
        } else {
            a.classes
        },
        condition: a.condition,
        ..vigil::sample::SceneSpec::new(a.seed)
    };
    let w =
        vigil::ingest::sample_files::write_sample(&vigil::ingest::sample_files::SampleRequest {
            out_dir: a.out,
            name: a.name,
            spec,
            layout: a.layout,
            sixteen_bit: a.sixteen_bit,
            crs: a.crs,
            center: a.center,
        })?;
    println!("wrote {} ({} plots)", w.tif.display(), w.plots);
    println!("wrote {}", w.truth.display());
    Ok(())
}

/// `vigil basemap --out FILE`.
pub fn basemap(out: &std::path::Path) -> anyhow::Result<()> {
    let t = std::time::Instant::now();
    let stats =
        vigil::basemap::build_file(out, vigil::basemap::VIETNAM).map_err(anyhow::Error::msg)?;
    eprintln!(
        "{}: {} tiles, {} bytes, {:.1} s",
        out.display(),
        stats.tiles,
        stats.bytes,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
