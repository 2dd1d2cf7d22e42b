//! Object-level evaluation of flagged plots against ground truth: what `vigil eval SCENE.tif
//! TRUTH.geojson` prints (issue 4, item 5).
//!
//! The module owns the matching rules and the figures (precision, recall and F1 per target class
//! and per poppy stage, false flags per hectare and what they lie on, area ratio). It does no IO
//! and knows no raster: the caller classifies the scene, reads the truth file and passes plots in.
//!
//! Overlaps are computed with `geo`'s boolean operations in a local equirectangular projection
//! about the centre of all the plots (metres; a plot is tens of metres across, so the distortion
//! is far below a pixel); areas reported in m² are geodesic (WGS 84 ellipsoid).
//!
//! ```
//! use geo::{MultiPolygon, polygon};
//! use vigil::classify::eval::{DEFAULT_IOU_THRESHOLD, Plot, evaluate};
//!
//! let square = MultiPolygon(vec![polygon![
//!     (x: 105.3000, y: 23.1000), (x: 105.3001, y: 23.1000),
//!     (x: 105.3001, y: 23.1001), (x: 105.3000, y: 23.1001),
//! ]]);
//! let truth = vec![Plot::truth("poppy", Some("flowering"), square.clone())];
//! let flags = vec![Plot::flag("poppy", 0.9, square)];
//! let report = evaluate(&flags, &truth, 1.0, DEFAULT_IOU_THRESHOLD).unwrap();
//! assert_eq!(report.classes[0].tp, 1);
//! assert_eq!(report.false_flags, 0);
//! ```

use std::collections::BTreeMap;
use std::fmt;

use geo::{Area, BooleanOps, BoundingRect, Coord, GeodesicArea, LineString, MapCoords};
use geo::{MultiPolygon, Polygon, Rect};
use geojson::{Feature, GeoJson};
use serde::Serialize;
use serde_json::Value as Json;

/// The classes the service flags, in report order.
pub const TARGET_CLASSES: [&str; 2] = ["poppy", "cannabis"];
/// The poppy stages the truth files carry, in report order.
pub const POPPY_STAGES: [&str; 2] = ["flowering", "pre_flowering"];
/// Default intersection-over-union a flag needs to match a truth plot.
pub const DEFAULT_IOU_THRESHOLD: f64 = 0.25;
/// Share of a truth plot that flags must cover, and share of a flag that must lie in the plot,
/// for the cover and fragment rules.
pub const COVER_FRACTION: f64 = 0.5;
/// What a false flag lies on when most of it overlaps no truth plot.
pub const BACKGROUND: &str = "background";
/// Stage bucket for poppy truth plots without a `stage`.
pub const UNKNOWN_STAGE: &str = "unknown";

/// A plot: a flag from the classifier or a ground-truth polygon.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    /// `poppy`, `cannabis`, or (truth) a look-alike or background class: `cabbage`, `roof`, …
    pub class: String,
    /// `flowering` or `pre_flowering` on poppy truth; otherwise usually `None`.
    pub stage: Option<String>,
    /// Lon/lat, WGS 84.
    pub geometry: MultiPolygon<f64>,
    /// The classifier's confidence in 0..=1; 1 for truth.
    pub confidence: f64,
}

impl Plot {
    /// A ground-truth plot (confidence 1).
    pub fn truth(class: &str, stage: Option<&str>, geometry: MultiPolygon<f64>) -> Plot {
        Plot {
            class: class.to_string(),
            stage: stage.map(str::to_string),
            geometry,
            confidence: 1.0,
        }
    }

    /// A flagged (predicted) plot.
    pub fn flag(class: &str, confidence: f64, geometry: MultiPolygon<f64>) -> Plot {
        Plot {
            class: class.to_string(),
            stage: None,
            geometry,
            confidence,
        }
    }
}

/// Which rule matched a truth plot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    /// One flag with IoU at or above the threshold.
    Iou,
    /// One flag below the IoU threshold that covers ≥ 50 % of the plot with ≥ 50 % of itself.
    Cover,
    /// Several flags, each mostly inside the plot, that together cover ≥ 50 % of it.
    Fragments,
}

/// One found truth plot and the flags that found it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    /// Index into the truth slice (feature order of the truth file).
    pub truth: usize,
    /// Indices into the predicted slice; the first is the one-to-one match, if any.
    pub predictions: Vec<usize>,
    pub rule: MatchRule,
    /// IoU of the union of `predictions` with the truth plot.
    pub iou: f64,
}

/// Figures for one target class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassReport {
    pub class: String,
    /// Truth plots of this class.
    pub truth: usize,
    /// Flags of this class.
    pub predicted: usize,
    /// Truth plots found.
    pub tp: usize,
    /// Flags that found no truth plot of their class.
    pub fp: usize,
    /// Truth plots not found.
    #[serde(rename = "fn")]
    pub fn_: usize,
    /// tp / (tp + fp); `None` with no flags.
    pub precision: Option<f64>,
    /// tp / truth; `None` with no truth plots.
    pub recall: Option<f64>,
    /// 2tp / (2tp + fp + fn); `None` when there is nothing to count.
    pub f1: Option<f64>,
    /// Geodesic area of this class's truth plots.
    pub truth_area_m2: f64,
    /// Geodesic area of this class's flags.
    pub predicted_area_m2: f64,
    /// predicted_area_m2 / truth_area_m2; `None` with no truth area.
    pub area_ratio: Option<f64>,
    /// What this class's false flags lie on: truth class (or `background`) → count.
    pub false_flags_on: BTreeMap<String, usize>,
    pub matches: Vec<Match>,
}

/// Figures for the poppy truth plots of one stage. Flags carry no stage, so precision here
/// ignores flags that found plots of other stages and counts every false poppy flag against
/// each stage: it is the precision the classifier would have if only this stage grew.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageReport {
    pub stage: String,
    pub truth: usize,
    /// Truth plots of this stage found (tp).
    pub found: usize,
    /// False poppy flags (the poppy row's fp).
    pub fp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
}

/// One flag that found nothing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FalseFlag {
    /// Index into the predicted slice.
    pub prediction: usize,
    pub class: String,
    pub confidence: f64,
    pub area_m2: f64,
    /// The truth class it overlaps most, or `background` when most of it overlaps no truth plot.
    pub on: String,
}

/// The whole evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub iou_threshold: f64,
    /// The evaluated area (the scene footprint), hectares.
    pub area_ha: f64,
    /// One row per target class, in [`TARGET_CLASSES`] order.
    pub classes: Vec<ClassReport>,
    /// Poppy by truth stage: `flowering`, `pre_flowering`, then any other (`unknown` = no stage).
    pub poppy_stages: Vec<StageReport>,
    /// False flags of all target classes.
    pub false_flags: usize,
    pub false_flags_per_ha: f64,
    /// What the false flags lie on, all target classes together.
    pub false_flags_on: BTreeMap<String, usize>,
    pub false_flag_list: Vec<FalseFlag>,
    /// Flags of classes that are not targets (e.g. `other_vegetation`), left out of every figure.
    pub ignored_predictions: usize,
}

impl Report {
    /// The row for `class`, if it is a target class.
    pub fn class(&self, class: &str) -> Option<&ClassReport> {
        self.classes.iter().find(|c| c.class == class)
    }

    /// The poppy row for `stage`, if any.
    pub fn stage(&self, stage: &str) -> Option<&StageReport> {
        self.poppy_stages.iter().find(|s| s.stage == stage)
    }
}

