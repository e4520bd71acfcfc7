//! Progress of long one-shot commands (`feedloom poll`, `feedloom import`) on standard error: on a terminal one
//! line redrawn in place (count, bar, rate, ETA); when standard error is a file or a pipe, a
//! plain line every few seconds, so that logs of a cron job show how far it got without a
//! stream of carriage returns. Standard output (the per-source report) is untouched.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How often a terminal line is redrawn, and how often a plain line is written.
const REDRAW: Duration = Duration::from_millis(100);
const PLAIN_EVERY: Duration = Duration::from_secs(5);

pub struct Progress {
    what: &'static str,
    total: usize,
    done: usize,
    started: Instant,
    last: Option<Instant>,
    terminal: bool,
}

impl Progress {
    /// Progress of `total` steps of `what` ("polled"), drawn on standard error.
    pub fn new(what: &'static str, total: usize) -> Progress {
        Progress {
            what,
            total,
            done: 0,
            started: Instant::now(),
            last: None,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// One more step done.
    pub fn tick(&mut self) {
        self.done += 1;
        let now = Instant::now();
        let every = if self.terminal { REDRAW } else { PLAIN_EVERY };
        let due = match self.last {
            None => self.terminal || now.duration_since(self.started) >= every,
            Some(t) => now.duration_since(t) >= every,
        };
        if due || (self.terminal && self.done == self.total) {
            self.last = Some(now);
            self.draw();
        }
    }

    /// Clear the terminal line (the report follows on standard output).
    pub fn finish(&mut self) {
        if self.terminal && self.last.is_some() {
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "\r\x1b[2K");
            let _ = e.flush();
        }
    }

    fn draw(&self) {
        let line = status_line(self.what, self.done, self.total, self.started.elapsed());
        let mut e = std::io::stderr().lock();
        // The cursor goes back to the start of the line: a log line written meanwhile starts
        // there instead of being glued to the bar.
        let _ = if self.terminal {
            write!(e, "\r\x1b[2K{line}\r")
        } else {
            writeln!(e, "{line}")
        };
        let _ = e.flush();
    }
}

/// `polled 12/200 [###-----------------] 8.1/s ETA 23s`, or with no known total (0: input
/// from a pipe) `imported 1200 8.1/s`: pure, for the test.
pub fn status_line(what: &str, done: usize, total: usize, elapsed: Duration) -> String {
    const WIDTH: usize = 20;
    if total == 0 {
        let rate = done as f64 / elapsed.as_secs_f64().max(0.001);
        return format!("{what} {done} {rate:.1}/s");
    }
    let filled = (done * WIDTH)
        .checked_div(total)
        .unwrap_or(WIDTH)
        .min(WIDTH);
    let rate = done as f64 / elapsed.as_secs_f64().max(0.001);
    let eta = if rate > 0.0 && done < total {
        let secs = ((total - done) as f64 / rate).ceil() as u64;
        format!("ETA {}", human(secs))
    } else {
        "ETA -".to_string()
    };
    format!(
        "{what} {done}/{total} [{}{}] {rate:.1}/s {eta}",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled)
    )
}

fn human(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_count_bar_rate_and_eta() {
        assert_eq!(
            status_line("polled", 50, 200, Duration::from_secs(10)),
            "polled 50/200 [#####---------------] 5.0/s ETA 30s"
        );
        assert_eq!(
            status_line("polled", 200, 200, Duration::from_secs(100)),
            "polled 200/200 [####################] 2.0/s ETA -"
        );
        assert_eq!(human(3725), "1h02m");
        assert_eq!(
            status_line("imported", 300, 0, Duration::from_secs(2)),
            "imported 300 150.0/s"
        );
    }
}
