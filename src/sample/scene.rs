//! The field layout of a scene: its irregular footprint, a grid of cells each holding one plot of
//! one class at a realistic size, and the seeded viewing conditions.

use std::f64::consts::PI;

use super::noise::Rng;
use super::truth::ring_area;
use super::{Class, SampleError, SceneSpec};

/// One plot: a class over a polygon. The plots are the scene's ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    /// 1, 2, … in drawing order.
    pub id: u32,
    pub class: Class,
    /// Outer ring in pixel coordinates (x = column, y = row), not closed.
    pub ring: Vec<(f64, f64)>,
    /// Ground area in square metres.
    pub area_m2: f64,
    /// Poppy interplanted with cabbage, as in the 40–50 m² plots on record.
    pub interplanted: bool,
    /// Rows run along this angle (radians, in pixel space).
    pub(crate) angle: f64,
    /// Plot-local origin in pixels (the ring's centre).
    pub(crate) origin: (f64, f64),
    pub(crate) seed: u64,
    /// Class-specific variant (roof material, road surface, petal palette …).
    pub(crate) variant: u8,
    /// Plot-wide vigour / brightness factor.
    pub(crate) vigour: f32,
}

/// A field condition a scene can be forced into, beyond the seeded everyday range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Normal,
    Haze,
    Shadow,
    Dark,
    Warm,
    Cool,
    Bright,
}

impl Condition {
    pub const ALL: [Condition; 7] = [
        Condition::Normal,
        Condition::Haze,
        Condition::Shadow,
        Condition::Dark,
        Condition::Warm,
        Condition::Cool,
        Condition::Bright,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Condition::Normal => "normal",
            Condition::Haze => "haze",
            Condition::Shadow => "shadow",
            Condition::Dark => "dark",
            Condition::Warm => "warm",
            Condition::Cool => "cool",
            Condition::Bright => "bright",
        }
    }

    pub fn parse(s: &str) -> Option<Condition> {
        Condition::ALL.into_iter().find(|c| c.name() == s)
    }

    /// Pushes seeded conditions into this one.
    fn apply(self, c: &mut Conditions) {
        match self {
            Condition::Normal => {}
            Condition::Haze => c.haze = 0.32,
            Condition::Shadow => {
                c.shadow_length_m = 9.0;
                c.shadow_strength = 0.85;
            }
            Condition::Dark => c.light = 0.3,
            Condition::Warm => c.white_balance = [1.32, 1.0, 0.62],
            Condition::Cool => c.white_balance = [0.8, 1.0, 1.28],
            Condition::Bright => c.light = 1.6,
        }
    }
}

/// Viewing conditions, seeded per scene.
#[derive(Debug, Clone, PartialEq)]
pub struct Conditions {
    /// Overall illumination factor (overcast 0.6 … bright sun 1.15).
    pub light: f32,
    /// Fraction of the signal replaced by bluish path radiance (0 … 0.15).
    pub haze: f32,
    /// White-balance gains for red, green, blue.
    pub white_balance: [f32; 3],
    /// Direction shadows are cast towards, degrees clockwise from image up.
    pub shadow_azimuth_deg: f32,
    /// Length of shadows cast by trees and roofs, metres.
    pub shadow_length_m: f32,
    /// Fraction of direct light a shadow removes.
    pub shadow_strength: f32,
}

pub(crate) struct Layout {
    pub(crate) footprint: Vec<(f64, f64)>,
    pub(crate) plots: Vec<Plot>,
    pub(crate) conditions: Conditions,
}

/// Inner margin (fraction of a side) that the grid of plots keeps from the raster edge; the
/// footprint's bite into the raster stays below it.
const GRID_MARGIN: f64 = 0.09;
/// Largest inset of the footprint's edge from the raster edge (fraction of a side).
const FOOTPRINT_INSET: f64 = 0.06;
/// Largest corner cut of the footprint (fraction of a side along each edge).
const CORNER_CUT: f64 = 0.15;
/// Smallest plot cell side in pixels.
pub(crate) const MIN_CELL_PX: usize = 32;
/// Typical ground area per cell when the scene is larger than the classes need.
const CELL_AREA_M2: f64 = 320.0;

/// Weights of the classes used to fill cells beyond the requested ones.
fn fill_weight(c: Class) -> u32 {
    match c {
        Class::PoppyFlowering | Class::Cabbage | Class::Maize | Class::Forest => 3,
        Class::PoppyPreFlowering | Class::Cannabis | Class::Tea | Class::BareSoil => 2,
        _ => 1,
    }
}

