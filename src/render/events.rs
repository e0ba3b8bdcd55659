//! watch's NDJSON stream: one JSON object per line, written whole and flushed, so a reader
//! sees each event as it happens and never half a line.
//!
//! ```text
//! {"schema":1,"event":"opened"|"closed"|"changed","time":"2026-11-30T09:00:00.123Z",
//!  "socket":{...the listing's socket object...},"before":{...}|null}
//! {"schema":1,"event":"warning","time":...,"kind":"owners-hidden","message":"..."}
//! ```

use super::json::{SocketJson, SCHEMA};
use super::time::rfc3339_ms;
use crate::model::{Row, Warning};
use crate::timeline::Change;
use serde::Serialize;
use std::io::{self, Write};
use std::time::SystemTime;

#[derive(Serialize)]
struct EventJson<'a> {
    schema: u32,
    event: &'static str,
    time: String,
    socket: SocketJson<'a>,
    before: Option<SocketJson<'a>>,
}

#[derive(Serialize)]
struct WarningLine<'a> {
    schema: u32,
    event: &'static str,
    time: String,
    kind: &'a str,
    message: &'a str,
}

/// One event line. `before` is the earlier socket of a `changed` event.
pub fn write_event(
    out: &mut dyn Write,
    change: Change,
    at: SystemTime,
    row: &Row,
    before: Option<&Row>,
) -> io::Result<()> {
    line(
        out,
        &EventJson {
            schema: SCHEMA,
            event: change.name(),
            time: rfc3339_ms(at),
            socket: SocketJson(row),
            before: before.map(SocketJson),
        },
    )
}

/// One warning line.
pub fn write_warning(out: &mut dyn Write, at: SystemTime, w: &Warning) -> io::Result<()> {
    line(
        out,
        &WarningLine {
            schema: SCHEMA,
            event: "warning",
            time: rfc3339_ms(at),
            kind: w.kind,
            message: &w.message,
        },
    )
}

/// Serialize into a buffer first: the line reaches `out` in one write, then is flushed.
fn line(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    let mut buf = Vec::with_capacity(512);
    serde_json::to_writer(&mut buf, value).map_err(io::Error::from)?;
    buf.push(b'\n');
    out.write_all(&buf)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Family, Owner, Owners, Proto, SockType, Socket, State};
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn one_valid_line_per_event_whatever_the_names() {
        let hostile = Owner::new(7, b"evil\x1b[2J\"\n\xff".as_slice(), 3, Some(0));
        let row = Row {
            owners: Some(Owners::from(vec![hostile])),
            ..Row::new(Socket::new(
                Proto::Tcp,
                Family::Ipv4,
                SockType::Stream,
                State::LISTEN,
            ))
        };
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let mut out = Vec::new();
        write_event(&mut out, Change::Changed, at, &row, Some(&row)).unwrap();
        write_warning(&mut out, at, &Warning::new("k", "two\nlines")).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        let e: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(e["schema"], 1);
        assert_eq!(e["event"], "changed");
        assert_eq!(e["time"], "2023-11-14T22:13:20.123Z");
        let comm = &e["socket"]["owners"][0];
        assert_eq!(comm["comm_hex"], "6576696c1b5b324a220aff");
        assert_eq!(e["before"]["state"], "LISTEN");
        let w: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(
            (&w["event"], &w["kind"], &w["message"]),
            (&"warning".into(), &"k".into(), &"two\nlines".into())
        );
    }
}
