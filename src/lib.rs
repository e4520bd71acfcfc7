//! feedloom turns sources (feeds and HTML news pages) into clean per-channel feeds.
//!
//! See `ARCHITECTURE.md` for the bird's-eye view. Write path:
//! `scheduler → refresh → fetch → decode → parse | extract → normalize → store`, then the
//! server's cache of rendered channels is invalidated. Read path:
//! `server → cache → (miss) store → aggregate → render`.

pub mod aggregate;
pub mod app;
pub mod cache;
pub mod cli;
pub mod config;
pub mod decode;
pub mod extract;
pub mod fetch;
pub mod http;
pub mod model;
pub mod normalize;
pub mod opml;
pub mod pages;
pub mod parse;
pub mod refresh;
pub mod render;
pub mod scheduler;
pub mod sendfile;
pub mod server;
pub mod store;
