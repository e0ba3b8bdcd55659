//! The HTTP server of `portwatch serve`: hyper's HTTP/1 on a single-threaded tokio runtime,
//! collections on a blocking thread (`cache`), routes in `routes`.
//!
//! Bounds, so a slow, stuck or hostile client cannot take the server down or hold up others:
//! at most `max_connections` open connections (more wait in the kernel's accept queue), a
//! request head within `header_timeout` and at most `MAX_HEAD` bytes (hyper answers 431 past
//! it), and every write of a response must progress within `write_timeout`. An idle
//! keep-alive connection counts as waiting for a head. There is no read timeout beyond the
//! head's: hyper watches the socket while a response is being made, and a collection that
//! takes long must not cut its own scrape off. On SIGTERM, SIGINT or SIGHUP the server stops accepting,
//! lets in-flight responses finish (for at most `SHUTDOWN_GRACE`) and returns.

pub mod cache;
pub mod routes;

use crate::error::{Error, Result};
use crate::platform::runtime::on_stop_signals;
use cache::Cache;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::Semaphore;
use tokio_io_timeout::TimeoutStream;

/// The largest request head accepted (hyper's buffer limit): a scrape's is a few hundred
/// bytes.
pub const MAX_HEAD: usize = 16 * 1024;
/// How long in-flight responses may take to finish after a stop signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Limits of the server.
#[derive(Debug, Clone)]
pub struct Options {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub write_timeout: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_connections: 256,
            header_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
        }
    }
}

/// The kernel's accept queue: a burst of scrapers waits there, not in SYN retransmits (std's
/// listeners take 128).
const BACKLOG: u32 = 1024;

/// Bind `addr` with a deep accept queue; a taken port or a foreign address fails here, before
/// anything is collected.
fn bind(addr: SocketAddr) -> Result<TcpListener> {
    let bound = || -> std::io::Result<TcpListener> {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        socket.listen(BACKLOG)
    };
    bound().map_err(|e| Error::System(format!("cannot listen on {addr}: {e}")))
}

/// Serve on `addr` until SIGTERM, SIGINT or SIGHUP. `ready` runs with the bound address once the stop
/// signals are handled and the listener accepts (to announce the server). Returns the
/// signal's name.
pub fn run(
    addr: SocketAddr,
    opts: &Options,
    cache: Arc<Cache>,
    ready: impl FnOnce(SocketAddr),
) -> Result<&'static str> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let signal = rt.block_on(async {
        let listener = bind(addr)?;
        accept_loop(listener, opts, cache, ready).await
    })?;
    // A collection still running on a blocking thread is not waited for past the grace.
    rt.shutdown_timeout(SHUTDOWN_GRACE);
    Ok(signal)
}

async fn accept_loop(
    listener: TcpListener,
    opts: &Options,
    cache: Arc<Cache>,
    ready: impl FnOnce(SocketAddr),
) -> Result<&'static str> {
    // Handled before the server is announced: a signal before this still kills it.
    let (tx, mut stop) = tokio::sync::mpsc::unbounded_channel();
    on_stop_signals(move |name| {
        let _ = tx.send(name);
    })?;
    let slots = Arc::new(Semaphore::new(opts.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    ready(listener.local_addr()?);
    let mut warned = false;
    let signal = loop {
        let slot = tokio::select! {
            s = stop.recv() => break s.unwrap_or("closed"),
            p = Arc::clone(&slots).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break "closed",
            },
        };
        let stream = tokio::select! {
            s = stop.recv() => break s.unwrap_or("closed"),
            a = listener.accept() => match a {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of fds or a connection reset before accept: not fatal. Said once;
                    // a short pause keeps a lasting EMFILE from spinning.
                    if !std::mem::replace(&mut warned, true) {
                        crate::render::notes::print_warnings(&[crate::model::Warning::new(
                            "accept",
                            format!("accepting a connection failed ({e}); still serving"),
                        )]);
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let mut io = TimeoutStream::new(stream);
        io.set_write_timeout(Some(opts.write_timeout));
        let cache = Arc::clone(&cache);
        let conn =
            http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(opts.header_timeout)
                .max_buf_size(MAX_HEAD)
                .serve_connection(
                    TokioIo::new(Box::pin(io)),
                    service_fn(move |req| {
                        let cache = Arc::clone(&cache);
                        async move {
                            Ok::<_, std::convert::Infallible>(routes::respond(req, &cache).await)
                        }
                    }),
                );
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // A connection's errors (timeouts, resets, bad requests) end that connection only.
            let _ = conn.await;
            drop(slot);
        });
    };
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {}
    }
    Ok(signal)
}
