//! HTTP routes: every request ends in [`respond`], which routes by path. Feeds are
//! answered from the rendered cache (no parsing, no store scan, no rendering when nothing
//! changed). Errors become statuses in one place: [`ServeError::into_response`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use warp::http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
use warp::Filter;

use super::state::ServeState;
use crate::config::ChannelConfig;
use crate::model::cluster::ClusterStatus;
use crate::serve::cache::Rendered;
use crate::serve::pages::{self, ChannelCard};
use crate::serve::render::{self, Format};
use crate::serve::{aggregate, paging, source_page};

/// What can go wrong serving a request; mapped to a status in one place.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    BadRequest(String),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServeError {
    fn status(&self) -> StatusCode {
        match self {
            ServeError::NotFound => StatusCode::NOT_FOUND,
            ServeError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ServeError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ServeError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ServeError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn into_response(self) -> Response<Bytes> {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut r = Response::new(Bytes::from(format!("{self}\n")));
        *r.status_mut() = status;
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        r
    }
}

/// The warp filter for every request that does not take the feed fast path (see
/// [`crate::serve::http`]); it answers through the same [`respond`].
pub fn routes(state: Arc<ServeState>) -> Routes {
    // A hub's requests to a source's callback (the WebSub subscriber): GET verifies intent,
    // POST pushes content (its body bounded by the listener).
    let st = state.clone();
    let callback = warp::path!("websub" / "callback" / String / String)
        .and(warp::method())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(warp::body::bytes())
        .then(
            move |source: String,
                  token: String,
                  method: Method,
                  raw_query: String,
                  headers: HeaderMap,
                  body: Bytes| {
                websub_callback(st.clone(), source, token, method, raw_query, headers, body)
            },
        );
    // `POST /websub`: a subscription to one of this hub's feeds (its body bounded by the listener).
    let st = state.clone();
    let websub = warp::post()
        .and(warp::path!("websub"))
        .and(warp::body::bytes())
        .then(move |body: Bytes| websub_request(st.clone(), body));
    let any = warp::method()
        .and(warp::path::full())
        // The raw query, parsed only by the routes that read it (most requests have none).
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(warp::any().map(move || state.clone()))
        .then(
            |method: Method,
             path: warp::path::FullPath,
             raw_query: String,
             headers: HeaderMap,
             state: Arc<ServeState>| async move {
                respond(&state, &method, path.as_str(), &raw_query, &headers).await
            },
        );
    websub.or(callback).unify().or(any).unify().boxed()
}

/// `GET|POST /websub/callback/{source}/{token}`: handed to the subscriber (see
/// `ingest::websub`); 404 when there is none or the token is not one it gave out.
async fn websub_callback(
    state: Arc<ServeState>,
    source: String,
    token: String,
    method: Method,
    raw_query: String,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Bytes> {
    let started = Instant::now();
    let resp = match (state.push.get(), &method) {
        (Some(push), &Method::GET | &Method::POST) => {
            let header = |h: header::HeaderName| {
                headers
                    .get(h)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let answer = push(crate::model::push::CallbackRequest {
                source: percent_encoding::percent_decode_str(&source)
                    .decode_utf8_lossy()
                    .into_owned(),
                token,
                post: method == Method::POST,
                query: url::form_urlencoded::parse(raw_query.as_bytes())
                    .into_owned()
                    .collect(),
                signature: header(header::HeaderName::from_static("x-hub-signature")),
                content_type: header(header::CONTENT_TYPE),
                body,
            })
            .await;
            let mut r = text("text/plain; charset=utf-8", answer.body);
            *r.status_mut() =
                StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            r
        }
        (Some(_), _) => ServeError::MethodNotAllowed.into_response(),
        (None, _) => ServeError::NotFound.into_response(),
    };
    let m = serve_metrics();
    m.requests[7][status_index(resp.status())].increment(1);
    m.seconds[7].record(started.elapsed().as_secs_f64());
    resp
}

/// `POST /websub`: a subscription request is checked (400 with the reason), answered 202, and
/// its intent verified with the subscriber afterwards.
async fn websub_request(state: Arc<ServeState>, body: Bytes) -> Response<Bytes> {
    let started = Instant::now();
    let resp = match state.websub.accept(&body).await {
        Err(why) => ServeError::BadRequest(why).into_response(),
        Ok(intent) => match state.websub.verification_slot() {
            Some(slot) => {
                let hub = state.websub.clone();
                hub.spawn(async move {
                    state.websub.verify(&state.cache, intent).await;
                    drop(slot);
                });
                let mut r = text("text/plain; charset=utf-8", "accepted; verifying intent\n");
                *r.status_mut() = StatusCode::ACCEPTED;
                r
            }
            None => {
                let mut r = text(
                    "text/plain; charset=utf-8",
                    "too many subscription requests are being verified; retry later\n",
                );
                *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                r.headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from_static("10"));
                r
            }
        },
    };
    let m = serve_metrics();
    m.requests[7][status_index(resp.status())].increment(1);
    m.seconds[7].record(started.elapsed().as_secs_f64());
    resp
}

/// The filter's type, boxed so that the listener can name it (only the slow routes use it).
pub type Routes = warp::filters::BoxedFilter<(Response<Bytes>,)>;

/// Answer one request (any route), counting it in the request metrics.
pub async fn respond(
    state: &Arc<ServeState>,
    method: &Method,
    path: &str,
    raw_query: &str,
    headers: &HeaderMap,
) -> Response<Bytes> {
    let query: HashMap<String, String> = if raw_query.is_empty() {
        HashMap::new()
    } else {
        url::form_urlencoded::parse(raw_query.as_bytes())
            .into_owned()
            .collect()
    };
    let started = Instant::now();
    let route = route_index(path);
    let resp = match handle(state, method, path, &query, headers).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    let m = serve_metrics();
    m.requests[route][status_index(resp.status())].increment(1);
    m.seconds[route].record(started.elapsed().as_secs_f64());
    resp
}

const ROUTES: [&str; 9] = [
    "index",
    "opml",
    "healthz",
    "metrics",
    "api_sources",
    "feed",
    "admin",
    "other",
    "source",
];
const STATUSES: [&str; 8] = ["200", "304", "400", "404", "405", "500", "503", "other"];

fn status_index(s: StatusCode) -> usize {
    match s.as_u16() {
        200 => 0,
        304 => 1,
        400 => 2,
        404 => 3,
        405 => 4,
        500 => 5,
        503 => 6,
        _ => 7,
    }
}

fn route_index(path: &str) -> usize {
    match path {
        "/" => 0,
        "/opml" => 1,
        "/healthz" => 2,
        "/metrics" => 3,
        "/api/sources" | "/api/cluster" => 4,
        p if p.starts_with("/feeds/") => 5,
        p if p.starts_with("/admin/") => 6,
        p if p.starts_with("/sources/") => 8,
        _ => 7,
    }
}

/// Request metrics as handles registered once: counting a request is an atomic add, with no
/// label hashing or registry lookup on the hot path.
struct ServeMetrics {
    requests: Vec<Vec<metrics::Counter>>,
    seconds: Vec<metrics::Histogram>,
}

fn serve_metrics() -> &'static ServeMetrics {
    static M: std::sync::OnceLock<ServeMetrics> = std::sync::OnceLock::new();
    M.get_or_init(|| {
        // The recorder must exist before handles are made.
        let _ = super::state::metrics_handle();
        ServeMetrics {
            requests: ROUTES
                .iter()
                .map(|r| {
                    STATUSES
                        .iter()
                        .map(|s| {
                            metrics::counter!("feedloom_http_requests_total", "route" => *r, "status" => *s)
                        })
                        .collect()
                })
                .collect(),
            seconds: ROUTES
                .iter()
                .map(|r| metrics::histogram!("feedloom_http_seconds", "route" => *r))
                .collect(),
        }
    })
}

async fn handle(
    state: &Arc<ServeState>,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Response<Bytes>, ServeError> {
    let read = method == Method::GET || method == Method::HEAD;
    let resp = match path {
        p if p.starts_with("/feeds/") => {
            if !read {
                return Err(ServeError::MethodNotAllowed);
            }
            // Channel ids may be non-ASCII, and links to them are percent-encoded. Borrowed
            // (no allocation) when there is nothing to decode, as for most requests.
            let name = percent_encoding::percent_decode_str(&p["/feeds/".len()..])
                .decode_utf8()
                .map_err(|_| ServeError::NotFound)?;
            feed(state, &name, query, headers).await?
        }
        "/" if read => index(state).await?,
        p if p.starts_with("/sources/") => {
            if !read {
                return Err(ServeError::MethodNotAllowed);
            }
            let id = percent_encoding::percent_decode_str(&p["/sources/".len()..])
                .decode_utf8()
                .map_err(|_| ServeError::NotFound)?;
            source(state, &id).await?
        }
        "/opml" if read => opml(state),
        "/healthz" if read => healthz(state).await?,
        "/metrics" if read => {
            metrics::counter!("feedloom_http_sendfile_bytes_total")
                .absolute(super::sendfile::sent_bytes());
            text(
                "text/plain; version=0.0.4; charset=utf-8",
                super::state::metrics_handle().render(),
            )
        }
        "/api/sources" if read => api_sources(state).await?,
        "/api/cluster" if read => api_cluster(state)?,
        "/admin/reload" if method == Method::POST => admin_reload(state, headers).await?,
        "/" | "/opml" | "/healthz" | "/metrics" | "/api/sources" | "/api/cluster" | "/websub" => {
            return Err(ServeError::MethodNotAllowed)
        }
        _ => return Err(ServeError::NotFound),
    };
    Ok(if method == Method::HEAD {
        head_of(resp)
    } else {
        resp
    })
}

/// A HEAD answer: the GET headers (Content-Length included) without the body.
fn head_of(resp: Response<Bytes>) -> Response<Bytes> {
    let (mut parts, body) = resp.into_parts();
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    Response::from_parts(parts, Bytes::new())
}

fn text(content_type: &'static str, body: impl Into<Bytes>) -> Response<Bytes> {
    let mut r = Response::new(body.into());
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// Bearer token from the query or the Authorization header matches the channel's.
fn authorized(ch: &ChannelConfig, query: &HashMap<String, String>, headers: &HeaderMap) -> bool {
    let Some(expected) = &ch.token else {
        return true;
    };
    let given = query.get("token").cloned().or_else(|| {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_string())
    });
    given.is_some_and(|g| constant_time_eq(g.as_bytes(), expected.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|enc| {
            let mut parts = enc.split(';');
            let name = parts.next().unwrap_or("").trim();
            let q_zero = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !q_zero
        })
}

/// True when the client's validators show it already has these bytes.
fn not_modified(r: &Rendered, headers: &HeaderMap) -> bool {
    if let Some(matches) = etag_matches(&r.etag, headers) {
        // If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2).
        return matches;
    }
    if let Some(ims) = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
    {
        return r.last_modified_at.timestamp() <= ims.timestamp();
    }
    false
}

/// A feed answer: 304 when the reader has it (`fresh`), else the gzip copy when accepted or
/// the plain bytes; with the headers every feed answer has (type, `Vary`, caching).
fn feed_answer(
    fresh: bool,
    headers: &HeaderMap,
    plain: Bytes,
    gzipped: impl FnOnce() -> Bytes,
    format: Format,
    private: bool,
) -> Response<Bytes> {
    let mut r = if fresh {
        let mut r = Response::new(Bytes::new());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else if accepts_gzip(headers) {
        let mut r = Response::new(gzipped());
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        Response::new(plain)
    };
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if private {
            "private, max-age=60"
        } else {
            "public, max-age=60"
        }),
    );
    r
}

/// Whether `If-None-Match` names this ETag (weak comparison); `None` without the header.
fn etag_matches(etag: &str, headers: &HeaderMap) -> Option<bool> {
    let inm = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())?;
    Some(inm.split(',').any(|t| {
        let t = t.trim();
        t == "*" || t.trim_start_matches("W/") == etag
    }))
}

/// One page behind the newest, or a catch-up page (`serve::paging`): read and rendered per
/// request, never cached (the cursors are the readers').
async fn feed_page(
    state: &Arc<ServeState>,
    ch: &ChannelConfig,
    format: Format,
    limit: usize,
    page: paging::Page,
    headers: &HeaderMap,
) -> Result<Response<Bytes>, ServeError> {
    let store = state.store.clone();
    let base_url = state.config.load().server.base_url.clone();
    let channel = ch.clone();
    let asked = (limit != ch.limit).then_some(limit);
    let body = tokio::task::spawn_blocking(move || {
        let view = paging::channel_page(&store, &channel, page, limit)?;
        // What a reader is given must be on disk (see `render_channel`).
        store.flush()?;
        let mut meta = aggregate::feed_meta(&channel, &base_url, format, &view);
        if view.len() >= limit {
            if let Some(last) = view.last() {
                meta.next_url = Some(paging::next_url(&meta.self_url, page.param(), last, asked));
            }
        }
        Ok::<_, paging::PageError>(render::render(&meta, &view, format))
    })
    .await
    .map_err(|e| ServeError::Internal(e.to_string()))?
    .map_err(|e| match e {
        paging::PageError::Store(e) => ServeError::Internal(e.to_string()),
        e => ServeError::BadRequest(e.to_string()),
    })?;
    let etag = format!(
        "\"{}\"",
        crate::model::ids::hex16(&<sha2::Sha256 as sha2::Digest>::digest(&body))
    );
    let body = Bytes::from(body);
    let gzipped = || Bytes::from(super::cache::gzip(&body));
    let fresh = etag_matches(&etag, headers) == Some(true);
    let mut resp = feed_answer(
        fresh,
        headers,
        body.clone(),
        gzipped,
        format,
        ch.is_private(),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    Ok(resp)
}

async fn feed(
    state: &Arc<ServeState>,
    name: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Response<Bytes>, ServeError> {
    let (id, ext) = name.rsplit_once('.').ok_or(ServeError::NotFound)?;
    let format = Format::from_extension(ext).ok_or(ServeError::NotFound)?;
    // A guard, not a counted clone: two HTTP threads bumping one reference count per request
    // would fight over its cache line.
    let cfg = state.config.load();
    let ch = cfg.channels.get(id).ok_or(ServeError::NotFound)?;
    // A private channel is indistinguishable from a missing one without its token.
    if !authorized(ch, query, headers) {
        return Err(ServeError::NotFound);
    }
    let limit = match query.get("limit") {
        None => ch.limit,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| {
                ServeError::BadRequest(format!("limit must be a number from 1 to 1000, not {l:?}"))
            })?,
    };
    if let Some(page) =
        paging::requested(query).map_err(|e| ServeError::BadRequest(e.to_string()))?
    {
        return feed_page(state, ch, format, limit, page, headers).await;
    }
    let rendered = state
        .cache
        .current_or_render(&state.store, ch, &cfg.server.base_url, format, limit)
        .await
        .map_err(|e| match state.store.failure() {
            // Nothing rendered before the store began to fail, and it cannot be read now.
            Some(why) => ServeError::Unavailable(format!("{e} (the store cannot write: {why})")),
            None => ServeError::Internal(e.to_string()),
        })?;
    let fresh = not_modified(&rendered, headers);
    let gzipped = || rendered.gzip.clone();
    let plain = rendered.body.clone();
    let mut resp = feed_answer(fresh, headers, plain, gzipped, format, ch.is_private());
    let h = resp.headers_mut();
    h.insert(header::ETAG, rendered.etag_header.clone());
    h.insert(header::LAST_MODIFIED, rendered.last_modified_header.clone());
    if let Some(link) = &rendered.link_header {
        h.insert(header::LINK, link.clone());
    }
    Ok(resp)
}

/// `200 ok` while the node can serve. In cluster mode a node cut off from NATS still serves
/// what it has, so it still answers 200, with `degraded:` and the problem on the first line
/// (a load balancer keeps it; monitoring sees the word).
async fn healthz(state: &Arc<ServeState>) -> Result<Response<Bytes>, ServeError> {
    let st = state.clone();
    let health = tokio::task::spawn_blocking(move || st.store.health())
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
    if let Err(why) = health {
        return Err(ServeError::Unavailable(why));
    }
    match state.cluster.as_ref().map(|view| view()) {
        Some(c) if !c.reachable => Ok(text(
            "text/plain; charset=utf-8",
            format!(
                "degraded: cluster unreachable: {}\n",
                c.problem.as_deref().unwrap_or("unknown")
            ),
        )),
        Some(ClusterStatus {
            problem: Some(p), ..
        }) => Ok(text(
            "text/plain; charset=utf-8",
            format!("degraded: cluster: {p}\n"),
        )),
        _ => Ok(text("text/plain; charset=utf-8", "ok\n")),
    }
}

/// `GET /api/cluster`: this node's view of the cluster; 404 when not in cluster mode.
fn api_cluster(state: &Arc<ServeState>) -> Result<Response<Bytes>, ServeError> {
    let view = state.cluster.as_ref().ok_or(ServeError::NotFound)?;
    let body =
        serde_json::to_vec_pretty(&view()).map_err(|e| ServeError::Internal(e.to_string()))?;
    Ok(text("application/json", body))
}

fn rfc3339(t: Option<DateTime<Utc>>) -> serde_json::Value {
    t.map(|t| serde_json::Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
        .unwrap_or(serde_json::Value::Null)
}

async fn api_sources(state: &Arc<ServeState>) -> Result<Response<Bytes>, ServeError> {
    let rows = state.source_rows();
    let json: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id,
                "url": r.url,
                "status": r.status,
                "last_error": r.last_error,
                "last_poll": rfc3339(r.last_poll),
                "next_poll": rfc3339(r.next_poll),
                "items": r.items,
                "consecutive_failures": r.consecutive_failures,
                "repairs": r.repairs,
            })
        })
        .collect();
    let body = serde_json::to_vec_pretty(&json).map_err(|e| ServeError::Internal(e.to_string()))?;
    Ok(text("application/json", body))
}

