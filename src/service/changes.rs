//! Several nodes on one PostgreSQL store (issue 17): each node's in-memory hotspot index follows
//! the writes of every node through the store's change feed (`hotspot_changes`, appended by a
//! trigger in the writing transaction, announced by `NOTIFY vigil_changes`). A node applies the
//! rows after the last one it has seen — its own writes too, which it already applied at commit:
//! applying a change is idempotent (the entry is removed at its old and current place and put
//! back as the row is now), so the index converges on the store. Without a notification (a lost
//! connection) the feed is read every [`POLL`] anyway.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{Result, Vigil};
use crate::store::hotspots as hs;

/// The longest a change waits when a notification is lost.
pub const POLL: Duration = Duration::from_millis(500);

/// Changes read per statement.
const BATCH: i64 = 5_000;

impl Vigil {
    /// Applies every change of the feed not yet seen to the hotspot index; how many.
    pub fn apply_changes(&self) -> Result<usize> {
        let mut total = 0;
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
            }
            self.hotspots
                .insert_many(changes.iter().filter_map(|c| c.live.clone()));
            self.change_seq.store(last, Ordering::SeqCst);
            total += changes.len();
        }
    }

    /// Follows the change feed until shutdown (`vigil serve` runs it on its own thread when the
    /// store is PostgreSQL; returns at once on SQLite).
    pub fn follow_changes(&self) {
        let mut listener = None;
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
