//! Registry layer precedence (label > --services > /etc/services > IANA > curated) and the
//! handling of malformed services files, on fixture files in a temp dir.

use portwatch::error::Error;
use portwatch::registry::{Registry, RegistryOptions, Source};
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// A registry over fixture files: each layer names 9999/tcp ... so precedence is visible.
fn fixture(dir: &Path) -> RegistryOptions {
    let etc = write(
        dir,
        "services",
        "# fixture /etc/services\n\
         ssh\t\t22/tcp\t\t\t# SSH Remote Login Protocol\n\
         etc-only\t9999/tcp\tetc-alias\t# from etc\n\
         etc-5432\t5432/tcp\n\
         etc-8123\t8123/tcp\n\
         etc-udp\t9999/udp\n",
    );
    let extra = write(
        dir,
        "extra",
        "extra-9999 9999/tcp # from the extra file\nextra-5432 5432/tcp\n",
    );
    let labels = write(dir, "labels", "8123/tcp home-assistant Home Assistant UI\n");
    RegistryOptions {
        etc_services: etc,
        extra_services: vec![extra],
        labels: Some(labels),
    }
}

#[test]
fn each_layer_wins_over_the_ones_below() {
    let dir = tempfile::tempdir().unwrap();
    let opts = fixture(dir.path());
    let (reg, warnings) = Registry::load(&opts).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");

    // Label over everything (etc-8123 and curated home-assistant exist too).
    let s = reg.lookup(8123, "tcp").unwrap();
    assert_eq!(
        (s.name.as_str(), s.source),
        ("home-assistant", Source::Label)
    );
    assert_eq!(s.description.as_deref(), Some("Home Assistant UI"));
    assert_eq!(s.origin.as_deref(), opts.labels.as_deref());

    // --services over /etc/services over IANA (IANA: 5432/tcp postgresql).
    let s = reg.lookup(9999, "tcp").unwrap();
    assert_eq!(
        (s.name.as_str(), s.source),
        ("extra-9999", Source::ServicesFile)
    );
    let s = reg.lookup(5432, "tcp").unwrap();
    assert_eq!(s.source, Source::ServicesFile);

    // /etc/services over IANA: 22/tcp is ssh in both; the source says which layer.
    let s = reg.lookup(22, "tcp").unwrap();
    assert_eq!((s.name.as_str(), s.source), ("ssh", Source::EtcServices));
    assert_eq!(s.description.as_deref(), Some("SSH Remote Login Protocol"));

    // Protocols are separate namespaces.
    let s = reg.lookup(9999, "udp").unwrap();
    assert_eq!(
        (s.name.as_str(), s.source),
        ("etc-udp", Source::EtcServices)
    );

    // Nothing above names 443: IANA; nothing above names 5173: curated, marked as such.
    let s = reg.lookup(443, "tcp").unwrap();
    assert_eq!((s.name.as_str(), s.source), ("https", Source::Iana));
    let s = reg.lookup(5173, "tcp").unwrap();
    assert_eq!((s.name.as_str(), s.source), ("vite", Source::Curated));

    // Nobody names this one.
    assert_eq!(reg.lookup(5174, "udp"), None);
}

#[test]
fn iana_wins_over_curated() {
    // 9090/tcp is IANA's websm; the curated "prometheus" shows only among all names.
    let reg = Registry::builtin();
    let s = reg.lookup(9090, "tcp").unwrap();
    assert_eq!((s.name.as_str(), s.source), ("websm", Source::Iana));
    let names = reg.names(9090, Some("tcp"));
    let curated = names
        .iter()
        .find(|n| n.service.source == Source::Curated)
        .unwrap();
    assert_eq!(curated.service.name, "prometheus");
    assert!(!curated.primary);
    assert!(names.first().unwrap().primary);
}

#[test]
fn names_lists_every_layer_and_marks_the_shown_one() {
    let dir = tempfile::tempdir().unwrap();
    let (reg, _) = Registry::load(&fixture(dir.path())).unwrap();
    let names = reg.names(9999, None);
    let got: Vec<(&str, &str, Source, bool)> = names
        .iter()
        .map(|n| {
            (
                n.proto,
                n.service.name.as_str(),
                n.service.source,
                n.primary,
            )
        })
        .collect();
    assert_eq!(got[0], ("tcp", "extra-9999", Source::ServicesFile, true));
    assert_eq!(got[1], ("tcp", "etc-only", Source::EtcServices, false));
    // Grouped by protocol: every tcp name before the udp ones, highest layer first in each.
    let first_udp = got.iter().position(|g| g.0 == "udp").unwrap();
    assert!(got[first_udp..].iter().all(|g| g.0 == "udp"), "{got:?}");
    assert_eq!(
        got[first_udp],
        ("udp", "etc-udp", Source::EtcServices, true)
    );
    assert_eq!(
        got.iter().filter(|g| g.3).count(),
        2,
        "one shown name per protocol"
    );
    assert_eq!(names[1].aliases, vec!["etc-alias".to_string()]);
    // Only the udp ones when asked for udp.
    assert!(reg
        .names(9999, Some("udp"))
        .iter()
        .all(|n| n.proto == "udp"));
}