/// Realistic plot area range in m².
fn area_range(c: Class, interplanted: bool) -> (f64, f64) {
    match c {
        Class::PoppyFlowering | Class::PoppyPreFlowering if interplanted => (40.0, 50.0),
        Class::PoppyFlowering | Class::PoppyPreFlowering | Class::Cannabis => (20.0, 400.0),
        Class::Cabbage => (40.0, 400.0),
        Class::Buckwheat | Class::Mustard => (50.0, 500.0),
        Class::BlossomingTree => (12.0, 40.0),
        Class::Maize | Class::Tea => (100.0, 600.0),
        Class::Forest => (200.0, 1000.0),
        Class::BareSoil => (30.0, 300.0),
        Class::Roof => (25.0, 120.0),
        Class::Road => (0.0, 0.0),
    }
}

pub(crate) fn layout(spec: &SceneSpec) -> Result<Layout, SampleError> {
    let mut rng = Rng::new(spec.seed);
    let (w, h) = (spec.width as f64, spec.height as f64);
    let mut conditions = conditions(&mut rng);
    if let Some(c) = spec.condition {
        c.apply(&mut conditions);
    }
    let footprint = footprint(&mut rng, w, h);

    let (x0, y0) = (GRID_MARGIN * w, GRID_MARGIN * h);
    let (iw, ih) = (w - 2.0 * x0, h - 2.0 * y0);
    let inner_m2 = iw * ih * spec.gsd * spec.gsd;
    let n = spec
        .classes
        .len()
        .max((inner_m2 / CELL_AREA_M2).round() as usize)
        .max(1);
    let cols = ((n as f64 * iw / ih).sqrt().ceil() as usize).max(1);
    let rows = n.div_ceil(cols);
    let (cw, ch) = (iw / cols as f64, ih / rows as f64);
    if cw < MIN_CELL_PX as f64 || ch < MIN_CELL_PX as f64 {
        return Err(SampleError::TooSmall {
            width: spec.width,
            height: spec.height,
            classes: spec.classes.len(),
            min_cell: MIN_CELL_PX,
        });
    }

    // Requested classes first, in random cells; the rest by weight.
    let cells = cols * rows;
    let mut assigned: Vec<Class> = spec.classes.clone();
    let total: u32 = spec.classes.iter().map(|&c| fill_weight(c)).sum();
    while assigned.len() < cells {
        let mut pick = (rng.f64() * total as f64) as u32;
        let mut chosen = spec.classes[0];
        for &c in &spec.classes {
            let wgt = fill_weight(c);
            if pick < wgt {
                chosen = c;
                break;
            }
            pick -= wgt;
        }
        assigned.push(chosen);
    }
    for i in (1..assigned.len()).rev() {
        let j = rng.below(i + 1);
        assigned.swap(i, j);
    }

    let mut plots = Vec::with_capacity(cells);
    for (k, class) in assigned.into_iter().enumerate() {
        let (col, row) = (k % cols, k / cols);
        let cell = (x0 + col as f64 * cw, y0 + row as f64 * ch, cw, ch);
        let id = plots.len() as u32 + 1;
        plots.push(plot(&mut rng, spec, id, class, cell));
    }
    Ok(Layout {
        footprint,
        plots,
        conditions,
    })
}

fn conditions(rng: &mut Rng) -> Conditions {
    Conditions {
        light: rng.range(0.6, 1.15) as f32,
        haze: if rng.chance(0.3) {
            0.0
        } else {
            rng.range(0.0, 0.15) as f32
        },
        white_balance: [
            rng.range(0.92, 1.08) as f32,
            rng.range(0.97, 1.03) as f32,
            rng.range(0.92, 1.08) as f32,
        ],
        shadow_azimuth_deg: rng.range(0.0, 360.0) as f32,
        shadow_length_m: rng.range(1.0, 4.0) as f32,
        shadow_strength: rng.range(0.35, 0.65) as f32,
    }
}

