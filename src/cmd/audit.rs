//! `portwatch audit` (issue #15): the listing pipeline reads the TCP and UDP listeners (of
//! portwatch's own network namespace, or of those `-N` selects) with every holder; the
//! platform reads what else the checks need, each namespace's interfaces and firewall from
//! inside it; `--probe` connects from inside too; `audit::audit` judges; `render::audit`
//! prints. Exit status: 0, or 1 when a finding reaches `--fail-on`.

use super::Context;
use crate::audit::probe::connect::{probe_all, ProbeOptions};
use crate::audit::{self, AllowList, Facts, ProbeTargets, Severity};
use crate::cli::{AuditArgs, FailOn, ListingArgs};
use crate::config::{self, Env};
use crate::error::{Error, Result};
use crate::model::{Row, StateSet, Warning};
use crate::pipeline::{self, Request};
use crate::platform::{self, Namespaces, SocketSource};
use crate::render::{self, notes};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::num::NonZeroU64;
use std::sync::Arc;

pub fn run(args: &AuditArgs, ctx: Context, env: &Env, out: &mut dyn Write) -> Result<u8> {
    // The allow file first: a mistake in it is the user's to fix before anything is read.
    let allow = match &args.allow {
        Some(path) => AllowList::load(path)?,
        None => AllowList::default(),
    };
    let request = request(&args.listing)?;
    let sys = &ctx.system;
    if args.probe && sys.options().fixture {
        return Err(Error::Usage(
            "--probe connects to live listeners; it cannot be combined with --proc-root".into(),
        ));
    }
    let specs = config::netns_specs(&args.listing.netns)?;
    let namespaces = match specs.is_empty() {
        true => None,
        false => Some(sys.namespaces(&specs)?),
    };
    let sources: Vec<&dyn SocketSource> = match &namespaces {
        Some(n) => n.sources(),
        None => vec![sys],
    };
    let listing = pipeline::run_many(&request, &sources, sys, &ctx.registry)?;
    let rows = listing.rows;
    let mut warnings = ctx.warnings;
    warnings.extend(listing.warnings);
    let (mut facts, w) = Facts::from_host(sys.audit_facts(&rows, namespaces.is_none()));
    warnings.extend(w);
    if let Some(n) = &namespaces {
        warnings.extend(n.warnings());
        warnings.extend(namespace_facts(n, &rows, &mut facts));
    }
    if args.probe {
        warnings.extend(probe(namespaces.as_ref(), &rows, &mut facts));
    }
    let report = audit::audit(&rows, &facts, &allow);
    if args.json {
        render::audit::write_json(&report, &warnings, out)?;
    } else {
        let opts = render::audit::TextOpts {
            width: env.stdout_tty.then_some(env.term_width).flatten(),
            namespaces: namespaces.is_some(),
        };
        render::audit::write_text(&report, &opts, out)?;
        // Notes come after the output, not in the middle of a buffered write.
        out.flush()?;
        notes::print_warnings(&warnings);
    }
    Ok(u8::from(report.fails(threshold(args.fail_on))))
}

fn threshold(f: FailOn) -> Severity {
    match f {
        FailOn::Info => Severity::Info,
        FailOn::Low => Severity::Low,
        FailOn::Medium => Severity::Medium,
        FailOn::High => Severity::High,
    }
}

/// The listing request of an audit: the user's protocols (TCP and UDP when none), families,
/// namespaces and filter, over listeners only, with every holder (a deleted executable
/// among a pre-fork server's workers is a finding), user names, containers and units.
pub fn request(a: &ListingArgs) -> Result<Request> {
    if (a.unix || a.raw) && !(a.tcp || a.udp) {
        return Err(Error::Usage(
            "audit judges TCP and UDP listeners: -x (unix) and -w (raw) select none".into(),
        ));
    }
    let mut req = config::request(a)?;
    let both = !(a.tcp || a.udp);
    req.query.tcp = a.tcp || both;
    req.query.udp = a.udp || both;
    req.query.unix = false;
    req.query.raw = false;
    req.query.states = StateSet::LISTENING;
    req.owners = true;
    req.all_owners = true;
    req.user_names = true;
    req.attribution = true;
    Ok(req)
}

/// The namespaces the rows live in (`Socket::netns`), with the label each is shown by.
fn row_namespaces(rows: &[Row]) -> BTreeMap<NonZeroU64, String> {
    rows.iter()
        .filter_map(|r| {
            let inode = r.sock.netns_inode()?;
            let label = r.netns.as_ref().map_or_else(
                || format!("net:[{inode}]"),
                |n| if n.host { "host".into() } else { n.label() },
            );
            Some((inode, label))
        })
        .collect()
}

