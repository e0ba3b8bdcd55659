//! The labels file: set/rm/list round trip, format errors with line numbers, preserved
//! comments, never overwriting a malformed file, concurrent writers, path resolution.

use portwatch::error::Error;
use portwatch::registry::labels::{self, default_labels_path, LabelStore};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

fn names(store: &LabelStore) -> Vec<(u16, &'static str, String, Option<String>)> {
    store
        .list()
        .unwrap()
        .into_iter()
        .map(|l| (l.port, l.proto, l.name, l.description))
        .collect()
}

#[test]
fn set_rm_list_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    // A config dir that does not exist yet is created.
    let store = LabelStore::open(dir.path().join("portwatch/labels"));
    assert!(store.list().unwrap().is_empty());

    assert_eq!(
        store
            .set(8123, "tcp", "home-assistant", Some("Home Assistant UI"))
            .unwrap(),
        None
    );
    assert_eq!(store.set(5353, "udp", "mdns", None).unwrap(), None);
    assert_eq!(
        names(&store),
        vec![
            (
                8123,
                "tcp",
                "home-assistant".into(),
                Some("Home Assistant UI".into())
            ),
            (5353, "udp", "mdns".into(), None),
        ]
    );

    // Replacing returns the old label and keeps the position.
    let old = store.set(8123, "tcp", "hass", None).unwrap().unwrap();
    assert_eq!(old.name, "home-assistant");
    assert_eq!(names(&store)[0], (8123, "tcp", "hass".into(), None));

    // Same port, other protocol: a separate label.
    store.set(8123, "udp", "hass-udp", None).unwrap();
    assert_eq!(names(&store).len(), 3);

    let removed = store.remove(8123, "tcp").unwrap().unwrap();
    assert_eq!(removed.name, "hass");
    assert_eq!(store.remove(8123, "tcp").unwrap(), None);
    assert_eq!(
        names(&store),
        vec![
            (5353, "udp", "mdns".into(), None),
            (8123, "udp", "hass-udp".into(), None)
        ]
    );
    // No temp files left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("portwatch"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn hand_edits_and_comments_survive_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("labels");
    std::fs::write(
        &path,
        "# my ports\n\n3000/tcp   grafana    dashboards # not a comment\n  # indented comment\n9000/tcp minio\n",
    )
    .unwrap();
    let store = LabelStore::open(&path);
    let list = store.list().unwrap();
    assert_eq!(
        list[0].description.as_deref(),
        Some("dashboards # not a comment")
    );
    store.set(9000, "tcp", "minio-api", Some("S3 API")).unwrap();
    store.set(7000, "udp", "x", None).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "# my ports");
    assert_eq!(lines[2], "3000/tcp   grafana    dashboards # not a comment");
    assert_eq!(lines[3], "  # indented comment");
    assert!(lines[4].starts_with("9000/tcp") && lines[4].contains("minio-api"));
    assert!(lines[5].starts_with("7000/udp"));
    // What set wrote parses back to what was set.
    let back = store.list().unwrap();
    assert_eq!(back[1].description.as_deref(), Some("S3 API"));
}

#[test]
fn malformed_files_report_file_and_line_and_are_never_overwritten() {
    let cases = [
        ("8123/tcp ok\n8124 nope\n", 2),       // no protocol
        ("8123/tcp ok\n\n99999/tcp big\n", 3), // port out of range
        ("8123/tcp\n", 1),                     // no name
        ("1/tcp a\n1/tcp b\n", 2),             // duplicate
        ("# c\n1/icmp a\n", 2),                // unknown protocol
    ];
    for (text, line) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("labels");
        std::fs::write(&path, text).unwrap();
        let store = LabelStore::open(&path);
        for result in [
            store.list().map(|_| ()),
            store.set(5, "tcp", "new", None).map(|_| ()),
            store.remove(8123, "tcp").map(|_| ()),
        ] {
            match result {
                Err(Error::BadFile {
                    path: p, line: l, ..
                }) => {
                    assert_eq!((p.as_path(), l), (path.as_path(), line), "{text:?}")
                }
                other => panic!("{text:?}: expected BadFile, got {other:?}"),
            }
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }
}