async fn index(state: &Arc<ServeState>) -> Result<Response<Bytes>, ServeError> {
    let cfg = state.config.load_full();
    // Figures of channels nobody reads are computed when this page asks for them.
    let stale = state.cache.stale_infos(
        cfg.channels
            .values()
            .filter(|c| !c.is_private())
            .map(|c| c.id.as_str()),
    );
    if !stale.is_empty() {
        let (st, cfg2) = (state.clone(), cfg.clone());
        let _ =
            tokio::task::spawn_blocking(move || st.cache.update_infos(&st.store, &cfg2, &stale))
                .await;
    }
    let rows = state.source_rows();
    // Private channels are left out entirely (no card, no autodiscovery link).
    let cards: Vec<ChannelCard> = cfg
        .channels
        .values()
        .filter(|c| !c.is_private())
        .map(|ch| {
            let info = state.cache.info(&ch.id).unwrap_or_default();
            ChannelCard {
                id: ch.id.clone(),
                title: ch.title.clone(),
                description: ch.description.clone(),
                items: info.items,
                newest: info.newest,
                feeds: pages::feed_links(&cfg.server.base_url, &ch.id),
            }
        })
        .collect();
    let cluster = state.cluster.as_ref().map(|view| view());
    let page = pages::index_page("feedloom", &cards, &rows, cluster.as_ref(), Utc::now());
    Ok(text("text/html; charset=utf-8", page))
}

