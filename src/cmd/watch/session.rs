//! The watch loop: read every interval, turn two reads into events, add what the close
//! stream saw between them, and hand the result to a sink (the live view or NDJSON). Every
//! wake-up (the next read, a key, a signal, a destroyed socket) arrives on one channel, so
//! the loop never sleeps through a request to stop.

use super::delta::{self, Delta};
use super::sources::Recording;
use crate::cli::ReadsArg;
use crate::config::{refilter, WatchConfig, WatchMode};
use crate::error::{Error, Result};
use crate::model::{Socket, Warning};
use crate::pipeline::{self, Matcher, Request};
use crate::platform::{runtime, CloseStream, Glimpser, SocketSource, System, TrackedOwners};
use crate::registry::Registry;
use crate::timeline::{self, Change, Event, Reading};
use std::collections::HashSet;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime};

/// A key or a resize, from the terminal.
pub(super) type Input = ratatui::crossterm::event::Event;

/// What woke the loop.
pub(super) enum Wake {
    Stop,
    Input(Input),
    /// Sockets the kernel destroyed, and when we heard of it.
    Closed(Vec<Socket>, SystemTime),
    /// The close stream lost reports (its queue overflowed), or ended (`true`).
    Lost(bool),
}

/// An event and when it happened (the read that saw it, or the close stream's report).
pub(super) struct Stamped {
    pub at: SystemTime,
    pub event: Event,
}

/// What a sink asks of the loop after an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Flow {
    Continue,
    Quit,
    /// Read with this filter from now on (typed in the view).
    Filter(String),
}

/// Where the events go.
pub(super) trait Sink {
    /// After a read: the events since the previous one, oldest first, and every current row.
    /// `first` marks a read that starts over (the first one, or after a new filter).
    fn read(&mut self, events: &[Stamped], now: &Reading, first: bool) -> Result<()>;
    /// A warning not reported before.
    fn warning(&mut self, at: SystemTime, w: &Warning) -> Result<()>;
    /// A key or resize; what to do next.
    fn input(&mut self, _input: Input) -> Result<Flow> {
        Ok(Flow::Continue)
    }
    /// The outcome of a filter the sink asked for: `Err` holds why it was refused (the old
    /// filter stays).
    fn filter_result(&mut self, _result: std::result::Result<String, String>) {}
    /// Reads are paused (the view's space key): the loop reads nothing until resumed.
    fn paused(&self) -> bool {
        false
    }
}

/// The sources a watch reads; the owner source keeps what earlier reads found.
pub(super) struct Sources<'a> {
    pub sockets: &'a dyn SocketSource,
    pub procs: &'a TrackedOwners,
    pub registry: &'a Registry,
}

/// At most this many destroyed sockets wait for the next read (a close storm while paused
/// must not grow memory without bound); beyond it, a warning says how many were dropped.
const MAX_PENDING_CLOSES: usize = 100_000;

/// Run the loop until `--count`, `--duration`, a stop signal or the sink says quit.
pub(super) fn run(
    cfg: &WatchConfig,
    src: &Sources<'_>,
    sink: &mut dyn Sink,
    ch: Channel,
    mut warnings: Vec<Warning>,
    glimpser: std::result::Result<Glimpser, String>,
) -> Result<()> {
    let Channel { tx, rx, closes } = ch;
    let stop = tx.clone();
    runtime::on_stop_signals(move |_| {
        let _ = stop.send(Wake::Stop);
    })?;
    if let Err(why) = closes {
        warnings.push(Warning::new(
            "closes-unseen",
            format!("sockets that open and close between two reads are not seen: {why}"),
        ));
    }
    let mut w = Watcher {
        cfg,
        src,
        request: cfg.request.clone(),
        prev: None,
        closed: Vec::new(),
        dropped_closes: 0,
        reported: HashSet::new(),
        reads: 0,
        glimpser: None,
        delta: None,
    };
    match glimpser {
        Ok(g) => w.glimpser = Some(g),
        Err(why) => w.debug(&format!("full reads: {why}")),
    }
    w.choose_reads();
    w.warn(sink, &warnings)?;
    let start = Instant::now();
    let end = cfg.duration.map(|d| start + d);
    let mut next_read = start;
    loop {
        let now = Instant::now();
        if end.is_some_and(|e| now >= e) {
            return Ok(());
        }
        if now >= next_read {
            if !sink.paused() {
                w.read(sink)?;
                if cfg.count.is_some_and(|n| w.reads >= n) {
                    return Ok(());
                }
            }
            // A read that took longer than the interval delays the next; ticks are not
            // made up for.
            next_read = (next_read + cfg.interval).max(Instant::now());
        }
        let until = end.map_or(next_read, |e| e.min(next_read));
        // Wait for the first wake-up, then take every one already queued: a flood of close
        // reports must not leave a key waiting behind it until reads catch up.
        let first = match rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok(wake) => Some(wake),
            Err(RecvTimeoutError::Timeout) => None,
            // Every sender is gone (cannot happen while `tx` is held): nothing to wait for.
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        for wake in first.into_iter().chain(rx.try_iter()) {
            match wake {
                Wake::Stop => return Ok(()),
                Wake::Closed(socks, at) => w.add_closed(socks, at),
                Wake::Lost(ended) => w.warn(sink, &[lost(ended)])?,
                Wake::Input(i) => match sink.input(i)? {
                    Flow::Continue => {}
                    Flow::Quit => return Ok(()),
                    Flow::Filter(text) => {
                        let outcome = w.set_filter(&text, sink);
                        sink.filter_result(outcome.map(|()| text));
                        next_read = Instant::now();
                    }
                },
            }
        }
    }
}

