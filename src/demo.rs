//! Seeded synthetic hotspots for the demo and benchmarks. Every name says it is a sample
//! (*mẫu*); nothing here describes a real place or person.

use geo::{BoundingRect, Contains, Point};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::boundaries::Level;
use crate::hotspots::{Kind, Status};
use crate::index::BoundaryIndex;

/// A CSV (the import format) of `count` hotspots placed inside the loaded communes, or provinces
/// when no commune is loaded.
pub fn hotspots_csv(b: &BoundaryIndex, count: usize, seed: u64) -> Result<String, String> {
    let areas = if b.list(Level::Commune).is_empty() {
        b.list(Level::Province)
    } else {
        b.list(Level::Commune)
    };
    if areas.is_empty() {
        return Err("no boundaries are loaded: run `vigil import boundaries` first".into());
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = String::with_capacity(count * 96);
    out.push_str("lon,lat,name,kind,status,address,source,reported_on\n");
    let kinds = [
        (Kind::DiemBanLe, 40),
        (Kind::DiemSuDung, 25),
        (Kind::TuDiemSuDung, 15),
        (Kind::DiemNong, 10),
        (Kind::BoongKe, 3),
        (Kind::Khac, 7),
    ];
    let statuses = [
        (Status::Reported, 35),
        (Status::Verifying, 25),
        (Status::Eliminated, 30),
        (Status::Reemerged, 10),
    ];
    let sources = [
        "Tin báo của quần chúng",
        "Trinh sát",
        "Công an xã",
        "Bộ đội Biên phòng",
    ];
    let mut made = 0;
    let mut tries = 0;
    while made < count {
        tries += 1;
        if tries > count * 50 + 1000 {
            return Err(
                "could not place points inside the boundaries (are the geometries empty?)".into(),
            );
        }
        let area = &areas[rng.random_range(0..areas.len())];
        let Some(r) = area.geometry.bounding_rect() else {
            continue;
        };
        let (x, y) = (
            rng.random_range(r.min().x..=r.max().x),
            rng.random_range(r.min().y..=r.max().y),
        );
        if !area.geometry.contains(&Point::new(x, y)) {
            continue;
        }
        let kind = pick(&mut rng, &kinds);
        let status = pick(&mut rng, &statuses);
        let days_ago = rng.random_range(0..3 * 365);
        let date = crate::time_util::today() - time::Duration::days(days_ago);
        made += 1;
        out.push_str(&format!(
            "{x:.6},{y:.6},{} mẫu {made} – {},{},{},\"Thôn {}, {}\",{},{}\n",
            kind.label_vi(),
            area.name.replace(',', " "),
            kind.code(),
            status.code(),
            rng.random_range(1..30),
            area.name.replace(['"', ','], " "),
            sources[rng.random_range(0..sources.len())],
            crate::time_util::format_date(date)
        ));
    }
    Ok(out)
}

fn pick<T: Copy>(rng: &mut StdRng, weighted: &[(T, u32)]) -> T {
    let total: u32 = weighted.iter().map(|w| w.1).sum();
    let mut r = rng.random_range(0..total);
    for (t, w) in weighted {
        if r < *w {
            return *t;
        }
        r -= w;
    }
    weighted[0].0
}