/// `GET /sources/{id}`: the source page (`serve::source_page`); 404 for an unknown source.
async fn source(state: &Arc<ServeState>, id: &str) -> Result<Response<Bytes>, ServeError> {
    let (st, id, now) = (state.clone(), id.to_string(), Utc::now());
    let view = tokio::task::spawn_blocking(move || st.source_view(&id, now))
        .await
        .map_err(|e| ServeError::Internal(e.to_string()))?
        .map_err(|e| ServeError::Internal(e.to_string()))?
        .ok_or(ServeError::NotFound)?;
    Ok(text(
        "text/html; charset=utf-8",
        source_page::source_html(&view, now),
    ))
}

fn opml(state: &Arc<ServeState>) -> Response<Bytes> {
    let cfg = state.config.load_full();
    text(
        "text/x-opml; charset=utf-8",
        super::opml::export(&public_channels(&cfg), &cfg.server.base_url),
    )
}

/// (id, title, description) of the channels that may be listed publicly.
pub fn public_channels(cfg: &crate::config::Config) -> Vec<(String, String, Option<String>)> {
    cfg.channels
        .values()
        .filter(|c| !c.is_private())
        .map(|c| (c.id.clone(), c.title.clone(), c.description.clone()))
        .collect()
}

/// `POST /admin/reload`: only when `[server] admin_token` is set, and only with it; otherwise
/// the route does not exist.
async fn admin_reload(
    state: &Arc<ServeState>,
    headers: &HeaderMap,
) -> Result<Response<Bytes>, ServeError> {
    let cfg = state.config.load_full();
    let Some(expected) = &cfg.server.admin_token else {
        return Err(ServeError::NotFound);
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        return Err(ServeError::NotFound);
    }
    match (state.reload)() {
        Ok(summary) => {
            state.invalidate_all();
            let body = serde_json::to_vec_pretty(&summary)
                .map_err(|e| ServeError::Internal(e.to_string()))?;
            Ok(text("application/json", body))
        }
        Err(e) => Err(ServeError::BadRequest(format!(
            "reload refused, running config kept: {e}"
        ))),
    }
}
