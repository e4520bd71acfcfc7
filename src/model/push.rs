//! What the read path hands the write path when a WebSub hub calls a source's callback URL
//! (`/websub/callback/{source}/{token}`), and the answer it gets: plain data, so that the
//! HTTP route needs nothing of the subscriber behind it.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;

/// One request from a hub to a source's callback.
#[derive(Debug, Clone)]
pub struct CallbackRequest {
    pub source: String,
    /// The callback URL's last segment.
    pub token: String,
    /// POST (content) rather than GET (intent verification).
    pub post: bool,
    pub query: HashMap<String, String>,
    /// `X-Hub-Signature`, when given.
    pub signature: Option<String>,
    pub content_type: Option<String>,
    pub body: Bytes,
}

/// The status and plain-text body to answer the hub with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackAnswer {
    pub status: u16,
    pub body: String,
}

impl CallbackAnswer {
    pub fn new(status: u16, body: impl Into<String>) -> CallbackAnswer {
        CallbackAnswer {
            status,
            body: body.into(),
        }
    }
}

/// The write path's handler of callback requests, as the wiring hands it to the read path.
pub type PushHandle = Arc<
    dyn Fn(CallbackRequest) -> Pin<Box<dyn Future<Output = CallbackAnswer> + Send>> + Send + Sync,
>;
