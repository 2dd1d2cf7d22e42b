//! Seeded synthetic drone scenes at plant level, with ground truth, for the demo, the tests and the
//! classifier.
//!
//! A scene is a pure function of its [`SceneSpec`] (seed, size, ground resolution, classes): a field
//! layout (`scene`) of plots of flowering and pre-flowering opium poppy, cannabis and their
//! look-alikes (DOMAIN.md, "Facts for the classifier"), rasterised plant by plant (`draw`) into
//! red, green, blue and near-infrared reflectance under seeded light, haze, cast shadow and white
//! balance, inside an irregular footprint like a WebODM orthomosaic's. The plots are the ground
//! truth (`truth`). No IO and no GDAL here: `ingest::sample_files` writes scenes as GeoTIFF + GeoJSON.
//!
//! ```
//! use vigil::sample::{Class, SceneSpec, generate};
//! let spec = SceneSpec { width: 256, height: 256, ..SceneSpec::new(7) };
//! let scene = generate(&spec).unwrap();
//! assert!(scene.plots.iter().any(|p| p.class == Class::Cannabis));
//! ```

mod draw;
mod noise;
mod scene;
mod truth;

use std::fmt;
use std::str::FromStr;

pub use scene::{Condition, Conditions, Plot};
pub use truth::{class_means, point_in_ring, ring_area};

/// What a plot grows or is. Poppy comes in two stages, because flowering is when it is easiest to
/// tell from the look-alikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    PoppyFlowering,
    PoppyPreFlowering,
    Cannabis,
    Cabbage,
    Buckwheat,
    Mustard,
    BlossomingTree,
    Maize,
    Tea,
    Forest,
    BareSoil,
    Roof,
    Road,
}

impl Class {
    /// Every class, in a fixed order.
    pub const ALL: [Class; 13] = [
        Class::PoppyFlowering,
        Class::PoppyPreFlowering,
        Class::Cannabis,
        Class::Cabbage,
        Class::Buckwheat,
        Class::Mustard,
        Class::BlossomingTree,
        Class::Maize,
        Class::Tea,
        Class::Forest,
        Class::BareSoil,
        Class::Roof,
        Class::Road,
    ];

