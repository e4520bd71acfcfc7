//! feedloom turns sources (feeds and HTML news pages) into clean per-channel feeds.
//!
//! See `ARCHITECTURE.md` for the bird's-eye view. The layout is the architecture, and imports
//! run one way, top to bottom:
//!
//! - `cli` (the command line) → `app` (the wiring) →
//! - `ingest` (the write path: scheduler → refresh → fetch → decode → parse | extract →
//!   normalize, then one store call) and `serve` (the read path: HTTP → routes → cache →
//!   aggregate → render) →
//!   `cluster` (replication over NATS JetStream, in cluster mode) sits beside them →
//! - `store`, `config`, `model` and `threads` (thread priorities), which import nothing above
//!   them.

pub mod app;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod ingest;
pub mod model;
pub mod serve;
pub mod store;
pub mod threads;
