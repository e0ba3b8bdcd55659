//! User labels: names people give their own ports, kept in a plain-text file they may edit.
//!
//! Format (one label per line, UTF-8):
//!
//! ```text
//! # Lines starting with '#' and blank lines are ignored.
//! 8123/tcp   home-assistant   Home Assistant web UI
//! 5353/udp   mdns
//! ```
//!
//! - `PORT/PROTO`: a port 0-65535 and one of tcp, udp, sctp, dccp.
//! - `NAME`: one word (no spaces, no control characters, not starting with '#'), at most 64
//!   bytes; shown in the Service column.
//! - `DESCRIPTION` (optional): the rest of the line, leading and trailing blanks trimmed,
//!   taken verbatim (spaces and '#' included, no quoting needed); shown by `explain`.
//! - Fields are separated by spaces or tabs. A PORT/PROTO may appear once.
//!
//! A malformed file is reported with its path and line and is never overwritten. Writes lock
//! `<file>.lock` (flock), re-read the file, and replace it atomically (temp file + rename), so
//! concurrent writers lose no label and readers never see a half-written file. Comments and
//! the order of other lines are preserved.

use super::iana::PROTOS;
use crate::error::{Error, Result};
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

/// Longest accepted label name, in bytes.
pub const MAX_NAME_LEN: usize = 64;

/// One label.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Label {
    pub port: u16,
    /// One of tcp, udp, sctp, dccp.
    pub proto: &'static str,
    pub name: String,
    pub description: Option<String>,
    /// 1-based line in the labels file.
    #[serde(skip)]
    pub line: usize,
}

impl Label {
    /// The label as a line of the labels file.
    pub fn to_line(&self) -> String {
        match &self.description {
            Some(d) => format!("{}/{}\t{}\t{d}", self.port, self.proto, self.name),
            None => format!("{}/{}\t{}", self.port, self.proto, self.name),
        }
    }
}

/// The labels file, resolved with `default_labels_path`.
#[derive(Debug, Clone)]
pub struct LabelStore {
    path: PathBuf,
}

/// Where the labels file is: `--labels FILE`, else `$PORTWATCH_LABELS`, else
/// `$XDG_CONFIG_HOME/portwatch/labels`, else `$HOME/.config/portwatch/labels`. Empty variables
/// count as unset (XDG Base Directory spec). `None` when none applies.
pub fn default_labels_path(
    flag: Option<&Path>,
    env: impl Fn(&str) -> Option<OsString>,
) -> Option<PathBuf> {
    let var = |k: &str| env(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(p) = flag {
        return Some(p.to_path_buf());
    }
    if let Some(p) = var("PORTWATCH_LABELS") {
        return Some(p);
    }
    // XDG: a relative XDG_CONFIG_HOME is invalid and must be ignored.
    if let Some(p) = var("XDG_CONFIG_HOME").filter(|p| p.is_absolute()) {
        return Some(p.join("portwatch").join("labels"));
    }
    var("HOME").map(|h| h.join(".config").join("portwatch").join("labels"))
}

/// A registry protocol name (any case) as its static spelling.
pub fn parse_proto(proto: &str) -> Result<&'static str, String> {
    let lower = proto.to_ascii_lowercase();
    PROTOS
        .iter()
        .copied()
        .find(|p| *p == lower)
        .ok_or_else(|| format!("unknown protocol {proto:?} (use tcp, udp, sctp or dccp)"))
}

/// Parse `PORT/PROTO` (or `PORT` alone when `default_proto` is given) as the CLI takes it.
pub fn parse_port_proto(
    spec: &str,
    default_proto: Option<&'static str>,
) -> Result<(u16, &'static str), String> {
    let (port, proto) = match spec.split_once('/') {
        Some((p, proto)) => (p, parse_proto(proto)?),
        None => (
            spec,
            default_proto.ok_or_else(|| format!("expected PORT/PROTO, found {spec:?}"))?,
        ),
    };
    let port = port
        .parse::<u16>()
        .map_err(|_| format!("bad port {port:?} (expected 0-65535)"))?;
    Ok((port, proto))
}

/// Check a label name; the error says what is wrong.
pub fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty label name".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!("label name longer than {MAX_NAME_LEN} bytes"));
    }
    if name.starts_with('#') {
        return Err("a label name cannot start with '#'".into());
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "label name {name:?} must be one word without control characters"
        ));
    }
    Ok(())
}

/// Check a description: one line without control characters.
pub fn validate_description(desc: &str) -> Result<(), String> {
    if desc.chars().any(char::is_control) {
        return Err("a description cannot contain control characters or line breaks".into());
    }
    Ok(())
}