struct Watcher<'a> {
    cfg: &'a WatchConfig,
    src: &'a Sources<'a>,
    request: Request,
    /// The last read; `None` before the first and after a new filter.
    prev: Option<Reading>,
    /// Destroyed sockets heard of since the last read, with when.
    closed: Vec<(Socket, SystemTime)>,
    dropped_closes: usize,
    /// Warnings already reported, by kind and message with its numbers left out (the same
    /// warning with another count is not news).
    reported: HashSet<(&'static str, String)>,
    reads: u64,
    /// Glimpsed reads (`delta.rs`) while the request allows them; the glimpser waits in
    /// `glimpser` while it does not (a filter typed in the view may allow them again).
    glimpser: Option<Glimpser>,
    delta: Option<Delta>,
}

impl Watcher<'_> {
    /// Glimpse when the request allows it and a glimpser loaded; else read in full. Called
    /// at the start and after every new filter (the next read starts over either way).
    fn choose_reads(&mut self) {
        if let Some(d) = self.delta.take() {
            self.glimpser = Some(d.into_glimpser());
        }
        if self.glimpser.is_none() {
            return;
        }
        match delta::eligible(&self.request) {
            Ok(()) => {
                let mut d = self.glimpser.take().map(Delta::new);
                // The live view shows every row's queues as they are now: only a stream of
                // events can do without reading them (its rows' queues become unknown).
                let streams = matches!(self.cfg.mode, WatchMode::Stream);
                let auto = self.cfg.reads == ReadsArg::Auto;
                if let (Some(d), true) = (d.as_mut(), auto && streams && !self.cfg.compare.queues) {
                    if let Err(why) = d.follow(self.cfg.feed_ring) {
                        self.debug(&format!("glimpsed reads: no state feed: {why}"));
                    }
                }
                self.delta = d;
            }
            Err(why) => self.debug(&format!("full reads: {why}")),
        }
    }

    /// PORTWATCH_DEBUG=1: a note on stderr (errors ignored: stderr may be closed).
    fn debug(&self, what: &str) {
        if self.cfg.debug {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "portwatch: watch: {what}");
        }
    }

    fn read(&mut self, sink: &mut dyn Sink) -> Result<()> {
        let (wall, cpu) = (Instant::now(), runtime::cpu_time());
        let closed = std::mem::take(&mut self.closed);
        let socks: Vec<Socket> = closed.iter().map(|(s, _)| s.clone()).collect();
        let at;
        let mut events: Vec<Stamped> = Vec::new();
        let first = self.prev.is_none();
        let mut warnings;
        let glimpsed = matches!((&self.delta, &self.prev), (Some(d), Some(_)) if d.primed());
        let mut got = None;
        let mut how = "full";
        let mut lost = None;
        if let (true, Some(d), Some(prev)) = (glimpsed, self.delta.as_mut(), self.prev.as_mut()) {
            let src = self.src;
            let cx = delta::ReadWith {
                req: &self.request,
                cmp: self.cfg.compare,
                sockets: src.sockets,
                owners: src.procs,
                reg: src.registry,
            };
            match d.read(&cx, prev, &socks) {
                Ok(read) => {
                    if let Some(what) = d.take_feed_note() {
                        let n = d.resyncs();
                        lost = Some(format!("glimpsed instead (resync {n}): {what}"));
                    }
                    got = Some(read)
                }
                Err(e) => {
                    // Never the end of the watch: this read and the next ones are full.
                    src.procs.unprime();
                    self.delta = None;
                    self.warn(
                        sink,
                        &[Warning::new(
                            "glimpse-failed",
                            format!("glimpsed reads failed ({e}); every read is a full one now"),
                        )],
                    )?;
                }
            }
        }
        if let Some(note) = lost {
            self.debug(&note);
        }
        if let Some(got) = got {
            how = got.how;
            at = SystemTime::now();
            events = self.short_lived(&got.unseen, &closed)?;
            events.extend(got.events.into_iter().map(|e| stamp(at, e)));
            warnings = got.warnings;
        } else {
            // A full read; one that glimpsed reads will compare with is recorded.
            let rec = self
                .delta
                .as_ref()
                .map(|_| Recording::new(self.src.sockets, &self.request, self.cfg.compare));
            let source: &dyn SocketSource = match &rec {
                Some(rec) => rec,
                None => self.src.sockets,
            };
            let listing = pipeline::run(&self.request, source, self.src.procs, self.src.registry)?;
            warnings = listing.warnings;
            let mut next = Reading::new(listing.rows);
            if let (Some(d), Some(rec)) = (self.delta.as_mut(), rec) {
                d.seed(rec, &mut next);
            }
            at = SystemTime::now();
            match &self.prev {
                Some(prev) => {
                    let unseen: Vec<Socket> = timeline::unseen(prev, &next, &socks)
                        .into_iter()
                        .cloned()
                        .collect();
                    events = self.short_lived(&unseen, &closed)?;
                    let polled = timeline::diff(prev, &next, self.cfg.compare);
                    events.extend(polled.into_iter().map(|e| stamp(at, e)));
                }
                None if self.cfg.initial && self.reads == 0 => {
                    let all = timeline::diff(&Reading::default(), &next, self.cfg.compare);
                    events.extend(all.into_iter().map(|e| stamp(at, e)));
                }
                None => {}
            }
            self.prev = Some(next);
        }
        self.reads += 1;
        if self.dropped_closes > 0 {
            warnings.push(Warning::new(
                "closes-dropped",
                format!(
                    "{} close reports were dropped while reads waited",
                    self.dropped_closes
                ),
            ));
            self.dropped_closes = 0;
        }
        self.warn(sink, &warnings)?;
        let now = self
            .prev
            .as_ref()
            .ok_or_else(|| crate::error::Error::System("watch: a read left no rows".into()))?;
        sink.read(&events, now, first)?;
        if self.reads.is_multiple_of(TRIM_EVERY) {
            runtime::give_back_free_memory();
        }
        if self.cfg.timings {
            report_timings(self.reads, wall, cpu, &events, how);
        }
        Ok(())
    }

    /// The unseen destroyed sockets that this watch selects, each as an `opened` and a
    /// `closed` event at when it was destroyed (the flags and filter apply as to a read, but
    /// for states: a socket's last state is CLOSE whatever it lived in; a `state` word in the
    /// filter still applies to that last state). Owners are unknown (`null`): the process
    /// let go before we looked.
    fn short_lived(
        &self,
        unseen: &[Socket],
        closed: &[(Socket, SystemTime)],
    ) -> Result<Vec<Stamped>> {
        if unseen.is_empty() {
            return Ok(Vec::new());
        }
        let (src, reg) = (self.src, self.src.registry);
        let mut matcher = Matcher::new(&self.request, src.sockets, src.procs, reg)?;
        let rows = matcher.rows(unseen.to_vec());
        Ok(rows
            .into_iter()
            .flat_map(|r| {
                let when = closed
                    .iter()
                    .find(|(s, _)| timeline::key(s) == timeline::key(&r.sock))
                    .map_or_else(SystemTime::now, |(_, t)| *t);
                [
                    stamp(when, Event::opened(r.clone())),
                    stamp(when, Event::closed(r)),
                ]
            })
            .collect())
    }

    fn add_closed(&mut self, socks: Vec<Socket>, at: SystemTime) {
        for s in socks {
            if self.closed.len() < MAX_PENDING_CLOSES {
                self.closed.push((s, at));
            } else {
                self.dropped_closes += 1;
            }
        }
    }

    /// Read with a new filter from now on; the next read starts over (no events for what
    /// the new filter shows or hides).
    fn set_filter(&mut self, text: &str, sink: &mut dyn Sink) -> std::result::Result<(), String> {
        let req = refilter(&self.cfg.listing, text).map_err(message)?;
        // Resolve it now (service and user names), so a bad one is refused before it is used.
        let old = std::mem::replace(&mut self.request, req);
        let saved = self.prev.take();
        self.choose_reads();
        match self.read(sink) {
            Ok(()) => Ok(()),
            Err(e @ Error::Filter { .. }) => {
                self.request = old;
                self.prev = saved;
                // The old filter's reads start over too: the reading was taken out.
                self.choose_reads();
                Err(message(e))
            }
            Err(e) => Err(message(e)),
        }
    }

    fn warn(&mut self, sink: &mut dyn Sink, warnings: &[Warning]) -> Result<()> {
        let at = SystemTime::now();
        for w in warnings {
            let shape: String = w.message.chars().filter(|c| !c.is_ascii_digit()).collect();
            if self.reported.insert((w.kind, shape)) {
                sink.warning(at, w)?;
            }
        }
        Ok(())
    }
}

