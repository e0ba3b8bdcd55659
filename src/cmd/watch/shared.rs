//! One copy of what rows share (a service annotation, a user or interface name, the
//! namespace, a container or unit) across glimpsed reads. Each read's pipeline makes its
//! own shared copies, which live as long as any row kept from that read: without this, a
//! watch would hold a set of them for every read until the longest-lived connection of each
//! had closed, memory that grew for as long as the connections lived.

use crate::model::{Annotation, Container, Name, Netns, Row, Unit};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

#[derive(Default)]
pub(super) struct Shared {
    services: HashMap<u16, Vec<Arc<Annotation>>>,
    names: HashSet<Name>,
    netns: Vec<Arc<Netns>>,
    containers: HashSet<Arc<Container>>,
    units: HashSet<Arc<Unit>>,
}

impl Shared {
    /// Point `row`'s shared parts at the copies already held, keeping new ones.
    pub fn intern(&mut self, row: &mut Row) {
        if let Some(a) = row.service.as_mut() {
            let same = self.services.entry(a.port).or_default();
            match same.iter().find(|x| ***x == **a) {
                Some(x) => *a = Arc::clone(x),
                None => same.push(Arc::clone(a)),
            }
        }
        if let Some(ns) = row.netns.as_mut() {
            match self.netns.iter().find(|x| **x == *ns) {
                Some(x) => *ns = Arc::clone(x),
                None => self.netns.push(Arc::clone(ns)),
            }
        }
        // Rows without rare parts have nothing more to share (and get no box here).
        let Some(rare) = row.rare.get_mut() else {
            return;
        };
        for n in [&mut rare.user, &mut rare.iface, &mut rare.cgroup]
            .into_iter()
            .flatten()
        {
            match self.names.get(n) {
                Some(x) => *n = x.clone(),
                None => {
                    self.names.insert(n.clone());
                }
            }
        }
        intern_arc(&mut self.containers, &mut rare.container);
        intern_arc(&mut self.units, &mut rare.unit);
    }

    /// Let go of the copies no row holds any more.
    pub fn purge(&mut self) {
        self.services.retain(|_, v| {
            v.retain(|a| Arc::strong_count(a) > 1);
            !v.is_empty()
        });
        self.names.retain(|n| !n.is_unique());
        self.netns.retain(|n| Arc::strong_count(n) > 1);
        self.containers.retain(|c| Arc::strong_count(c) > 1);
        self.units.retain(|u| Arc::strong_count(u) > 1);
    }
}

fn intern_arc<T: Eq + std::hash::Hash>(set: &mut HashSet<Arc<T>>, slot: &mut Option<Arc<T>>) {
    if let Some(v) = slot.as_mut() {
        match set.get(v) {
            Some(x) => *v = Arc::clone(x),
            None => {
                set.insert(Arc::clone(v));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{testing, PortClass, State};

    fn row(port: u16, user: &str) -> Row {
        let mut r = Row::new(testing::tcp(State::LISTEN, "127.0.0.1:80", "0.0.0.0:0"));
        r.service = Some(Arc::new(Annotation {
            port,
            service: None,
            class: PortClass::Registered,
            ephemeral: false,
            hint: None,
        }));
        r.rare.user = Some(user.into());
        r
    }

    #[test]
    fn equal_parts_are_one_copy_and_unheld_copies_go() {
        let mut s = Shared::default();
        let (mut a, mut b) = (row(8080, "www"), row(8080, "www"));
        s.intern(&mut a);
        s.intern(&mut b);
        let (sa, sb) = (a.service.clone().unwrap(), b.service.clone().unwrap());
        assert!(Arc::ptr_eq(&sa, &sb));
        assert_eq!(a.rare.user, b.rare.user);
        let mut c = row(9090, "www");
        s.intern(&mut c);
        assert!(!Arc::ptr_eq(&sa, c.service.as_ref().unwrap()));
        drop((a, b, sa, sb));
        s.purge();
        assert_eq!(s.services.len(), 1, "only 9090's is held");
        assert_eq!(s.names.len(), 1, "c still holds www");
        drop(c);
        s.purge();
        assert!(s.services.is_empty() && s.names.is_empty());
    }
}
