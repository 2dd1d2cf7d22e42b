//! A cache of rendered hotspot features (their GeoJSON bytes, as `api` wrote them), so map
//! clients that page over the same areas are answered without the store. It holds bytes only;
//! `service` invalidates an id in commit order whenever that hotspot changes and clears everything
//! when boundaries (hence commune names) change.
//!
//! Readers note the cache's epoch before reading the store and may only add what they read if no
//! invalidation happened since, so a slow reader can never put back a stale rendering.

use std::collections::HashMap;

use bytes::Bytes;
use parking_lot::RwLock;

/// Entries kept before the cache starts over (about 500 bytes each).
pub const MAX_ENTRIES: usize = 300_000;

#[derive(Debug, Default)]
pub struct RenderCache {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    epoch: u64,
    map: HashMap<i64, Bytes>,
}

impl RenderCache {
    /// Cached renderings for `ids` (in order) and the epoch they were read at.
    pub fn get_many(&self, ids: &[i64]) -> (Vec<Option<Bytes>>, u64) {
        let inner = self.inner.read();
        (
            ids.iter().map(|id| inner.map.get(id).cloned()).collect(),
            inner.epoch,
        )
    }

    /// Calls `f` with every rendering of `ids` in order, without copying them, when all are cached.
    pub fn with_all<R>(
        &self,
        ids: &[i64],
        f: impl FnOnce(&mut dyn Iterator<Item = &[u8]>) -> R,
    ) -> Option<R> {
        let inner = self.inner.read();
        let found: Option<Vec<&[u8]>> = ids
            .iter()
            .map(|id| inner.map.get(id).map(|b| b.as_ref()))
            .collect();
        let found = found?;
        Some(f(&mut found.into_iter()))
    }

    /// Adds renderings made from a store read that started at `epoch`; ignored if anything was
    /// invalidated since.
    pub fn put_many(&self, epoch: u64, items: impl IntoIterator<Item = (i64, Bytes)>) {
        let mut inner = self.inner.write();
        if inner.epoch != epoch {
            return;
        }
        if inner.map.len() > MAX_ENTRIES {
            inner.map.clear();
        }
        inner.map.extend(items);
    }

    pub fn invalidate(&self, id: i64) {
        let mut inner = self.inner.write();
        inner.epoch += 1;
        inner.map.remove(&id);
    }

    pub fn clear(&self) {
        let mut inner = self.inner.write();
        inner.epoch += 1;
        inner.map.clear();
    }

    pub fn len(&self) -> usize {
        self.inner.read().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_renderings_are_not_put_back() {
        let c = RenderCache::default();
        let (_, epoch) = c.get_many(&[1]);
        c.invalidate(1); // a writer commits while the reader is busy
        c.put_many(epoch, [(1, Bytes::from_static(b"old"))]);
        assert_eq!(c.get_many(&[1]).0, vec![None]);
        let (_, epoch) = c.get_many(&[1]);
        c.put_many(epoch, [(1, Bytes::from_static(b"new"))]);
        assert_eq!(c.get_many(&[1]).0, vec![Some(Bytes::from_static(b"new"))]);
        c.clear();
        assert!(c.is_empty());
    }
}
