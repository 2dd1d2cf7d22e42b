//! The hotspot R-tree: every live hotspot's position plus the few attributes that filters and
//! jurisdiction checks need, so a bbox query counts and pages without touching the store.

use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use parking_lot::RwLock;
use rstar::{AABB, PointDistance, RTree, RTreeObject};

use crate::auth::Jurisdiction;
use crate::hotspots::{Kind, Status};

/// A hotspot as the index knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct HotspotEntry {
    pub id: i64,
    pub pos: [f64; 2],
    pub status: Status,
    pub kind: Kind,
    pub province: Option<Arc<str>>,
    pub commune: Option<Arc<str>>,
    /// `reported_on` as days since 1970-01-01.
    pub reported: i32,
}

impl RTreeObject for HotspotEntry {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_point(self.pos)
    }
}

impl PointDistance for HotspotEntry {
    fn distance_2(&self, p: &[f64; 2]) -> f64 {
        let (dx, dy) = (self.pos[0] - p[0], self.pos[1] - p[1]);
        dx * dx + dy * dy
    }
}

/// Selection parameters of a hotspot query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HotspotFilter {
    /// `[minx, miny, maxx, maxy]` in lon/lat; `minx > maxx` crosses the antimeridian.
    pub bbox: Option<[f64; 4]>,
    /// Bit `1 << status` set for each wanted status; 0 = all.
    pub statuses: u8,
    /// Bit `1 << kind` set for each wanted kind; 0 = all.
    pub kinds: u8,
    pub commune: Option<String>,
    pub province: Option<String>,
    /// Inclusive day range on `reported_on`.
    pub from_day: Option<i32>,
    pub to_day: Option<i32>,
}

/// One page of ids, ascending, plus the total count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub ids: Vec<i64>,
    /// All features matching the filter and jurisdiction, whatever the paging.
    pub matched: usize,
    /// Cursor for the next page, when there is one.
    pub next_after: Option<i64>,
}

#[derive(Debug, Default)]
struct Inner {
    tree: RTree<HotspotEntry>,
    codes: HashMap<Box<str>, Arc<str>>,
}

/// The live hotspot index, shared by request handlers.
#[derive(Debug, Default)]
pub struct HotspotIndex {
    inner: RwLock<Inner>,
}

impl HotspotFilter {
    fn matches(&self, e: &HotspotEntry, j: &Jurisdiction) -> bool {
        (self.statuses == 0 || self.statuses & (1 << e.status.as_u8()) != 0)
            && (self.kinds == 0 || self.kinds & (1 << e.kind.as_u8()) != 0)
            && self
                .commune
                .as_deref()
                .is_none_or(|c| e.commune.as_deref() == Some(c))
            && self
                .province
                .as_deref()
                .is_none_or(|p| e.province.as_deref() == Some(p))
            && self.from_day.is_none_or(|d| e.reported >= d)
            && self.to_day.is_none_or(|d| e.reported <= d)
            && j.covers(e.province.as_deref(), e.commune.as_deref())
    }
}

impl Inner {
    fn intern(&mut self, code: Option<&str>) -> Option<Arc<str>> {
        let code = code?;
        if let Some(a) = self.codes.get(code) {
            return Some(a.clone());
        }
        let a: Arc<str> = Arc::from(code);
        self.codes.insert(code.into(), a.clone());
        Some(a)
    }
}

/// Builder input: the attributes of one hotspot, codes as plain strings.
#[derive(Debug, Clone)]
pub struct EntryRow {
    pub id: i64,
    pub lon: f64,
    pub lat: f64,
    pub status: Status,
    pub kind: Kind,
    pub province: Option<String>,
    pub commune: Option<String>,
    pub reported: i32,
}

impl HotspotIndex {
    /// Bulk-loads the tree (much faster and better balanced than inserting one by one).
    pub fn build(rows: impl IntoIterator<Item = EntryRow>) -> HotspotIndex {
        let mut inner = Inner::default();
        let entries: Vec<HotspotEntry> = rows.into_iter().map(|r| inner.entry(r)).collect();
        inner.tree = RTree::bulk_load(entries);
        HotspotIndex {
            inner: RwLock::new(inner),
        }
    }

