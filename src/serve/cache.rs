//! One collection shared by every scrape that needs it: a scrape arriving while a collection
//! runs waits for that one, and a finished collection is reused for `--min-interval`, so a
//! storm of scrapes costs one listing per interval and at most one runs at a time.

use crate::export::{encode, Family, Format};
use hyper::body::Bytes;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What one collection produced, and its encodings, made on first use.
#[derive(Debug)]
pub struct Snapshot {
    families: Arc<Vec<Family>>,
    /// Why nothing could be read, when nothing could (the scrape answers 500).
    pub failure: Option<String>,
    text: OnceLock<Bytes>,
    openmetrics: OnceLock<Bytes>,
}

impl Snapshot {
    pub fn new(families: Vec<Family>, failure: Option<String>) -> Snapshot {
        Snapshot {
            families: Arc::new(families),
            failure,
            text: OnceLock::new(),
            openmetrics: OnceLock::new(),
        }
    }

    /// The exposition in `format`, encoded once per snapshot; each response shares it.
    pub fn body(&self, format: Format) -> Bytes {
        let slot = match format {
            Format::Text => &self.text,
            Format::OpenMetrics => &self.openmetrics,
        };
        slot.get_or_init(|| Bytes::from(encode(Arc::clone(&self.families), format)))
            .clone()
    }
}

/// Makes a snapshot; given the number of this collection since start (1, 2, ...).
pub type Collect = dyn Fn(u64) -> Snapshot + Send + Sync;

struct Entry {
    started: Instant,
    snapshot: Arc<Snapshot>,
}

/// The last snapshot, and the collection under way (its result, once sent).
#[derive(Default)]
struct State {
    last: Option<Entry>,
    running: Option<watch::Receiver<Option<Arc<Snapshot>>>>,
}

/// Shares collections between scrapes.
pub struct Cache {
    min_interval: Duration,
    collect: Arc<Collect>,
    state: Mutex<State>,
    collections: AtomicU64,
}

impl Cache {
    pub fn new(min_interval: Duration, collect: Arc<Collect>) -> Cache {
        Cache {
            min_interval,
            collect,
            state: Mutex::new(State::default()),
            collections: AtomicU64::new(0),
        }
    }

    /// Collections started so far.
    pub fn collections(&self) -> u64 {
        self.collections.load(Ordering::Relaxed)
    }

    /// A snapshot no older than `min_interval`, else the one being collected (started now if
    /// none is). The collection runs on a blocking thread and belongs to no request: a
    /// scraper that gives up does not cancel it, so the next scrape waits for the same one
    /// instead of starting another. One that panics is answered as a failure.
    pub async fn get(self: &Arc<Self>) -> Arc<Snapshot> {
        let mut result = {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(e) = st.last.as_ref() {
                if e.started.elapsed() < self.min_interval {
                    return Arc::clone(&e.snapshot);
                }
            }
            match &st.running {
                Some(rx) => rx.clone(),
                None => {
                    let (tx, rx) = watch::channel(None);
                    st.running = Some(rx.clone());
                    tokio::spawn(Arc::clone(self).collect_into(tx));
                    rx
                }
            }
        };
        let snapshot = match result.wait_for(Option::is_some).await {
            Ok(s) => s.clone(),
            Err(_) => None,
        };
        snapshot.unwrap_or_else(|| failed("the collection was dropped"))
    }

    async fn collect_into(self: Arc<Self>, tx: watch::Sender<Option<Arc<Snapshot>>>) {
        let n = self.collections.fetch_add(1, Ordering::Relaxed) + 1;
        let collect = Arc::clone(&self.collect);
        let started = Instant::now();
        let snapshot = match tokio::task::spawn_blocking(move || collect(n)).await {
            Ok(s) => Arc::new(s),
            Err(e) => failed(&e.to_string()),
        };
        {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            st.last = Some(Entry {
                started,
                snapshot: Arc::clone(&snapshot),
            });
            st.running = None;
        }
        let _ = tx.send(Some(snapshot));
    }
}

fn failed(why: &str) -> Arc<Snapshot> {
    Arc::new(Snapshot::new(
        Vec::new(),
        Some(format!("the collection failed: {why}")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn counting(delay: Duration) -> (Arc<AtomicUsize>, Arc<Collect>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = Arc::clone(&calls);
        let collect: Arc<Collect> = Arc::new(move |_n| {
            c.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(delay);
            Snapshot::new(Vec::new(), None)
        });
        (calls, collect)
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn concurrent_scrapes_share_one_collection() {
        let (calls, collect) = counting(Duration::from_millis(200));
        // min_interval 0: only sharing a running collection avoids a second one.
        let cache = Arc::new(Cache::new(Duration::ZERO, collect));
        runtime().block_on(async {
            let tasks: Vec<_> = (0..50)
                .map(|_| {
                    let cache = Arc::clone(&cache);
                    tokio::spawn(async move { cache.get().await })
                })
                .collect();
            let snaps: Vec<Arc<Snapshot>> = futures_join(tasks).await;
            assert!(snaps.iter().all(|s| Arc::ptr_eq(s, &snaps[0])));
        });
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(cache.collections(), 1);
        runtime().block_on(cache.get());
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "a later scrape collects again"
        );
    }

    #[test]
    fn results_are_reused_for_the_min_interval() {
        let (calls, collect) = counting(Duration::ZERO);
        let cache = Arc::new(Cache::new(Duration::from_millis(300), collect));
        let rt = runtime();
        let first = rt.block_on(cache.get());
        let again = rt.block_on(cache.get());
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        std::thread::sleep(Duration::from_millis(350));
        let later = rt.block_on(cache.get());
        assert!(!Arc::ptr_eq(&first, &later));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_panicking_collection_is_a_failed_scrape_not_a_crash() {
        let collect: Arc<Collect> = Arc::new(|n| {
            if n == 1 {
                panic!("boom")
            }
            Snapshot::new(Vec::new(), None)
        });
        let cache = Arc::new(Cache::new(Duration::ZERO, collect));
        let rt = runtime();
        let failed = rt.block_on(cache.get());
        assert!(failed.failure.as_deref().unwrap().contains("failed"));
        assert!(
            rt.block_on(cache.get()).failure.is_none(),
            "the next one collects"
        );
    }

    #[test]
    fn a_scraper_that_gives_up_does_not_start_a_second_collection() {
        let (calls, collect) = counting(Duration::from_millis(300));
        let cache = Arc::new(Cache::new(Duration::ZERO, collect));
        runtime().block_on(async {
            let gave_up = tokio::time::timeout(Duration::from_millis(50), cache.get()).await;
            assert!(gave_up.is_err());
            // The collection goes on; this scrape waits for it.
            cache.get().await;
        });
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    async fn futures_join<T>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
        let mut out = Vec::with_capacity(tasks.len());
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }
}
