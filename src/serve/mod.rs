//! The read path: the HTTP listener, the routes, and the rendered-feed cache behind them.
//!
//! `http worker → routes::respond → cache (hit: bytes) | miss: store → aggregate → render`.
//! The read path never imports the write path: it reads the store, the config and the live
//! source states it is handed.

pub mod aggregate;
pub mod cache;
pub mod http;
pub mod limits;
pub mod opml;
pub mod pages;
pub mod paging;
pub mod render;
pub mod routes;
pub mod sendfile;
pub mod source_page;
pub mod state;
pub mod websub;

pub use state::{metrics_handle, ClusterView, Reload, ServeState, RENDER_DEBOUNCE};
