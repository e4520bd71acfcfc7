//! The write path: decide when each source is due, fetch it, read it and hand one
//! [`RefreshResult`](crate::model::RefreshResult) per refresh to the store.
//!
//! `scheduler → refresh → fetch → decode → parse | extract → normalize`, then
//! `Store::apply`. Everything below `refresh` except `fetch` is a pure stage. The write path
//! never imports the read path: it tells the rest of the daemon which channels changed through
//! the `changed` handle it is given.

pub mod cpu;
pub mod decode;
pub mod extract;
pub mod fetch;
pub mod fulltext;
pub mod normalize;
pub mod page;
pub mod parse;
pub mod refresh;
pub mod request;
pub mod scheduler;
pub mod state;
pub mod websub;

pub use fetch::fetch_config;
pub use refresh::{Publish, Sink};
pub use state::{own_everything, ChannelsChanged, Ingest, Ownership, Permit, PollPermit};
