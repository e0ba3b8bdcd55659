//! Annotating sockets: pick the port that names a socket's service (for a connection, the
//! server side) and say what is known of it, never leaving an unknown port blank.

use super::{Annotation, PortClass, Registry};
use crate::model::{Endpoint, Owner, Proto, Socket, State};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Annotations already made, by (proto, service port, owner hint).
pub type AnnotationCache = HashMap<(Proto, u16, Option<String>), Arc<Annotation>>;

/// What annotation needs beyond the socket itself.
#[derive(Debug, Clone, Copy)]
pub struct AnnotateCtx<'a> {
    /// This host's ephemeral range (ip_local_port_range), when known.
    pub ephemeral: Option<(u16, u16)>,
    /// Local (proto, port) pairs with a listener (TCP LISTEN, unconnected bound UDP) on the
    /// host. Build it with `listening_ports` from a snapshot that includes the listeners, even
    /// when the listing shows only connections: otherwise the server side of an accepted
    /// connection is not recognised and the remote port is taken.
    pub listening: &'a HashSet<(Proto, u16)>,
    /// The socket's owners, when the owner scan ran; used for the unknown-port hint.
    pub owners: Option<&'a [Owner]>,
}

/// The (proto, local port) of every listener among `sockets`: TCP in LISTEN, UDP unconnected
/// (no remote port).
pub fn listening_ports<'a>(sockets: impl IntoIterator<Item = &'a Socket>) -> HashSet<(Proto, u16)> {
    sockets
        .into_iter()
        .filter(|s| match s.proto {
            Proto::Tcp => s.state == State::LISTEN,
            Proto::Udp => remote_port(s).is_none(),
            Proto::Unix | Proto::Raw => false,
        })
        .filter_map(|s| Some((s.proto, s.local.as_ref()?.port()?)))
        .collect()
}

fn remote_port(s: &Socket) -> Option<u16> {
    s.remote.as_ref()?.port().filter(|&p| p != 0)
}

/// Whether `port` lies in the ephemeral range.
pub fn in_ephemeral_range(port: u16, range: Option<(u16, u16)>) -> bool {
    range.is_some_and(|(lo, hi)| lo <= port && port <= hi)
}

impl Registry {
    /// The annotation of one socket; `None` for unix and raw sockets (a raw socket's "port" is
    /// an IP protocol number, not a service port) and sockets not bound to a port.
    ///
    /// Which port names the service (the server side):
    /// 1. the local port, when this host has a listener on it (same protocol): we serve it;
    /// 2. the local port, when the remote port is unknown (listeners, unconnected UDP);
    /// 3. the local port, when it is outside the ephemeral range and the remote port inside it
    ///    (an accepted connection whose listener is gone or not in the snapshot);
    /// 4. otherwise the remote port: we are the client (a browser's socket from
    ///    127.0.0.1:51234 to :443 is https).
    pub fn annotate(&self, sock: &Socket, ctx: &AnnotateCtx<'_>) -> Option<Annotation> {
        let (port, local_is_server) = self.service_side(sock, ctx)?;
        Some(self.annotation(sock.proto, port, server_hint(local_is_server, ctx), ctx))
    }

    /// Like `annotate`, but shares one annotation between all sockets of a service port with
    /// the same owner hint: a busy server's 10k connections hold one `Arc`, and the registry
    /// is looked up once per port instead of once per socket.
    pub fn annotate_shared(
        &self,
        sock: &Socket,
        ctx: &AnnotateCtx<'_>,
        cache: &mut AnnotationCache,
    ) -> Option<Arc<Annotation>> {
        let (port, local_is_server) = self.service_side(sock, ctx)?;
        // The key carries the hint so that sockets of one port held by different programs do
        // not share a wrong one.
        let hint = server_hint(local_is_server, ctx);
        Some(
            cache
                .entry((sock.proto, port, hint))
                .or_insert_with_key(|(_, _, hint)| {
                    Arc::new(self.annotation(sock.proto, port, hint.clone(), ctx))
                })
                .clone(),
        )
    }

    /// The service side of a socket: (port, whether it is the local one). `None` for unix,
    /// raw and unbound sockets.
    pub fn service_side(&self, sock: &Socket, ctx: &AnnotateCtx<'_>) -> Option<(u16, bool)> {
        if matches!(sock.proto, Proto::Unix | Proto::Raw) {
            return None;
        }
        let local = match sock.local.as_ref()? {
            Endpoint::Inet { port, .. } => *port,
            Endpoint::Unix(_) => return None,
        };
        let remote = remote_port(sock);
        let local_is_server = match remote {
            None => true,
            Some(r) => {
                ctx.listening.contains(&(sock.proto, local))
                    || (!in_ephemeral_range(local, ctx.ephemeral)
                        && in_ephemeral_range(r, ctx.ephemeral))
            }
        };
        let port = match (local_is_server, remote) {
            (false, Some(r)) => r,
            _ => local,
        };
        if port == 0 {
            // Not bound to any port yet: nothing to name.
            return None;
        }
        Some((port, local_is_server))
    }

    /// The annotation of `port`; `hint` is kept only when no registry layer names the port.
    fn annotation(
        &self,
        proto: Proto,
        port: u16,
        hint: Option<String>,
        ctx: &AnnotateCtx<'_>,
    ) -> Annotation {
        let service = self.lookup(port, proto.name());
        Annotation {
            port,
            hint: hint.filter(|_| service.is_none()),
            service,
            class: PortClass::of(port),
            ephemeral: in_ephemeral_range(port, ctx.ephemeral),
        }
    }
}

/// The owner hint for a socket's service port: only on the server side, since for a client
/// socket the owner is the client, not whatever serves the remote port.
fn server_hint(local_is_server: bool, ctx: &AnnotateCtx<'_>) -> Option<String> {
    ctx.owners.filter(|_| local_is_server).and_then(owner_hint)
}

/// "held by node" / "held by nginx, php-fpm": the distinct command names of the owners.
/// Raw process names: renderers escape them.
fn owner_hint(owners: &[Owner]) -> Option<String> {
    let mut names: Vec<String> = Vec::new();
    for o in owners {
        let n = o.comm().to_str_lossy().into_owned();
        if !n.is_empty() && !names.contains(&n) {
            names.push(n);
        }
    }
    (!names.is_empty()).then(|| format!("held by {}", names.join(", ")))
}

impl super::Annotation {
    /// One short cell for the Service column: the name, or what an unnamed port is
    /// ("unregistered (dynamic range, ephemeral)"), a hint marked as such
    /// ("unregistered (registered range; hint: held by node)").
    /// The result may contain process names: escape it before printing.
    pub fn cell(&self) -> String {
        let mut out = String::new();
        self.cell_with(&mut out, |out, text| out.push_str(text));
        out
    }

    /// `cell`, appended to `out` with the names (from the registry layers and process
    /// names) passed through `name`, which escapes them for a terminal or CSV.
    pub fn cell_with(&self, out: &mut String, name: impl Fn(&mut String, &str)) {
        if let Some(s) = &self.service {
            name(out, &s.name);
            return;
        }
        out.push_str("unregistered (");
        out.push_str(self.class.name());
        out.push_str(" range");
        if self.ephemeral {
            out.push_str(", ephemeral");
        }
        if let Some(h) = &self.hint {
            out.push_str("; hint: ");
            name(out, h);
        }
        out.push(')');
    }
}
