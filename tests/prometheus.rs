//! End to end with a real Prometheus (the distribution's `prometheus` package): it scrapes
//! `portwatch serve`, sees a listener the test opens, and marks the series stale once the
//! listener is closed. Both servers run on loopback ports of their own, Prometheus with its
//! own config and data directory in a temp dir; both are stopped by pid, also on failure.

mod common;
#[path = "common/http.rs"]
mod http;

use http::{free_port, prometheus_tool, request, Server};
use serde_json::Value;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A Prometheus server; killed and reaped on drop.
struct Prometheus {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Scrape `target` every second; ready once /-/ready answers.
    fn start(binary: &str, target: &str) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
                 scrape_configs:\n  - job_name: portwatch\n    static_configs:\n      \
                 - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let port = free_port();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        let mut p = Prometheus {
            child,
            port,
            _dir: dir,
        };
        let ready = wait_for(Duration::from_secs(60), || {
            if let Ok(Some(status)) = p.child.try_wait() {
                panic!("prometheus exited: {status}");
            }
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && request(port, "GET /-/ready HTTP/1.1\r\n", &[]).status == 200
        });
        assert!(ready, "prometheus never got ready on port {port}");
        p
    }

    /// The result vector of an instant query.
    fn query(&self, promql: &str) -> Vec<Value> {
        let path = format!("/api/v1/query?query={}", urlencode(promql));
        let r = request(self.port, &format!("GET {path} HTTP/1.1\r\n"), &[]);
        assert_eq!(r.status, 200, "{promql}: {}", r.body);
        let doc: Value = serde_json::from_str(&r.body).expect("JSON from the API");
        assert_eq!(doc["status"], "success", "{doc}");
        doc["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn wait_for(limit: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < limit {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    false
}

/// The value of the single sample of a result vector.
fn single_value(result: &[Value]) -> Option<String> {
    match result {
        [one] => one["value"][1].as_str().map(str::to_string),
        _ => None,
    }
}

#[test]
fn prometheus_sees_a_listener_appear_and_go_stale() {
    let Some(binary) = prometheus_tool("prometheus") else {
        return;
    };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Only our port: the scrape stays small on a busy host.
    let server = Server::start(&["-lt", "sport", "=", &format!(":{port}")]);
    let prom = Prometheus::start(binary, &format!("127.0.0.1:{}", server.port));

    let series = format!("portwatch_listener_info{{port=\"{port}\"}}");
    let seen = wait_for(Duration::from_secs(60), || {
        single_value(&prom.query(&series)).as_deref() == Some("1")
    });
    assert!(seen, "{series} never reached Prometheus");
    let up = prom.query("up{job=\"portwatch\"}");
    assert_eq!(single_value(&up).as_deref(), Some("1"), "{up:?}");
    let errors = prom.query("portwatch_scrape_error");
    assert_eq!(single_value(&errors).as_deref(), Some("0"), "{errors:?}");
    let labels = &prom.query(&series)[0]["metric"];
    assert_eq!(labels["proto"], "tcp");
    assert_eq!(labels["address"], "127.0.0.1");
    let comm = std::fs::read_to_string("/proc/self/comm").unwrap();
    assert_eq!(labels["process"], comm.trim_end_matches('\n'));

    drop(listener);
    // The next scrape lacks the series: Prometheus writes a staleness marker and the
    // instant query returns nothing (not the last value for 5 minutes).
    let stale = wait_for(Duration::from_secs(60), || prom.query(&series).is_empty());
    assert!(stale, "{series} did not go stale after the listener closed");
    let up = prom.query("up{job=\"portwatch\"}");
    assert_eq!(
        single_value(&up).as_deref(),
        Some("1"),
        "still scraped: {up:?}"
    );
}
