//! The most recent log lines, kept in memory for `/admin/diagnostics`: a
//! `tracing` layer that formats each event that passes the log filter into
//! a bounded ring buffer.

use std::collections::VecDeque;
use std::fmt::Write;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

/// Lines kept.
pub const CAPACITY: usize = 200;

/// A bounded buffer of formatted log lines.
#[derive(Default)]
pub struct RecentLogs {
    lines: Mutex<VecDeque<String>>,
}

impl RecentLogs {
    /// The buffered lines, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().iter().cloned().collect()
    }

    fn push(&self, line: String) {
        let mut l = self.lines.lock();
        if l.len() == CAPACITY {
            l.pop_front();
        }
        l.push_back(line);
    }
}

/// The process-wide buffer the CLI installs.
pub fn global() -> Arc<RecentLogs> {
    static LOGS: OnceLock<Arc<RecentLogs>> = OnceLock::new();
    LOGS.get_or_init(|| Arc::new(RecentLogs::default())).clone()
}

/// The layer feeding a [`RecentLogs`].
pub struct RecentLogsLayer(pub Arc<RecentLogs>);

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value}");
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for RecentLogsLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut f = Fields(String::new());
        event.record(&mut f);
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.0
            .push(format!("{secs} {} {}:{}", meta.level(), meta.target(), f.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn keeps_the_most_recent_lines() {
        let logs = Arc::new(RecentLogs::default());
        let subscriber = tracing_subscriber::registry().with(RecentLogsLayer(logs.clone()));
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..CAPACITY + 5 {
                tracing::info!(height = i, "sealed block");
            }
        });
        let lines = logs.lines();
        assert_eq!(lines.len(), CAPACITY);
        assert!(lines[0].contains("height=5"), "{}", lines[0]);
        assert!(
            lines.last().unwrap().contains("INFO")
                && lines.last().unwrap().contains("sealed block")
        );
    }
}
