//! The per-tile vegetation classifier (issue 4): cell features of analysis tiles (`features`), a
//! small pure-Rust model in a versioned JSON file (`model`), its training from labelled scenes
//! (`train`), and object-level evaluation against ground truth (`eval`).

pub mod augment;
pub mod cnn;
pub mod eval;
pub mod features;
pub mod gbdt;
pub mod model;
pub mod photometry;
pub mod plots;
pub mod reader;
pub mod scale;
pub mod train;
