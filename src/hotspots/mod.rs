//! The hotspot registry's domain: what a hotspot (*điểm, tụ điểm*) is, its kinds and its lifecycle.
//!
//! A hotspot is a place, never a person. This module does no IO: storage lives in `store`, HTTP in `api`.

pub mod import;
pub mod lifecycle;
pub mod model;

pub use lifecycle::{Status, TransitionError};
pub use model::{Hotspot, HotspotEvent, HotspotInput, Kind};