/// Scores `predicted` flags against `truth` plots over an evaluated area of `area_ha` hectares.
///
/// Matching, per target class: first one-to-one and greedy, highest IoU first (ties: higher
/// confidence, then input order), a pair qualifying when IoU ≥ `iou_threshold` or when the flag
/// covers ≥ 50 % of the plot and ≥ 50 % of the flag lies in it. Then fragments: every flag still
/// unmatched that lies ≥ 50 % inside a truth plot of its class (the one it overlaps most) joins
/// that plot's group; a plot found in the first pass absorbs its fragments, and a plot not found
/// is found when its group's union covers ≥ 50 % of it. A flag merging two plots finds one.
///
/// Errors when `iou_threshold` is not in (0, 1] or `area_ha` is not a positive number.
pub fn evaluate(
    predicted: &[Plot],
    truth: &[Plot],
    area_ha: f64,
    iou_threshold: f64,
) -> Result<Report, String> {
    if !(iou_threshold > 0.0 && iou_threshold <= 1.0) {
        return Err(format!(
            "IoU threshold must be in (0, 1], got {iou_threshold}"
        ));
    }
    if !(area_ha.is_finite() && area_ha > 0.0) {
        return Err(format!(
            "evaluated area must be a positive number of hectares, got {area_ha}"
        ));
    }
    let projection = LocalProjection::about(predicted.iter().chain(truth));
    let preds: Vec<Prepared> = predicted.iter().map(|p| projection.prepare(p)).collect();
    let truths: Vec<Prepared> = truth.iter().map(|p| projection.prepare(p)).collect();

    let mut classes = Vec::with_capacity(TARGET_CLASSES.len());
    let mut false_flag_list = Vec::new();
    let mut found_truth = vec![false; truth.len()];
    for class in TARGET_CLASSES {
        let p_idx: Vec<usize> = (0..predicted.len())
            .filter(|&i| predicted[i].class == class)
            .collect();
        let t_idx: Vec<usize> = (0..truth.len())
            .filter(|&j| truth[j].class == class)
            .collect();
        let matches = match_class(predicted, &preds, &p_idx, &truths, &t_idx, iou_threshold);
        let mut matched_pred = vec![false; predicted.len()];
        for m in &matches {
            found_truth[m.truth] = true;
            for &p in &m.predictions {
                matched_pred[p] = true;
            }
        }
        let mut false_flags_on = BTreeMap::new();
        for &p in p_idx.iter().filter(|&&p| !matched_pred[p]) {
            let on = lies_on(&preds[p], &truths, truth);
            *false_flags_on.entry(on.clone()).or_insert(0) += 1;
            false_flag_list.push(FalseFlag {
                prediction: p,
                class: class.to_string(),
                confidence: predicted[p].confidence,
                area_m2: preds[p].geodesic_m2,
                on,
            });
        }
        let tp = matches.len();
        let fp = false_flags_on.values().sum();
        let fn_ = t_idx.len() - tp;
        // Folded from +0.0: an empty f64 sum is -0.0, which would print as "-0.000".
        let truth_area_m2 = t_idx.iter().fold(0.0, |a, &j| a + truths[j].geodesic_m2);
        let predicted_area_m2 = p_idx.iter().fold(0.0, |a, &i| a + preds[i].geodesic_m2);
        classes.push(ClassReport {
            class: class.to_string(),
            truth: t_idx.len(),
            predicted: p_idx.len(),
            tp,
            fp,
            fn_,
            precision: ratio(tp, tp + fp),
            recall: ratio(tp, t_idx.len()),
            f1: ratio(2 * tp, 2 * tp + fp + fn_),
            truth_area_m2,
            predicted_area_m2,
            area_ratio: (truth_area_m2 > 0.0).then(|| predicted_area_m2 / truth_area_m2),
            false_flags_on,
            matches,
        });
    }

    let poppy_fp = classes[0].fp;
    let poppy_stages = stage_reports(truth, &found_truth, poppy_fp);
    let mut false_flags_on = BTreeMap::new();
    for c in &classes {
        for (on, n) in &c.false_flags_on {
            *false_flags_on.entry(on.clone()).or_insert(0) += n;
        }
    }
    let false_flags = false_flag_list.len();
    let ignored_predictions = predicted
        .iter()
        .filter(|p| !TARGET_CLASSES.contains(&p.class.as_str()))
        .count();
    Ok(Report {
        iou_threshold,
        area_ha,
        classes,
        poppy_stages,
        false_flags,
        false_flags_per_ha: false_flags as f64 / area_ha,
        false_flags_on,
        false_flag_list,
        ignored_predictions,
    })
}

fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// A plot in local metres, with its box and areas.
struct Prepared {
    planar: MultiPolygon<f64>,
    bbox: Option<Rect<f64>>,
    area: f64,
    geodesic_m2: f64,
}

/// Equirectangular projection about a centre, in metres.
struct LocalProjection {
    lon0: f64,
    lat0: f64,
    kx: f64,
    ky: f64,
}

impl LocalProjection {
    /// About the centre of the plots' joint bounding box.
    fn about<'a>(plots: impl Iterator<Item = &'a Plot>) -> LocalProjection {
        let mut bounds: Option<Rect<f64>> = None;
        for r in plots.filter_map(|p| p.geometry.bounding_rect()) {
            bounds = Some(match bounds {
                None => r,
                Some(b) => Rect::new(
                    Coord {
                        x: b.min().x.min(r.min().x),
                        y: b.min().y.min(r.min().y),
                    },
                    Coord {
                        x: b.max().x.max(r.max().x),
                        y: b.max().y.max(r.max().y),
                    },
                ),
            });
        }
        let centre = bounds.map_or(Coord { x: 0.0, y: 0.0 }, |b| b.center());
        // Mean Earth radius; only ratios of these areas are ever used.
        let ky = 6_371_008.8_f64.to_radians();
        LocalProjection {
            lon0: centre.x,
            lat0: centre.y,
            kx: ky * centre.y.to_radians().cos(),
            ky,
        }
    }

    fn prepare(&self, plot: &Plot) -> Prepared {
        let planar = plot.geometry.map_coords(|c| Coord {
            x: (c.x - self.lon0) * self.kx,
            y: (c.y - self.lat0) * self.ky,
        });
        Prepared {
            bbox: planar.bounding_rect(),
            area: planar.unsigned_area(),
            geodesic_m2: plot.geometry.geodesic_area_unsigned(),
            planar,
        }
    }
}

/// Planar area of `a ∩ b`, skipping disjoint boxes.
fn overlap(a: &Prepared, b: &Prepared) -> f64 {
    match (a.bbox, b.bbox) {
        (Some(x), Some(y))
            if x.min().x <= y.max().x
                && y.min().x <= x.max().x
                && x.min().y <= y.max().y
                && y.min().y <= x.max().y =>
        {
            a.planar.intersection(&b.planar).unsigned_area()
        }
        _ => 0.0,
    }
}

fn union_of(parts: &[&Prepared]) -> MultiPolygon<f64> {
    geo::unary_union(parts.iter().map(|p| &p.planar))
}

/// The matching rules of [`evaluate`] for one class: `p_idx` and `t_idx` are its flags and truth.
fn match_class(
    predicted: &[Plot],
    preds: &[Prepared],
    p_idx: &[usize],
    truths: &[Prepared],
    t_idx: &[usize],
    iou_threshold: f64,
) -> Vec<Match> {
    struct Pair {
        p: usize,
        t: usize,
        inter: f64,
        iou: f64,
    }
    let mut pairs = Vec::new();
    for &p in p_idx {
        for &t in t_idx {
            let inter = overlap(&preds[p], &truths[t]);
            if inter > 0.0 {
                let union = preds[p].area + truths[t].area - inter;
                pairs.push(Pair {
                    p,
                    t,
                    inter,
                    // Clamped: the overlay's float error can put a self-match a hair above 1.
                    iou: (inter / union).min(1.0),
                });
            }
        }
    }
    let covers = |pair: &Pair| {
        pair.inter >= COVER_FRACTION * truths[pair.t].area
            && pair.inter >= COVER_FRACTION * preds[pair.p].area
    };

    // 1. One-to-one, greedy by IoU.
    let mut order: Vec<&Pair> = pairs
        .iter()
        .filter(|x| x.iou >= iou_threshold || covers(x))
        .collect();
    order.sort_by(|a, b| {
        b.iou
            .total_cmp(&a.iou)
            .then(
                predicted[b.p]
                    .confidence
                    .total_cmp(&predicted[a.p].confidence),
            )
            .then(a.p.cmp(&b.p))
            .then(a.t.cmp(&b.t))
    });
    let mut pred_taken = vec![false; preds.len()];
    let mut by_truth: BTreeMap<usize, Match> = BTreeMap::new();
    for x in order {
        if pred_taken[x.p] || by_truth.contains_key(&x.t) {
            continue;
        }
        pred_taken[x.p] = true;
        let rule = if x.iou >= iou_threshold {
            MatchRule::Iou
        } else {
            MatchRule::Cover
        };
        by_truth.insert(
            x.t,
            Match {
                truth: x.t,
                predictions: vec![x.p],
                rule,
                iou: x.iou,
            },
        );
    }

    // 2. Fragments: each unmatched flag lying mostly inside a plot joins the plot it overlaps most.
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &p in p_idx.iter().filter(|&&p| !pred_taken[p]) {
        let home = pairs
            .iter()
            .filter(|x| x.p == p && x.inter >= COVER_FRACTION * preds[p].area)
            .max_by(|a, b| a.inter.total_cmp(&b.inter).then(b.t.cmp(&a.t)));
        if let Some(x) = home {
            groups.entry(x.t).or_default().push(p);
        }
    }
    for (t, fragments) in groups {
        let mut members: Vec<usize> = by_truth
            .get(&t)
            .map(|m| m.predictions.clone())
            .unwrap_or_default();
        members.extend(&fragments);
        let parts: Vec<&Prepared> = members.iter().map(|&p| &preds[p]).collect();
        let union = union_of(&parts);
        let inter = union.intersection(&truths[t].planar).unsigned_area();
        let iou = (inter / (union.unsigned_area() + truths[t].area - inter)).min(1.0);
        match by_truth.get_mut(&t) {
            Some(m) => {
                m.predictions = members;
                m.iou = iou;
            }
            None if inter >= COVER_FRACTION * truths[t].area => {
                by_truth.insert(
                    t,
                    Match {
                        truth: t,
                        predictions: members,
                        rule: MatchRule::Fragments,
                        iou,
                    },
                );
            }
            None => {}
        }
    }
    by_truth.into_values().collect()
}

