//! One integration-test binary (faster to link than one per file). Each module tests one stage or
//! one scenario; `support` starts the real daemon and a local origin.

mod cli;
mod cluster;
mod cluster_diskfull;
mod conformance;
mod discovery;
mod diskfull;
mod durability;
mod extract_stage;
mod extract_tail;
mod foundation;
mod full_text;
mod html_sources;
mod layout;
mod limits;
mod ops;
mod paging;
mod parse_stage;
mod polling;
mod render_stage;
mod request_options;
mod secrets;
mod source_page;
mod suggest;
mod support;
mod websub_hub;
mod websub_subscriber;