/// Parse a labels file. `path` is only used in errors.
pub fn parse(text: &str, path: &Path) -> Result<Vec<Label>> {
    let bad = |line: usize, msg: String| Error::BadFile {
        path: path.to_path_buf(),
        line,
        msg,
    };
    let mut labels: Vec<Label> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (spec, rest) = split_word(trimmed);
        let (name, desc) = split_word(rest);
        let (port, proto) = parse_port_proto(spec, None).map_err(|m| bad(line, m))?;
        if name.is_empty() {
            return Err(bad(line, format!("{spec}: missing NAME")));
        }
        validate_name(name).map_err(|m| bad(line, m))?;
        validate_description(desc).map_err(|m| bad(line, m))?;
        if let Some(prev) = labels.iter().find(|l| (l.port, l.proto) == (port, proto)) {
            return Err(bad(
                line,
                format!("{port}/{proto} is already labelled on line {}", prev.line),
            ));
        }
        labels.push(Label {
            port,
            proto,
            name: name.to_string(),
            description: (!desc.is_empty()).then(|| desc.to_string()),
            line,
        });
    }
    Ok(labels)
}

/// The first blank-separated word and the trimmed rest.
fn split_word(s: &str) -> (&str, &str) {
    match s.find([' ', '\t']) {
        Some(i) => (s.get(..i).unwrap_or(s), s.get(i..).unwrap_or("").trim()),
        None => (s, ""),
    }
}

const HEADER: &str = "\
# portwatch labels: one per line, `PORT/PROTO NAME [DESCRIPTION]`, e.g.
#   8123/tcp  home-assistant  Home Assistant web UI
# NAME is one word; DESCRIPTION is the rest of the line. Edit freely, or use
# `portwatch label set|rm|list`.
";

impl LabelStore {
    pub fn open(path: impl Into<PathBuf>) -> LabelStore {
        LabelStore { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every label, in file order; an absent file has none.
    pub fn list(&self) -> Result<Vec<Label>> {
        match self.read()? {
            Some(text) => parse(&text, &self.path),
            None => Ok(Vec::new()),
        }
    }

    /// Set (or replace) the label of `port/proto`; returns the label it replaced.
    pub fn set(
        &self,
        port: u16,
        proto: &str,
        name: &str,
        description: Option<&str>,
    ) -> Result<Option<Label>> {
        let usage = |m: String| Error::Usage(m);
        let (_, proto) = parse_port_proto(&format!("{port}/{proto}"), None).map_err(usage)?;
        validate_name(name).map_err(usage)?;
        let desc = description.map(str::trim).filter(|d| !d.is_empty());
        if let Some(d) = desc {
            validate_description(d).map_err(usage)?;
        }
        let new_line = Label {
            port,
            proto,
            name: name.to_string(),
            description: desc.map(str::to_string),
            line: 0,
        }
        .to_line();
        self.update(|text, labels| {
            let old = labels.iter().find(|l| (l.port, l.proto) == (port, proto));
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            match old {
                Some(l) => {
                    if let Some(slot) = lines.get_mut(l.line.saturating_sub(1)) {
                        *slot = new_line.clone();
                    }
                }
                None => lines.push(new_line.clone()),
            }
            (Some(lines), old.cloned())
        })
    }

    /// Remove the label of `port/proto`; returns it, or `None` when there was none.
    pub fn remove(&self, port: u16, proto: &str) -> Result<Option<Label>> {
        self.update(|text, labels| {
            let old = labels
                .iter()
                .find(|l| (l.port, l.proto) == (port, proto))
                .cloned();
            if old.is_none() {
                return (None, None);
            }
            let lines = text
                .lines()
                .enumerate()
                .filter(|(i, _)| old.as_ref().is_none_or(|l| l.line != i + 1))
                .map(|(_, s)| s.to_string())
                .collect();
            (Some(lines), old)
        })
    }

    fn read(&self) -> Result<Option<String>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|e| {
                let valid = e.as_bytes().get(..e.utf8_error().valid_up_to());
                let line = valid
                    .unwrap_or_default()
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1;
                Error::BadFile {
                    path: self.path.clone(),
                    line,
                    msg: "not valid UTF-8".into(),
                }
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::File {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Lock, re-read and parse the file, let `edit` produce the new lines (`None`: nothing to
    /// change), write them atomically. A parse error aborts before anything is written.
    fn update(
        &self,
        edit: impl FnOnce(&str, &[Label]) -> (Option<Vec<String>>, Option<Label>),
    ) -> Result<Option<Label>> {
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        let lock_path = crate::platform::atomic::with_suffix(&self.path, ".lock");
        let lock_file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io_err(&lock_path, e))?;
        let _guard = crate::platform::filelock::lock_exclusive(lock_file)
            .map_err(|e| io_err(&lock_path, e))?;
        let existing = self.read()?;
        let text = existing.as_deref().unwrap_or(HEADER);
        let labels = parse(text, &self.path)?;
        let (lines, old) = edit(text, &labels);
        let Some(lines) = lines else { return Ok(old) };
        let mut out = lines.join("\n");
        out.push('\n');
        crate::platform::atomic::write(&self.path, out.as_bytes())
            .map_err(|e| io_err(&self.path, e))?;
        Ok(old)
    }
}

fn io_err(path: &Path, e: io::Error) -> Error {
    Error::Io(io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}