    pub fn len(&self) -> usize {
        self.inner.read().tree.size()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn insert(&self, row: EntryRow) {
        let mut inner = self.inner.write();
        let e = inner.entry(row);
        inner.tree.insert(e);
    }

    /// Removes the entry with this id at this position; returns whether it was there.
    pub fn remove(&self, id: i64, lon: f64, lat: f64) -> bool {
        let mut inner = self.inner.write();
        let found = inner
            .tree
            .locate_all_at_point(&[lon, lat])
            .find(|e| e.id == id)
            .cloned();
        match found {
            Some(e) => inner.tree.remove(&e).is_some(),
            None => false,
        }
    }

    /// Replaces the whole content (after a boundary import reassigns communes, say).
    pub fn replace_all(&self, rows: impl IntoIterator<Item = EntryRow>) {
        let fresh = HotspotIndex::build(rows);
        let fresh = fresh.inner.into_inner();
        *self.inner.write() = fresh;
    }

    /// The `limit` smallest ids greater than `after` among hotspots matching `filter` inside `scope`,
    /// and the number of all matches.
    pub fn query(
        &self,
        filter: &HotspotFilter,
        scope: &Jurisdiction,
        after: Option<i64>,
        limit: usize,
    ) -> Page {
        let inner = self.inner.read();
        let mut matched = 0usize;
        let mut beyond = 0usize;
        let mut heap: BinaryHeap<i64> = BinaryHeap::with_capacity(limit + 1);
        let after = after.unwrap_or(i64::MIN);
        let mut visit = |e: &HotspotEntry| {
            if !filter.matches(e, scope) {
                return;
            }
            matched += 1;
            if e.id <= after {
                return;
            }
            beyond += 1;
            if heap.len() < limit {
                heap.push(e.id);
            } else if let Some(&top) = heap.peek()
                && e.id < top
            {
                heap.pop();
                heap.push(e.id);
            }
        };
        match filter.bbox {
            Some([x0, y0, x1, y1]) if x0 <= x1 => {
                inner
                    .tree
                    .locate_in_envelope(&AABB::from_corners([x0, y0], [x1, y1]))
                    .for_each(&mut visit);
            }
            Some([x0, y0, x1, y1]) => {
                // Crosses the antimeridian: two boxes.
                inner
                    .tree
                    .locate_in_envelope(&AABB::from_corners([x0, y0], [180.0, y1]))
                    .for_each(&mut visit);
                inner
                    .tree
                    .locate_in_envelope(&AABB::from_corners([-180.0, y0], [x1, y1]))
                    .for_each(&mut visit);
            }
            None => inner.tree.iter().for_each(&mut visit),
        }
        let mut ids = heap.into_vec();
        ids.sort_unstable();
        let next_after = (beyond > ids.len()).then(|| ids.last().copied()).flatten();
        Page {
            ids,
            matched,
            next_after,
        }
    }

    /// Whether a hotspot id is indexed inside `scope` (used to answer 404 outside a jurisdiction).
    pub fn position_of(&self, id: i64, lon: f64, lat: f64) -> Option<HotspotEntry> {
        self.inner
            .read()
            .tree
            .locate_all_at_point(&[lon, lat])
            .find(|e| e.id == id)
            .cloned()
    }
}

impl Inner {
    fn entry(&mut self, r: EntryRow) -> HotspotEntry {
        HotspotEntry {
            id: r.id,
            pos: [r.lon, r.lat],
            status: r.status,
            kind: r.kind,
            province: self.intern(r.province.as_deref()),
            commune: self.intern(r.commune.as_deref()),
            reported: r.reported,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn row(id: i64, lon: f64, lat: f64, status: Status, province: &str) -> EntryRow {
        EntryRow {
            id,
            lon,
            lat,
            status,
            kind: Kind::DiemBanLe,
            province: Some(province.into()),
            commune: None,
            reported: id as i32,
        }
    }

    #[test]
    fn pages_are_ordered_and_complete() {
        let idx = HotspotIndex::build(
            (1..=25).map(|i| row(i, 105.0 + i as f64 * 0.01, 21.0, Status::Reported, "08")),
        );
        let all = Jurisdiction::national();
        let f = HotspotFilter::default();
        let mut seen: Vec<i64> = Vec::new();
        let mut after = None;
        loop {
            let p = idx.query(&f, &all, after, 10);
            assert_eq!(p.matched, 25);
            seen.extend(&p.ids);
            match p.next_after {
                Some(a) => after = Some(a),
                None => break,
            }
        }
        assert_eq!(seen, (1..=25).collect::<Vec<i64>>());
    }

    #[test]
    fn filters_and_jurisdiction() {
        let idx = HotspotIndex::build([
            row(1, 105.0, 21.0, Status::Reported, "08"),
            row(2, 105.0, 21.0, Status::Eliminated, "08"),
            row(3, 106.0, 21.2, Status::Reported, "24"),
        ]);
        let tq = Jurisdiction::provinces(["08"]);
        let f = HotspotFilter {
            statuses: 1 << Status::Reported.as_u8(),
            ..Default::default()
        };
        assert_eq!(idx.query(&f, &tq, None, 10).ids, vec![1]);
        assert_eq!(
            idx.query(&f, &Jurisdiction::national(), None, 10).ids,
            vec![1, 3]
        );
        let f = HotspotFilter {
            from_day: Some(2),
            to_day: Some(3),
            ..Default::default()
        };
        assert_eq!(
            idx.query(&f, &Jurisdiction::national(), None, 10).ids,
            vec![2, 3]
        );
    }

    #[test]
    fn insert_and_remove_keep_step() {
        let idx = HotspotIndex::build([row(1, 105.0, 21.0, Status::Reported, "08")]);
        idx.insert(row(2, 105.5, 21.5, Status::Reported, "08"));
        assert_eq!(idx.len(), 2);
        assert!(idx.remove(1, 105.0, 21.0));
        assert!(!idx.remove(1, 105.0, 21.0));
        assert_eq!(
            idx.query(
                &HotspotFilter::default(),
                &Jurisdiction::national(),
                None,
                10
            )
            .ids,
            vec![2]
        );
    }

    proptest! {
        /// The R-tree answers bbox queries exactly like a brute-force scan.
        #[test]
        fn bbox_query_matches_brute_force(
            pts in prop::collection::vec((102.0f64..110.0, 8.0f64..24.0, 0u8..4), 0..300),
            bx in (102.0f64..110.0, 8.0f64..24.0, 0.0f64..4.0, 0.0f64..6.0),
            limit in 1usize..50,
        ) {
            let rows: Vec<EntryRow> = pts.iter().enumerate().map(|(i, (x, y, s))| {
                row(i as i64 + 1, *x, *y, Status::ALL[*s as usize], if i % 2 == 0 { "08" } else { "24" })
            }).collect();
            let idx = HotspotIndex::build(rows.clone());
            let bbox = [bx.0, bx.1, bx.0 + bx.2, bx.1 + bx.3];
            let scope = Jurisdiction::provinces(["08"]);
            let f = HotspotFilter { bbox: Some(bbox), ..Default::default() };
            let mut want: Vec<i64> = rows.iter()
                .filter(|r| r.lon >= bbox[0] && r.lon <= bbox[2] && r.lat >= bbox[1] && r.lat <= bbox[3])
                .filter(|r| r.province.as_deref() == Some("08"))
                .map(|r| r.id).collect();
            want.sort();
            let page = idx.query(&f, &scope, None, limit);
            prop_assert_eq!(page.matched, want.len());
            prop_assert_eq!(&page.ids[..], &want[..want.len().min(limit)]);
        }
    }
}
