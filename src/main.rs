//! The `vigil` command line: parses arguments and wires modules together; no domain logic here.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use vigil::auth::{Jurisdiction, Principal, Role};
use vigil::boundaries::Level;
use vigil::config::{Config, LogFormat};
use vigil::hotspots::import::{Format, ImportError};
use vigil::ingest::vector::BoundaryFields;
use vigil::service::Error;
use vigil::{Vigil, api};

#[derive(Parser)]
#[command(
    name = "vigil",
    version,
    about = "Geospatial service for provincial drug-control work: hotspot registry, boundaries, OGC API – Features"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Common {
    /// Data directory (SQLite store, uploads). Env: VIGIL_DATA_DIR.
    #[arg(long, env = "VIGIL_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// TOML configuration file (default: DATA_DIR/vigil.toml when present).
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the web map.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address to listen on, e.g. 127.0.0.1:8080. Env: VIGIL_LISTEN.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Manage users and their tokens.
    #[command(subcommand)]
    User(UserCmd),
    /// Import boundaries or hotspots from files.
    #[command(subcommand)]
    Import(ImportCmd),
    /// Demo data.
    #[command(subcommand)]
    Demo(DemoCmd),
    /// Write a seeded synthetic drone scene (GeoTIFF) and its ground truth (GeoJSON, EPSG:4326).
    SampleImagery(SampleImageryArgs),
    /// Train the vegetation model from labelled scenes (SCENE.tif beside SCENE.truth.geojson) and/or
    /// scenes it draws itself; prints held-out cell-level recall and writes the model file.
    Train(TrainArgs),
    /// Run a scene through ingest and the classifier and score its flags against ground truth:
    /// object-level precision, recall and F1 per class, poppy by stage, false flags per hectare.
    Eval(EvalArgs),
    /// Fit the model's confidence calibration on held-out labelled scenes (flags that found a
    /// plot or not) and write the model with it: reviewers then see calibrated percentages.
    Calibrate(CalibrateArgs),
    /// Measure learning from reviewers: F1 on held-out scenes after fine-tuning a base model on
    /// 0, 5, 10, 20, 50 … reviewed plots drawn from other scenes (as `vigil learn` does).
    LearningCurve(LearningCurveArgs),
    /// Train a province's own model from its reviewers' decisions (confirmed and rejected
    /// flags) in seconds; the province's next surveys are classified with it
    /// (DATA_DIR/models/province-CODE.json; other provinces keep the base model).
    Learn {
        #[command(flatten)]
        common: Common,
        /// Province code.
        #[arg(long)]
        province: String,
    },
    /// Classify ready surveys again (e.g. after `vigil train`, with `[classify] model` set): their
    /// flags are replaced in one transaction; superseded flags keep their review history.
    Reclassify {
        #[command(flatten)]
        common: Common,
        #[arg(required = true)]
        surveys: Vec<String>,
    },
    /// Ingest orthomosaics already on this machine: validate, tile into the tile store, index.
    /// Prints one JSON line per file on stdout; progress goes to stderr.
    Ingest(IngestArgs),
    /// Communes: drug-free records.
    #[command(subcommand)]
    Communes(CommunesCmd),
    /// Write the report of a province (or commune, or the country) for a period, in Vietnamese.
    Report(ReportArgs),
}

#[derive(Subcommand)]
enum CommunesCmd {
    /// Record that a commune is drug-free (xã, phường không ma túy) for a year, or with --not
    /// that it is not; earlier records stay as history. Audited.
    DrugFree {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        commune: String,
        #[arg(long)]
        year: i32,
        /// The decision's number and sign, e.g. "QĐ 123/QĐ-UBND".
        #[arg(long)]
        decision_ref: String,
        /// The decision's date, YYYY-MM-DD.
        #[arg(long)]
        decided_on: Option<String>,
        /// Record the commune as not drug-free.
        #[arg(long)]
        not: bool,
    },
}

