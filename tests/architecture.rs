//! The layering rules of ARCHITECTURE.md, checked on the source: module dependencies run one
//! way (no import cycle between top-level modules), leaf backends never import their
//! dispatcher, the data model depends on nothing, and clap stays in the CLI layer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// (file relative to src/, its text without comments), for every source file.
fn files() -> Vec<(String, String)> {
    let mut v = Vec::new();
    sources(&src(), &mut v);
    v.sort();
    v.into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(src())
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&p).unwrap();
            let code: String = text
                .lines()
                .map(|l| l.split("//").next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n");
            (rel, code)
        })
        .collect()
}

/// The top-level module a file belongs to (`platform/linux/owners.rs` -> `platform`).
fn module_of(rel: &str) -> String {
    rel.split('/')
        .next()
        .unwrap()
        .trim_end_matches(".rs")
        .to_string()
}

/// Every `crate::NAME` a text refers to, including `use crate::{a, b::c}` groups.
fn crate_refs(code: &str) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name = item.trim().split("::").next().unwrap_or("").trim();
                if !name.is_empty() {
                    refs.insert(name.to_string());
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            refs.insert(name);
        }
    }
    refs
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, code) in files() {
        let m = module_of(&rel);
        if m == "main" || m == "lib" {
            continue;
        }
        let deps = g.entry(m.clone()).or_default();
        for r in crate_refs(&code) {
            if r != m {
                deps.insert(r);
            }
        }
    }
    g
}

/// A cycle through `start`, if there is one (depth-first).
fn cycle_from(g: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    fn dfs(
        g: &BTreeMap<String, BTreeSet<String>>,
        node: &str,
        start: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in g.get(node).into_iter().flatten() {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if dfs(g, next, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_string()];
    dfs(g, start, start, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn top_level_modules_have_no_import_cycle() {
    let g = graph();
    assert!(g.len() > 8, "the source walk found the modules: {g:?}");
    for m in g.keys() {
        if let Some(c) = cycle_from(&g, m) {
            panic!("import cycle: {}", c.join(" -> "));
        }
    }
}

#[test]
fn the_model_and_the_pure_stages_depend_only_downwards() {
    let g = graph();
    let allowed: &[(&str, &[&str])] = &[
        ("model", &[]),
        ("error", &[]),
        ("cli", &[]),
        ("filter", &["model", "error"]),
        ("join", &["model"]),
        ("platform", &["model", "error"]),
        ("registry", &["model", "error", "platform"]),
        // The audit core is pure: rows and facts in, a report out (its tests annotate rows).
        ("audit", &["model", "error", "filter", "registry"]),
        // A renderer prints finished data: a listing, an audit's report, events over time.
        (
            "render",
            &["model", "registry", "pipeline", "audit", "timeline"],
        ),
        // Pure comparisons over time: rows in, events and differences out.
        ("timeline", &["model", "filter", "error"]),
    ];
    for (m, ok) in allowed {
        let deps = g.get(*m).unwrap_or_else(|| panic!("no module {m}"));
        let bad: Vec<&String> = deps.iter().filter(|d| !ok.contains(&d.as_str())).collect();
        assert!(bad.is_empty(), "{m} must not depend on {bad:?}");
    }
}

#[test]
fn leaf_backends_never_import_their_dispatcher() {
    for (rel, code) in files() {
        if !rel.starts_with("platform/") || rel == "platform/mod.rs" {
            continue;
        }
        // A leaf may use its siblings and their children, never `crate::platform::X` where X
        // is something platform/mod.rs itself defines. filelock and atomic are leaves too
        // (files locked, files replaced whole), which depend on nothing in platform.
        for line in code.lines().filter(|l| l.contains("crate::platform")) {
            let leaves = [
                "crate::platform::filelock",
                "crate::platform::atomic",
                "crate::platform::linux",
            ];
            let ok = leaves.iter().any(|p| line.contains(p));
            assert!(ok, "{rel} imports its dispatcher: {}", line.trim());
        }
    }
}

#[test]
fn clap_stays_in_the_cli_layer() {
    // config.rs resolves the parsed arguments (its tests parse command lines).
    let cli_layer = ["cli.rs", "argv.rs", "config.rs", "cmd/completions.rs"];
    for (rel, code) in files() {
        if cli_layer.contains(&rel.as_str()) || rel == "main.rs" {
            continue;
        }
        assert!(
            !code.contains("clap::") && !code.contains("clap_complete"),
            "{rel} uses clap outside the CLI layer"
        );
    }
}

#[test]
fn a_planted_cycle_is_found() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    assert_eq!(cycle_from(&g, "a"), None);
    g.entry("c".into()).or_default().insert("a".into());
    assert_eq!(cycle_from(&g, "a").unwrap(), ["a", "b", "c", "a"]);
    assert_eq!(
        crate_refs("use crate::{model::Row, error::Error};\nlet x = crate::join::f();"),
        ["error", "join", "model"].map(String::from).into()
    );
}
