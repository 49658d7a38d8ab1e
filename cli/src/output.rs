//! Tables for people, JSON for scripts, and the pieces both are made of.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine as _;
use pupsourcing::PersistedEvent;
use serde_json::{Value, json};

/// Set once standard output cannot take more: the reader went away (`| head`) or the write
/// failed; following commands stop at their next step.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// The first write failure other than a closed pipe, reported when the command ends.
static WRITE_ERROR: OnceLock<String> = OnceLock::new();

/// Writes `text` to standard output.
pub(crate) fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(err) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        CLOSED.store(true, Ordering::Relaxed);
        if err.kind() != std::io::ErrorKind::BrokenPipe {
            let _ = WRITE_ERROR.set(err.to_string());
        }
    }
}

/// Whether standard output is gone, so a command that follows something should stop.
pub(crate) fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// Why writing the output failed, if it did (a reader closing the pipe is not a failure).
pub(crate) fn write_error() -> Option<&'static str> {
    WRITE_ERROR.get().map(String::as_str)
}

/// Prints `value` as pretty JSON and a newline.
pub(crate) fn print_json(value: &Value) {
    print(&format!("{value:#}\n"));
}

/// Columns padded to their widest cell, the last one left ragged.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    let header: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = widths[i].saturating_sub(cell.chars().count());
                let _ = write!(line, "{cell}{}  ", " ".repeat(pad));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// A duration the way an operator reads it: `850ms`, `12.5s`, `4m 10s`, `3h 05m`, `2d 04h`.
pub(crate) fn age(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0 => format!("{}ms", duration.as_millis()),
        1..60 => format!("{:.1}s", duration.as_secs_f64()),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        3600..86400 => format!("{}h {:02}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d {:02}h", secs / 86400, secs % 86400 / 3600),
    }
}

/// At most `max` characters of `text` on one line, with an ellipsis when cut.
pub(crate) fn short(text: &str, max: usize) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= max {
        return line;
    }
    let mut cut: String = line.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A stream as `context:type/id`, or `type/id` outside any context.
pub(crate) fn stream(event: &PersistedEvent) -> String {
    let id = event.stream();
    match id.bounded_context() {
        Some(context) => format!("{context}:{}/{}", id.aggregate_type(), id.aggregate_id()),
        None => format!("{}/{}", id.aggregate_type(), id.aggregate_id()),
    }
}

/// The payload as JSON when it is JSON.
fn payload_json(event: &PersistedEvent) -> Option<Value> {
    serde_json::from_slice(&event.event.payload).ok()
}

/// An event for scripts: every envelope field, the payload as JSON or, when it is not JSON,
/// in base64.
pub(crate) fn event_json(event: &PersistedEvent) -> Value {
    let e = &event.event;
    let id = event.stream();
    let mut value = json!({
        "position": event.global_position,
        "stream": {
            "bounded_context": id.bounded_context(),
            "aggregate_type": id.aggregate_type(),
            "aggregate_id": id.aggregate_id(),
        },
        "version": event.aggregate_version,
        "event_id": e.event_id.to_string(),
        "event_type": e.event_type,
        "event_version": e.event_version,
        "created_at": e.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "metadata": e.metadata,
        "trace_id": e.trace_id,
        "correlation_id": e.correlation_id,
        "causation_id": e.causation_id,
    });
    match payload_json(event) {
        Some(payload) => value["payload"] = payload,
        None => {
            value["payload_base64"] =
                Value::from(base64::engine::general_purpose::STANDARD.encode(&e.payload));
        }
    }
    value
}

/// An event for people: a heading line, then the payload pretty-printed.
pub(crate) fn event_text(event: &PersistedEvent) -> String {
    let e = &event.event;
    let mut text = format!(
        "#{}  {} v{}  {}  {}\n",
        event.global_position,
        stream(event),
        event.aggregate_version,
        e.event_type,
        e.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    );
    match payload_json(event) {
        Some(payload) => {
            let _ = writeln!(text, "{payload:#}");
        }
        None => {
            let _ = writeln!(text, "<{} bytes, not JSON>", e.payload.len());
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_line_up() {
        let rows = vec![vec!["billing".to_owned(), "3".to_owned(), "ok".to_owned()]];
        assert_eq!(
            table(&["CONSUMER", "LAG", "STATE"], &rows),
            "CONSUMER  LAG  STATE\nbilling   3    ok\n"
        );
    }

    #[test]
    fn ages_and_short_text() {
        assert_eq!(age(Duration::from_millis(850)), "850ms");
        assert_eq!(age(Duration::from_millis(12_500)), "12.5s");
        assert_eq!(age(Duration::from_secs(250)), "4m 10s");
        assert_eq!(age(Duration::from_secs(3 * 3600 + 300)), "3h 05m");
        assert_eq!(age(Duration::from_secs(2 * 86400 + 4 * 3600)), "2d 04h");
        assert_eq!(short("a\nb  c", 10), "a b c");
        assert_eq!(short("abcdef", 4), "abc…");
    }
}