#[derive(Args)]
struct ReportArgs {
    #[command(flatten)]
    common: Common,
    /// 2026-03 (month), 2026-Q1, 2026-H1, 2026 (year) or 2026-01-01..2026-03-31.
    #[arg(long)]
    period: String,
    /// Province code (the whole country when neither --province nor --commune is given).
    #[arg(long)]
    province: Option<String>,
    #[arg(long)]
    commune: Option<String>,
    /// pdf, xlsx, csv, html, or json (the KPIs as the API gives them).
    #[arg(long, default_value = "pdf")]
    format: String,
    /// Output file (default: standard output; pdf and xlsx need --out on a terminal).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct EvalArgs {
    /// The scene (GeoTIFF).
    #[arg(required_unless_present_any = ["dir", "negative"])]
    scene: Option<PathBuf>,
    /// Its ground truth (GeoJSON with `class` and, for poppy, `stage`).
    #[arg(requires = "scene")]
    truth: Option<PathBuf>,
    /// Also every SCENE.tif with SCENE.truth.geojson beside it in these directories; prints the
    /// per-condition breakdown (mean F1 of flowering poppy + cannabis, cannabis and
    /// pre-flowering recall, false flags per hectare, calibration error).
    #[arg(long)]
    dir: Vec<PathBuf>,
    /// Scenes with no poppy or cannabis anywhere (e.g. real photographs): every flag is false.
    #[arg(long)]
    negative: Vec<PathBuf>,
    /// Exit with an error when the mean F1 over the labelled scenes is below this.
    #[arg(long)]
    min_f1: Option<f64>,
    /// Exit with an error when false flags per hectare on the negative scenes exceed this.
    #[arg(long)]
    max_false_per_ha: Option<f64>,
    /// Model file (default: the built-in model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// IoU a flag needs with a plot to count as finding it.
    #[arg(long, default_value_t = vigil::classify::eval::DEFAULT_IOU_THRESHOLD)]
    iou: f64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct LearningCurveArgs {
    /// The model to start from (e.g. trained on the other generator).
    #[arg(long)]
    model: PathBuf,
    /// Scenes whose plots play the reviewed ones (SCENE.tif + SCENE.truth.geojson).
    #[arg(long)]
    review_dir: PathBuf,
    /// Held-out scenes the F1 is measured on.
    #[arg(long)]
    held_out_dir: PathBuf,
    /// Numbers of reviewed plots.
    #[arg(long, value_delimiter = ',', default_value = "0,5,10,20,50")]
    steps: Vec<usize>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Args)]
struct CalibrateArgs {
    /// Model file to calibrate.
    #[arg(long)]
    model: PathBuf,
    /// Model file to write (may be the same).
    #[arg(long)]
    out: PathBuf,
    /// Directories of SCENE.tif with SCENE.truth.geojson beside them, held out from training.
    #[arg(long, required = true)]
    dir: Vec<PathBuf>,
}

#[derive(Args)]
struct TrainArgs {
    /// Model file to write.
    #[arg(long)]
    out: PathBuf,
    /// Draw this many training scenes (seeds SEED, SEED+1, …) in addition to the files given.
    #[arg(long, default_value_t = 0)]
    generate: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Side of drawn scenes in pixels.
    #[arg(long, default_value_t = 1024)]
    size: usize,
    /// Drawn scenes held out for the report (seeds from SEED + 100000, never trained on).
    #[arg(long, default_value_t = 3)]
    held_out: usize,
    #[arg(long, default_value_t = 40)]
    epochs: usize,
    /// Version stamped on the model and every flag it raises (default: vegetation-<date>).
    #[arg(long)]
    model_version: Option<String>,
    /// Also learn from reviewers' decisions in this data directory: cells of flags confirmed
    /// as poppy or cannabis, or rejected as false positives (every 4th flag is held out to
    /// report the effect against the model in use there).
    #[arg(long, value_name = "DATA_DIR")]
    feedback: Option<PathBuf>,
    /// Random lights (white balance, exposure, haze, shadow, blur, noise) each training scene
    /// is also seen under.
    #[arg(long, default_value_t = 2)]
    augment: usize,
    /// Labelled scenes: GeoTIFFs with NAME.truth.geojson beside them.
    scenes: Vec<PathBuf>,
}

#[derive(Args)]
struct IngestArgs {
    #[command(flatten)]
    common: Common,
    /// GeoTIFF/COG orthomosaics (any format and CRS GDAL reads).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Survey name (default: the file name; with several files, NAME 1, NAME 2, …).
    #[arg(long)]
    name: Option<String>,
    /// Acquisition time, RFC 3339 (default: from the file's metadata, else now).
    #[arg(long)]
    acquired_at: Option<String>,
    /// Band roles in file order when the file does not say, e.g. red,green,blue,nir.
    #[arg(long)]
    bands: Option<String>,
}

