//! In-memory R-trees (rstar) over hotspots and boundaries.
//!
//! The store is the source of truth; these indexes are rebuilt from it at start-up and kept in step
//! with every committed write. No IO here, so everything is tested without files or servers.

pub mod boundaries;
pub mod hotspots;

pub use boundaries::BoundaryIndex;
pub use hotspots::{HotspotEntry, HotspotFilter, HotspotIndex, Page};