#[test]
fn names_resolve_like_getservbyname() {
    let dir = tempfile::tempdir().unwrap();
    let (reg, _) = Registry::load(&fixture(dir.path())).unwrap();
    assert_eq!(reg.port_by_name("home-assistant", "tcp"), Some(8123));
    assert_eq!(reg.port_by_name("etc-alias", "tcp"), Some(9999));
    assert_eq!(reg.port_by_name("etc-udp", "udp"), Some(9999));
    assert_eq!(reg.port_by_name("etc-udp", "tcp"), None);
    assert_eq!(reg.port_by_name("https", "tcp"), Some(443));
    assert_eq!(reg.port_by_name("ollama", "tcp"), Some(11434));
    assert_eq!(reg.port_by_name("8080", "tcp"), Some(8080));
    assert_eq!(reg.port_by_name("no-such-name", "tcp"), None);
}

#[test]
fn malformed_services_file_is_an_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = fixture(dir.path());
    let bad = write(dir.path(), "bad", "# ok\ngood 1/tcp\nbroken 80\n");
    opts.extra_services = vec![bad.clone()];
    match Registry::load(&opts) {
        Err(e @ Error::BadFile { .. }) => {
            let Error::BadFile { path, line, .. } = &e else {
                unreachable!()
            };
            assert_eq!((path, *line), (&bad, 3));
            assert_eq!(e.exit_code(), 2);
            assert!(
                e.to_string().starts_with(&format!("{}:3:", bad.display())),
                "{e}"
            );
        }
        other => panic!("expected BadFile, got {other:?}"),
    }
}

#[test]
fn missing_services_file_given_by_the_user_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = fixture(dir.path());
    opts.extra_services = vec![dir.path().join("absent")];
    let err = Registry::load(&opts).unwrap_err();
    assert_eq!(err.exit_code(), 2, "{err}");
}

#[test]
fn malformed_etc_services_is_a_warning_and_the_rest_loads() {
    let dir = tempfile::tempdir().unwrap();
    let etc = write(
        dir.path(),
        "services",
        "one 1111/tcp\nbroken\ntwo 2222/tcp\nthree 70000/tcp\n",
    );
    let opts = RegistryOptions {
        etc_services: etc.clone(),
        ..RegistryOptions::default()
    };
    let (reg, warnings) = Registry::load(&opts).unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].kind, "malformed-line");
    assert!(
        warnings[0]
            .message
            .contains(&format!("{}:2:", etc.display())),
        "{:?}",
        warnings[0]
    );
    assert!(warnings[0].message.contains("1 more"), "{:?}", warnings[0]);
    assert_eq!(reg.lookup(1111, "tcp").unwrap().name, "one");
    assert_eq!(reg.lookup(2222, "tcp").unwrap().name, "two");
}

#[test]
fn missing_etc_services_and_labels_are_fine() {
    let dir = tempfile::tempdir().unwrap();
    let opts = RegistryOptions {
        etc_services: dir.path().join("no-services"),
        extra_services: vec![],
        labels: Some(dir.path().join("no-labels")),
    };
    let (reg, warnings) = Registry::load(&opts).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(reg.lookup(22, "tcp").unwrap().source, Source::Iana);
}

#[test]
fn malformed_labels_file_is_an_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = fixture(dir.path());
    let labels = write(dir.path(), "labels", "# mine\n8123/tcp ha\n8124/xyz nope\n");
    opts.labels = Some(labels.clone());
    match Registry::load(&opts) {
        Err(Error::BadFile { path, line, .. }) => assert_eq!((path, line), (labels, 3)),
        other => panic!("expected BadFile, got {other:?}"),
    }
}

#[test]
fn system_etc_services_loads_if_present() {
    // The live /etc/services (netbase) must load without error; names match ss's.
    let (reg, _warnings) = Registry::load(&RegistryOptions::default()).unwrap();
    if Path::new("/etc/services").exists() {
        let s = reg.lookup(22, "tcp").unwrap();
        assert_eq!(s.name, "ssh");
    }
}
