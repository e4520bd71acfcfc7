//! A full disk, from outside: the store lives on a small tmpfs that a filler file fills up. The
//! daemon must keep serving, say what is wrong (`/healthz` 503 with the reason, the store error
//! on the sources it hit), back off, recover by itself once space returns, and end with every
//! item stored exactly once; a kill -9 while the disk is full must leave a store that opens.
//! Mounting needs root (CI runs as root); elsewhere the test says so and passes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::{client, Daemon, Origin};

const SOURCES: usize = 12;
const ITEMS: usize = 60;

/// A tmpfs of `mb` MiB mounted on a fresh folder; unmounted on drop.
pub(crate) struct Tmpfs {
    dir: tempfile::TempDir,
    pub(crate) mnt: PathBuf,
}

impl Tmpfs {
    pub(crate) fn mount(mb: usize) -> Option<Tmpfs> {
        // SAFETY: geteuid has no arguments and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let mnt = dir.path().join("mnt");
        std::fs::create_dir(&mnt).unwrap();
        let st = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mb}m"), "tmpfs"])
            .arg(&mnt)
            .status()
            .expect("run mount");
        assert!(st.success(), "mount -t tmpfs failed (root, yet no mount?)");
        Some(Tmpfs { dir, mnt })
    }

    fn free_bytes(&self) -> u64 {
        // SAFETY: statvfs fills a struct we own; the path is a valid C string.
        unsafe {
            let c = std::ffi::CString::new(self.mnt.as_os_str().as_encoded_bytes()).unwrap();
            let mut st: libc::statvfs = std::mem::zeroed();
            assert_eq!(libc::statvfs(c.as_ptr(), &mut st), 0);
            st.f_bavail as u64 * st.f_frsize as u64
        }
    }

    /// Fill the file system up to `leave` free bytes with the file `name`.
    pub(crate) fn fill(&self, name: &str, leave: u64) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.mnt.join(name)).unwrap();
        let chunk = vec![0x5au8; 64 * 1024];
        while self.free_bytes() > leave + chunk.len() as u64 {
            if f.write_all(&chunk).is_err() {
                break;
            }
        }
        let rest = self.free_bytes().saturating_sub(leave) as usize;
        let _ = f.write_all(&chunk[..rest.min(chunk.len())]);
        let _ = f.sync_all();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.mnt)
            .status();
        let _ = self.dir.path();
    }
}

/// An RSS document with `ITEMS` items of about 3 KB each, of generation `gen`.
fn feed(src: usize, gen: usize) -> String {
    let mut items = String::new();
    for i in 0..ITEMS {
        // Text that does not compress away: every item differs throughout.
        let body: String = (0..120)
            .map(|w| format!("w{}x{}y{} ", src * 7919 + i * 104729 + w, gen, w * i))
            .collect();
        items.push_str(&format!(
            "<item><title>s{src} g{gen} item {i}</title><link>http://example.com/s{src}/g{gen}/{i}</link>\
             <guid>s{src}-g{gen}-{i}</guid><pubDate>Mon, 01 Jun 2026 {:02}:{:02}:00 +0000</pubDate>\
             <description>{body}</description></item>",
            i / 60,
            i % 60
        ));
    }
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>s{src}</title>\
         <link>http://example.com/s{src}</link><description>d</description>{items}</channel></rss>"
    )
}

fn write_config(dir: &Path, store: &Path, origin: &Origin) {
    let mut cfg = format!(
        "[store]\npath = \"{}\"\n[server]\nlisten = \"127.0.0.1:0\"\n[poll]\nmax_backoff = \"2s\"\n",
        store.display()
    );
    for s in 0..SOURCES {
        cfg.push_str(&format!(
            "[sources.s{s}]\nurl = \"{}\"\ninterval = \"1s\"\n",
            origin.url(&format!("/s{s}.rss"))
        ));
    }
    let ids: Vec<String> = (0..SOURCES).map(|s| format!("\"s{s}\"")).collect();
    cfg.push_str(&format!(
        "[channels.all]\ntitle = \"All\"\nsources = [{}]\nlimit = 50\n",
        ids.join(", ")
    ));
    std::fs::write(dir.join("config.toml"), cfg).unwrap();
}

async fn healthz(d: &Daemon) -> (u16, String) {
    match client().get(d.url("/healthz")).send().await {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(e) => (0, e.to_string()),
    }
}