/// An irregular footprint inside the raster: wavy edges and cut corners, like the edge of an
/// orthomosaic where the flight's photos stop overlapping.
fn footprint(rng: &mut Rng, w: f64, h: f64) -> Vec<(f64, f64)> {
    let cut: [f64; 4] = std::array::from_fn(|_| rng.range(0.02, CORNER_CUT));
    // Corners in order top-left, top-right, bottom-right, bottom-left; walk the edges clockwise as
    // seen on screen (y down).
    let corners = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)];
    let mut ring = Vec::new();
    for i in 0..4 {
        let (a, b) = (corners[i], corners[(i + 1) % 4]);
        let len = if i % 2 == 0 { w } else { h };
        let (dx, dy) = ((b.0 - a.0) / len, (b.1 - a.1) / len);
        // Inward normal of a clockwise walk in pixel space (y down).
        let (nx, ny) = (-dy, dx);
        let side = w.min(h);
        let start = cut[i] * side;
        let end = len - cut[(i + 1) % 4] * side;
        ring.push((a.0 + dx * start, a.1 + dy * start));
        let k = 4 + rng.below(6);
        for j in 1..=k {
            let t = start + (end - start) * (j as f64 - rng.range(0.2, 0.8)) / k as f64;
            let inset = rng.range(0.0, FOOTPRINT_INSET) * side;
            ring.push((a.0 + dx * t + nx * inset, a.1 + dy * t + ny * inset));
        }
        ring.push((a.0 + dx * end, a.1 + dy * end));
    }
    ring
}

/// One plot of `class` inside the cell (x, y, w, h), in pixels.
fn plot(
    rng: &mut Rng,
    spec: &SceneSpec,
    id: u32,
    class: Class,
    cell: (f64, f64, f64, f64),
) -> Plot {
    let (cx0, cy0, cw, ch) = cell;
    let px_per_m = 1.0 / spec.gsd;
    let interplanted =
        matches!(class, Class::PoppyFlowering | Class::PoppyPreFlowering) && rng.chance(0.3);
    let angle = rng.range(-0.35, 0.35);
    let (lo, hi) = area_range(class, interplanted);
    let area_px = rng.range(lo, hi) * px_per_m * px_per_m;

    // The shape in plot-local pixel coordinates (u along rows, v across), before rotation.
    let local: Vec<(f64, f64)> = match class {
        Class::BlossomingTree => {
            let r = (area_px / PI).sqrt();
            let n = 16;
            (0..n)
                .map(|i| {
                    let t = 2.0 * PI * i as f64 / n as f64;
                    let rr = r * rng.range(0.92, 1.06);
                    (rr * t.cos(), rr * t.sin())
                })
                .collect()
        }
        Class::Road => {
            let len = cw.max(ch) * 2.0;
            let width = rng.range(2.5, 4.5) * px_per_m;
            rect(len / 2.0, width / 2.0)
        }
        Class::Roof => {
            let aspect = rng.range(1.3, 2.2);
            let hw = (area_px * aspect).sqrt() / 2.0;
            rect(hw, area_px / (4.0 * hw))
        }
        _ => {
            let aspect = rng.range(0.6, 1.7);
            let hw = (area_px * aspect).sqrt() / 2.0;
            let hh = area_px / (4.0 * hw);
            rect(hw, hh)
                .into_iter()
                .map(|(u, v)| {
                    (
                        u + rng.range(-0.07, 0.07) * hw * 2.0,
                        v + rng.range(-0.07, 0.07) * hh * 2.0,
                    )
                })
                .collect()
        }
    };
    // Roads run along the cell's longer side; everything else at a small random angle.
    let angle = match class {
        Class::Road if ch > cw => PI / 2.0 + angle * 0.3,
        Class::Road => angle * 0.3,
        Class::Roof => rng.range(-PI / 2.0, PI / 2.0),
        _ => angle,
    };
    let (s, c) = angle.sin_cos();
    let rotated: Vec<(f64, f64)> = local
        .iter()
        .map(|&(u, v)| (u * c - v * s, u * s + v * c))
        .collect();
    // Fit inside 90 % of the cell (roads are cut to the cell), then place with the slack left.
    let hx = rotated.iter().map(|p| p.0.abs()).fold(0.0, f64::max);
    let hy = rotated.iter().map(|p| p.1.abs()).fold(0.0, f64::max);
    let ring: Vec<(f64, f64)> = if class == Class::Road {
        clip_road(&rotated, 0.47 * cw, 0.47 * ch)
    } else {
        let scale = (0.45 * cw / hx).min(0.45 * ch / hy).min(1.0);
        rotated
            .iter()
            .map(|&(x, y)| (x * scale, y * scale))
            .collect()
    };
    let hx = ring.iter().map(|p| p.0.abs()).fold(0.0, f64::max);
    let hy = ring.iter().map(|p| p.1.abs()).fold(0.0, f64::max);
    let ox = cx0 + cw / 2.0 + rng.range(-1.0, 1.0) * (0.47 * cw - hx).max(0.0);
    let oy = cy0 + ch / 2.0 + rng.range(-1.0, 1.0) * (0.47 * ch - hy).max(0.0);
    let ring: Vec<(f64, f64)> = ring.into_iter().map(|(x, y)| (x + ox, y + oy)).collect();
    let area_m2 = ring_area(&ring) * spec.gsd * spec.gsd;
    Plot {
        id,
        class,
        ring,
        area_m2,
        interplanted,
        angle,
        origin: (ox, oy),
        seed: rng.next_u64(),
        variant: rng.below(4) as u8,
        vigour: rng.range(0.9, 1.1) as f32,
    }
}

