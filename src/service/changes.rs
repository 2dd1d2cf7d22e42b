//! Several nodes on one PostgreSQL store (issue 17): each node's in-memory hotspot index and
//! render cache follow the writes of every node through the store's change feed
//! (`hotspot_changes`, appended by a trigger in the writing transaction, announced by
//! `NOTIFY vigil_changes`). A node applies the rows after the last one it has seen — its own
//! writes too, which it already applied at commit: applying a change is idempotent (the entry is
//! removed at its old and current place and put back as the row is now, its rendering dropped),
//! so the index converges on the store. Without a notification (a lost connection) the feed is
//! read every [`POLL`] anyway.
//!
//! The feed is pruned: rows older than [`KEEP`] go (any node prunes, every [`PRUNE_EVERY`]), and
//! `change_horizon` records through which `seq`; a node that had not applied that far (it was
//! stopped in a debugger, or its connection was down for minutes) reloads its index whole.
//! Boundaries and users change rarely and in bulk: a counter per kind, bumped by a statement
//! trigger, tells a node to reload its boundary index (and drop every rendering, which names
//! communes) or to forget its cached tokens (a token revoked on one node stops working on every
//! node within [`POLL`], not after the cache's 30 s). The survey index follows the store's ready
//! surveys as the worker does between jobs, so a node without a worker sees new surveys too.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{Result, Vigil};
use crate::index::BoundaryIndex;
use crate::store::hotspots as hs;

/// The longest a change waits when a notification is lost.
pub const POLL: Duration = Duration::from_millis(500);

/// How long the feed keeps a change.
pub const KEEP: Duration = Duration::from_secs(600);

/// How often a node prunes the feed.
pub const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Changes read per statement.
const BATCH: i64 = 5_000;

impl Vigil {
    /// Applies every change of the feed not yet seen to the hotspot index and the render cache;
    /// how many (a node that fell behind the pruned horizon reloads its index whole instead).
    pub fn apply_changes(&self) -> Result<usize> {
        let mut total = 0;
        let horizon = self.store().read(hs::change_horizon)?;
        let seen = self.change_seq.load(Ordering::SeqCst);
        if seen < horizon {
            // Read before the rows: a change committed in between is applied again, harmlessly.
            let last = self.store().read(hs::last_change)?;
            let rows = self.store().read(hs::index_rows)?;
            total += rows.len();
            self.hotspots.replace_all(rows);
            self.rendered.clear();
            self.change_seq.store(last, Ordering::SeqCst);
            tracing::warn!(
                seen,
                horizon,
                "this node missed pruned changes; its hotspot index was reloaded"
            );
        }
        loop {
            let after = self.change_seq.load(Ordering::SeqCst);
            let changes = self.store().read(|c| hs::changes_since(c, after, BATCH))?;
            let Some(last) = changes.last().map(|c| c.seq) else {
                return Ok(total);
            };
            for ch in &changes {
                if let Some((lon, lat)) = ch.old {
                    self.hotspots.remove(ch.id, lon, lat);
                }
                self.hotspots.remove(ch.id, ch.at.0, ch.at.1);
                self.rendered.invalidate(ch.id);
            }
            self.hotspots
                .insert_many(changes.iter().filter_map(|c| c.live.clone()));
            self.change_seq.store(last, Ordering::SeqCst);
            total += changes.len();
        }
    }

    /// Acts on the boundary and user counters: reloads the boundary index (and drops every
    /// rendering) or forgets cached tokens when another node (or this one) changed them.
    pub fn apply_counters(&self) -> Result<()> {
        let (b, u) = self.store().read(hs::change_counters)?;
        let mut seen = self.change_counters.lock();
        if b != seen.0 {
            let (rows, skipped) = self.store().read(crate::store::boundaries::load_all)?;
            for s in &skipped {
                tracing::warn!(?s, "a stored boundary cannot be read; left out");
            }
            let n = rows.len();
            *self.boundaries.write() = Arc::new(BoundaryIndex::new(rows));
            self.rendered.clear();
            tracing::info!(boundaries = n, "boundaries changed in the store; reloaded");
        }
        if u != seen.1 {
            self.forget_tokens();
        }
        *seen = (b, u);
        Ok(())
    }

    /// Follows the change feed until shutdown (`vigil serve` runs it on its own thread when the
    /// store is PostgreSQL; returns at once on SQLite).
    pub fn follow_changes(&self) {
        let mut listener = None;
        let mut pruned = Instant::now();
        while !self.jobs.shutdown.load(Ordering::SeqCst) {
            if listener.is_none() {
                match self.store().listen_changes() {
                    Ok(None) => return,
                    Ok(Some(l)) => listener = Some(l),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen to the change feed; reading it every {POLL:?}");
                    }
                }
            }
            if let Err(e) = self.apply_changes() {
                tracing::warn!(error = %e, "cannot apply the change feed");
            }
            if let Err(e) = self.apply_counters() {
                tracing::warn!(error = %e, "cannot follow the boundary and user changes");
            }
            if let Err(e) = self.refresh_surveys_if_changed() {
                tracing::warn!(error = %e, "cannot refresh the survey index");
            }
            if pruned.elapsed() >= PRUNE_EVERY {
                pruned = Instant::now();
                match self
                    .store()
                    .write(|tx| hs::prune_changes(tx, KEEP.as_secs() as i64))
                {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(rows = n, "pruned the change feed"),
                    Err(e) => tracing::warn!(error = %e, "cannot prune the change feed"),
                }
            }
            match listener.as_mut().map(|l| l.wait(POLL)) {
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "the change feed's connection failed; connecting again");
                    listener = None;
                    std::thread::sleep(POLL);
                }
                None => std::thread::sleep(POLL),
            }
        }
    }
}
