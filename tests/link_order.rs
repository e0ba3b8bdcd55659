//! How the binary is linked, for the pages a run maps: the functions a listing runs come
//! first in its text, in the order data/hot-functions.txt gives (build.rs), and it needs no
//! libm.

use std::collections::HashMap;
use std::process::Command;

/// Text symbols of the binary by address: (address, name).
fn text_symbols(bin: &str) -> Vec<(u64, String)> {
    let out = Command::new("nm")
        .args(["--defined-only", "-n", bin])
        .output()
        .expect("nm runs (binutils)");
    assert!(out.status.success(), "nm failed on {bin}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut p = l.split_whitespace();
            let (addr, kind, name) = (p.next()?, p.next()?, p.next()?);
            matches!(kind, "t" | "T" | "W").then(|| (u64::from_str_radix(addr, 16).ok(), name))
        })
        .filter_map(|(a, n)| Some((a?, n.to_string())))
        .collect()
}

#[test]
fn listed_functions_come_first_and_together() {
    let list = include_str!("../data/hot-functions.txt");
    let rank: HashMap<&str, usize> = list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .enumerate()
        .map(|(i, n)| (n, i))
        .collect();
    assert!(rank.len() > 100, "the list has {} names", rank.len());
    // One entry per address: identical functions share one (a u32 and a usize formatter), and
    // an address is listed when any of its names is.
    let mut at: Vec<(u64, Option<usize>, &str)> = Vec::new();
    let syms = text_symbols(env!("CARGO_BIN_EXE_portwatch"));
    for (addr, name) in &syms {
        let r = rank.get(name.as_str()).copied();
        match at.last_mut() {
            Some(last) if last.0 == *addr => last.1 = last.1.into_iter().chain(r).min(),
            _ => at.push((*addr, r, name)),
        }
    }
    let listed: Vec<usize> = (0..at.len()).filter(|&i| at[i].1.is_some()).collect();
    // A test build has other code than the release build the list was made from, but the
    // standard library's functions and many generic ones keep their names.
    assert!(
        listed.len() >= 20,
        "only {} listed functions are in the test binary: the list is stale (another \
         toolchain?); remake it with scripts/hot-functions.py (README, Performance)",
        listed.len()
    );
    let (first, last) = (listed[0], listed[listed.len() - 1]);
    let strays: Vec<&str> = at[first..=last]
        .iter()
        .filter(|f| f.1.is_none())
        .map(|f| f.2)
        .take(5)
        .collect();
    assert!(
        strays.is_empty(),
        "unlisted functions among the listed ones (not ordered by the linker?): {strays:?}"
    );
    // Non-decreasing: local functions of two objects may share a name.
    let ranks: Vec<usize> = listed.iter().filter_map(|&i| at[i].1).collect();
    assert!(
        ranks.windows(2).all(|w| w[0] <= w[1]),
        "listed functions out of the list's order"
    );
    assert!(
        first < 10,
        "{first} unlisted functions come before the listed ones: {:?}",
        at[..first.min(5)].iter().map(|f| f.2).collect::<Vec<_>>()
    );
}

/// Loading libm runs its IFUNC resolvers and maps ~0.3 MB of it into every run; portwatch
/// used one function of it (`log10`, for `%g`). A float function that needs libm would
/// bring it back unnoticed.
#[test]
fn the_binary_needs_no_libm() {
    let out = Command::new("readelf")
        .args(["-d", env!("CARGO_BIN_EXE_portwatch")])
        .output()
        .expect("readelf runs (binutils)");
    assert!(out.status.success());
    let dynamic = String::from_utf8_lossy(&out.stdout);
    let needed: Vec<&str> = dynamic.lines().filter(|l| l.contains("(NEEDED)")).collect();
    assert!(needed.iter().any(|l| l.contains("libc.so")), "{dynamic}");
    assert!(
        !needed.iter().any(|l| l.contains("libm.so")),
        "the binary needs libm again: {needed:?}"
    );
}