#[derive(Args)]
struct SampleImageryArgs {
    /// Output directory; writes NAME.tif and NAME.truth.geojson.
    #[arg(long)]
    out: PathBuf,
    /// File stem (default sample-SEED-LAYOUT-CRS).
    #[arg(long)]
    name: Option<String>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Width and height in pixels.
    #[arg(long, default_value_t = 1024)]
    size: usize,
    /// Ground resolution in metres per pixel.
    #[arg(long, default_value_t = 0.05)]
    gsd: f64,
    /// rgba (alpha = footprint) or rgbn (red, green, blue, nir; nodata 0).
    #[arg(long, default_value = "rgba")]
    layout: vigil::ingest::sample_files::BandLayout,
    /// Write 16-bit reflectance × 10000 instead of 8-bit.
    #[arg(long)]
    sixteen_bit: bool,
    /// Output CRS: EPSG:32648 (UTM 48N), EPSG:3405 (VN-2000 / UTM 48N), a PROJ string, …
    #[arg(long, default_value = "EPSG:32648")]
    crs: String,
    /// Scene centre as LON,LAT (default: a mountain commune in Tuyên Quang / Hà Giang).
    #[arg(long, default_value = "105.3,23.1")]
    center: vigil::ingest::sample_files::LonLat,
    /// Comma-separated classes that must appear (default: all).
    #[arg(long, value_delimiter = ',')]
    classes: Vec<vigil::sample::Class>,
    /// Field condition beyond the seeded range: normal, haze, shadow, dark, warm, cool, bright.
    #[arg(long, value_parser = parse_condition)]
    condition: Option<vigil::sample::Condition>,
    /// Write this many scenes (seeds SEED, SEED+1, …) cycling layouts, CRSs, ground resolutions
    /// (3–16 cm) and conditions, as `vigil train --generate` draws them; --name, --gsd,
    /// --layout, --crs and --condition are then ignored.
    #[arg(long)]
    suite: Option<usize>,
}

fn parse_condition(s: &str) -> Result<vigil::sample::Condition, String> {
    vigil::sample::Condition::parse(s).ok_or_else(|| {
        format!(
            "unknown condition {s:?}; one of {}",
            vigil::sample::Condition::ALL.map(|c| c.name()).join(", ")
        )
    })
}

