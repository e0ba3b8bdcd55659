//! Property tests of the small text parsers: services(5) files, the labels file and
//! LabelStore, `explain` port specs, ip_local_port_range.

use super::nasty_bytes;
use portwatch::registry::{labels, services};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

// ---- services(5) ----

fn svc_word() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9._+-]{0,15}"
}

proptest! {
    #[test]
    fn services_garbage_never_panics(text in nasty_bytes(300).prop_map(|b| String::from_utf8_lossy(&b).into_owned())) {
        let (entries, bad) = services::parse(&text);
        let lines = text.lines().count();
        prop_assert!(bad.iter().all(|b| b.line >= 1 && b.line <= lines && !b.msg.is_empty()));
        prop_assert!(entries.iter().all(|e| e.line >= 1 && e.line <= lines));
        prop_assert!(bad.windows(2).all(|w| w[0].line < w[1].line));
    }

    /// Well-formed lines (with blanks, comments and aliases) parse to what was written.
    #[test]
    fn services_round_trip(
        lines in prop::collection::vec((
            svc_word(),
            any::<u16>(),
            prop::sample::select(vec!["tcp", "udp", "sctp", "dccp", "TCP"]),
            prop::collection::vec(svc_word(), 0..3),
            prop::option::of("[ -~\u{e9}\u{4e2d}]{0,30}"),
            prop::sample::select(vec![" ", "\t", " \t ", "\t\t"]),
        ), 0..12),
    ) {
        let mut text = String::from("# services\n\n");
        for (name, port, proto, aliases, comment, sep) in &lines {
            text.push_str(&format!("{name}{sep}{port}/{proto}"));
            for a in aliases {
                text.push_str(&format!("{sep}{a}"));
            }
            if let Some(c) = comment {
                text.push_str(&format!("{sep}#{c}"));
            }
            text.push('\n');
        }
        let (entries, bad) = services::parse(&text);
        prop_assert!(bad.is_empty(), "{:?}\n{}", bad, text);
        prop_assert_eq!(entries.len(), lines.len());
        for (i, (e, (name, port, proto, aliases, comment, _))) in entries.iter().zip(&lines).enumerate() {
            prop_assert_eq!(&e.name, name);
            prop_assert_eq!(e.port, *port);
            prop_assert_eq!(e.proto, proto.to_ascii_lowercase());
            prop_assert_eq!(&e.aliases, aliases);
            let desc = comment.as_deref().map(str::trim).filter(|c| !c.is_empty());
            prop_assert_eq!(e.description.as_deref(), desc);
            prop_assert_eq!(e.line, i + 3);
        }
    }
}

// ---- labels ----

/// A valid label: unique PORT/PROTO, a one-word name, an optional one-line description.
fn label_set() -> impl Strategy<Value = Vec<(u16, &'static str, String, Option<String>)>> {
    let one = (
        any::<u16>(),
        prop::sample::select(vec!["tcp", "udp", "sctp", "dccp"]),
        "[^\\s#\\p{Cc}][^\\s\\p{Cc}]{0,15}",
        prop::option::of("[^\\p{Cc}]{0,30}"),
    )
        .prop_filter("valid name", |(_, _, n, _)| {
            labels::validate_name(n).is_ok()
        })
        .prop_map(|(p, proto, n, d)| {
            let d = d.map(|d| d.trim().to_string()).filter(|d| !d.is_empty());
            (p, proto, n, d)
        });
    prop::collection::vec(one, 0..10).prop_map(|v| {
        let mut seen = BTreeMap::new();
        v.into_iter()
            .filter(|l| seen.insert((l.0, l.1), ()).is_none())
            .collect()
    })
}

