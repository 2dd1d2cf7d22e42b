//! Vigil: a geospatial service for Vietnam's provincial drug-control work.
//!
//! The modules follow the way data moves (see `ARCHITECTURE.md`):
//! `ingest` (GDAL) → `store` (SQLite) → `index` (R-trees) → `service` (rules) → `api` (HTTP), beside the
//! `hotspots` and `boundaries` domain types and `auth`.

#![recursion_limit = "256"]

pub mod analytics;
pub mod api;
pub mod auth;
pub mod basemap;
pub mod boundaries;
pub mod cache;
pub mod classify;
pub mod config;
pub mod demo;
pub mod evidence;
pub mod export;
pub mod filter;
pub mod grid;
pub mod hotspots;
pub mod index;
pub mod ingest;
pub mod mvt;
pub mod redact;
pub mod reports;
pub mod review;
pub mod sample;
pub mod service;
pub mod storage;
pub mod store;
pub mod tiling;
pub mod time_util;
pub mod upload;

pub use config::Config;
pub use service::Vigil;