/// Rectangle of half-sizes (hw, hh) centred on the origin, clockwise in pixel space.
fn rect(hw: f64, hh: f64) -> Vec<(f64, f64)> {
    vec![(-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh)]
}

/// Clips a convex ring to the box |x| ≤ bx, |y| ≤ by (Sutherland–Hodgman).
fn clip_road(ring: &[(f64, f64)], bx: f64, by: f64) -> Vec<(f64, f64)> {
    let mut out = ring.to_vec();
    // Each edge as (axis, sign, limit): keep points with sign * coord <= limit.
    for (axis, sign, limit) in [(0, 1.0, bx), (0, -1.0, bx), (1, 1.0, by), (1, -1.0, by)] {
        let coord = |p: &(f64, f64)| sign * if axis == 0 { p.0 } else { p.1 };
        let input = std::mem::take(&mut out);
        for i in 0..input.len() {
            let (a, b) = (input[i], input[(i + 1) % input.len()]);
            let (ia, ib) = (coord(&a) <= limit, coord(&b) <= limit);
            if ia {
                out.push(a);
            }
            if ia != ib {
                let t = (limit - coord(&a)) / (coord(&b) - coord(&a));
                out.push((a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footprint_stays_outside_the_grid_margin() {
        for seed in 0..50 {
            let mut rng = Rng::new(seed);
            let ring = footprint(&mut rng, 1000.0, 800.0);
            // The inner grid's corners are inside; the raster's corners are not.
            for p in [(90.0, 72.0), (910.0, 72.0), (910.0, 728.0), (90.0, 728.0)] {
                assert!(
                    crate::sample::point_in_ring(&ring, p.0, p.1),
                    "{seed} {p:?}"
                );
            }
            for p in [(0.5, 0.5), (999.5, 0.5), (999.5, 799.5), (0.5, 799.5)] {
                assert!(
                    !crate::sample::point_in_ring(&ring, p.0, p.1),
                    "{seed} {p:?}"
                );
            }
        }
    }

    #[test]
    fn road_is_clipped_to_its_cell() {
        let ring = clip_road(&rect(100.0, 5.0), 40.0, 30.0);
        assert!(
            ring.iter()
                .all(|p| p.0.abs() <= 40.0 + 1e-9 && p.1.abs() <= 5.0)
        );
        assert!((ring_area(&ring) - 80.0 * 10.0).abs() < 1e-6);
    }

    #[test]
    fn plot_areas_are_realistic_when_the_scene_has_room() {
        // 4096 px at 5 cm: 200 m across, room for realistic sizes.
        let spec = SceneSpec {
            width: 4096,
            height: 4096,
            ..SceneSpec::new(3)
        };
        let l = layout(&spec).unwrap();
        for p in &l.plots {
            // Larger fields (maize, tea, forest, …) are cut to their cell; these fit.
            if !matches!(
                p.class,
                Class::PoppyFlowering
                    | Class::PoppyPreFlowering
                    | Class::Cannabis
                    | Class::BlossomingTree
                    | Class::Roof
            ) {
                continue;
            }
            let (lo, hi) = area_range(p.class, p.interplanted);
            // Corner jitter changes the area by a few per cent.
            assert!(
                p.area_m2 >= lo * 0.85 && p.area_m2 <= hi * 1.15,
                "{:?} {} m² not in {lo}..{hi}",
                p.class,
                p.area_m2
            );
        }
    }
}