async fn wait_for<F, Fut>(what: &str, within: Duration, d: &Daemon, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !f().await {
        assert!(
            Instant::now() < deadline,
            "{what}: not within {within:?}; daemon log tail:\n{}",
            tail(&d.log(), 40)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Every source has exactly `n` items stored.
async fn all_have(d: &Daemon, n: u64) -> bool {
    let Ok(r) = client().get(d.url("/api/sources")).send().await else {
        return false;
    };
    let Ok(v) = r.json::<Vec<serde_json::Value>>().await else {
        return false;
    };
    v.len() == SOURCES && v.iter().all(|s| s["items"].as_u64() == Some(n))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_reported_survived_and_recovered_from() {
    let Some(fs) = Tmpfs::mount(40) else {
        eprintln!("SKIPPED: mounting a tmpfs needs root (CI runs as root)");
        return;
    };
    let origin = Origin::start().await;
    for s in 0..SOURCES {
        origin.put(&format!("/s{s}.rss"), feed(s, 1), "application/rss+xml");
    }
    let work = tempfile::tempdir().unwrap();
    let store = fs.mnt.join("store.sled");
    write_config(work.path(), &store, &origin);

    // 1. Room for the store to start and take a few sources, not all of them.
    let mut d = Daemon::start(work.path()).await;
    d.wait_healthy(Duration::from_secs(10)).await;
    // A reader reads the channel before the disk fills.
    let r = client().get(d.url("/feeds/all.json")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    fs.fill("filler", 1024 * 1024);
    wait_for(
        "the store's writes to fail",
        Duration::from_secs(60),
        &d,
        || async { healthz(&d).await.0 == 503 },
    )
    .await;
    let (status, why) = healthz(&d).await;
    assert_eq!(status, 503);
    assert!(why.contains("store"), "/healthz names the store: {why}");
    // Served throughout: the feed answers with what the daemon has (sled fails some reads
    // while its writes fail, so that is the last render).
    for _ in 0..10 {
        let r = client().get(d.url("/feeds/all.json")).send().await.unwrap();
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        assert_eq!(
            status,
            200,
            "feeds are served while the disk is full: {}",
            tail(&body, 5)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A format nobody read before the disk filled: from the store if it can still be read,
    // else 503 with the reason; never a 500.
    let r = client().get(d.url("/feeds/all.rss")).send().await.unwrap();
    let status = r.status().as_u16();
    let body = r.text().await.unwrap_or_default();
    assert!(
        status == 200 || (status == 503 && body.contains("store")),
        "{status}: {}",
        tail(&body, 5)
    );
    wait_for(
        "a source to show the store error",
        Duration::from_secs(30),
        &d,
        || async {
            d.sources().await.iter().any(|s| {
                s["last_error"]
                    .as_str()
                    .is_some_and(|e| e.contains("store"))
                    && s["consecutive_failures"].as_u64().unwrap_or(0) >= 1
            })
        },
    )
    .await;

    // 2. Space returns: the daemon recovers by itself, and every item is there once.
    std::fs::remove_file(fs.mnt.join("filler")).unwrap();
    wait_for("healthy again", Duration::from_secs(30), &d, || async {
        healthz(&d).await.0 == 200
    })
    .await;
    wait_for(
        "every item of every source stored once",
        Duration::from_secs(60),
        &d,
        || all_have(&d, ITEMS as u64),
    )
    .await;
    let r = client().get(d.url("/feeds/all.json")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    let ids: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    let unique: std::collections::HashSet<&&str> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no item twice in the feed");

    // 3. Full again while new items arrive, then kill -9: the store must open afterwards and
    //    end with both generations, each item once.
    for s in 0..SOURCES {
        let mut both = feed(s, 2);
        let gen1 = feed(s, 1);
        let items1 = &gen1[gen1.find("<item>").unwrap()..gen1.rfind("</channel>").unwrap()];
        both.insert_str(both.rfind("</channel>").unwrap(), items1);
        origin.put(&format!("/s{s}.rss"), both, "application/rss+xml");
    }
    fs.fill("filler", 256 * 1024);
    wait_for(
        "writes to fail again",
        Duration::from_secs(60),
        &d,
        || async { healthz(&d).await.0 == 503 },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    d.kill();
    std::fs::remove_file(fs.mnt.join("filler")).unwrap();
    let d = Daemon::start(work.path()).await;
    d.wait_healthy(Duration::from_secs(20)).await;
    wait_for(
        "both generations stored once after the kill -9",
        Duration::from_secs(60),
        &d,
        || all_have(&d, 2 * ITEMS as u64),
    )
    .await;
}
