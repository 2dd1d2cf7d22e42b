//! A static packed R-tree over hotspot entries whose nodes carry aggregates (counts by status and
//! kind, id and date ranges, uniform province/commune), so `numberMatched` for a bbox that covers
//! thousands of hotspots is summed from whole nodes instead of counted one by one, and the page of
//! smallest ids prunes every node whose smallest id cannot make the page.
//!
//! rstar has no per-node aggregates, hence this structure (Hilbert-sorted, fanout 16, built in one
//! pass like flatbush). It is immutable; `index::hotspots` puts a small rstar overlay and a tombstone
//! set in front of it for writes and rebuilds it when they grow.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::hotspots::{Compiled, HotspotEntry};

pub const FANOUT: usize = 16;
/// Aggregate value for "entries disagree".
pub const MIXED: u32 = u32::MAX;

/// What a node knows about all entries below it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agg {
    pub count: u32,
    pub by_status: [u32; 4],
    pub by_kind: [u32; 6],
    pub min_id: i64,
    pub max_id: i64,
    pub min_day: i32,
    pub max_day: i32,
    /// The province id all entries share, or [`MIXED`].
    pub province: u32,
    pub commune: u32,
}

impl Agg {
    fn of(e: &HotspotEntry) -> Agg {
        let mut by_status = [0; 4];
        by_status[e.status.as_u8() as usize] = 1;
        let mut by_kind = [0; 6];
        by_kind[e.kind.as_u8() as usize] = 1;
        Agg {
            count: 1,
            by_status,
            by_kind,
            min_id: e.id,
            max_id: e.id,
            min_day: e.reported,
            max_day: e.reported,
            province: e.province,
            commune: e.commune,
        }
    }

    fn merge(&mut self, o: &Agg) {
        self.count += o.count;
        for i in 0..4 {
            self.by_status[i] += o.by_status[i];
        }
        for i in 0..6 {
            self.by_kind[i] += o.by_kind[i];
        }
        self.min_id = self.min_id.min(o.min_id);
        self.max_id = self.max_id.max(o.max_id);
        self.min_day = self.min_day.min(o.min_day);
        self.max_day = self.max_day.max(o.max_day);
        if self.province != o.province {
            self.province = MIXED;
        }
        if self.commune != o.commune {
            self.commune = MIXED;
        }
    }

