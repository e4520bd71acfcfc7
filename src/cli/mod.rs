//! The command line (contract in `design.md`): `serve`, `check`, `poll`, `extract`, `render`.
//! Exit codes: 0 success, 1 a problem the output describes (bad config, failed source, unknown
//! channel), 2 bad usage (from clap).

mod check;
mod opml;
mod progress;
mod suggest;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use clap::{Parser, Subcommand, ValueEnum};
use futures_util::StreamExt;

use crate::app::{App, AppState};
use crate::config::{Config, ConfigError, SourceConfig, SourceKind};
use crate::ingest::fetch::{Conditional, FetchOutcome};
use crate::ingest::refresh::{self, RefreshCtx};
use crate::model::script::{self, Script};
use crate::model::Article;
use crate::serve::render::Format;

#[derive(Parser, Debug)]
#[command(
    name = "feedloom",
    version,
    about = "Turns feeds and HTML news pages into clean per-channel RSS, Atom and JSON feeds.",
    after_help = "Exit status: 0 on success, 1 when the command found a problem it printed (invalid config, a failed source, an unknown channel), 2 on bad usage."
)]
pub struct Args {
    /// The config file.
    #[arg(long, global = true, default_value = "config.toml")]
    pub config: PathBuf,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the daemon: poll every source on its schedule and serve the channels over HTTP (the
    /// default command). SIGINT/SIGTERM stop it cleanly (exit 0).
    Serve,
    /// Validate the config and print every problem with its line:col, then warnings about likely
    /// mistakes. Exits 1 if there is any problem (warnings alone exit 0).
    Check {
        /// Also fetch each HTML source's list page and first article and warn about selectors
        /// that match nothing.
        #[arg(long)]
        fetch: bool,
    },
    /// Refresh the given sources (or all) once, store the result and print a line per source.
    /// Exits 1 if any failed.
    Poll {
        /// Source ids (all sources when none is given).
        sources: Vec<String>,
    },
    /// Fetch and extract without storing; print the items as JSON (to tune selectors).
    Extract {
        /// A source id from the config, an http(s)/file URL, or a file path.
        target: String,
        /// Convert Chinese text to this script.
        #[arg(long, value_enum)]
        script: Option<ScriptArg>,
    },
    /// Write the whole store as JSON lines (a line per source state and per article) to stdout,
    /// for backups and moving between machines or versions.
    Export,
    /// Read a dump written by `export` into the store (stop the daemon first).
    Import {
        /// The dump file (`-` for stdin).
        file: PathBuf,
    },
    /// OPML: export the public channels, or turn a feed reader's export into config to append.
    Opml {
        #[command(subcommand)]
        action: OpmlAction,
    },
    /// Fetch a news list page and a few of its articles, and print a `[sources.ID]` +
    /// `[sources.ID.html]` table to paste into the config: the article links' selector (or
    /// `items = "auto"`) and selectors for what automatic extraction was unsure of.
    Suggest {
        /// The list page's URL.
        url: String,
        /// The source id to print (default: from the host name).
        #[arg(long)]
        id: Option<String>,
    },
    /// The article links a list page in FILE yields, as if served from URL (for measuring
    /// the automatic finder: bench/eval_links.sh).
    #[command(hide = true)]
    ExtractLinks {
        file: PathBuf,
        url: String,
        /// A CSS selector, or "auto".
        #[arg(long, default_value = "auto")]
        items: String,
    },
    /// Print a channel's feed from the store.
    Render {
        channel: String,
        #[arg(long, value_enum, default_value_t = FormatArg::Atom)]
        format: FormatArg,
    },
}

#[derive(Subcommand, Debug)]
pub enum OpmlAction {
    /// Print OPML 2.0 of the public channels (as `GET /opml` serves it).
    Export,
    /// Print `[sources.*]` and `[channels.*]` TOML for the feeds in FILE, with ids that do not
    /// clash with the config's (append it: `feedloom opml import reader.opml >> config.toml`).
    Import { file: PathBuf },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScriptArg {
    Simplified,
    Traditional,
    Keep,
}

impl From<ScriptArg> for Script {
    fn from(s: ScriptArg) -> Script {
        match s {
            ScriptArg::Simplified => Script::Simplified,
            ScriptArg::Traditional => Script::Traditional,
            ScriptArg::Keep => Script::Keep,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Rss,
    Atom,
    Json,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Rss => Format::Rss,
            FormatArg::Atom => Format::Atom,
            FormatArg::Json => Format::Json,
        }
    }
}

pub fn init_logging(args: &Args) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FEEDLOOM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sled=warn"));
    // Colours only on a terminal: escape codes in journald, docker logs or a log file are noise.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = match args.log_format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Run a parsed command line to its exit code.
pub fn run(args: Args) -> ExitCode {
    crate::app::memory::bound_allocator();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("feedloom-bg")
        .on_thread_start(crate::threads::on_runtime_thread_start)
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("feedloom: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        match args.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(&args.config).await,
            Command::Check { fetch } => check::check(&args.config, fetch).await,
            Command::Poll { sources } => poll(&args.config, &sources).await,
            Command::Extract { target, script } => {
                extract(&args.config, &target, script.map(Script::from)).await
            }
            Command::Export => export(&args.config).await,
            Command::Import { file } => import(&args.config, &file).await,
            Command::Opml { action } => opml(&args.config, action),
            Command::Suggest { url, id } => {
                suggest::suggest(&args.config, &url, id.as_deref()).await
            }
            Command::ExtractLinks { file, url, items } => {
                suggest::extract_links(&file, &url, &items)
            }
            Command::Render { channel, format } => {
                render(&args.config, &channel, format.into()).await
            }
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("feedloom: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn load(path: &std::path::Path) -> anyhow::Result<Config> {
    match Config::load(path) {
        Ok(c) => Ok(c),
        Err(e @ ConfigError::Invalid { .. }) => Err(anyhow::anyhow!("{e}")),
        Err(e) => Err(e.into()),
    }
}

async fn serve(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    let config = load(path)?;
    // Signal handlers go in before the socket is bound: from the moment anything can reach the
    // daemon (or a supervisor sees it up), SIGTERM means an orderly stop, never the default
    // action, which would exit without flushing the store.
    let signals = Signals::install()?;
    // Before the HTTP threads exist (this thread starts them, and they inherit its 0):
    // everything else yields to them.
    crate::threads::lower_background(config.server.background_nice);
    let app = App::build(config).await?;
    tracing::info!(addr = %app.addr(), "feedloom serving on http://{}/", app.addr());
    let Signals { stop, reload } = signals;
    #[cfg(unix)]
    {
        // SIGHUP re-reads the config; an invalid one is logged and the running one kept.
        let state = app.state.clone();
        let mut hup = reload;
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                if let Err(e) = state.reload() {
                    tracing::error!("reload refused, keeping the running config: {e}");
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = reload;
    app.run_until_stopped(shutdown_signal(stop)).await?;
    Ok(ExitCode::SUCCESS)
}

/// The daemon's signal streams, registered once for its whole life: a signal that arrives
/// before anyone waits on its stream is kept by the stream, not lost.
struct Signals {
    stop: StopSignals,
    #[cfg(unix)]
    reload: tokio::signal::unix::Signal,
    #[cfg(not(unix))]
    reload: (),
}

impl Signals {
    fn install() -> anyhow::Result<Signals> {
        Ok(Signals {
            stop: StopSignals::install()?,
            #[cfg(unix)]
            reload: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
                .context("installing the SIGHUP handler")?,
            #[cfg(not(unix))]
            reload: (),
        })
    }
}

/// SIGTERM and SIGINT (Ctrl-C elsewhere).
struct StopSignals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> anyhow::Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(StopSignals {
                term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
                int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignals {})
    }

    /// The next stop signal.
    async fn next(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Resolves on the first SIGINT or SIGTERM; a second one exits at once. The same streams wait
/// for the second, so one sent right after the first is not missed. Signals in the first
/// second count as the first: Ctrl-C under a wrapper script, or a supervisor that sends both
/// SIGINT and SIGTERM, must not skip the orderly stop.
async fn shutdown_signal(mut signals: StopSignals) {
    signals.next().await;
    tokio::spawn(async move {
        let same_request = tokio::time::sleep(SECOND_SIGNAL_AFTER);
        tokio::pin!(same_request);
        loop {
            tokio::select! {
                _ = &mut same_request => break,
                _ = signals.next() => {}
            }
        }
        signals.next().await;
        eprintln!("feedloom: second signal, exiting now");
        std::process::exit(130);
    });
}

/// How long after the first stop signal another one is taken as the same request.
const SECOND_SIGNAL_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// A cluster node's store changes only by applying the replicated log: a one-shot command
/// writing to it directly would make it differ from the others' for good.
fn refuse_in_cluster(config: &Config, command: &str) -> anyhow::Result<()> {
    if config.cluster.is_some() {
        anyhow::bail!(
            "`feedloom {command}` writes to the store directly, which a cluster node's store must \
             never see (it changes only by applying the stream); run it without [cluster]"
        );
    }
    Ok(())
}

async fn poll(path: &std::path::Path, ids: &[String]) -> anyhow::Result<ExitCode> {
    let config = load(path)?;
    refuse_in_cluster(&config, "poll")?;
    let unknown: Vec<&String> = ids
        .iter()
        .filter(|id| !config.sources.contains_key(*id))
        .collect();
    if !unknown.is_empty() {
        anyhow::bail!("unknown source(s): {unknown:?}");
    }
    let selected: Vec<SourceConfig> = config
        .sources
        .values()
        .filter(|s| ids.is_empty() || ids.contains(&s.id))
        .cloned()
        .collect();
    let concurrency = config.poll.concurrency;
    let state = AppState::open(config)?;
    let ctx = state.ingest.refresh_ctx();
    let mut progress = progress::Progress::new("polled", selected.len());
    let mut done = futures_util::stream::iter(selected)
        .map(|src| {
            let ctx: RefreshCtx = ctx.clone();
            let prev = state.ingest.source_state(&src);
            async move { refresh::refresh(&ctx, &src, prev).await }
        })
        .buffer_unordered(concurrency);
    let mut reports = Vec::new();
    while let Some(r) = done.next().await {
        progress.tick();
        reports.push(r);
    }
    progress.finish();
    let mut failed = 0;
    reports.sort_by(|a, b| a.source.cmp(&b.source));
    for r in &reports {
        let detail = match &r.outcome {
            refresh::Outcome::Failed(e) => format!(" error: {e}"),
            _ => String::new(),
        };
        if r.outcome.is_failure() {
            failed += 1;
        }
        println!(
            "{:<24} {:<12} new={} updated={} unchanged={} {}ms{}",
            r.source,
            r.outcome.label(),
            r.counts.new,
            r.counts.updated,
            r.counts.unchanged,
            r.elapsed.as_millis(),
            detail
        );
    }
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || store.flush())
        .await?
        .context("flushing the store")?;
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The JSON shape `feedloom extract` prints (contract).
fn extract_json(a: &Article, script: Script) -> serde_json::Value {
    let c = |s: &str| script::convert(s, script);
    serde_json::json!({
        "url": a.url,
        "title": c(&a.title),
        "published": a.published.map(|d| d.to_rfc3339()),
        "authors": a.authors.iter().map(|p| c(&p.name)).collect::<Vec<_>>(),
        "source": a.origin.as_deref().map(c),
        "editors": a.editors.iter().map(|e| c(e)).collect::<Vec<_>>(),
        "site": a.site.as_deref().map(c),
        "content_html": a.content_html.as_deref().map(c),
        "content_text": c(&a.content_text),
    })
}

async fn extract(
    path: &std::path::Path,
    target: &str,
    script: Option<Script>,
) -> anyhow::Result<ExitCode> {
    // A config is optional here: a URL or file can be extracted without one.
    let config = if path.exists() {
        Some(load(path)?)
    } else {
        None
    };
    let fetch_cfg = config
        .as_ref()
        .map(crate::ingest::fetch_config)
        .unwrap_or_default();
    let fetcher = crate::ingest::fetch::Fetcher::new(fetch_cfg)?;
    let now = Utc::now();
    // A configured source as it is; a URL or file as an ad-hoc source whose kind is sniffed
    // from the document. Both then go through the same reading code as the daemon.
    let configured = config.as_ref().and_then(|c| c.sources.get(target));
    let url = match configured {
        Some(src) => src.url.clone(),
        None if target.contains("://") => {
            url::Url::parse(target).with_context(|| format!("{target:?} is not a valid URL"))?
        }
        None => {
            let p = std::fs::canonicalize(target)
                .with_context(|| format!("{target:?} is neither a source id, a URL nor a file"))?;
            url::Url::from_file_path(&p)
                .map_err(|_| anyhow::anyhow!("cannot make a URL of {}", p.display()))?
        }
    };
    let doc = match fetcher
        .get(url.as_str(), &Conditional::default(), &Default::default())
        .await?
    {
        FetchOutcome::Fetched(d) => d,
        FetchOutcome::NotModified { .. } => anyhow::bail!("unexpected 304"),
    };
    let (src, script) = match configured {
        Some(src) => {
            let channel_script = config
                .as_ref()
                .and_then(|c| c.channels.values().find(|c| c.sources.contains(&src.id)))
                .map(|c| c.script)
                .unwrap_or_default();
            (src.clone(), script.unwrap_or(channel_script))
        }
        None => {
            let text = crate::ingest::decode::decode(&doc.body, doc.content_type.as_deref()).text;
            let kind = if crate::ingest::parse::looks_like_feed(&text) {
                SourceKind::Feed
            } else {
                SourceKind::Html
            };
            let timezone = config
                .as_ref()
                .and_then(|c| c.sources.values().next().map(|s| s.timezone))
                .unwrap_or(chrono_tz::Asia::Shanghai);
            let src = SourceConfig {
                id: "extract".into(),
                url,
                kind: Some(kind),
                interval: std::time::Duration::from_secs(1800),
                timezone,
                html: None,
                max_items: usize::MAX,
                max_age: None,
                request: Default::default(),
                feed_title: None,
                full_text: None,
            };
            (src, script.unwrap_or(Script::Keep))
        }
    };
    let collected = refresh::collect(&fetcher, &src, &doc, |_| false, now).await?;
    let json: Vec<_> = collected
        .articles
        .iter()
        .map(|a| extract_json(a, script))
        .collect();
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(ExitCode::SUCCESS)
}

async fn render(path: &std::path::Path, channel: &str, format: Format) -> anyhow::Result<ExitCode> {
    let config = load(path)?;
    let Some(ch) = config.channels.get(channel).cloned() else {
        eprintln!("feedloom: no channel {channel:?} in {}", path.display());
        return Ok(ExitCode::from(1));
    };
    let state: Arc<AppState> = AppState::open(config)?;
    let base = state.config.load().server.base_url.clone();
    let st = state.clone();
    let r = tokio::task::spawn_blocking(move || {
        crate::serve::cache::render_channel(&st.store, &ch, &base, format, ch.limit, 0, false)
    })
    .await??;
    use std::io::Write;
    std::io::stdout().write_all(&r.body)?;
    Ok(ExitCode::SUCCESS)
}

/// One line of an export dump.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum DumpLine {
    Source {
        id: String,
        state: crate::model::SourceState,
    },
    Article {
        article: Article,
    },
}

async fn export(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    let config = load(path)?;
    let store = crate::store::Store::open(&config.store.path)?;
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        use std::io::Write;
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        for (id, state) in store.source_states()? {
            serde_json::to_writer(&mut out, &DumpLine::Source { id, state })?;
            out.write_all(b"\n")?;
        }
        for a in store.all_articles() {
            serde_json::to_writer(&mut out, &DumpLine::Article { article: a? })?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        Ok(())
    })
    .await??;
    Ok(ExitCode::SUCCESS)
}

async fn import(path: &std::path::Path, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    let config = load(path)?;
    refuse_in_cluster(&config, "import")?;
    let store = crate::store::Store::open(&config.store.path)?;
    let file = file.to_path_buf();
    let (sources, articles) =
        tokio::task::spawn_blocking(move || -> anyhow::Result<(usize, usize)> {
            use std::io::BufRead;
            let open = || {
                std::fs::File::open(&file)
                    .with_context(|| format!("cannot open {}", file.display()))
            };
            // A file is counted first (a fast pass) so that the progress shows how far it is;
            // from a pipe only the count and the rate are known.
            let (reader, total): (Box<dyn BufRead>, usize) = if file.as_os_str() == "-" {
                (Box::new(std::io::BufReader::new(std::io::stdin())), 0)
            } else {
                let lines = std::io::BufReader::new(open()?).lines().count();
                (Box::new(std::io::BufReader::new(open()?)), lines)
            };
            let mut progress = progress::Progress::new("imported", total);
            let (mut n_src, mut n_art) = (0, 0);
            let mut batch = Vec::new();
            for (i, line) in reader.lines().enumerate() {
                let line = line?;
                progress.tick();
                if line.trim().is_empty() {
                    continue;
                }
                let parsed: DumpLine = serde_json::from_str(&line)
                    .with_context(|| format!("line {}: not a feedloom dump line", i + 1))?;
                match parsed {
                    DumpLine::Source { id, state } => {
                        store.apply(crate::model::RefreshResult::state_only(
                            &id,
                            Utc::now(),
                            state,
                        ))?;
                        n_src += 1;
                    }
                    DumpLine::Article { article } => {
                        batch.push(article);
                        if batch.len() >= 500 {
                            n_art += store.import_articles(&batch)?;
                            batch.clear();
                        }
                    }
                }
            }
            n_art += store.import_articles(&batch)?;
            store.flush()?;
            progress.finish();
            Ok((n_src, n_art))
        })
        .await??;
    println!("imported {sources} source states and {articles} articles");
    Ok(ExitCode::SUCCESS)
}

fn opml(path: &std::path::Path, action: OpmlAction) -> anyhow::Result<ExitCode> {
    match action {
        OpmlAction::Export => {
            let config = load(path)?;
            print!(
                "{}",
                crate::serve::opml::export(
                    &crate::serve::routes::public_channels(&config),
                    &config.server.base_url
                )
            );
            Ok(ExitCode::SUCCESS)
        }
        OpmlAction::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            // Ids already taken in the config (when there is one) are avoided.
            let (sources, channels) = match Config::load(path) {
                Ok(c) => (
                    c.sources.keys().cloned().collect(),
                    c.channels.keys().cloned().collect(),
                ),
                Err(_) => Default::default(),
            };
            let mut progress: Option<progress::Progress> = None;
            let mut on_feed = |_done: usize, total: usize| {
                progress
                    .get_or_insert_with(|| progress::Progress::new("converted", total))
                    .tick()
            };
            let toml = opml::import_avoiding(&text, &sources, &channels, &mut on_feed);
            if let Some(p) = progress.as_mut() {
                p.finish();
            }
            match toml {
                Ok(t) => {
                    print!("{t}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("feedloom: {}: {e}", file.display());
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}