/// The truth class a false flag overlaps most, or [`BACKGROUND`] when the part of it outside
/// every truth plot is larger than its overlap with any one class.
fn lies_on(flag: &Prepared, truths: &[Prepared], truth: &[Plot]) -> String {
    let mut by_class: BTreeMap<&str, f64> = BTreeMap::new();
    let mut covered = Vec::new();
    for (j, t) in truths.iter().enumerate() {
        let a = overlap(flag, t);
        if a > 0.0 {
            *by_class.entry(truth[j].class.as_str()).or_insert(0.0) += a;
            covered.push(t);
        }
    }
    let in_truth = if covered.len() > 1 {
        // Truth plots may overlap (a plot interplanted inside another): count each m² once.
        union_of(&covered)
            .intersection(&flag.planar)
            .unsigned_area()
    } else {
        by_class.values().sum()
    };
    let mut best = (BACKGROUND, (flag.area - in_truth).max(0.0));
    for (class, a) in by_class {
        if a > best.1 {
            best = (class, a);
        }
    }
    best.0.to_string()
}

fn stage_reports(truth: &[Plot], found: &[bool], poppy_fp: usize) -> Vec<StageReport> {
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (j, t) in truth.iter().enumerate().filter(|(_, t)| t.class == "poppy") {
        let stage = t.stage.as_deref().unwrap_or(UNKNOWN_STAGE);
        let e = counts.entry(stage).or_insert((0, 0));
        e.0 += 1;
        e.1 += usize::from(found[j]);
    }
    let mut stages: Vec<&str> = POPPY_STAGES.to_vec();
    stages.extend(counts.keys().filter(|s| !POPPY_STAGES.contains(s)));
    stages
        .into_iter()
        .map(|stage| {
            let (n, tp) = counts.get(stage).copied().unwrap_or((0, 0));
            let fn_ = n - tp;
            StageReport {
                stage: stage.to_string(),
                truth: n,
                found: tp,
                fp: poppy_fp,
                fn_,
                precision: ratio(tp, tp + poppy_fp),
                recall: ratio(tp, n),
                f1: ratio(2 * tp, 2 * tp + poppy_fp + fn_),
            }
        })
        .collect()
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn num(x: Option<f64>) -> String {
            x.map_or_else(|| "-".to_string(), |v| format!("{v:.3}"))
        }
        writeln!(
            f,
            "Object-level evaluation: IoU >= {} (or flags covering >= 50 % of a plot), {:.2} ha",
            self.iou_threshold, self.area_ha
        )?;
        writeln!(
            f,
            "{:<18} {:>5} {:>5} {:>4} {:>4} {:>4} {:>9} {:>6} {:>6} {:>10}",
            "class", "truth", "flags", "TP", "FP", "FN", "precision", "recall", "F1", "area ratio"
        )?;
        for c in &self.classes {
            writeln!(
                f,
                "{:<18} {:>5} {:>5} {:>4} {:>4} {:>4} {:>9} {:>6} {:>6} {:>10}",
                c.class,
                c.truth,
                c.predicted,
                c.tp,
                c.fp,
                c.fn_,
                num(c.precision),
                num(c.recall),
                num(c.f1),
                num(c.area_ratio)
            )?;
            if c.class == "poppy" {
                for s in &self.poppy_stages {
                    writeln!(
                        f,
                        "{:<18} {:>5} {:>5} {:>4} {:>4} {:>4} {:>9} {:>6} {:>6} {:>10}",
                        format!("  {}", s.stage),
                        s.truth,
                        "-",
                        s.found,
                        s.fp,
                        s.fn_,
                        num(s.precision),
                        num(s.recall),
                        num(s.f1),
                        "-"
                    )?;
                }
            }
        }
        write!(
            f,
            "false flags: {} ({:.2} per ha)",
            self.false_flags, self.false_flags_per_ha
        )?;
        if !self.false_flags_on.is_empty() {
            let mut on: Vec<(&String, &usize)> = self.false_flags_on.iter().collect();
            on.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let on: Vec<String> = on.iter().map(|(k, n)| format!("{k} {n}")).collect();
            write!(f, " on {}", on.join(", "))?;
        }
        writeln!(f)?;
        if self.ignored_predictions > 0 {
            writeln!(
                f,
                "{} flags of non-target classes ignored",
                self.ignored_predictions
            )?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// GeoJSON input

/// Reads a ground-truth file as `vigil sample-imagery` writes it: a FeatureCollection of Polygons
/// (or MultiPolygons) in lon/lat with properties `class` (required), `stage` (poppy: `flowering` or
/// `pre_flowering`, optional), and others (`plot_id`, `area_m2`, …) ignored. Errors name the
/// feature (`features[i]`, with its id) and the field.
pub fn truth_from_geojson(text: &str) -> Result<Vec<Plot>, String> {
    features(text)?
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let at = Where::new(i, f);
            let class = class_of(f, &at)?;
            let stage = string_prop(f, "stage", &at)?;
            if class == "poppy" {
                if let Some(s) = &stage {
                    if !POPPY_STAGES.contains(&s.as_str()) {
                        return Err(format!(
                            "{at}: property \"stage\" must be one of {} for poppy, got {s:?}",
                            POPPY_STAGES.join(", ")
                        ));
                    }
                }
            }
            Ok(Plot {
                class,
                stage,
                geometry: geometry_of(f, &at)?,
                confidence: 1.0,
            })
        })
        .collect()
}

/// Reads flagged plots: a FeatureCollection of Polygons (or MultiPolygons) in lon/lat with
/// properties `class` and `confidence` (a number in 0..=1), both required, and `stage` optional.
/// Errors name the feature (`features[i]`, with its id) and the field.
pub fn plots_from_geojson(text: &str) -> Result<Vec<Plot>, String> {
    features(text)?
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let at = Where::new(i, f);
            let class = class_of(f, &at)?;
            let confidence = match f.property("confidence") {
                None | Some(Json::Null) => {
                    return Err(format!("{at}: property \"confidence\" is missing"));
                }
                Some(v) => v
                    .as_f64()
                    .filter(|c| (0.0..=1.0).contains(c))
                    .ok_or_else(|| {
                        format!("{at}: property \"confidence\" must be a number in 0..=1, got {v}")
                    })?,
            };
            Ok(Plot {
                class,
                stage: string_prop(f, "stage", &at)?,
                geometry: geometry_of(f, &at)?,
                confidence,
            })
        })
        .collect()
}

