//! What each request gets: /metrics, / and /healthz for GET and HEAD; 404 for any other
//! path, 405 (with `Allow`) for any other method.

use super::cache::Cache;
use crate::export::defs::DEFS;
use crate::export::Format;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{HeaderValue, ACCEPT, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use std::sync::Arc;

/// A resource the server has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Metrics,
    Index,
    Health,
}

/// The route of a request, or the status that refuses it. Pure.
pub fn route(method: &Method, path: &str) -> Result<Route, StatusCode> {
    let r = match path {
        "/metrics" => Route::Metrics,
        "/" => Route::Index,
        "/healthz" => Route::Health,
        _ => return Err(StatusCode::NOT_FOUND),
    };
    if method == Method::GET || method == Method::HEAD {
        Ok(r)
    } else {
        Err(StatusCode::METHOD_NOT_ALLOWED)
    }
}

/// Answer one request. Infallible: every outcome is a response (hyper leaves out the body
/// of a HEAD response and keeps its length).
pub async fn respond<B>(req: Request<B>, cache: &Arc<Cache>) -> Response<Full<Bytes>> {
    let route = match route(req.method(), req.uri().path()) {
        Ok(r) => r,
        Err(status) => {
            let mut res = text(status, format!("{status}\n"));
            if status == StatusCode::METHOD_NOT_ALLOWED {
                res.headers_mut()
                    .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            }
            return res;
        }
    };
    match route {
        Route::Health => text(StatusCode::OK, "ok\n".into()),
        Route::Index => {
            let mut res = Response::new(Full::new(Bytes::from(index_page())));
            res.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            res
        }
        Route::Metrics => {
            let accept = req
                .headers()
                .get(ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let snapshot = cache.get().await;
            if let Some(why) = &snapshot.failure {
                return text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("portwatch: nothing could be read: {why}\n"),
                );
            }
            let format = Format::negotiate(accept.as_deref());
            let mut res = Response::new(Full::new(snapshot.body(format)));
            res.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            );
            res
        }
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

/// The page at `/`: where the metrics are, and what each one means.
pub fn index_page() -> String {
    let mut page = String::from(
        "<!DOCTYPE html>\n<html><head><title>portwatch</title></head><body>\n\
         <h1>portwatch</h1>\n<p>This host's listening sockets and connection counts as \
         Prometheus metrics: <a href=\"/metrics\">/metrics</a> \
         (liveness: <a href=\"/healthz\">/healthz</a>).</p>\n<dl>\n",
    );
    for def in DEFS {
        page.push_str(&format!(
            "<dt><code>{}</code></dt><dd>{}</dd>\n",
            def.full_name(),
            def.help
        ));
    }
    page.push_str("</dl>\n</body></html>\n");
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_then_methods() {
        assert_eq!(route(&Method::GET, "/metrics"), Ok(Route::Metrics));
        assert_eq!(route(&Method::HEAD, "/"), Ok(Route::Index));
        assert_eq!(route(&Method::GET, "/healthz"), Ok(Route::Health));
        assert_eq!(route(&Method::GET, "/metrics/"), Err(StatusCode::NOT_FOUND));
        assert_eq!(route(&Method::POST, "/nope"), Err(StatusCode::NOT_FOUND));
        for m in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS] {
            assert_eq!(route(&m, "/metrics"), Err(StatusCode::METHOD_NOT_ALLOWED));
        }
    }

    #[test]
    fn the_index_names_every_metric_and_needs_no_escaping() {
        let page = index_page();
        for def in DEFS {
            assert!(page.contains(&def.full_name()));
            assert!(
                !def.help.contains(['<', '>', '&']),
                "{}: help would need HTML escaping",
                def.name
            );
        }
    }
}