#[derive(Subcommand)]
enum UserCmd {
    /// Add a user; prints the new API token as the last line.
    Add {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        name: String,
        /// admin, analyst, reviewer, operator or viewer.
        #[arg(long)]
        role: String,
        /// Province code(s) in the user's jurisdiction (repeatable).
        #[arg(long = "province")]
        provinces: Vec<String>,
        /// Commune code(s) in the user's jurisdiction (repeatable).
        #[arg(long = "commune")]
        communes: Vec<String>,
        /// Nationwide jurisdiction.
        #[arg(long)]
        national: bool,
    },
    /// Issue another token for an existing user; prints it as the last line.
    Token {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        name: String,
    },
    /// Set a user's web-map password, read from the first line of standard input.
    Passwd {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        name: String,
    },
    /// Disable a user and revoke all their tokens.
    Disable {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        name: String,
    },
    /// List users.
    List {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum ImportCmd {
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

#[derive(Subcommand)]
enum DemoCmd {
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

fn load_config(common: &Common) -> anyhow::Result<Config> {
    let mut cfg = Config::load(common.config.as_deref(), common.data_dir.as_deref())?;
    if let Some(d) = &common.data_dir {
        cfg.server.data_dir = d.clone();
    }
    Ok(cfg)
}

fn init_logging(cfg: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&cfg.log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    // Once per process: commands that open several scratch stores (learning-curve) call it again.
    let _ = match cfg.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// Labelled scenes in directories: every SCENE.tif with SCENE.truth.geojson beside it.
fn labelled_in(dirs: &[PathBuf]) -> anyhow::Result<Vec<(PathBuf, PathBuf)>> {
    let mut out = Vec::new();
    for d in dirs {
        let mut found: Vec<_> = std::fs::read_dir(d)
            .with_context(|| format!("cannot read {}", d.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "tif"))
            .filter(|p| p.with_extension("truth.geojson").exists())
            .collect();
        found.sort();
        anyhow::ensure!(
            !found.is_empty(),
            "{}: no SCENE.tif with SCENE.truth.geojson",
            d.display()
        );
        out.extend(found.into_iter().map(|p| {
            let t = p.with_extension("truth.geojson");
            (p, t)
        }));
    }
    Ok(out)
}

/// A service on a scratch data directory, classifying with `model`.
fn scratch_vigil(model: Option<PathBuf>) -> anyhow::Result<(Vigil, PathBuf)> {
    let work = tempfile_dir()?;
    let mut cfg = Config::default();
    cfg.server.data_dir = work.clone();
    cfg.log.level = "warn".into();
    cfg.classify.model = model;
    cfg.validate()?;
    init_logging(&cfg);
    Ok((
        Vigil::open(cfg).context("cannot open a scratch store")?,
        work,
    ))
}

/// `vigil learning-curve`.
fn cli_learning_curve(a: LearningCurveArgs) -> anyhow::Result<()> {
    use vigil::classify::{eval, model, train};
    let base = model::Model::load(&a.model)?;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let work = tempfile_dir()?;
    let mut plots = Vec::new();
    for (tif, truth) in labelled_in(std::slice::from_ref(&a.review_dir))? {
        let p = train::collect_plots(
            &train::LabelledScene { tif, truth },
            &work.join("tiles"),
            threads,
        )
        .map_err(|e| anyhow::anyhow!(e))?;
        plots.extend(p);
    }
    let held = labelled_in(std::slice::from_ref(&a.held_out_dir))?;
    eprintln!(
        "{} review plots ({} poppy or cannabis); {} held-out scenes",
        plots.len(),
        plots.iter().filter(|p| p.class < 2).count(),
        held.len()
    );
    println!("reviewed plots  cells   mean F1  cannabis  false flags/ha");
    for &n in &a.steps {
        let cells = vigil::service::learn::reviewed_sample(&plots, n, a.seed);
        let m = if n == 0 {
            base.clone()
        } else {
            vigil::service::learn::fine_tune_model(
                &base,
                &cells,
                &format!("{}+curve-{n}", base.version),
            )
        };
        let path = work.join(format!("curve-{n}.json"));
        std::fs::write(&path, serde_json::to_string(&m)?)?;
        let (v, dir) = scratch_vigil(Some(path))?;
        let mut scores = Vec::new();
        for (scene, truth) in &held {
            scores.push(
                v.evaluate_scene(scene, Some(truth), eval::DEFAULT_IOU_THRESHOLD)?
                    .score,
            );
        }
        drop(v);
        let _ = std::fs::remove_dir_all(dir);
        let all = &eval::summarise(&scores)[0];
        let num = |x: Option<f64>| x.map_or("—".to_string(), |v| format!("{v:.3}"));
        println!(
            "{n:>14}  {:>5}  {:>8}  {:>8}  {:>14.2}",
            cells.len(),
            num(all.mean_f1),
            num(all.cannabis_recall),
            all.false_flags_per_ha
        );
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// `vigil calibrate`: the model's flags on held-out scenes, then Platt scaling.
fn cli_calibrate(a: CalibrateArgs) -> anyhow::Result<()> {
    use vigil::classify::{eval, model};
    let mut m = model::Model::load(&a.model)?;
    m.calibration = None;
    let scenes = labelled_in(&a.dir)?;
    let raw_path = tempfile_dir()?.join("raw-model.json");
    std::fs::write(&raw_path, serde_json::to_string(&m)?)?;
    let (v, work) = scratch_vigil(Some(raw_path.clone()))?;
    let flags = (|| -> anyhow::Result<Vec<(f64, bool)>> {
        let mut flags = Vec::new();
        for (scene, truth) in &scenes {
            let e = v.evaluate_scene(scene, Some(truth), eval::DEFAULT_IOU_THRESHOLD)?;
            eprintln!("{}: {} flags", e.score.scene, e.score.flags.len());
            flags.extend(e.score.flags);
        }
        Ok(flags)
    })();
    drop(v);
    let _ = std::fs::remove_dir_all(&work);
    let _ = std::fs::remove_dir_all(raw_path.parent().expect("scratch dir"));
    let flags = flags?;
    let mut c = model::Calibration::fit(&flags).with_context(|| {
        format!(
            "{} flags are too few to calibrate (at least 10)",
            flags.len()
        )
    })?;
    let after: Vec<(f64, bool)> = flags.iter().map(|&(p, ok)| (c.apply(p), ok)).collect();
    let before = eval::expected_calibration_error(&flags, 10);
    let after_ece = eval::expected_calibration_error(&after, 10);
    c.fitted_on = serde_json::json!({
        "scenes": scenes.iter().map(|(s, _)| s.file_name().map(|f| f.to_string_lossy().to_string())).collect::<Vec<_>>(),
        "flags": flags.len(),
        "ece_before": before,
        "ece_after": after_ece,
        "reliability_after": eval::reliability(&after, 10),
    });
    println!(
        "{} flags from {} scenes: a {:.3}, b {:.3}; ECE {:.3} → {:.3} (on the calibration scenes)",
        flags.len(),
        scenes.len(),
        c.a,
        c.b,
        before.unwrap_or(0.0),
        after_ece.unwrap_or(0.0)
    );
    m.calibration = Some(c);
    m.save(&a.out)
        .with_context(|| format!("cannot write {}", a.out.display()))?;
    Ok(())
}

/// `vigil eval`: one scene's report, or many scenes' per-condition breakdown.
fn cli_eval(a: EvalArgs) -> anyhow::Result<()> {
    use vigil::classify::eval;
    let mut labelled: Vec<(PathBuf, PathBuf)> = Vec::new();
    if let (Some(scene), Some(truth)) = (&a.scene, &a.truth) {
        labelled.push((scene.clone(), truth.clone()));
    }
    labelled.extend(labelled_in(&a.dir)?);
    let mut negative = a.negative.clone();
    if let (Some(scene), None) = (&a.scene, &a.truth) {
        negative.push(scene.clone());
    }
    let (v, work) = scratch_vigil(a.model.clone())?;
    let single = labelled.len() == 1 && negative.is_empty() && a.dir.is_empty();
    let outcome = (|| -> anyhow::Result<()> {
        let mut scores = Vec::new();
        let mut real = Vec::new();
        let jobs = labelled
            .iter()
            .map(|(s, t)| (s, Some(t)))
            .chain(negative.iter().map(|s| (s, None)));
        for (scene, truth) in jobs {
            let e = v.evaluate_scene(scene, truth.map(|t| t.as_path()), a.iou)?;
            if single {
                let report = e.report.as_ref();
                if a.json {
                    println!("{}", serde_json::to_string_pretty(&report)?);
                } else {
                    match report {
                        Some(r) => println!("{r}"),
                        None => println!("{}", e.score.skipped.clone().unwrap_or_default()),
                    }
                    println!(
                        "model {}; {} flags; classify {:.3} s",
                        e.model_version.clone().unwrap_or_default(),
                        e.score.flags.len(),
                        e.classify_s
                    );
                }
                return Ok(());
            }
            eprintln!(
                "{} [{} {}]: F1 {} ({}/{} targets), pre-flowering {}/{}, {} false flags over {:.2} ha{}",
                e.score.scene,
                e.score.generator,
                e.score.condition,
                e.score.f1.map_or("—".into(), |f| format!("{f:.3}")),
                e.score.targets_found,
                e.score.targets,
                e.score.pre_flowering_found,
                e.score.pre_flowering,
                e.score.false_flags,
                e.score.area_ha,
                e.score
                    .skipped
                    .as_ref()
                    .map_or(String::new(), |s| format!(" ({s})"))
            );
            if truth.is_some() {
                scores.push(e.score);
            } else {
                real.push(e.score);
            }
        }
        let rows = eval::summarise(&scores);
        let real_rows = eval::summarise(&real);
        if a.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "labelled": rows,
                    "negative": real_rows.first(),
                    "scenes": scores,
                    "negative_scenes": real,
                    "reliability": eval::reliability(
                        &scores.iter().flat_map(|s| s.flags.iter().copied()).collect::<Vec<_>>(),
                        10
                    ),
                }))?
            );
        } else {
            if !scores.is_empty() {
                print!("{}", eval::summary_table(&rows));
            }
            if let Some(r) = real_rows.first().filter(|_| !real.is_empty()) {
                println!(
                    "negative scenes (no poppy or cannabis): {} scenes, {:.2} ha, {} false flags = {:.2} per ha",
                    r.scenes, r.area_ha, r.false_flags, r.false_flags_per_ha
                );
            }
        }
        if let (Some(min), Some(all)) = (a.min_f1, rows.first()) {
            let f1 = all.mean_f1.unwrap_or(0.0);
            anyhow::ensure!(f1 >= min, "mean F1 {f1:.3} is below the floor {min}");
        }
        if let (Some(max), Some(r)) = (a.max_false_per_ha, real_rows.first()) {
            anyhow::ensure!(
                real.is_empty() || r.false_flags_per_ha <= max,
                "{:.2} false flags per ha on the negative scenes is above the ceiling {max}",
                r.false_flags_per_ha
            );
        }
        Ok(())
    })();
    drop(v);
    let _ = std::fs::remove_dir_all(&work);
    outcome
}

/// A fresh scratch directory under the system temp dir.
/// Each call gives another directory (a command may need several, e.g. one scratch store per
/// model it scores).
fn tempfile_dir() -> anyhow::Result<PathBuf> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("vigil-train-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

fn open(common: &Common) -> anyhow::Result<Vigil> {
    let cfg = load_config(common)?;
    cfg.validate()?;
    init_logging(&cfg);
    Vigil::open(cfg).context("cannot open the store")
}

/// Prints an import's row errors the way a person fixing the file needs them.
fn report(e: Error) -> anyhow::Error {
    if let Error::Import(ImportError::Rows(rows)) = &e {
        eprintln!(
            "error: {}; nothing was imported:",
            vigil::hotspots::import::bad_rows(rows)
        );
        for r in rows.iter().take(100) {
            eprintln!("  {r}");
        }
        if rows.len() > 100 {
            eprintln!("  … and {} more", rows.len() - 100);
        }
        return anyhow::anyhow!("import refused");
    }
    anyhow::Error::new(e)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { common, listen } => {
            let mut cfg = load_config(&common)?;
            if let Some(l) = listen {
                cfg.server.listen = l;
            }
            cfg.validate()?;
            init_logging(&cfg);
            let vigil = Vigil::open(cfg).context("cannot open the store")?;
            // Uploads left unfinished by a crash or restart: re-check their chunks on disk before
            // accepting more (reads every received byte; CLI commands skip it).
            let r = vigil
                .reconcile_uploads()
                .context("cannot reconcile unfinished uploads")?;
            tracing::info!(?r, "uploads reconciled");
            // Ingest jobs a dead process left running start again from scratch.
            let requeued = vigil
                .reset_interrupted()
                .context("cannot re-queue interrupted ingest jobs")?;
            if requeued > 0 {
                tracing::warn!(requeued, "re-queued interrupted ingest jobs");
            }
            let vigil = Arc::new(vigil);
            let worker = {
                let v = vigil.clone();
                std::thread::Builder::new()
                    .name("vigil-ingest".into())
                    .spawn(move || v.run_worker())
                    .context("cannot start the ingest worker")?
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let served = rt.block_on(api::serve(vigil.clone()));
            // A job in progress stops at its next block and is re-queued for the next start.
            vigil.stop_worker();
            let _ = worker.join();
            served
        }
        Command::Train(a) => {
            use vigil::classify::train;
            let work = tempfile_dir()?;
            let mut scenes: Vec<train::LabelledScene> = a
                .scenes
                .iter()
                .map(|p| train::LabelledScene {
                    tif: p.clone(),
                    truth: p.with_extension("truth.geojson"),
                })
                .collect();
            if a.generate > 0 {
                eprintln!("drawing {} training scenes", a.generate);
                scenes.extend(
                    train::generate_scenes(&work.join("scenes"), a.generate, a.seed, a.size)
                        .map_err(|e| anyhow::anyhow!(e))?,
                );
            }
            anyhow::ensure!(
                !scenes.is_empty(),
                "no scenes: give SCENE.tif files or --generate N"
            );
            let held = train::generate_scenes(
                &work.join("held-out"),
                a.held_out,
                a.seed + 100_000,
                a.size,
            )
            .map_err(|e| anyhow::anyhow!(e))?;
            let version = a.model_version.unwrap_or_else(|| {
                format!("vegetation-{}", &vigil::time_util::now_rfc3339()[..10])
            });
            let threads = std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2);
            let opts = train::FitOptions {
                epochs: a.epochs,
                seed: a.seed,
                augment: a.augment,
                ..Default::default()
            };
            let feedback = match &a.feedback {
                None => train::Feedback::default(),
                Some(dir) => {
                    let mut cfg = Config::load(None, Some(dir))?;
                    cfg.server.data_dir = dir.clone();
                    cfg.log.level = "warn".into();
                    let v = Vigil::open(cfg)
                        .with_context(|| format!("cannot open the data dir {}", dir.display()))?;
                    let cells = v.feedback_samples()?;
                    let flags: std::collections::BTreeSet<i64> =
                        cells.iter().map(|c| c.flag).collect();
                    let (held, train): (Vec<&vigil::service::review::FeedbackSample>, Vec<_>) =
                        cells
                            .iter()
                            .partition(|c| flags.len() >= 4 && c.flag % 4 == 0);
                    eprintln!(
                        "reviewers' feedback from {}: {} flags, {} cells",
                        dir.display(),
                        flags.len(),
                        cells.len()
                    );
                    train::Feedback {
                        train: train.iter().map(|c| c.sample).collect(),
                        held: held.iter().map(|c| c.sample).collect(),
                        flags: flags.len(),
                        previous: Some(
                            v.vegetation_model()
                                .map_err(|e| anyhow::anyhow!(e))?
                                .as_ref()
                                .clone(),
                        ),
                    }
                }
            };
            let model = train::train(
                &scenes,
                &held,
                &feedback,
                &work.join("tiles"),
                threads,
                &version,
                &opts,
                &mut |m| eprintln!("{m}"),
            )
            .map_err(|e| anyhow::anyhow!(e))?;
            let _ = std::fs::remove_dir_all(&work);
            model
                .save(&a.out)
                .with_context(|| format!("cannot write {}", a.out.display()))?;
            println!("wrote {} (version {})", a.out.display(), model.version);
            Ok(())
        }
        Command::Eval(a) => cli_eval(a),
        Command::Calibrate(a) => cli_calibrate(a),
        Command::LearningCurve(a) => cli_learning_curve(a),
        Command::Learn { common, province } => {
            let v = open(&common)?;
            let r = v.learn_province(&Principal::cli(), &province)?;
            let pct =
                |x: Option<f64>| x.map_or("—".to_string(), |v| format!("{:.1} %", v * 100.0));
            println!(
                "province {}: {} reviewed flags, {} cells ({} held out) in {:.1} s; held-out cells right: base {} → province {}",
                r.province,
                r.flags,
                r.cells,
                r.held_out_cells,
                r.seconds,
                pct(r.base_accuracy),
                pct(r.province_accuracy)
            );
            println!("wrote {} ({})", r.path.display(), r.version);
            Ok(())
        }
        Command::Reclassify { common, surveys } => {
            let v = open(&common)?;
            for id in surveys {
                let (old, new) = v.reclassify(&Principal::cli(), &id)?;
                println!("{id}: {new} flag(s) raised, {old} superseded");
            }
            Ok(())
        }
        Command::Ingest(a) => {
            let v = open(&a.common)?;
            let who = Principal::cli();
            let many = a.files.len() > 1;
            let mut failed = 0;
            for (i, file) in a.files.iter().enumerate() {
                let name = a.name.as_ref().map(|n| {
                    if many {
                        format!("{n} {}", i + 1)
                    } else {
                        n.clone()
                    }
                });
                eprintln!("ingesting {}", file.display());
                let s = v.ingest_local(
                    &who,
                    vigil::service::surveys::LocalFile {
                        path: file.clone(),
                        name,
                        acquired_at: a.acquired_at.clone(),
                        bands: a.bands.clone(),
                    },
                    true,
                )?;
                let r = &s.row;
                let m = s.meta.as_ref();
                let secs = r
                    .started_at
                    .as_deref()
                    .zip(r.completed_at.as_deref())
                    .and_then(|(a, b)| {
                        let p = |t: &str| {
                            time::OffsetDateTime::parse(
                                t,
                                &time::format_description::well_known::Rfc3339,
                            )
                            .ok()
                        };
                        Some((p(b)? - p(a)?).as_seconds_f64())
                    });
                let line = serde_json::json!({
                    "file": file.display().to_string(),
                    "survey": r.id,
                    "state": r.state,
                    "error": r.error_code.as_ref().map(|c| serde_json::json!({ "code": c, "message": r.error })),
                    "tiles": m.map(|m| m.display_tiles),
                    "analysis_tiles": m.map(|m| m.analysis_tiles),
                    "native_zoom": m.map(|m| m.native_zoom),
                    "min_zoom": m.map(|m| m.min_zoom),
                    "megapixels": m.map(|m| (m.width * m.height) as f64 / 1e6),
                    "flags": m.map(|m| m.flags),
                    "model": m.and_then(|m| m.model_version.clone()),
                    "classification_skipped": m.and_then(|m| m.classification_skipped.clone()),
                    "seconds": secs,
                    "stages": m.map(|m| m.timings.iter().map(|(n, t)| serde_json::json!({ "name": n, "seconds": t })).collect::<Vec<_>>()),
                    "tiles_dir": m.map(|_| v.config().tiles_dir().join(&r.id).display().to_string()),
                });
                println!("{line}");
                if r.state != vigil::store::surveys::SurveyState::Ready {
                    failed += 1;
                    eprintln!(
                        "error: {} was not ingested: {} ({})",
                        file.display(),
                        r.error.as_deref().unwrap_or("unknown"),
                        r.error_code.as_deref().unwrap_or("?")
                    );
                }
            }
            if failed > 0 {
                anyhow::bail!("{failed} of {} file(s) failed", a.files.len());
            }
            Ok(())
        }
        Command::Communes(CommunesCmd::DrugFree {
            common,
            commune,
            year,
            decision_ref,
            decided_on,
            not,
        }) => {
            let v = open(&common)?;
            let row = v.record_drug_free(
                &Principal::cli(),
                &commune,
                vigil::service::reports::DrugFreeInput {
                    year,
                    drug_free: !not,
                    decision_ref,
                    decided_on,
                },
            )?;
            println!(
                "recorded commune {} {} for {} ({}), record {}",
                row.commune_code,
                if row.status == "drug_free" {
                    "drug-free"
                } else {
                    "not drug-free"
                },
                row.year,
                row.decision_ref,
                row.id
            );
            Ok(())
        }
        Command::Report(a) => {
            use std::io::{IsTerminal, Write};
            let period = vigil::reports::period::Period::parse(&a.period)
                .map_err(|e| anyhow::anyhow!("--period: {e}"))?;
            let area = vigil::service::reports::AreaQuery {
                province: a.province.clone(),
                commune: a.commune.clone(),
            };
            let v = open(&a.common)?;
            let who = Principal::cli();
            let (bytes, name) = if a.format == "json" {
                let r = v.kpi_report(&who, &area, &period)?;
                (serde_json::to_vec_pretty(&r)?, String::from("kpis.json"))
            } else {
                let format =
                    vigil::reports::Format::from_extension(&a.format).with_context(|| {
                        format!(
                            "unknown format {:?}; pdf, xlsx, csv, html or json",
                            a.format
                        )
                    })?;
                if a.out.is_none()
                    && matches!(
                        format,
                        vigil::reports::Format::Pdf | vigil::reports::Format::Xlsx
                    )
                    && std::io::stdout().is_terminal()
                {
                    anyhow::bail!(
                        "{} is binary: give --out FILE or redirect the output",
                        a.format
                    );
                }
                v.render_report(&who, &area, &period, format)?
            };
            match &a.out {
                Some(path) => {
                    std::fs::write(path, &bytes)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!(
                        "wrote {} ({} bytes; suggested name {name})",
                        path.display(),
                        bytes.len()
                    );
                }
                None => std::io::stdout().write_all(&bytes)?,
            }
            Ok(())
        }
        Command::User(UserCmd::Add {
            common,
            name,
            role,
            provinces,
            communes,
            national,
        }) => {
            let v = open(&common)?;
            let role = Role::from_code(&role).with_context(|| {
                format!("unknown role {role:?}; one of admin, analyst, reviewer, operator, viewer")
            })?;
            let j = Jurisdiction {
                national,
                provinces: provinces.into_iter().collect(),
                communes: communes.into_iter().collect(),
            };
            let token = v.add_user(&Principal::cli(), &name, role, j)?;
            println!("created user {name} ({})", role.code());
            println!("{token}");
            Ok(())
        }
        Command::User(UserCmd::Token { common, name }) => {
            let v = open(&common)?;
            let token = v.issue_token(&Principal::cli(), &name)?;
            println!("new token for {name}");
            println!("{token}");
            Ok(())
        }
        Command::User(UserCmd::Passwd { common, name }) => {
            let v = open(&common)?;
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("cannot read the password from standard input")?;
            let password = line.trim_end_matches(['\r', '\n']);
            v.set_password(&Principal::cli(), &name, password)?;
            println!("password set for {name}");
            Ok(())
        }
        Command::User(UserCmd::Disable { common, name }) => {
            let v = open(&common)?;
            v.disable_user(&Principal::cli(), &name)?;
            println!(
                "disabled {name}; every token of theirs is revoked (a running server stops accepting them within 30 s)"
            );
            Ok(())
        }
        Command::User(UserCmd::List { common }) => {
            let v = open(&common)?;
            for u in v.list_users(&Principal::cli())? {
                println!(
                    "{}\t{}\t{}\t{}",
                    u.id,
                    u.name,
                    u.role.code(),
                    serde_json::to_string(&u.jurisdiction)?
                );
            }
            Ok(())
        }
        Command::Import(ImportCmd::Boundaries {
            common,
            file,
            level,
            code_field,
            name_field,
            parent_field,
            layer,
            replace,
        }) => {
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
        Command::Import(ImportCmd::Hotspots {
            common,
            file,
            crs,
            format,
        }) => {
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
        Command::Demo(DemoCmd::SeedHotspots {
            common,
            count,
            seed,
        }) => {
            let v = open(&common)?;
            let s = v
                .seed_demo_hotspots(&Principal::cli(), count, seed)
                .map_err(report)?;
            println!("seeded {} sample hotspot(s)", s.imported);
            Ok(())
        }
        Command::SampleImagery(a) => {
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
            let w = vigil::ingest::sample_files::write_sample(
                &vigil::ingest::sample_files::SampleRequest {
                    out_dir: a.out,
                    name: a.name,
                    spec,
                    layout: a.layout,
                    sixteen_bit: a.sixteen_bit,
                    crs: a.crs,
                    center: a.center,
                },
            )?;
            println!("wrote {} ({} plots)", w.tif.display(), w.plots);
            println!("wrote {}", w.truth.display());
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