proptest! {
    #[test]
    fn labels_garbage_never_panics(text in nasty_bytes(300).prop_map(|b| String::from_utf8_lossy(&b).into_owned())) {
        match labels::parse(&text, Path::new("labels")) {
            Ok(ls) => {
                for l in &ls {
                    prop_assert!(labels::validate_name(&l.name).is_ok());
                    prop_assert!(l.line >= 1);
                }
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    /// `Label::to_line` output parses back to the same labels.
    #[test]
    fn label_lines_round_trip(set in label_set()) {
        let text: String = set
            .iter()
            .map(|(port, proto, name, desc)| {
                labels::Label {
                    port: *port,
                    proto,
                    name: name.clone(),
                    description: desc.clone(),
                    line: 0,
                }
                .to_line()
                    + "\n"
            })
            .collect();
        let got = labels::parse(&text, Path::new("labels")).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let got: Vec<_> = got.into_iter().map(|l| (l.port, l.proto, l.name, l.description)).collect();
        prop_assert_eq!(got, set);
    }
}

proptest! {
    // File I/O with fsync per label: fewer cases than the pure properties.
    #![proptest_config(ProptestConfig { cases: ProptestConfig::default().cases / 8 + 1, ..ProptestConfig::default() })]

    /// Labels written by `LabelStore::set` (and some removed) read back as the same labels.
    #[test]
    fn label_store_writes_parse_back(set in label_set(), remove_mask in any::<u16>()) {
        let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let store = labels::LabelStore::open(dir.path().join("labels"));
        for (port, proto, name, desc) in &set {
            store.set(*port, proto, name, desc.as_deref()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        let mut want = Vec::new();
        for (i, l) in set.iter().enumerate() {
            if remove_mask & (1 << (i % 16)) != 0 {
                let old = store.remove(l.0, l.1).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(old.map(|o| o.name), Some(l.2.clone()));
            } else {
                want.push(l.clone());
            }
        }
        let got = store.list().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let got: Vec<_> = got.into_iter().map(|l| (l.port, l.proto, l.name, l.description)).collect();
        prop_assert_eq!(got, want);
    }
}

// ---- small parsers of user and system text ----

proptest! {
    /// `explain PORT[/PROTO]`: any spec resolves or is refused with a message.
    #[test]
    fn explain_specs_never_panic(
        spec in prop_oneof![
            "[0-9]{0,7}(/[a-zA-Z]{0,5})?",
            "[a-z-]{0,12}(/(tcp|udp|TCP|sctp|dccp|x))?",
            nasty_bytes(12).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        ],
    ) {
        let reg = portwatch::registry::Registry::builtin();
        match portwatch::registry::explain::parse_spec(&reg, &spec) {
            Ok((port, _)) => {
                // A numeric spec is that number.
                let num = spec.split('/').next().unwrap_or_default();
                if let Ok(n) = num.parse::<u16>() {
                    prop_assert_eq!(port, n);
                }
            }
            Err(m) => prop_assert!(!m.is_empty()),
        }
    }

    /// `sys/net/ipv4/ip_local_port_range` with any content: a range with lo <= hi or none.
    #[test]
    fn ephemeral_range_file_never_panics(text in prop_oneof![
        "[0-9]{1,6}[ \t]{1,3}[0-9]{1,6}\n?",
        nasty_bytes(20).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]) {
        let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let f = dir.path().join("sys/net/ipv4");
        std::fs::create_dir_all(&f).map_err(|e| TestCaseError::fail(e.to_string()))?;
        std::fs::write(f.join("ip_local_port_range"), &text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let opts = portwatch::platform::SourceOptions {
            proc_root: dir.path().to_path_buf(),
            fixture: true,
            ..Default::default()
        };
        let sys = portwatch::platform::System::new(opts).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if let Some((lo, hi)) = portwatch::platform::SocketSource::ephemeral_range(&sys) {
            prop_assert!(lo <= hi);
            let nums: Vec<u16> = text.split_whitespace().filter_map(|w| w.parse().ok()).collect();
            prop_assert_eq!(&nums[..2.min(nums.len())], &[lo, hi][..]);
        }
    }
}