fn features(text: &str) -> Result<Vec<Feature>, String> {
    let gj: GeoJson = text
        .parse()
        .map_err(|e: geojson::Error| format!("not GeoJSON: {e}"))?;
    match gj {
        GeoJson::FeatureCollection(fc) => Ok(fc.features),
        GeoJson::Feature(f) => Ok(vec![f]),
        GeoJson::Geometry(_) => {
            Err("expected a FeatureCollection of plots, got a bare Geometry".to_string())
        }
    }
}

/// `features[i]`, with the feature's id or `plot_id` when it has one.
struct Where(String);

impl Where {
    fn new(i: usize, f: &Feature) -> Where {
        let id = match &f.id {
            Some(geojson::feature::Id::String(s)) => Some(format!("{s:?}")),
            Some(geojson::feature::Id::Number(n)) => Some(n.to_string()),
            None => f
                .property("plot_id")
                .filter(|v| !v.is_null())
                .map(|v| v.to_string()),
        };
        Where(match id {
            Some(id) => format!("features[{i}] (id {id})"),
            None => format!("features[{i}]"),
        })
    }
}

impl fmt::Display for Where {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn string_prop(f: &Feature, key: &str, at: &Where) -> Result<Option<String>, String> {
    match f.property(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.trim().to_ascii_lowercase())),
        Some(other) => Err(format!(
            "{at}: property \"{key}\" must be a string, got {other}"
        )),
    }
}

fn class_of(f: &Feature, at: &Where) -> Result<String, String> {
    match string_prop(f, "class", at)? {
        Some(c) if !c.is_empty() => Ok(c),
        Some(_) => Err(format!("{at}: property \"class\" is empty")),
        None => Err(format!("{at}: property \"class\" is missing")),
    }
}

fn geometry_of(f: &Feature, at: &Where) -> Result<MultiPolygon<f64>, String> {
    let polygons: Vec<&Vec<Vec<Vec<f64>>>> = match f.geometry.as_ref().map(|g| &g.value) {
        None => return Err(format!("{at}: geometry is missing")),
        Some(geojson::Value::Polygon(rings)) => vec![rings],
        Some(geojson::Value::MultiPolygon(polys)) => polys.iter().collect(),
        Some(other) => {
            return Err(format!(
                "{at}: geometry must be a Polygon or MultiPolygon, got {}",
                other.type_name()
            ));
        }
    };
    let mut out = Vec::with_capacity(polygons.len());
    for (k, rings) in polygons.into_iter().enumerate() {
        let mut lines = Vec::with_capacity(rings.len());
        for (r, ring) in rings.iter().enumerate() {
            let mut coords = Vec::with_capacity(ring.len());
            for pos in ring {
                let (x, y) = match pos.as_slice() {
                    [x, y, ..] => (*x, *y),
                    _ => {
                        return Err(format!(
                            "{at}: geometry polygon {k} ring {r} has a position with fewer than 2 numbers"
                        ));
                    }
                };
                let lon_lat = (-180.0..=180.0).contains(&x) && (-90.0..=90.0).contains(&y);
                if !lon_lat {
                    return Err(format!(
                        "{at}: geometry coordinate ({x}, {y}) is not lon/lat in degrees (EPSG:4326)"
                    ));
                }
                coords.push(Coord { x, y });
            }
            if coords.len() < 3 {
                return Err(format!(
                    "{at}: geometry polygon {k} ring {r} has {} positions; a ring needs at least 3",
                    coords.len()
                ));
            }
            lines.push(LineString::new(coords));
        }
        if lines.is_empty() {
            return Err(format!("{at}: geometry polygon {k} has no rings"));
        }
        let exterior = lines.remove(0);
        out.push(Polygon::new(exterior, lines));
    }
    let mp = MultiPolygon(out);
    // NaN cannot occur: every coordinate was checked above.
    if mp.unsigned_area() <= 0.0 {
        return Err(format!("{at}: geometry has no area"));
    }
    Ok(mp)
}

// ---------------------------------------------------------------------------------------------
// Many scenes: the figures the project reports (cross-generator, per condition)

/// One scene's figures, as `vigil eval` and the cross-generator tests aggregate them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SceneScore {
    pub scene: String,
    /// The generator that drew it (`vigil`, `fieldgen`, or `real` for photographs).
    pub generator: String,
    /// Field condition (`normal`, `haze`, `shadow`, `dark`, `warm`, `cool`, `bright`, …).
    pub condition: String,
    pub area_ha: f64,
    /// Why the classifier did not run, if it did not.
    pub skipped: Option<String>,
    /// Flowering poppy + cannabis plots: truth, found.
    pub targets: usize,
    pub targets_found: usize,
    /// Pre-flowering poppy plots: truth, found.
    pub pre_flowering: usize,
    pub pre_flowering_found: usize,
    pub cannabis: usize,
    pub cannabis_found: usize,
    pub false_flags: usize,
    /// F1 over flowering poppy + cannabis plots (found = tp; false flags = fp); `None` when the
    /// scene holds none and raised none.
    pub f1: Option<f64>,
    /// Each poppy/cannabis flag's confidence and whether it found a plot (for calibration).
    pub flags: Vec<(f64, bool)>,
}

impl SceneScore {
    /// Scores one scene's report. `predicted` is what the report was computed from.
    pub fn new(
        scene: &str,
        generator: &str,
        condition: &str,
        report: &Report,
        predicted: &[Plot],
        truth: &[Plot],
    ) -> SceneScore {
        let mut found = vec![false; truth.len()];
        let mut good = vec![false; predicted.len()];
        for c in &report.classes {
            for m in &c.matches {
                found[m.truth] = true;
                for &p in &m.predictions {
                    good[p] = true;
                }
            }
        }
        let count = |pred: &dyn Fn(&Plot) -> bool| {
            let all = truth.iter().filter(|t| pred(t)).count();
            let hit = truth
                .iter()
                .zip(&found)
                .filter(|(t, f)| **f && pred(t))
                .count();
            (all, hit)
        };
        let flowering =
            |t: &Plot| t.class == "poppy" && t.stage.as_deref() != Some("pre_flowering");
        let (fl, fl_found) = count(&flowering);
        let (cannabis, cannabis_found) = count(&|t: &Plot| t.class == "cannabis");
        let (pre, pre_found) =
            count(&|t: &Plot| t.class == "poppy" && t.stage.as_deref() == Some("pre_flowering"));
        let targets = fl + cannabis;
        let targets_found = fl_found + cannabis_found;
        let false_flags = report.false_flags;
        SceneScore {
            scene: scene.to_string(),
            generator: generator.to_string(),
            condition: condition.to_string(),
            area_ha: report.area_ha,
            skipped: None,
            targets,
            targets_found,
            pre_flowering: pre,
            pre_flowering_found: pre_found,
            cannabis,
            cannabis_found,
            false_flags,
            f1: ratio(
                2 * targets_found,
                2 * targets_found + false_flags + (targets - targets_found),
            ),
            flags: predicted
                .iter()
                .zip(&good)
                .filter(|(p, _)| TARGET_CLASSES.contains(&p.class.as_str()))
                .map(|(p, g)| (p.confidence, *g))
                .collect(),
        }
    }
}

/// Which generator drew a truth file and under which condition, from its foreign members:
/// `fieldgen.condition`, or `vigil_sample.condition`; a scene with neither is `normal`.
pub fn scene_condition(truth_text: &str) -> (String, String) {
    let Ok(v) = serde_json::from_str::<Json>(truth_text) else {
        return ("unknown".into(), "normal".into());
    };
    for (member, generator) in [("fieldgen", "fieldgen"), ("vigil_sample", "vigil")] {
        if let Some(m) = v.get(member) {
            let c = m
                .get("condition")
                .and_then(Json::as_str)
                .unwrap_or("normal");
            return (generator.into(), c.into());
        }
    }
    ("unknown".into(), "normal".into())
}

