//! The `vigil` command line: the commands and their arguments, and dispatch to `cli/`, one short
//! function per command. No domain logic here, and no store access but through the service.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cli::Common;

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
    User(cli::user::UserCmd),
    /// Import boundaries or hotspots from files.
    #[command(subcommand)]
    Import(cli::import::ImportCmd),
    /// Demo data.
    #[command(subcommand)]
    Demo(cli::demo::DemoCmd),
    /// Write a seeded synthetic drone scene (GeoTIFF) and its ground truth (GeoJSON, EPSG:4326).
    SampleImagery(cli::demo::SampleImageryArgs),
    /// Train the vegetation model from labelled scenes (SCENE.tif beside SCENE.truth.geojson) and/or
    /// scenes it draws itself; prints held-out cell-level recall and writes the model file.
    Train(cli::detect::TrainArgs),
    /// Run a scene through ingest and the classifier and score its flags against ground truth:
    /// object-level precision, recall and F1 per class, poppy by stage, false flags per hectare.
    Eval(cli::detect::EvalArgs),
    /// Fit the model's confidence calibration on held-out labelled scenes (flags that found a
    /// plot or not) and write the model with it: reviewers then see calibrated percentages.
    Calibrate(cli::detect::CalibrateArgs),
    /// Measure learning from reviewers: F1 on held-out scenes after fine-tuning a base model on
    /// 0, 5, 10, 20, 50 … reviewed plots drawn from other scenes (as `vigil learn` does).
    LearningCurve(cli::detect::LearningCurveArgs),
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
    Ingest(cli::ingest::IngestArgs),
    /// Communes: drug-free records.
    #[command(subcommand)]
    Communes(cli::report::CommunesCmd),
    /// Build the web map's offline basemap (vector tiles in a PMTiles archive, from the embedded
    /// Natural Earth land layer); `web/basemap/vietnam.pmtiles` is its output.
    Basemap {
        /// The archive to write.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Write the report of a province (or commune, or the country) for a period, in Vietnamese.
    Report(cli::report::ReportArgs),
    /// Copy this embedded installation into the PostgreSQL database of `[store] database_url` /
    /// VIGIL_DATABASE_URL (every table, history and audit included; row counts and SHA-256s
    /// verified) and its survey tiles and field photos into the object storage of `[storage]
    /// url` / VIGIL_STORAGE_URL (every file's SHA-256 verified after the round trip). Prints one
    /// JSON line per table and per survey, then a summary.
    Migrate {
        #[command(flatten)]
        common: Common,
    },
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { common, listen } => cli::serve::run(common, listen),
        Command::User(cmd) => cli::user::run(cmd),
        Command::Import(cmd) => cli::import::run(cmd),
        Command::Demo(cmd) => cli::demo::run(cmd),
        Command::SampleImagery(a) => cli::demo::sample_imagery(a),
        Command::Train(a) => cli::detect::train(a),
        Command::Eval(a) => cli::detect::eval(a),
        Command::Calibrate(a) => cli::detect::calibrate(a),
        Command::LearningCurve(a) => cli::detect::learning_curve(a),
        Command::Learn { common, province } => cli::detect::learn(common, province),
        Command::Reclassify { common, surveys } => cli::detect::reclassify(common, surveys),
        Command::Ingest(a) => cli::ingest::run(a),
        Command::Communes(cmd) => cli::report::communes(cmd),
        Command::Report(a) => cli::report::run(a),
        Command::Basemap { out } => cli::demo::basemap(&out),
        Command::Migrate { common } => cli::ingest::migrate(common),
    }
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