    /// How many entries below match `f`, when the aggregates alone can tell.
    fn matching(&self, f: &Compiled) -> Option<usize> {
        if f.has_cql() {
            return None;
        }
        if self.count == 0 || self.max_day < f.from_day || self.min_day > f.to_day {
            return Some(0);
        }
        if self.min_day < f.from_day || self.max_day > f.to_day {
            return None;
        }
        if let Some(c) = f.commune {
            if self.commune == MIXED {
                return None;
            }
            if self.commune != c {
                return Some(0);
            }
        }
        if let Some(p) = f.province {
            if self.province == MIXED {
                return None;
            }
            if self.province != p {
                return Some(0);
            }
        }
        if let Some(allowed) = &f.allowed_provinces {
            let by_province =
                self.province != MIXED && self.province != 0 && allowed[self.province as usize];
            let by_commune = self.commune != MIXED
                && self.commune != 0
                && f.allowed_communes[self.commune as usize];
            if !(by_province || by_commune) {
                if self.province == MIXED || self.commune == MIXED {
                    return None;
                }
                return Some(0);
            }
        }
        let sum = |counts: &[u32], mask: u8| -> usize {
            counts
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, c)| *c as usize)
                .sum()
        };
        match (f.statuses, f.kinds) {
            (0, 0) => Some(self.count as usize),
            (s, 0) => Some(sum(&self.by_status, s)),
            (0, k) => Some(sum(&self.by_kind, k)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
struct Node {
    bbox: [f64; 4],
    /// First child: an entry index at level 0, a node index of the level below otherwise.
    first: u32,
    len: u32,
    agg: Agg,
    /// Children (offsets from `first`) by ascending smallest id, so the page search visits the
    /// most promising child first and prunes the rest early.
    by_min_id: [u8; FANOUT],
}

impl Node {
    /// The `i`-th node over a run of at most [`FANOUT`] children (entries or nodes), given as
    /// (aggregate, bbox) in storage order.
    fn group(i: usize, children: impl Iterator<Item = (Agg, [f64; 4])>) -> Node {
        let children: Vec<(Agg, [f64; 4])> = children.collect();
        let (mut agg, mut bbox) = children[0];
        for (a, b) in &children[1..] {
            agg.merge(a);
            bbox = union(&bbox, b);
        }
        let by_min_id = order_by_min_id(children.iter().map(|(a, _)| a.min_id));
        Node {
            bbox,
            first: (i * FANOUT) as u32,
            len: children.len() as u32,
            agg,
            by_min_id,
        }
    }
}

fn order_by_min_id(mins: impl Iterator<Item = i64>) -> [u8; FANOUT] {
    let mut keyed: Vec<(i64, u8)> = mins.enumerate().map(|(i, m)| (m, i as u8)).collect();
    keyed.sort_unstable();
    let mut order = [0u8; FANOUT];
    for (slot, (_, i)) in order.iter_mut().zip(keyed) {
        *slot = i;
    }
    order
}

/// The packed tree.
#[derive(Debug, Default)]
pub struct Packed {
    entries: Vec<HotspotEntry>,
    /// The entries' positions again, contiguous, so scans of leaves that straddle a bbox edge read
    /// 16 bytes per entry instead of 40.
    positions: Vec<[f64; 2]>,
    /// `levels[0]` groups entries; each next level groups the one below; the last has the root.
    levels: Vec<Vec<Node>>,
}

fn union(a: &[f64; 4], b: &[f64; 4]) -> [f64; 4] {
    [
        a[0].min(b[0]),
        a[1].min(b[1]),
        a[2].max(b[2]),
        a[3].max(b[3]),
    ]
}

fn contains(outer: &[f64; 4], inner: &[f64; 4]) -> bool {
    outer[0] <= inner[0] && outer[1] <= inner[1] && outer[2] >= inner[2] && outer[3] >= inner[3]
}

fn intersects(a: &[f64; 4], b: &[f64; 4]) -> bool {
    a[0] <= b[2] && a[2] >= b[0] && a[1] <= b[3] && a[3] >= b[1]
}

fn inside(p: &[f64; 2], b: &[f64; 4]) -> bool {
    p[0] >= b[0] && p[0] <= b[2] && p[1] >= b[1] && p[1] <= b[3]
}

/// Position of (x, y) on a Hilbert curve over a 2^16 × 2^16 grid.
fn hilbert(mut x: u32, mut y: u32) -> u64 {
    const N: u32 = 1 << 16;
    let mut d: u64 = 0;
    let mut s = N / 2;
    while s > 0 {
        let rx = u32::from(x & s > 0);
        let ry = u32::from(y & s > 0);
        d += u64::from(s) * u64::from(s) * u64::from((3 * rx) ^ ry);
        if ry == 0 {
            if rx == 1 {
                x = N - 1 - x;
                y = N - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s /= 2;
    }
    d
}

impl Packed {
    pub fn build(mut entries: Vec<HotspotEntry>) -> Packed {
        if entries.is_empty() {
            return Packed::default();
        }
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for e in &entries {
            x0 = x0.min(e.pos[0]);
            y0 = y0.min(e.pos[1]);
            x1 = x1.max(e.pos[0]);
            y1 = y1.max(e.pos[1]);
        }
        let (w, h) = ((x1 - x0).max(1e-12), (y1 - y0).max(1e-12));
        let q = |v: f64, lo: f64, span: f64| ((v - lo) / span * 65535.0) as u32;
        entries.sort_by_cached_key(|e| (hilbert(q(e.pos[0], x0, w), q(e.pos[1], y0, h)), e.id));
        let mut levels = vec![
            entries
                .chunks(FANOUT)
                .enumerate()
                .map(|(i, chunk)| {
                    Node::group(
                        i,
                        chunk
                            .iter()
                            .map(|e| (Agg::of(e), [e.pos[0], e.pos[1], e.pos[0], e.pos[1]])),
                    )
                })
                .collect::<Vec<_>>(),
        ];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let below = levels.last().map(Vec::as_slice).unwrap_or_default();
            let up: Vec<Node> = below
                .chunks(FANOUT)
                .enumerate()
                .map(|(i, chunk)| Node::group(i, chunk.iter().map(|n| (n.agg, n.bbox))))
                .collect();
            levels.push(up);
        }
        let positions = entries.iter().map(|e| e.pos).collect();
        Packed {
            entries,
            positions,
            levels,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn entries(&self) -> &[HotspotEntry] {
        &self.entries
    }

    fn root(&self) -> Option<(usize, usize)> {
        self.levels.len().checked_sub(1).map(|l| (l, 0))
    }

    /// Matches inside `bbox` with `id <= bound` (all when `None`).
    pub fn count(&self, f: &Compiled, bbox: &[f64; 4], bound: Option<i64>) -> usize {
        match self.root() {
            Some((l, i)) => self.count_at(l, i, f, bbox, bound),
            None => 0,
        }
    }

    fn count_at(
        &self,
        level: usize,
        idx: usize,
        f: &Compiled,
        q: &[f64; 4],
        bound: Option<i64>,
    ) -> usize {
        let node = &self.levels[level][idx];
        if !intersects(&node.bbox, q) || bound.is_some_and(|b| node.agg.min_id > b) {
            return 0;
        }
        if contains(q, &node.bbox)
            && bound.is_none_or(|b| node.agg.max_id <= b)
            && let Some(n) = node.agg.matching(f)
        {
            return n;
        }
        let range = node.first as usize..(node.first + node.len) as usize;
        if level == 0 {
            if bound.is_none() && f.is_trivial() {
                return self.positions[range]
                    .iter()
                    .filter(|p| inside(p, q))
                    .count();
            }
            let start = range.start;
            self.positions[range]
                .iter()
                .enumerate()
                .filter(|(i, p)| {
                    inside(p, q) && {
                        let e = &self.entries[start + i];
                        bound.is_none_or(|b| e.id <= b) && f.matches(e)
                    }
                })
                .count()
        } else {
            range
                .map(|c| self.count_at(level - 1, c, f, q, bound))
                .sum()
        }
    }

    /// Calls `out` for every entry inside `q` that `f` matches (tombstones are the caller's to
    /// skip); whole nodes outside `q`, or with no match by their aggregates, are passed over.
    pub fn visit(&self, f: &Compiled, q: &[f64; 4], out: &mut dyn FnMut(&HotspotEntry)) {
        if let Some((level, idx)) = self.root() {
            self.visit_at(level, idx, f, q, out);
        }
    }

    fn visit_at(
        &self,
        level: usize,
        idx: usize,
        f: &Compiled,
        q: &[f64; 4],
        out: &mut dyn FnMut(&HotspotEntry),
    ) {
        let node = &self.levels[level][idx];
        if !intersects(&node.bbox, q) || node.agg.matching(f) == Some(0) {
            return;
        }
        let range = node.first as usize..(node.first + node.len) as usize;
        if level == 0 {
            for e in &self.entries[range] {
                if inside(&e.pos, q) && f.matches(e) {
                    out(e);
                }
            }
        } else {
            for c in range {
                self.visit_at(level - 1, c, f, q, out);
            }
        }
    }

    /// Pushes matching ids greater than `after` into `heap`, keeping the `limit` smallest;
    /// `skip` says which ids are tombstoned.
    pub fn smallest(
        &self,
        f: &Compiled,
        q: &[f64; 4],
        after: i64,
        limit: usize,
        heap: &mut BinaryHeap<i64>,
        skip: &dyn Fn(i64) -> bool,
    ) {
        let Some((root_level, root)) = self.root() else {
            return;
        };
        let wanted = |n: &Node| {
            intersects(&n.bbox, q)
                && n.agg.max_id > after
                && !(contains(q, &n.bbox) && n.agg.matching(f) == Some(0))
        };
        // Best-first by each node's smallest id: once the page is full and the next node's smallest
        // id cannot beat the page's largest, nothing left can.
        let mut frontier: BinaryHeap<Reverse<(i64, usize, usize)>> = BinaryHeap::new();
        if wanted(&self.levels[root_level][root]) {
            frontier.push(Reverse((
                self.levels[root_level][root].agg.min_id,
                root_level,
                root,
            )));
        }
        while let Some(Reverse((min_id, level, idx))) = frontier.pop() {
            if heap.len() >= limit && heap.peek().is_some_and(|&top| min_id >= top) {
                break;
            }
            let node = &self.levels[level][idx];
            let first = node.first as usize;
            if level == 0 {
                for &i in &node.by_min_id[..node.len as usize] {
                    let e = &self.entries[first + i as usize];
                    if heap.len() >= limit && heap.peek().is_some_and(|&top| e.id >= top) {
                        break; // entries come by ascending id: nothing further can make the page
                    }
                    if e.id <= after || !inside(&e.pos, q) || !f.matches(e) || skip(e.id) {
                        continue;
                    }
                    if heap.len() < limit {
                        heap.push(e.id);
                    } else if let Some(mut top) = heap.peek_mut() {
                        *top = e.id;
                    }
                }
            } else {
                let below = &self.levels[level - 1];
                let bar = if heap.len() >= limit {
                    heap.peek().copied().unwrap_or(i64::MAX)
                } else {
                    i64::MAX
                };
                for (c, child) in below.iter().enumerate().skip(first).take(node.len as usize) {
                    if child.agg.min_id < bar && wanted(child) {
                        frontier.push(Reverse((child.agg.min_id, level - 1, c)));
                    }
                }
            }
        }
    }

    /// The entry with `id` at `pos`, if present.
    pub fn find(&self, id: i64, pos: [f64; 2]) -> Option<&HotspotEntry> {
        let (l, i) = self.root()?;
        self.find_at(l, i, id, &pos)
    }

    fn find_at(&self, level: usize, idx: usize, id: i64, p: &[f64; 2]) -> Option<&HotspotEntry> {
        let node = &self.levels[level][idx];
        if !inside(p, &node.bbox) || id < node.agg.min_id || id > node.agg.max_id {
            return None;
        }
        let range = node.first as usize..(node.first + node.len) as usize;
        if level == 0 {
            self.entries[range].iter().find(|e| e.id == id)
        } else {
            range
                .into_iter()
                .find_map(|c| self.find_at(level - 1, c, id, p))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::hilbert;

    #[test]
    fn hilbert_visits_neighbours_in_order() {
        // On a Hilbert curve consecutive positions are grid neighbours; spot-check the first cells.
        let mut cells: Vec<(u64, u32, u32)> = (0..4)
            .flat_map(|x| (0..4).map(move |y| (hilbert(x << 14, y << 14), x, y)))
            .collect();
        cells.sort();
        for w in cells.windows(2) {
            let (dx, dy) = (
                (w[0].1 as i64 - w[1].1 as i64).abs(),
                (w[0].2 as i64 - w[1].2 as i64).abs(),
            );
            assert_eq!(dx + dy, 1, "{w:?}");
        }
    }
}