/// Figures over a group of scenes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// `all`, or a condition.
    pub group: String,
    pub scenes: usize,
    /// Mean of the scenes' F1 (flowering poppy + cannabis), over scenes that have one.
    pub mean_f1: Option<f64>,
    pub min_f1: Option<f64>,
    pub targets: usize,
    pub targets_found: usize,
    pub cannabis_recall: Option<f64>,
    pub pre_flowering_recall: Option<f64>,
    pub false_flags: usize,
    pub area_ha: f64,
    pub false_flags_per_ha: f64,
    /// Expected calibration error of flag confidences (10 equal-width bins).
    pub ece: Option<f64>,
    /// Scenes the classifier did not run on (pixels too coarse).
    pub skipped: usize,
}

/// `all` first, then one row per condition (sorted).
pub fn summarise(scores: &[SceneScore]) -> Vec<Summary> {
    let mut groups: BTreeMap<&str, Vec<&SceneScore>> = BTreeMap::new();
    for s in scores {
        groups.entry(s.condition.as_str()).or_default().push(s);
    }
    let mut out = vec![summary("all", &scores.iter().collect::<Vec<_>>())];
    out.extend(groups.iter().map(|(g, v)| summary(g, v)));
    out
}

fn summary(group: &str, v: &[&SceneScore]) -> Summary {
    let f1s: Vec<f64> = v.iter().filter_map(|s| s.f1).collect();
    let sum = |f: &dyn Fn(&SceneScore) -> usize| v.iter().map(|s| f(s)).sum::<usize>();
    // Scenes the classifier did not run on (pixels too coarse) add no area: no flag could be
    // raised there. Folded from +0.0 (an empty f64 sum is -0.0).
    let area_ha = v
        .iter()
        .filter(|s| s.skipped.is_none())
        .fold(0.0, |a, s| a + s.area_ha);
    let false_flags = sum(&|s| s.false_flags);
    let flags: Vec<(f64, bool)> = v.iter().flat_map(|s| s.flags.iter().copied()).collect();
    Summary {
        group: group.to_string(),
        scenes: v.len(),
        mean_f1: (!f1s.is_empty()).then(|| f1s.iter().sum::<f64>() / f1s.len() as f64),
        min_f1: f1s.iter().copied().reduce(f64::min),
        targets: sum(&|s| s.targets),
        targets_found: sum(&|s| s.targets_found),
        cannabis_recall: ratio(sum(&|s| s.cannabis_found), sum(&|s| s.cannabis)),
        pre_flowering_recall: ratio(sum(&|s| s.pre_flowering_found), sum(&|s| s.pre_flowering)),
        false_flags,
        area_ha,
        false_flags_per_ha: if area_ha > 0.0 {
            false_flags as f64 / area_ha
        } else {
            0.0
        },
        ece: expected_calibration_error(&flags, 10),
        skipped: v.iter().filter(|s| s.skipped.is_some()).count(),
    }
}

/// Expected calibration error: the flag-weighted mean gap between confidence and the share of
/// flags that were right, over `bins` equal-width confidence bins. `None` without flags.
pub fn expected_calibration_error(flags: &[(f64, bool)], bins: usize) -> Option<f64> {
    if flags.is_empty() {
        return None;
    }
    Some(
        reliability(flags, bins)
            .iter()
            .map(|b| b.count as f64 * (b.confidence - b.accuracy).abs())
            .sum::<f64>()
            / flags.len() as f64,
    )
}

/// One bin of a reliability diagram.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReliabilityBin {
    pub lo: f64,
    pub hi: f64,
    pub count: usize,
    /// Mean confidence of the bin's flags.
    pub confidence: f64,
    /// Share of the bin's flags that found a plot.
    pub accuracy: f64,
}

/// The non-empty bins of a reliability diagram.
pub fn reliability(flags: &[(f64, bool)], bins: usize) -> Vec<ReliabilityBin> {
    let bins = bins.max(1);
    let mut acc = vec![(0usize, 0f64, 0usize); bins];
    for &(c, ok) in flags {
        let b = ((c.clamp(0.0, 1.0) * bins as f64) as usize).min(bins - 1);
        acc[b].0 += 1;
        acc[b].1 += c;
        acc[b].2 += usize::from(ok);
    }
    acc.iter()
        .enumerate()
        .filter(|(_, a)| a.0 > 0)
        .map(|(i, a)| ReliabilityBin {
            lo: i as f64 / bins as f64,
            hi: (i + 1) as f64 / bins as f64,
            count: a.0,
            confidence: a.1 / a.0 as f64,
            accuracy: a.2 as f64 / a.0 as f64,
        })
        .collect()
}

