//! In-memory spatial indexes over hotspots (a packed R-tree with per-node aggregates, plus an rstar
//! overlay for recent changes) and boundaries (rstar).
//!
//! The store is the source of truth; these indexes are rebuilt from it at start-up and kept in step
//! with every committed write. No IO here, so everything is tested without files or servers.

pub mod boundaries;
pub mod hotspots;
pub(crate) mod packed;

pub use boundaries::BoundaryIndex;
pub use hotspots::{HotspotEntry, HotspotFilter, HotspotIndex, Page};
