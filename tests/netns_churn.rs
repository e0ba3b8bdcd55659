//! Namespaces created and destroyed while they are being found and read (issue #11): no read
//! fails, nothing is skipped as not permitted (we are root), and no socket is tagged with a
//! namespace it was not in. Each churned namespace gets a listener on a port no other one
//! uses, and its inode is recorded before the listener exists, so a listener found under any
//! other inode is a mis-tagged socket. Half the namespaces also get a member process, so they
//! are found and opened through a pid that then exits.
//!
//! Needs root and iproute2; under CI=true a missing one fails the test.
#![cfg(target_os = "linux")]

#[allow(unused_imports)]
#[path = "common/netns.rs"]
mod netns;
#[path = "common/nsread.rs"]
mod nsread;

use netns::Netns;
use nsread::{in_namespace, prerequisites_met, query, read};
use portwatch::model::Endpoint;
use portwatch::model::NetnsSpec;
use portwatch::platform::linux::netns::Skip;
use std::collections::HashMap;
use std::num::NonZeroU64;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BASE_PORT: u16 = 41000;

/// A member process of a churned namespace, killed by pid on drop.
struct Member(Child);

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The churning thread: stopped and joined on drop, also when the test fails.
struct Churn {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<usize>>,
}

impl Churn {
    fn finish(mut self) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        self.thread
            .take()
            .map_or(0, |t| t.join().expect("churn thread"))
    }
}

impl Drop for Churn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Port -> inodes its namespace had (an inode can be reused by a later namespace).
type Record = Arc<Mutex<HashMap<u16, Vec<NonZeroU64>>>>;

fn start_churn(record: Record) -> Churn {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let thread = std::thread::spawn(move || {
        let mut alive: Vec<(Netns, std::net::TcpListener, Option<Member>)> = Vec::new();
        let mut made = 0usize;
        while !flag.load(Ordering::SeqCst) && made < 400 {
            let ns = Netns::new();
            let path = Path::new("/run/netns").join(&ns.name);
            let ino = NonZeroU64::new(std::fs::metadata(&path).expect("ns file").ino()).unwrap();
            let port = BASE_PORT + made as u16;
            record.lock().unwrap().entry(port).or_default().push(ino);
            let l = in_namespace(&path, move || {
                std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind in churned namespace")
            });
            let member = made.is_multiple_of(2).then(|| {
                Member(
                    ns.command("sleep")
                        .arg("30")
                        .stdin(Stdio::null())
                        .spawn()
                        .expect("member process"),
                )
            });
            alive.push((ns, l, member));
            made += 1;
            // Keep a few alive; destroy the oldest: listener closed, member killed, name
            // deleted, in the order the drop runs (the guard's fields).
            if alive.len() > 3 {
                let (ns, l, member) = alive.remove(0);
                drop(member);
                drop(l);
                drop(ns);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        made
    });
    Churn {
        stop,
        thread: Some(thread),
    }
}

#[test]
fn churned_namespaces_never_fail_or_mistag() {
    if !prerequisites_met() {
        return;
    }
    let record: Record = Arc::default();
    let churn = start_churn(Arc::clone(&record));
    // Listeners only: the kernel filters, so a busy host's table does not slow the loop.
    let q = portwatch::model::Query {
        udp: false,
        states: portwatch::model::StateSet::LISTENING,
        ..query(false)
    };
    let mut checked = 0;
    let mut reads = 0;
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        let (_, _, r) = read(&[NetnsSpec::All], &q);
        reads += 1;
        for (ns, why) in &r.skipped {
            assert_eq!(*why, Skip::Gone, "{ns:?}: as root only vanishing is a skip");
        }
        let rec = record.lock().unwrap().clone();
        for (ns, snap, _) in &r.namespaces {
            for s in &snap.sockets {
                assert_eq!(
                    s.netns_inode(),
                    Some(ns.inode),
                    "tagged with the namespace read"
                );
                let Some(port) = s.local.as_ref().and_then(Endpoint::port) else {
                    continue;
                };
                let ours = s.local.as_ref().and_then(Endpoint::ip) == Some([127, 0, 0, 1].into());
                if !(ours && s.state.name() == "LISTEN") {
                    continue;
                }
                if let Some(inodes) = rec.get(&port) {
                    assert!(
                        inodes.contains(&ns.inode),
                        "listener on {port} read in {} but made in {inodes:?}",
                        ns.inode
                    );
                    checked += 1;
                }
            }
        }
    }
    let made = churn.finish();
    assert!(made > 20, "only {made} namespaces churned");
    assert!(
        reads > 5 && checked > 10,
        "{reads} reads checked only {checked} listeners"
    );
}