fn lost(ended: bool) -> Warning {
    if ended {
        Warning::new(
            "closes-unseen",
            "the kernel's close reports stopped: from now on only what the reads see is reported",
        )
    } else {
        Warning::new(
            "closes-lost",
            "some close reports were lost (the kernel's queue overflowed): sockets that \
             opened and closed between two reads may be missing",
        )
    }
}

fn stamp(at: SystemTime, event: Event) -> Stamped {
    Stamped { at, event }
}

fn message(e: Error) -> String {
    e.to_string()
}

/// Reads between two returns of freed memory to the system (`give_back_free_memory`): after
/// each read it kept a fed watch at the large scale 2-3 MiB lower but cost 4-5 ms a read
/// (7%; the pages it gives back are faulted in again by the next read).
const TRIM_EVERY: u64 = 16;

/// `--timings`: one line per read on stderr (errors ignored: stderr may be closed).
fn report_timings(read: u64, wall: Instant, cpu: Option<Duration>, events: &[Stamped], how: &str) {
    use std::io::Write;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let cpu = cpu
        .zip(runtime::cpu_time())
        .map_or(f64::NAN, |(a, b)| ms(b.saturating_sub(a)));
    let count = |c: Change| events.iter().filter(|e| e.event.change == c).count();
    let _ = writeln!(
        std::io::stderr(),
        "read {read}: wall {:.1} ms, cpu {cpu:.1} ms, opened {} closed {} changed {} ({how})",
        ms(wall.elapsed()),
        count(Change::Opened),
        count(Change::Closed),
        count(Change::Changed),
    );
}