#[test]
fn invalid_utf8_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("labels");
    std::fs::write(&path, b"1/tcp a\n2/tcp b\xff\n").unwrap();
    match LabelStore::open(&path).list() {
        Err(Error::BadFile { line, .. }) => assert_eq!(line, 2),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_names_and_descriptions_are_refused_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let store = LabelStore::open(dir.path().join("labels"));
    for (name, desc) in [
        ("two words", None),
        ("", None),
        ("#x", None),
        ("ok", Some("line\nbreak")),
    ] {
        let err = store.set(1, "tcp", name, desc).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{name:?}: {err}");
    }
    assert!(store.set(1, "icmp", "x", None).is_err());
    assert!(!store.path().exists());
}

#[test]
fn concurrent_writers_lose_no_label() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("labels");
    let threads: Vec<_> = (0..8u16)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                // Each writer opens the store itself, as separate processes would.
                for i in 0..10u16 {
                    let store = LabelStore::open(&path);
                    let port = 10_000 + t * 100 + i;
                    store.set(port, "tcp", &format!("w{t}-{i}"), None).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let list = LabelStore::open(&path).list().unwrap();
    assert_eq!(list.len(), 80);
    for t in 0..8u16 {
        for i in 0..10u16 {
            let port = 10_000 + t * 100 + i;
            let l = list.iter().find(|l| l.port == port).unwrap();
            assert_eq!(l.name, format!("w{t}-{i}"));
        }
    }
}

fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
    move |k| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| OsString::from(v))
    }
}

#[test]
fn labels_path_precedence() {
    let all = [
        ("PORTWATCH_LABELS", "/env/labels"),
        ("XDG_CONFIG_HOME", "/xdg"),
        ("HOME", "/home/u"),
    ];
    let flag = Path::new("/flag/labels");
    assert_eq!(
        default_labels_path(Some(flag), env(&all)),
        Some(flag.to_path_buf())
    );
    assert_eq!(
        default_labels_path(None, env(&all)),
        Some(PathBuf::from("/env/labels"))
    );
    assert_eq!(
        default_labels_path(None, env(&all[1..])),
        Some(PathBuf::from("/xdg/portwatch/labels"))
    );
    // Empty and relative XDG_CONFIG_HOME are ignored (XDG Base Directory spec).
    for xdg in ["", "relative"] {
        let vars = [
            ("PORTWATCH_LABELS", ""),
            ("XDG_CONFIG_HOME", xdg),
            ("HOME", "/home/u"),
        ];
        assert_eq!(
            default_labels_path(None, env(&vars)),
            Some(PathBuf::from("/home/u/.config/portwatch/labels"))
        );
    }
    assert_eq!(default_labels_path(None, env(&[])), None);
}

#[test]
fn port_specs() {
    assert_eq!(
        labels::parse_port_proto("8123/tcp", None),
        Ok((8123, "tcp"))
    );
    assert_eq!(labels::parse_port_proto("53/UDP", None), Ok((53, "udp")));
    assert_eq!(
        labels::parse_port_proto("8123", Some("tcp")),
        Ok((8123, "tcp"))
    );
    assert!(labels::parse_port_proto("8123", None).is_err());
    assert!(labels::parse_port_proto("65536/tcp", None).is_err());
    assert!(labels::parse_port_proto("http/tcp", None).is_err());
    assert!(labels::parse_port_proto("1/icmp", None).is_err());
}

#[cfg(unix)]
#[test]
fn a_symlinked_labels_file_stays_a_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("dotfiles-labels");
    std::fs::write(&real, "1/tcp one\n").unwrap();
    let link = dir.path().join("labels");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let store = LabelStore::open(&link);
    store.set(2, "tcp", "two", None).unwrap();
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&real)
        .unwrap()
        .contains("2/tcp\ttwo"));
    assert_eq!(store.list().unwrap().len(), 2);
}
