//! Point-in-polygon lookup of communes and provinces.

use std::collections::HashMap;

use geo::{Contains, Intersects, Point, Rect};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use crate::boundaries::{Boundary, Level};

type Env = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// All boundaries of both levels, with an R-tree of their envelopes per level.
#[derive(Debug, Default)]
pub struct BoundaryIndex {
    provinces: Vec<Boundary>,
    communes: Vec<Boundary>,
    province_tree: RTree<Env>,
    commune_tree: RTree<Env>,
    province_codes: HashMap<String, usize>,
    commune_codes: HashMap<String, usize>,
}

/// Where a point falls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    pub province: Option<String>,
    pub commune: Option<String>,
}

fn tree(items: &[Boundary]) -> RTree<Env> {
    let envs = items
        .iter()
        .enumerate()
        .filter_map(|(i, b)| {
            b.bbox().map(|[x0, y0, x1, y1]| {
                GeomWithData::new(Rectangle::from_corners([x0, y0], [x1, y1]), i)
            })
        })
        .collect();
    RTree::bulk_load(envs)
}

impl BoundaryIndex {
    pub fn new(mut all: Vec<Boundary>) -> Self {
        all.sort_by(|a, b| a.code.cmp(&b.code));
        let (provinces, communes): (Vec<_>, Vec<_>) =
            all.into_iter().partition(|b| b.level == Level::Province);
        let province_codes = provinces
            .iter()
            .enumerate()
            .map(|(i, b)| (b.code.clone(), i))
            .collect();
        let commune_codes = communes
            .iter()
            .enumerate()
            .map(|(i, b)| (b.code.clone(), i))
            .collect();
        BoundaryIndex {
            province_tree: tree(&provinces),
            commune_tree: tree(&communes),
            provinces,
            communes,
            province_codes,
            commune_codes,
        }
    }

    pub fn list(&self, level: Level) -> &[Boundary] {
        match level {
            Level::Province => &self.provinces,
            Level::Commune => &self.communes,
        }
    }

    pub fn get(&self, level: Level, code: &str) -> Option<&Boundary> {
        let codes = match level {
            Level::Province => &self.province_codes,
            Level::Commune => &self.commune_codes,
        };
        let i = *codes.get(code)?;
        self.list(level).get(i)
    }

    pub fn name(&self, level: Level, code: &str) -> Option<&str> {
        self.get(level, code).map(|b| b.name.as_str())
    }

    fn hit(&self, level: Level, lon: f64, lat: f64) -> Option<&Boundary> {
        let (tree, items) = match level {
            Level::Province => (&self.province_tree, &self.provinces),
            Level::Commune => (&self.commune_tree, &self.communes),
        };
        let p = Point::new(lon, lat);
        // Interior first; a point exactly on a shared edge goes to the lowest code so the answer is stable.
        let mut candidates: Vec<&Boundary> = tree
            .locate_all_at_point(&[lon, lat])
            .map(|e| &items[e.data])
            .collect();
        candidates.sort_by(|a, b| a.code.cmp(&b.code));
        candidates
            .iter()
            .find(|b| b.geometry.contains(&p))
            .or_else(|| candidates.iter().find(|b| b.geometry.intersects(&p)))
            .copied()
    }

    /// The commune and province containing a point. A commune's province is its recorded parent when
    /// it has one, so the two never disagree.
    pub fn locate(&self, lon: f64, lat: f64) -> Location {
        let commune = self.hit(Level::Commune, lon, lat);
        let province = commune
            .and_then(|c| c.parent.clone())
            .or_else(|| self.hit(Level::Province, lon, lat).map(|b| b.code.clone()));
        Location {
            province,
            commune: commune.map(|c| c.code.clone()),
        }
    }

    /// Boundaries of a level whose geometry intersects `bbox`.
    pub fn in_bbox(&self, level: Level, bbox: [f64; 4]) -> Vec<&Boundary> {
        let (tree, items) = match level {
            Level::Province => (&self.province_tree, &self.provinces),
            Level::Commune => (&self.commune_tree, &self.communes),
        };
        let rect = Rect::new((bbox[0], bbox[1]), (bbox[2], bbox[3]));
        let mut out: Vec<&Boundary> = tree
            .locate_in_envelope_intersecting(&AABB::from_corners(
                [bbox[0], bbox[1]],
                [bbox[2], bbox[3]],
            ))
            .map(|e| &items[e.data])
            .filter(|b| b.geometry.intersects(&rect))
            .collect();
        out.sort_by(|a, b| a.code.cmp(&b.code));
        out
    }

    pub fn is_empty(&self) -> bool {
        self.provinces.is_empty() && self.communes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{MultiPolygon, polygon};

    fn rect(
        level: Level,
        code: &str,
        parent: Option<&str>,
        x0: f64,
        y0: f64,
        x1: f64,
        y1: f64,
    ) -> Boundary {
        Boundary {
            level,
            code: code.into(),
            name: format!("n{code}"),
            parent: parent.map(Into::into),
            geometry: MultiPolygon(vec![
                polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1)],
            ]),
        }
    }

    fn fixture() -> BoundaryIndex {
        BoundaryIndex::new(vec![
            rect(Level::Province, "08", None, 104.8, 21.5, 105.6, 22.5),
            rect(Level::Province, "24", None, 105.9, 21.0, 106.8, 21.5),
            rect(
                Level::Commune,
                "02200",
                Some("08"),
                104.8,
                21.5,
                105.2,
                22.5,
            ),
            rect(
                Level::Commune,
                "02201",
                Some("08"),
                105.2,
                21.5,
                105.6,
                22.5,
            ),
        ])
    }

    #[test]
    fn locate_table() {
        let idx = fixture();
        let cases = [
            ((105.0, 22.0), Some("08"), Some("02200")),
            ((105.4, 22.0), Some("08"), Some("02201")),
            ((106.0, 21.2), Some("24"), None),
            ((100.0, 10.0), None, None),
            // On the shared edge: the lowest code wins, deterministically.
            ((105.2, 22.0), Some("08"), Some("02200")),
        ];
        for ((x, y), p, c) in cases {
            let loc = idx.locate(x, y);
            assert_eq!(
                (loc.province.as_deref(), loc.commune.as_deref()),
                (p, c),
                "({x},{y})"
            );
        }
    }

    #[test]
    fn bbox_query_intersects() {
        let idx = fixture();
        let codes: Vec<&str> = idx
            .in_bbox(Level::Commune, [105.1, 21.6, 105.3, 21.7])
            .iter()
            .map(|b| b.code.as_str())
            .collect();
        assert_eq!(codes, vec!["02200", "02201"]);
        assert!(
            idx.in_bbox(Level::Province, [0.0, 0.0, 1.0, 1.0])
                .is_empty()
        );
    }
}