    /// The name used on the command line (`--classes`): unique per variant.
    pub fn code(self) -> &'static str {
        match self {
            Class::PoppyFlowering => "poppy_flowering",
            Class::PoppyPreFlowering => "poppy_pre_flowering",
            Class::Cannabis => "cannabis",
            Class::Cabbage => "cabbage",
            Class::Buckwheat => "buckwheat",
            Class::Mustard => "mustard",
            Class::BlossomingTree => "blossoming_tree",
            Class::Maize => "maize",
            Class::Tea => "tea",
            Class::Forest => "forest",
            Class::BareSoil => "bare_soil",
            Class::Roof => "roof",
            Class::Road => "road",
        }
    }

    /// The ground-truth `class` property: both poppy stages are `poppy`.
    pub fn truth_class(self) -> &'static str {
        match self {
            Class::PoppyFlowering | Class::PoppyPreFlowering => "poppy",
            other => other.code(),
        }
    }

    /// The ground-truth `stage` property (poppy only).
    pub fn stage(self) -> Option<&'static str> {
        match self {
            Class::PoppyFlowering => Some("flowering"),
            Class::PoppyPreFlowering => Some("pre_flowering"),
            _ => None,
        }
    }

    /// True for the crops the service looks for.
    pub fn is_target(self) -> bool {
        matches!(
            self,
            Class::PoppyFlowering | Class::PoppyPreFlowering | Class::Cannabis
        )
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Class {
    type Err = String;

    fn from_str(s: &str) -> Result<Class, String> {
        let s = s.trim().to_ascii_lowercase().replace('-', "_");
        Class::ALL
            .into_iter()
            .find(|c| c.code() == s)
            .ok_or_else(|| {
                let all: Vec<&str> = Class::ALL.iter().map(|c| c.code()).collect();
                format!("unknown class {s:?}; one of {}", all.join(", "))
            })
    }
}

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneSpec {
    pub seed: u64,
    /// Pixels.
    pub width: usize,
    pub height: usize,
    /// Ground sample distance, metres per pixel.
    pub gsd: f64,
    /// Classes that must each appear at least once (more plots are filled at random).
    pub classes: Vec<Class>,
    /// A field condition pushed beyond the seeded range (winter haze, dark exposure, a warm
    /// white balance, …); `None` keeps the seeded conditions.
    pub condition: Option<Condition>,
}

impl SceneSpec {
    /// 1024 × 1024 pixels at 5 cm with every class.
    pub fn new(seed: u64) -> SceneSpec {
        SceneSpec {
            seed,
            width: 1024,
            height: 1024,
            gsd: 0.05,
            classes: Class::ALL.to_vec(),
            condition: None,
        }
    }

    /// Refuses sizes and resolutions that cannot make a plausible scene.
    pub fn validate(&self) -> Result<(), SampleError> {
        for (what, v) in [("width", self.width), ("height", self.height)] {
            if !(MIN_SIZE..=MAX_SIZE).contains(&v) {
                return Err(SampleError::Size(what, v));
            }
        }
        if !(self.gsd.is_finite() && (MIN_GSD..=MAX_GSD).contains(&self.gsd)) {
            return Err(SampleError::Gsd(self.gsd));
        }
        if self.classes.is_empty() {
            return Err(SampleError::NoClass);
        }
        Ok(())
    }
}

/// Smallest and largest scene side in pixels.
pub const MIN_SIZE: usize = 128;
pub const MAX_SIZE: usize = 16384;
/// Ground resolution limits in metres: drone orthomosaics are 1–5 cm, coarse ones up to a metre.
pub const MIN_GSD: f64 = 0.005;
pub const MAX_GSD: f64 = 1.0;

/// Why a scene cannot be generated.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SampleError {
    #[error("{0} {1} px is outside {MIN_SIZE}..={MAX_SIZE}")]
    Size(&'static str, usize),
    #[error("ground resolution {0} m is outside {MIN_GSD}..={MAX_GSD} m")]
    Gsd(f64),
    #[error("no class to draw")]
    NoClass,
    #[error(
        "a {width}×{height} px scene cannot hold {classes} classes (each plot needs at least {min_cell} px a side); make it larger or ask for fewer classes"
    )]
    TooSmall {
        width: usize,
        height: usize,
        classes: usize,
        min_cell: usize,
    },
}

/// A generated scene: four reflectance bands, the footprint and the plots that are its truth.
#[derive(Debug, Clone)]
pub struct Scene {
    pub spec: SceneSpec,
    /// Red, green, blue and near-infrared reflectance × 10 000 (1.0 = 10 000), row-major; 0 outside
    /// the footprint and at least 1 inside it.
    pub reflectance: [Vec<u16>; 4],
    /// 255 inside the footprint, 0 outside.
    pub alpha: Vec<u8>,
    /// Footprint ring in pixel coordinates (x = column, y = row; pixel centres at +0.5).
    pub footprint: Vec<(f64, f64)>,
    /// The plots drawn, ids 1, 2, … in order.
    pub plots: Vec<Plot>,
    pub conditions: Conditions,
}

/// Reflectance scale of [`Scene::reflectance`].
pub const REFLECTANCE_SCALE: f32 = 10_000.0;

/// Draws the scene `spec` describes.
pub fn generate(spec: &SceneSpec) -> Result<Scene, SampleError> {
    spec.validate()?;
    let mut classes = spec.classes.clone();
    classes.sort();
    classes.dedup();
    let spec = SceneSpec {
        classes,
        ..spec.clone()
    };
    let layout = scene::layout(&spec)?;
    let (reflectance, alpha) = draw::render(&spec, &layout);
    Ok(Scene {
        spec,
        reflectance,
        alpha,
        footprint: layout.footprint,
        plots: layout.plots,
        conditions: layout.conditions,
    })
}

impl Scene {
    pub fn width(&self) -> usize {
        self.spec.width
    }