/// A channel for the loop, and the close stream's thread feeding it; `Err` says why there
/// is no close stream (then what opens and closes between two reads is not seen).
pub(super) fn channel(system: &System, req: &Request) -> Result<Channel> {
    let (tx, rx) = mpsc::channel();
    let closes = if system.options().fixture {
        // A fixture tree has no kernel behind it: nothing closes.
        Ok(())
    } else {
        match system.close_events(&req.query) {
            Ok(stream) => {
                feed(stream, tx.clone())?;
                Ok(())
            }
            Err(Error::Usage(_)) => {
                Err("the kernel reports the closes of TCP and UDP sockets only".into())
            }
            Err(e) => Err(e.to_string()),
        }
    };
    Ok(Channel { tx, rx, closes })
}

/// Forward the close stream's reports to the loop, on a thread of its own.
fn feed(mut stream: CloseStream, tx: Sender<Wake>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("close-stream".into())
        .spawn(move || loop {
            let mut batch = Vec::new();
            let Ok(got) = stream.wait(Duration::from_secs(60), &mut batch) else {
                let _ = tx.send(Wake::Lost(true));
                break;
            };
            if got.lost && tx.send(Wake::Lost(false)).is_err() {
                break;
            }
            if !batch.is_empty() && tx.send(Wake::Closed(batch, SystemTime::now())).is_err() {
                break;
            }
        })?;
    Ok(())
}

/// The loop's wake-ups, and whether the close stream feeds them (`Err`: why not).
pub(super) struct Channel {
    pub tx: Sender<Wake>,
    pub rx: Receiver<Wake>,
    pub closes: std::result::Result<(), String>,
}
