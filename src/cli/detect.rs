//! The detection commands: `vigil train`, `eval`, `calibrate`, `learning-curve`, `learn` and
//! `reclassify`. Scoring runs the real ingest path on a scratch data directory.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use vigil::Vigil;
use vigil::auth::Principal;
use vigil::config::Config;

use super::{Common, init_logging, open, tempfile_dir};

#[derive(Args)]
pub struct TrainArgs {
    /// Model file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Draw this many training scenes (seeds SEED, SEED+1, …) in addition to the files given.
    #[arg(long, default_value_t = 0)]
    pub generate: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Side of drawn scenes in pixels.
    #[arg(long, default_value_t = 1024)]
    pub size: usize,
    /// Drawn scenes held out for the report (seeds from SEED + 100000, never trained on).
    #[arg(long, default_value_t = 3)]
    pub held_out: usize,
    #[arg(long, default_value_t = 40)]
    pub epochs: usize,
    /// Version stamped on the model and every flag it raises (default: vegetation-<date>).
    #[arg(long)]
    pub model_version: Option<String>,
    /// Also learn from reviewers' decisions in this data directory: cells of flags confirmed
    /// as poppy or cannabis, or rejected as false positives (every 4th flag is held out to
    /// report the effect against the model in use there).
    #[arg(long, value_name = "DATA_DIR")]
    pub feedback: Option<PathBuf>,
    /// Random lights (white balance, exposure, haze, shadow, blur, noise) each training scene
    /// is also seen under.
    #[arg(long, default_value_t = 2)]
    pub augment: usize,
    /// Labelled scenes: GeoTIFFs with NAME.truth.geojson beside them.
    pub scenes: Vec<PathBuf>,
}

#[derive(Args)]
pub struct EvalArgs {
    /// The scene (GeoTIFF).
    #[arg(required_unless_present_any = ["dir", "negative"])]
    pub scene: Option<PathBuf>,
    /// Its ground truth (GeoJSON with `class` and, for poppy, `stage`).
    #[arg(requires = "scene")]
    pub truth: Option<PathBuf>,
    /// Also every SCENE.tif with SCENE.truth.geojson beside it in these directories; prints the
    /// per-condition breakdown (mean F1 of flowering poppy + cannabis, cannabis and
    /// pre-flowering recall, false flags per hectare, calibration error).
    #[arg(long)]
    pub dir: Vec<PathBuf>,
    /// Scenes with no poppy or cannabis anywhere (e.g. real photographs): every flag is false.
    #[arg(long)]
    pub negative: Vec<PathBuf>,
    /// Exit with an error when the mean F1 over the labelled scenes is below this.
    #[arg(long)]
    min_f1: Option<f64>,
    /// Exit with an error when false flags per hectare on the negative scenes exceed this.
    #[arg(long)]
    pub max_false_per_ha: Option<f64>,
    /// Model file (default: the built-in model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// IoU a flag needs with a plot to count as finding it.
    #[arg(long, default_value_t = vigil::classify::eval::DEFAULT_IOU_THRESHOLD)]
    pub iou: f64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct LearningCurveArgs {
    /// The model to start from (e.g. trained on the other generator).
    #[arg(long)]
    pub model: PathBuf,
    /// Scenes whose plots play the reviewed ones (SCENE.tif + SCENE.truth.geojson).
    #[arg(long)]
    pub review_dir: PathBuf,
    /// Held-out scenes the F1 is measured on.
    #[arg(long)]
    pub held_out_dir: PathBuf,
    /// Numbers of reviewed plots.
    #[arg(long, value_delimiter = ',', default_value = "0,5,10,20,50")]
    pub steps: Vec<usize>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Args)]
pub struct CalibrateArgs {
    /// Model file to calibrate.
    #[arg(long)]
    pub model: PathBuf,
    /// Model file to write (may be the same).
    #[arg(long)]
    pub out: PathBuf,
    /// Directories of SCENE.tif with SCENE.truth.geojson beside them, held out from training.
    #[arg(long, required = true)]
    pub dir: Vec<PathBuf>,
}

/// `vigil train`.
pub fn train(a: TrainArgs) -> anyhow::Result<()> {
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
    let held = train::generate_scenes(&work.join("held-out"), a.held_out, a.seed + 100_000, a.size)
        .map_err(|e| anyhow::anyhow!(e))?;
    let version = a
        .model_version
        .unwrap_or_else(|| format!("vegetation-{}", &vigil::time_util::now_rfc3339()[..10]));
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
            let f = v.training_feedback()?;
            eprintln!(
                "reviewers' feedback from {}: {} flags, {} cells",
                dir.display(),
                f.flags,
                f.train.len() + f.held.len()
            );
            f
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

/// `vigil learn`.
pub fn learn(common: Common, province: String) -> anyhow::Result<()> {
    let v = open(&common)?;
    let r = v.learn_province(&Principal::cli(), &province)?;
    let pct = |x: Option<f64>| x.map_or("—".to_string(), |v| format!("{:.1} %", v * 100.0));
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

/// `vigil reclassify`.
pub fn reclassify(common: Common, surveys: Vec<String>) -> anyhow::Result<()> {
    let v = open(&common)?;
    for id in surveys {
        let (old, new) = v.reclassify(&Principal::cli(), &id)?;
        println!("{id}: {new} flag(s) raised, {old} superseded");
    }
    Ok(())
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
pub fn learning_curve(a: LearningCurveArgs) -> anyhow::Result<()> {
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
pub fn calibrate(a: CalibrateArgs) -> anyhow::Result<()> {
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
pub fn eval(a: EvalArgs) -> anyhow::Result<()> {
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