    pub fn height(&self) -> usize {
        self.spec.height
    }

    /// 8-bit display values (gamma 1/2.2 over reflectance, like a camera's JPEG-derived
    /// orthomosaic) for band `b` (0 red, 1 green, 2 blue, 3 NIR): 0 outside the footprint, at least
    /// 1 inside, so 0 can be nodata.
    pub fn band_u8(&self, b: usize) -> Vec<u8> {
        let lut: Vec<u8> = (0..=u16::MAX as usize)
            .map(|v| {
                if v == 0 {
                    0
                } else {
                    let r = (v as f32 / REFLECTANCE_SCALE).min(1.0);
                    (255.0 * r.powf(1.0 / 2.2)).round().clamp(1.0, 255.0) as u8
                }
            })
            .collect();
        self.reflectance[b]
            .iter()
            .map(|&v| lut[v as usize])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn digest(scene: &Scene) -> String {
        let mut h = Sha256::new();
        for band in &scene.reflectance {
            for v in band {
                h.update(v.to_le_bytes());
            }
        }
        h.update(&scene.alpha);
        hex::encode(h.finalize())
    }

    fn small(seed: u64) -> SceneSpec {
        SceneSpec {
            width: 640,
            height: 512,
            gsd: 0.1,
            ..SceneSpec::new(seed)
        }
    }

    #[test]
    fn same_seed_same_pixels_different_seed_different_pixels() {
        let a = generate(&small(11)).unwrap();
        let b = generate(&small(11)).unwrap();
        let c = generate(&small(12)).unwrap();
        assert_eq!(digest(&a), digest(&b));
        assert_eq!(a.plots, b.plots);
        assert_ne!(digest(&a), digest(&c));
        assert_ne!(a.conditions, c.conditions);
    }

    #[test]
    fn every_requested_class_appears_with_pixels() {
        for seed in [1, 2, 3] {
            let scene = generate(&small(seed)).unwrap();
            let means = class_means(&scene);
            for c in Class::ALL {
                assert!(
                    scene.plots.iter().any(|p| p.class == c),
                    "seed {seed}: no {c} plot"
                );
                assert!(means.contains_key(&c), "seed {seed}: no {c} pixels");
            }
        }
        // Only what was asked for.
        let spec = SceneSpec {
            classes: vec![Class::Cannabis, Class::Maize],
            ..small(4)
        };
        let scene = generate(&spec).unwrap();
        assert!(
            scene
                .plots
                .iter()
                .all(|p| matches!(p.class, Class::Cannabis | Class::Maize))
        );
        assert!(scene.plots.iter().any(|p| p.class == Class::Cannabis));
        assert!(scene.plots.iter().any(|p| p.class == Class::Maize));
    }

    #[test]
    fn truth_lies_inside_the_footprint_and_the_raster() {
        for seed in 0..8 {
            let spec = SceneSpec {
                width: 300 + 97 * seed as usize,
                height: 700 - 40 * seed as usize,
                ..small(seed)
            };
            let scene = generate(&spec).unwrap();
            let fp = geo::Polygon::new(geo::LineString::from(scene.footprint.clone()), vec![]);
            for p in &scene.plots {
                let poly = geo::Polygon::new(geo::LineString::from(p.ring.clone()), vec![]);
                assert!(
                    geo::Contains::contains(&fp, &poly),
                    "seed {seed}: plot {} ({}) leaves the footprint",
                    p.id,
                    p.class
                );
                for &(x, y) in &p.ring {
                    assert!(
                        (0.0..=spec.width as f64).contains(&x)
                            && (0.0..=spec.height as f64).contains(&y)
                    );
                }
                let area = ring_area(&p.ring) * spec.gsd * spec.gsd;
                assert!((area - p.area_m2).abs() < 1e-6 && area > 0.5, "{area}");
            }
            // Footprint pixels are exactly the nonzero ones; the raster's corners are nodata.
            let w = spec.width;
            for (i, &a) in scene.alpha.iter().enumerate() {
                let inside = a == 255;
                assert_eq!(inside, scene.reflectance[0][i] > 0);
                assert_eq!(inside, scene.reflectance[3][i] > 0);
            }
            assert_eq!(scene.alpha[0], 0);
            assert_eq!(scene.alpha[w * spec.height - 1], 0);
            let covered = scene.alpha.iter().filter(|&&a| a == 255).count() as f64;
            assert!(covered > 0.7 * scene.alpha.len() as f64);
        }
    }

    /// Facts for the classifier (DOMAIN.md) hold in every scene, whatever the light: a table of
    /// (class a, class b, band or measure, a must exceed b).
    #[test]
    fn class_spectra_follow_the_domain_facts() {
        const VISIBLE: usize = 4;
        let table: &[(Class, Class, usize, &str)] = &[
            (
                Class::PoppyFlowering,
                Class::Cannabis,
                2,
                "flowering poppy bluer than cannabis",
            ),
            (
                Class::PoppyFlowering,
                Class::Cannabis,
                VISIBLE,
                "flowering poppy brighter in the visible than cannabis",
            ),
            (
                Class::PoppyFlowering,
                Class::Maize,
                2,
                "flowering poppy bluer than maize",
            ),
            (
                Class::Cannabis,
                Class::Cabbage,
                3,
                "cannabis higher NIR than cabbage",
            ),
            (
                Class::Cannabis,
                Class::PoppyPreFlowering,
                3,
                "cannabis higher NIR than pre-flowering poppy",
            ),
            (
                Class::Cannabis,
                Class::BareSoil,
                3,
                "vegetation NIR above soil",
            ),
            (Class::Maize, Class::Road, 3, "vegetation NIR above roads"),
            (Class::Tea, Class::Roof, 3, "vegetation NIR above roofs"),
            (
                Class::PoppyPreFlowering,
                Class::Tea,
                2,
                "glaucous poppy bluer than tea",
            ),
            (
                Class::Mustard,
                Class::Cannabis,
                0,
                "mustard flowers yellow: redder than cannabis",
            ),
        ];
        for seed in 0..6 {
            let scene = generate(&small(seed)).unwrap();
            let means = class_means(&scene);
            let measure = |c: Class, b: usize| {
                let m = means[&c];
                if b == VISIBLE {
                    m[0] + m[1] + m[2]
                } else {
                    m[b]
                }
            };
            for &(a, b, band, what) in table {
                let (va, vb) = (measure(a, band), measure(b, band));
                assert!(va > vb, "seed {seed}: {what}: {a} {va:.4} vs {b} {vb:.4}");
            }
            // Cannabis has the highest NIR of all classes.
            let top = means
                .iter()
                .max_by(|x, y| x.1[3].total_cmp(&y.1[3]))
                .map(|(c, _)| *c);
            assert_eq!(top, Some(Class::Cannabis), "seed {seed}: {means:?}");
        }
    }

    #[test]
    fn bad_specs_are_refused_by_name() {
        let too_small = SceneSpec {
            width: 100,
            ..SceneSpec::new(1)
        };
        assert_eq!(
            generate(&too_small).err(),
            Some(SampleError::Size("width", 100))
        );
        let gsd = SceneSpec {
            gsd: 0.0,
            ..SceneSpec::new(1)
        };
        assert!(
            generate(&gsd)
                .unwrap_err()
                .to_string()
                .contains("ground resolution")
        );
        let crowded = SceneSpec {
            width: 128,
            height: 128,
            ..SceneSpec::new(1)
        };
        assert!(matches!(
            generate(&crowded),
            Err(SampleError::TooSmall { classes: 13, .. })
        ));
        assert!("poppy-flowering".parse::<Class>().is_ok());
        assert!("opium".parse::<Class>().unwrap_err().contains("cannabis"));
    }

    #[test]
    fn eight_bit_is_display_encoded_with_zero_for_nodata() {
        let scene = generate(&small(5)).unwrap();
        let red = scene.band_u8(0);
        for (i, &v) in red.iter().enumerate() {
            assert_eq!(v == 0, scene.alpha[i] == 0);
        }
    }
}