/// `-N`: the interfaces and firewall of every namespace that has listeners, read inside it.
/// A warning that only some namespaces gave names them; one that cannot be entered at all is
/// counted in one warning.
fn namespace_facts(n: &Namespaces, rows: &[Row], facts: &mut Facts) -> Vec<Warning> {
    let labels = row_namespaces(rows);
    let inodes: Vec<NonZeroU64> = labels.keys().copied().collect();
    let mut by_message: Vec<(Warning, Vec<NonZeroU64>)> = Vec::new();
    let mut unread = 0;
    for (inode, read) in n.each_inside(&inodes, |_| platform::namespace_audit_facts()) {
        let Some(host) = read else {
            unread += 1;
            continue;
        };
        for w in facts.add_namespace(Some(inode), host) {
            match by_message.iter_mut().find(|(x, _)| x.message == w.message) {
                Some((_, at)) => at.push(inode),
                None => by_message.push((w, vec![inode])),
            }
        }
    }
    let mut out: Vec<Warning> = by_message
        .into_iter()
        .map(|(mut w, at)| {
            if at.len() < inodes.len() {
                let names: Vec<&str> = at
                    .iter()
                    .filter_map(|i| labels.get(i))
                    .map(String::as_str)
                    .collect();
                w.message = format!("{} (in {})", w.message, list(&names));
            }
            w
        })
        .collect();
    if unread > 0 {
        out.push(Warning::new(
            "netns-facts-unread",
            format!(
                "the interfaces and firewall of {unread} network namespace{} were not read \
                 (entering one needs CAP_SYS_ADMIN), so their findings have no firewall verdict",
                if unread == 1 { "" } else { "s" }
            ),
        ));
    }
    out
}

/// Up to five names, then how many more.
fn list(names: &[&str]) -> String {
    const SHOWN: usize = 5;
    let mut s = names
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        s.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    s
}

/// `--probe`: connect to the exposed TCP listeners from inside their namespaces (ours in
/// this thread without `-N`).
fn probe(namespaces: Option<&Namespaces>, rows: &[Row], facts: &mut Facts) -> Vec<Warning> {
    let opts = ProbeOptions::default();
    let Some(n) = namespaces else {
        facts.probe(rows, &opts);
        return Vec::new();
    };
    let mut unreached = 0;
    facts.probe_with(rows, |targets: ProbeTargets| {
        let inodes: Vec<NonZeroU64> = targets.keys().flatten().copied().collect();
        let targets = Arc::new(targets);
        let answers = n.each_inside(&inodes, move |inode| {
            let addrs = targets.get(&Some(inode)).map(Vec::as_slice);
            probe_all(addrs.unwrap_or_default(), &opts)
        });
        let mut out = HashMap::new();
        for (inode, got) in answers {
            match got {
                Some(p) => {
                    out.insert(Some(inode), p);
                }
                None => unreached += 1,
            }
        }
        out
    });
    if unreached == 0 {
        return Vec::new();
    }
    vec![Warning::new(
        "probe-unreached",
        format!(
            "--probe could not enter {unreached} network namespace{} (needs CAP_SYS_ADMIN): \
             what answers on their ports is \"unknown\"",
            if unreached == 1 { "" } else { "s" }
        ),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(a: ListingArgs) -> Result<Request> {
        request(&a)
    }

    #[test]
    fn an_audit_reads_tcp_and_udp_listeners_with_every_holder() {
        let r = req(ListingArgs::default()).unwrap();
        let q = &r.query;
        assert!(q.tcp && q.udp && !q.unix && !q.raw);
        assert_eq!(q.states, StateSet::LISTENING);
        assert!(r.owners && r.all_owners && r.user_names && r.attribution);
        let r = req(ListingArgs {
            tcp: true,
            ipv4: true,
            filter: ["sport", "=", ":23"].map(String::from).to_vec(),
            ..ListingArgs::default()
        })
        .unwrap();
        assert!(r.query.tcp && !r.query.udp);
        assert_eq!(r.family, crate::model::FamilyFilter::Ipv4);
        assert!(!r.filter.is_empty());
        let r = req(ListingArgs {
            all: true,
            tcp: true,
            unix: true,
            ..ListingArgs::default()
        })
        .unwrap();
        assert_eq!(
            r.query.states,
            StateSet::LISTENING,
            "-a reads listeners all the same"
        );
        assert!(!r.query.unix);
        let unix_only = ListingArgs {
            unix: true,
            ..ListingArgs::default()
        };
        assert!(matches!(req(unix_only), Err(Error::Usage(m)) if m.contains("TCP and UDP")));
    }

    #[test]
    fn long_lists_are_cut_after_five() {
        assert_eq!(list(&["a", "b"]), "a, b");
        assert_eq!(
            list(&["1", "2", "3", "4", "5", "6", "7"]),
            "1, 2, 3, 4, 5 and 2 more"
        );
    }
}
