//! Progress on stderr: on a terminal one line that rewrites itself, in a
//! log (CI) one line per step, so that a long run shows it is alive
//! without filling the log.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The progress display.
#[derive(Debug, Clone)]
pub struct Progress {
    tty: bool,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    pub fn new() -> Self {
        Self {
            tty: std::io::stderr().is_terminal(),
        }
    }

    /// A new step: its own line in a log, the line's new text on a
    /// terminal.
    pub fn step(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[K{text}");
        } else {
            let _ = writeln!(err, "{text}");
        }
        let _ = err.flush();
    }

    /// An update within a step; shown on a terminal only.
    pub fn update(&self, text: &str) {
        if self.tty {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K{text}");
            let _ = err.flush();
        }
    }

    /// Ends the self-updating line before other output.
    pub fn finish(&self) {
        if self.tty {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
        }
    }

    /// Shows `label`, a count and the elapsed time twice a second until
    /// the returned guard is dropped. Only for display: nothing waits on
    /// it.
    pub fn ticker(&self, label: String, count: Arc<AtomicU64>, unit: &'static str) -> Ticker {
        let this = self.clone();
        let started = Instant::now();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tick.tick().await;
                this.update(&format!(
                    "{label}: {} {unit}, {:.0} s",
                    count.load(Ordering::Relaxed),
                    started.elapsed().as_secs_f64()
                ));
            }
        });
        Ticker(task)
    }
}

/// Stops its ticker when dropped.
pub struct Ticker(tokio::task::JoinHandle<()>);

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.abort();
    }
}