/// The per-condition table `vigil eval` prints.
pub fn summary_table(rows: &[Summary]) -> String {
    let num = |x: Option<f64>| x.map_or("—".to_string(), |v| format!("{v:.3}"));
    let mut out = format!(
        "{:<10} {:>6} {:>8} {:>8} {:>9} {:>9} {:>12} {:>8} {:>7}\n",
        "condition",
        "scenes",
        "mean F1",
        "min F1",
        "cannabis",
        "pre-flow",
        "false flags",
        "per ha",
        "ECE"
    );
    for r in rows {
        out += &format!(
            "{:<10} {:>6} {:>8} {:>8} {:>9} {:>9} {:>12} {:>8.2} {:>7}\n",
            r.group,
            r.scenes,
            num(r.mean_f1),
            num(r.min_f1),
            num(r.cannabis_recall),
            num(r.pre_flowering_recall),
            r.false_flags,
            r.false_flags_per_ha,
            num(r.ece)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LON0: f64 = 105.3;
    const LAT0: f64 = 23.1;

    /// An axis-aligned rectangle given in metres east/north of (LON0, LAT0).
    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
        let ky = 6_371_008.8_f64.to_radians();
        let kx = ky * LAT0.to_radians().cos();
        let c = |x: f64, y: f64| Coord {
            x: LON0 + x / kx,
            y: LAT0 + y / ky,
        };
        MultiPolygon(vec![Polygon::new(
            LineString::new(vec![c(x0, y0), c(x1, y0), c(x1, y1), c(x0, y1), c(x0, y0)]),
            vec![],
        )])
    }

    fn poppy(stage: &str, g: MultiPolygon<f64>) -> Plot {
        Plot::truth("poppy", Some(stage), g)
    }

    fn flag(class: &str, g: MultiPolygon<f64>) -> Plot {
        Plot::flag(class, 0.8, g)
    }

    fn eval(pred: &[Plot], truth: &[Plot]) -> Report {
        evaluate(pred, truth, 2.0, DEFAULT_IOU_THRESHOLD).unwrap()
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    /// (tp, fp, fn) of a class row.
    fn counts(r: &Report, class: &str) -> (usize, usize, usize) {
        let c = r.class(class).unwrap();
        (c.tp, c.fp, c.fn_)
    }

    #[test]
    fn perfect_match_scores_one() {
        let truth = [poppy("flowering", rect(0.0, 0.0, 10.0, 10.0))];
        let r = eval(&[flag("poppy", rect(0.0, 0.0, 10.0, 10.0))], &truth);
        let c = r.class("poppy").unwrap();
        assert_eq!((c.tp, c.fp, c.fn_), (1, 0, 0));
        assert_eq!(
            (c.precision, c.recall, c.f1),
            (Some(1.0), Some(1.0), Some(1.0))
        );
        assert_eq!(c.matches[0].rule, MatchRule::Iou);
        assert!(close(c.matches[0].iou, 1.0, 1e-6), "{}", c.matches[0].iou);
        assert!(close(c.area_ratio.unwrap(), 1.0, 1e-9));
        assert_eq!(r.false_flags, 0);
        assert_eq!(r.false_flags_per_ha, 0.0);
        // Cannabis had nothing on either side.
        assert_eq!(counts(&r, "cannabis"), (0, 0, 0));
        assert_eq!(r.class("cannabis").unwrap().f1, None);
    }

    #[test]
    fn shifted_flag_matches_only_above_the_threshold() {
        let truth = [poppy("flowering", rect(0.0, 0.0, 10.0, 10.0))];
        // Shifted 5 m: overlap 50 m², IoU 50/150 = 0.33 ≥ 0.25.
        let r = eval(&[flag("poppy", rect(5.0, 0.0, 15.0, 10.0))], &truth);
        assert_eq!(counts(&r, "poppy"), (1, 0, 0));
        let iou = r.class("poppy").unwrap().matches[0].iou;
        assert!(close(iou, 1.0 / 3.0, 1e-4), "{iou}");
        // Shifted 7 m: overlap 30 m², IoU 30/170 = 0.18 < 0.25, covers 30 %: a miss and a false flag,
        // lying mostly (70 m²) outside any plot.
        let r = eval(&[flag("poppy", rect(7.0, 0.0, 17.0, 10.0))], &truth);
        assert_eq!(counts(&r, "poppy"), (0, 1, 1));
        assert_eq!(r.false_flag_list[0].on, BACKGROUND);
        assert!(close(r.false_flags_per_ha, 0.5, 1e-12));
    }

    #[test]
    fn the_threshold_is_a_parameter_and_the_cover_rule_backs_it() {
        let truth = [poppy("flowering", rect(0.0, 0.0, 10.0, 10.0))];
        let shifted5 = [flag("poppy", rect(5.0, 0.0, 15.0, 10.0))];
        let shifted6 = [flag("poppy", rect(6.0, 0.0, 16.0, 10.0))];
        // IoU 0.33 < 0.5, but the flag covers 50 % of the plot with 50 % of itself.
        let r = evaluate(&shifted5, &truth, 1.0, 0.5).unwrap();
        assert_eq!(counts(&r, "poppy"), (1, 0, 0));
        assert_eq!(r.class("poppy").unwrap().matches[0].rule, MatchRule::Cover);
        // Shifted 6 m: IoU 40/160 = 0.25 < 0.3 and only 40 % cover: no match.
        let r = evaluate(&shifted6, &truth, 1.0, 0.3).unwrap();
        assert_eq!(counts(&r, "poppy"), (0, 1, 1));
        // …but a threshold just below its IoU accepts it (0.24, to stay off the float boundary).
        let r = evaluate(&shifted6, &truth, 1.0, 0.24).unwrap();
        assert_eq!(counts(&r, "poppy"), (1, 0, 0));
    }

    #[test]
    fn a_split_plot_is_one_find_and_no_false_flags() {
        let truth = [poppy("flowering", rect(0.0, 0.0, 20.0, 10.0))];
        // Two halves, each IoU 0.45: one matches one-to-one, the other joins it as a fragment.
        let halves = [
            flag("poppy", rect(0.0, 0.0, 9.0, 10.0)),
            flag("poppy", rect(11.0, 0.0, 20.0, 10.0)),
        ];
        let r = eval(&halves, &truth);
        assert_eq!(counts(&r, "poppy"), (1, 0, 0));
        let m = &r.class("poppy").unwrap().matches[0];
        assert_eq!(m.rule, MatchRule::Iou);
        assert_eq!(m.predictions.len(), 2);
        assert!(close(m.iou, 0.9, 1e-4), "{}", m.iou);
        // Four 4 m strips (IoU 0.2 each, none matches alone) covering 80 % together.
        let strips: Vec<Plot> = (0..4)
            .map(|k| {
                let x = 5.0 * k as f64;
                flag("poppy", rect(x, 0.0, x + 4.0, 10.0))
            })
            .collect();
        let r = eval(&strips, &truth);
        assert_eq!(counts(&r, "poppy"), (1, 0, 0));
        let m = &r.class("poppy").unwrap().matches[0];
        assert_eq!(m.rule, MatchRule::Fragments);
        assert_eq!(m.predictions, vec![0, 1, 2, 3]);
        assert_eq!(r.class("poppy").unwrap().precision, Some(1.0));
        // Two strips cover only 40 %: the plot is missed and both strips are false flags on poppy.
        let r = eval(&strips[..2], &truth);
        assert_eq!(counts(&r, "poppy"), (0, 2, 1));
        assert_eq!(r.false_flags_on.get("poppy"), Some(&2));
    }

    #[test]
    fn a_flag_merging_two_plots_finds_one_of_them() {
        let truth = [
            poppy("flowering", rect(0.0, 0.0, 10.0, 10.0)),
            poppy("flowering", rect(12.0, 0.0, 22.0, 10.0)),
        ];
        let r = eval(&[flag("poppy", rect(0.0, 0.0, 22.0, 10.0))], &truth);
        let c = r.class("poppy").unwrap();
        assert_eq!((c.tp, c.fp, c.fn_), (1, 0, 1));
        assert_eq!(c.matches[0].truth, 0, "ties go to input order");
        assert_eq!(c.recall, Some(0.5));
        assert_eq!(c.precision, Some(1.0));
        assert!(close(c.f1.unwrap(), 2.0 / 3.0, 1e-12));
        assert!(close(c.area_ratio.unwrap(), 1.1, 1e-3));
    }

    #[test]
    fn one_to_one_prefers_the_best_overlap() {
        // Flag 0 overlaps both plots, plot 1 more (IoU 55/145 = 0.38 vs 45/155 = 0.29); flag 1
        // sits on plot 1. Greedy over all pairs by IoU gives plot 1 to flag 1 (IoU 1) and plot 0
        // to flag 0; taking each flag's best plot in input order would give plot 1 to flag 0.
        let truth = [
            poppy("flowering", rect(0.0, 0.0, 10.0, 10.0)),
            poppy("flowering", rect(10.0, 0.0, 20.0, 10.0)),
        ];
        let pred = [
            flag("poppy", rect(5.5, 0.0, 15.5, 10.0)),
            flag("poppy", rect(10.0, 0.0, 20.0, 10.0)),
        ];
        let r = eval(&pred, &truth);
        assert_eq!(counts(&r, "poppy"), (2, 0, 0));
        let m = &r.class("poppy").unwrap().matches;
        assert_eq!((m[0].truth, m[0].predictions.as_slice()), (0, &[0][..]));
        assert_eq!((m[1].truth, m[1].predictions.as_slice()), (1, &[1][..]));

        // A stray flag (IoU 42/158 = 0.27, 42 % of it on the plot) listed before the exact one:
        // the exact one wins, and the stray, mostly off the plot, stays a false flag.
        let truth = [poppy("flowering", rect(0.0, 0.0, 10.0, 10.0))];
        let pred = [
            flag("poppy", rect(5.8, 0.0, 15.8, 10.0)),
            flag("poppy", rect(0.0, 0.0, 10.0, 10.0)),
        ];
        let r = eval(&pred, &truth);
        assert_eq!(counts(&r, "poppy"), (1, 1, 0));
        assert_eq!(r.class("poppy").unwrap().matches[0].predictions, vec![1]);
        assert_eq!(r.false_flag_list[0].prediction, 0);
        assert_eq!(r.false_flag_list[0].on, BACKGROUND);
    }

    #[test]
    fn wrong_class_is_a_false_flag_and_a_miss() {
        let truth = [Plot::truth("cannabis", None, rect(0.0, 0.0, 10.0, 10.0))];
        let r = eval(&[flag("poppy", rect(0.0, 0.0, 10.0, 10.0))], &truth);
        assert_eq!(counts(&r, "poppy"), (0, 1, 0));
        assert_eq!(counts(&r, "cannabis"), (0, 0, 1));
        assert_eq!(r.class("poppy").unwrap().precision, Some(0.0));
        assert_eq!(r.class("cannabis").unwrap().recall, Some(0.0));
        assert_eq!(r.false_flag_list[0].on, "cannabis");
        assert_eq!(r.false_flag_list[0].class, "poppy");
    }

    #[test]
    fn empty_inputs_give_empty_figures() {
        let r = eval(&[], &[]);
        for c in &r.classes {
            assert_eq!((c.tp, c.fp, c.fn_, c.truth, c.predicted), (0, 0, 0, 0, 0));
            assert_eq!(
                (c.precision, c.recall, c.f1, c.area_ratio),
                (None, None, None, None)
            );
        }
        assert_eq!(r.false_flags, 0);
        assert!(r.poppy_stages.iter().all(|s| s.recall.is_none()));
        let text = r.to_string();
        assert!(text.contains("false flags: 0 (0.00 per ha)"), "{text}");

        // Truth but no flags: recall and F1 are 0, precision undefined.
        let truth = [poppy("flowering", rect(0.0, 0.0, 10.0, 10.0))];
        let c = eval(&[], &truth).classes[0].clone();
        assert_eq!((c.precision, c.recall, c.f1), (None, Some(0.0), Some(0.0)));
        assert_eq!(c.area_ratio, Some(0.0));
        // Flags but no truth: precision 0, recall undefined, every flag false.
        let r = eval(&[flag("cannabis", rect(0.0, 0.0, 5.0, 5.0))], &[]);
        let c = r.class("cannabis").unwrap();
        assert_eq!(
            (c.precision, c.recall, c.area_ratio),
            (Some(0.0), None, None)
        );
        assert_eq!(r.false_flags_on.get(BACKGROUND), Some(&1));
    }

    #[test]
    fn false_flags_are_placed_on_the_look_alike_they_cover_most() {
        let truth = [
            Plot::truth("cabbage", None, rect(0.0, 0.0, 10.0, 10.0)),
            Plot::truth("buckwheat", None, rect(10.0, 0.0, 20.0, 10.0)),
            poppy("flowering", rect(100.0, 0.0, 110.0, 10.0)),
        ];
        let pred = [
            // On cabbage entirely.
            flag("poppy", rect(1.0, 1.0, 9.0, 9.0)),
            // 70 m² on buckwheat, 30 m² on cabbage.
            flag("cannabis", rect(7.0, 0.0, 17.0, 10.0)),
            // 30 m² on cabbage, 70 m² on nothing.
            flag("poppy", rect(-7.0, 0.0, 3.0, 10.0)),
            // A true find, not a false flag.
            flag("poppy", rect(100.0, 0.0, 110.0, 10.0)),
        ];
        let r = evaluate(&pred, &truth, 4.0, DEFAULT_IOU_THRESHOLD).unwrap();
        assert_eq!(r.false_flags, 3);
        assert!(close(r.false_flags_per_ha, 0.75, 1e-12));
        let on: Vec<(usize, &str)> = r
            .false_flag_list
            .iter()
            .map(|f| (f.prediction, f.on.as_str()))
            .collect();
        assert_eq!(on, vec![(0, "cabbage"), (2, BACKGROUND), (1, "buckwheat")]);
        assert_eq!(
            r.class("poppy").unwrap().false_flags_on.get("cabbage"),
            Some(&1)
        );
        assert_eq!(r.false_flags_on.get("buckwheat"), Some(&1));
        assert_eq!(r.false_flags_on.get("cabbage"), Some(&1));
        assert_eq!(counts(&r, "poppy"), (1, 2, 0));
        let ff = &r.false_flag_list[0];
        assert!(close(ff.area_m2, 64.0, 0.5), "{}", ff.area_m2);
        assert_eq!(ff.confidence, 0.8);
        let text = r.to_string();
        assert!(text.contains("false flags: 3 (0.75 per ha) on"), "{text}");
        assert!(text.contains("cabbage 1"), "{text}");
    }

    #[test]
    fn area_ratio_uses_geodesic_areas_of_all_flags() {
        let truth = [
            poppy("flowering", rect(0.0, 0.0, 10.0, 10.0)),
            Plot::truth("cabbage", None, rect(50.0, 0.0, 60.0, 10.0)),
        ];
        // 120 m² on the plot plus a 30 m² false flag: 150 / 100.
        let pred = [
            flag("poppy", rect(0.0, 0.0, 10.0, 12.0)),
            flag("poppy", rect(50.0, 0.0, 55.0, 6.0)),
        ];
        let r = eval(&pred, &truth);
        let c = r.class("poppy").unwrap();
        assert!(close(c.truth_area_m2, 100.0, 0.5), "{}", c.truth_area_m2);
        assert!(
            close(c.predicted_area_m2, 150.0, 0.75),
            "{}",
            c.predicted_area_m2
        );
        assert!(
            close(c.area_ratio.unwrap(), 1.5, 1e-3),
            "{:?}",
            c.area_ratio
        );
        // The cabbage plot is not a target: it adds nothing to the poppy truth area.
        assert_eq!(c.truth, 1);
    }

    #[test]
    fn poppy_recall_splits_by_stage() {
        let truth = [
            poppy("flowering", rect(0.0, 0.0, 10.0, 10.0)),
            poppy("flowering", rect(20.0, 0.0, 30.0, 10.0)),
            poppy("pre_flowering", rect(40.0, 0.0, 50.0, 10.0)),
            poppy("pre_flowering", rect(60.0, 0.0, 70.0, 10.0)),
            Plot::truth("poppy", None, rect(80.0, 0.0, 90.0, 10.0)),
        ];
        let pred = [
            flag("poppy", rect(0.0, 0.0, 10.0, 10.0)),
            flag("poppy", rect(20.0, 0.0, 30.0, 10.0)),
            flag("poppy", rect(40.0, 0.0, 50.0, 10.0)),
            flag("poppy", rect(0.0, 50.0, 10.0, 60.0)), // false
        ];
        let r = eval(&pred, &truth);
        assert_eq!(counts(&r, "poppy"), (3, 1, 2));
        let stages: Vec<&str> = r.poppy_stages.iter().map(|s| s.stage.as_str()).collect();
        assert_eq!(stages, vec!["flowering", "pre_flowering", UNKNOWN_STAGE]);
        let f = r.stage("flowering").unwrap();
        assert_eq!((f.truth, f.found, f.fp, f.fn_), (2, 2, 1, 0));
        assert_eq!(f.recall, Some(1.0));
        assert!(close(f.precision.unwrap(), 2.0 / 3.0, 1e-12));
        assert!(close(f.f1.unwrap(), 0.8, 1e-12));
        let p = r.stage("pre_flowering").unwrap();
        assert_eq!((p.truth, p.found, p.fn_), (2, 1, 1));
        assert_eq!(p.recall, Some(0.5));
        assert_eq!(r.stage(UNKNOWN_STAGE).unwrap().recall, Some(0.0));
        let text = r.to_string();
        assert!(text.contains("  pre_flowering"), "{text}");
    }

    #[test]
    fn non_target_flags_are_ignored_and_counted() {
        let truth = [Plot::truth("cabbage", None, rect(0.0, 0.0, 10.0, 10.0))];
        let r = eval(
            &[flag("other_vegetation", rect(0.0, 0.0, 10.0, 10.0))],
            &truth,
        );
        assert_eq!(r.ignored_predictions, 1);
        assert_eq!(r.false_flags, 0);
        assert!(
            r.to_string()
                .contains("1 flags of non-target classes ignored")
        );
    }

    #[test]
    fn bad_parameters_are_refused() {
        let e = evaluate(&[], &[], 1.0, 0.0).unwrap_err();
        assert!(e.contains("IoU threshold"), "{e}");
        assert!(evaluate(&[], &[], 1.0, 1.5).is_err());
        assert!(evaluate(&[], &[], 1.0, f64::NAN).is_err());
        let e = evaluate(&[], &[], 0.0, 0.25).unwrap_err();
        assert!(e.contains("hectares"), "{e}");
        assert!(evaluate(&[], &[], f64::INFINITY, 0.25).is_err());
        assert!(evaluate(&[], &[], 1.0, 1.0).is_ok());
    }

    #[test]
    fn report_serialises_for_the_cli() {
        let truth = [poppy("pre_flowering", rect(0.0, 0.0, 10.0, 10.0))];
        let r = eval(&[flag("poppy", rect(0.0, 0.0, 10.0, 10.0))], &truth);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["classes"][0]["class"], "poppy");
        assert_eq!(v["classes"][0]["tp"], 1);
        assert_eq!(v["classes"][0]["fn"], 0);
        assert_eq!(v["classes"][0]["matches"][0]["rule"], "iou");
        assert_eq!(v["classes"][1]["precision"], Json::Null);
        assert_eq!(v["poppy_stages"][1]["stage"], "pre_flowering");
        assert_eq!(v["poppy_stages"][1]["recall"], 1.0);
        assert_eq!(v["false_flags_per_ha"], 0.0);
    }

    #[test]
    fn display_is_a_table_with_a_row_per_class_and_stage() {
        let truth = [
            poppy("flowering", rect(0.0, 0.0, 10.0, 10.0)),
            Plot::truth("cannabis", None, rect(20.0, 0.0, 30.0, 10.0)),
        ];
        let r = eval(&[flag("poppy", rect(0.0, 0.0, 10.0, 10.0))], &truth);
        let text = r.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("IoU >= 0.25"), "{text}");
        assert!(lines[0].contains("2.00 ha"), "{text}");
        assert!(lines[1].starts_with("class"), "{text}");
        let row = |name: &str| -> Vec<&str> {
            lines
                .iter()
                .find(|l| l.split_whitespace().next() == Some(name))
                .unwrap_or_else(|| panic!("no {name} row in\n{text}"))
                .split_whitespace()
                .collect()
        };
        assert_eq!(
            row("poppy"),
            [
                "poppy", "1", "1", "1", "0", "0", "1.000", "1.000", "1.000", "1.000"
            ]
        );
        assert_eq!(
            row("cannabis"),
            [
                "cannabis", "1", "0", "0", "0", "1", "-", "0.000", "0.000", "0.000"
            ]
        );
        assert_eq!(row("flowering")[3], "1");
        assert_eq!(row("pre_flowering")[1], "0");
    }

    // ---- GeoJSON

    const SAMPLE_TRUTH: &str = include_str!("../../sample-imagery/poppy-utm48n-rgba.truth.geojson");

    #[test]
    fn reads_the_sample_generators_truth() {
        let plots = truth_from_geojson(SAMPLE_TRUTH).unwrap();
        let doc: Json = serde_json::from_str(SAMPLE_TRUTH).unwrap();
        let features = doc["features"].as_array().unwrap();
        assert_eq!(plots.len(), features.len());
        assert!(plots.len() >= 5);
        for (p, f) in plots.iter().zip(features) {
            assert_eq!(p.class, f["properties"]["class"].as_str().unwrap());
            assert_eq!(p.stage.as_deref(), f["properties"]["stage"].as_str());
            assert_eq!(p.confidence, 1.0);
            let want = f["properties"]["area_m2"].as_f64().unwrap();
            let got = p.geometry.geodesic_area_unsigned();
            assert!(
                close(got, want, 0.02 * want + 0.1),
                "{}: {got} vs {want}",
                p.class
            );
        }
        let stages: Vec<&str> = plots.iter().filter_map(|p| p.stage.as_deref()).collect();
        assert!(stages.contains(&"flowering") && stages.contains(&"pre_flowering"));
        // The truth scored against itself is perfect, and its look-alikes are not flags.
        let as_flags: Vec<Plot> = plots
            .iter()
            .map(|p| Plot::flag(&p.class, 1.0, p.geometry.clone()))
            .collect();
        let r = evaluate(&as_flags, &plots, 0.26, DEFAULT_IOU_THRESHOLD).unwrap();
        for c in &r.classes {
            assert_eq!((c.fp, c.fn_), (0, 0), "{}", c.class);
            assert!(c.tp >= 1, "{}", c.class);
        }
        assert_eq!(
            r.ignored_predictions,
            plots.len() - r.classes.iter().map(|c| c.tp).sum::<usize>()
        );
    }

    fn collection(features: &str) -> String {
        format!(r#"{{"type":"FeatureCollection","features":[{features}]}}"#)
    }

    const SQUARE: &str = r#"{"type":"Polygon","coordinates":[[[105.3,23.1],[105.3001,23.1],[105.3001,23.1001],[105.3,23.1001],[105.3,23.1]]]}"#;

    fn feature(id: &str, props: &str, geometry: &str) -> String {
        format!(r#"{{"type":"Feature","id":{id},"properties":{props},"geometry":{geometry}}}"#)
    }

    #[test]
    fn reads_flags_with_class_and_confidence() {
        let text = collection(&[
            feature("1", r#"{"class":"poppy","confidence":0.93}"#, SQUARE),
            feature(
                r#""b""#,
                r#"{"class":"Cannabis","confidence":1,"area_m2":120}"#,
                r#"{"type":"MultiPolygon","coordinates":[[[[105.3,23.1],[105.3001,23.1],[105.3001,23.1001],[105.3,23.1001],[105.3,23.1]]]]}"#,
            ),
        ]
        .join(","));
        let plots = plots_from_geojson(&text).unwrap();
        assert_eq!(plots.len(), 2);
        assert_eq!(
            (plots[0].class.as_str(), plots[0].confidence),
            ("poppy", 0.93)
        );
        assert_eq!(
            (plots[1].class.as_str(), plots[1].confidence),
            ("cannabis", 1.0)
        );
        assert_eq!(plots[0].geometry, plots[1].geometry);
        let a = plots[0].geometry.geodesic_area_unsigned();
        assert!(close(a, 10.26 * 11.13, 2.0), "{a}");
    }

    #[test]
    fn parse_errors_name_the_feature_and_the_field() {
        let cases: [(&str, String, &[&str]); 12] = [
            ("truth", "not json".into(), &["not GeoJSON"]),
            ("truth", SQUARE.into(), &["bare Geometry"]),
            (
                "truth",
                collection(&feature("7", r#"{"stage":"flowering"}"#, SQUARE)),
                &["features[0] (id 7)", "\"class\"", "missing"],
            ),
            (
                "truth",
                collection(&format!(
                    "{},{}",
                    feature("1", r#"{"class":"cabbage"}"#, SQUARE),
                    feature("2", r#"{"class":5}"#, SQUARE)
                )),
                &["features[1] (id 2)", "\"class\"", "must be a string"],
            ),
            (
                "truth",
                collection(&feature(
                    "3",
                    r#"{"class":"poppy","stage":"seedling"}"#,
                    SQUARE,
                )),
                &[
                    "features[0] (id 3)",
                    "\"stage\"",
                    "seedling",
                    "pre_flowering",
                ],
            ),
            (
                "truth",
                collection(&feature("4", r#"{"class":"poppy"}"#, "null")),
                &["features[0] (id 4)", "geometry is missing"],
            ),
            (
                "truth",
                collection(&feature(
                    "5",
                    r#"{"class":"poppy"}"#,
                    r#"{"type":"Point","coordinates":[105.3,23.1]}"#,
                )),
                &["features[0] (id 5)", "Polygon", "Point"],
            ),
            (
                "truth",
                collection(&feature(
                    "6",
                    r#"{"class":"roof"}"#,
                    r#"{"type":"Polygon","coordinates":[[[500000,2550000],[500010,2550000],[500010,2550010],[500000,2550000]]]}"#,
                )),
                &["features[0] (id 6)", "EPSG:4326"],
            ),
            (
                "truth",
                collection(
                    r#"{"type":"Feature","properties":{"class":"road","plot_id":12},"geometry":{"type":"Polygon","coordinates":[[[105.3,23.1],[105.3001,23.1],[105.3,23.1]]]}}"#,
                ),
                &["features[0] (id 12)", "no area"],
            ),
            (
                "flags",
                collection(&feature("8", r#"{"class":"poppy"}"#, SQUARE)),
                &["features[0] (id 8)", "\"confidence\"", "missing"],
            ),
            (
                "flags",
                collection(&feature(
                    "9",
                    r#"{"class":"poppy","confidence":1.2}"#,
                    SQUARE,
                )),
                &["features[0] (id 9)", "\"confidence\"", "0..=1", "1.2"],
            ),
            (
                "flags",
                collection(&feature("10", r#"{"class":"","confidence":0.5}"#, SQUARE)),
                &["features[0] (id 10)", "\"class\"", "empty"],
            ),
        ];
        for (kind, text, needles) in cases {
            let e = match kind {
                "truth" => truth_from_geojson(&text).unwrap_err(),
                _ => plots_from_geojson(&text).unwrap_err(),
            };
            for n in needles {
                assert!(e.contains(n), "{kind} {text}\n→ {e}\nlacks {n:?}");
            }
        }
    }

    #[test]
    fn truth_without_confidence_and_flags_without_stage_are_fine() {
        let t = truth_from_geojson(&collection(&feature("1", r#"{"class":"tea"}"#, SQUARE)));
        assert_eq!(t.unwrap()[0].stage, None);
        let p = plots_from_geojson(&collection(&feature(
            "1",
            r#"{"class":"poppy","confidence":0,"stage":null}"#,
            SQUARE,
        )));
        assert_eq!(p.unwrap()[0].confidence, 0.0);
    }
}
