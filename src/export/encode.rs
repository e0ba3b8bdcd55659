//! Metric families to exposition text through prometheus-client: the Prometheus text format
//! 0.0.4 by default, OpenMetrics 1.0 when the scraper asks for it. The library writes the
//! names, HELP/TYPE lines and label escaping (`\\`, `\"`, `\n`); nothing here formats a
//! sample by hand.

use super::defs::{Family, Kind, Value, PREFIX};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{self, DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::sync::Arc;

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4: what node_exporter's textfile collector reads.
    Text,
    /// OpenMetrics 1.0 text, ending in `# EOF`.
    OpenMetrics,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => encoding::prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// The format an `Accept` header prefers: OpenMetrics when it names
    /// `application/openmetrics-text` (version 1.0.0 or unversioned) with a higher quality
    /// than any text format it accepts, else the 0.0.4 text format, which every Prometheus
    /// reads.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let mut om = None::<f32>;
        let mut text = None::<f32>;
        for range in accept.unwrap_or("").split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let mut q = 1.0f32;
            let mut version = None;
            for p in parts {
                let Some((k, v)) = p.split_once('=') else {
                    continue;
                };
                match k.trim().to_ascii_lowercase().as_str() {
                    "q" => q = v.trim().parse().unwrap_or(0.0),
                    "version" => version = Some(v.trim().to_string()),
                    _ => {}
                }
            }
            let slot = match media.as_str() {
                "application/openmetrics-text"
                    if version.as_deref().is_none_or(|v| v == "1.0.0") =>
                {
                    &mut om
                }
                "text/plain" | "text/*" | "*/*" => &mut text,
                _ => continue,
            };
            *slot = Some(slot.map_or(q, |old| old.max(q)));
        }
        match (om, text) {
            (Some(o), t) if o > 0.0 && o >= t.unwrap_or(0.0) => Format::OpenMetrics,
            _ => Format::Text,
        }
    }
}

/// Encode the families in `format`.
pub fn encode(families: Arc<Vec<Family>>, format: Format) -> String {
    let mut registry = Registry::with_prefix(PREFIX);
    registry.register_collector(Box::new(Families(families)));
    let mut out = String::new();
    // Writing to a String cannot fail, and the families hold nothing the encoders refuse.
    let _ = match format {
        Format::Text => encoding::prometheus_text::encode(&mut out, &registry),
        Format::OpenMetrics => encoding::text::encode(&mut out, &registry),
    };
    out
}

/// The families as a prometheus-client collector: one descriptor each, then its samples.
#[derive(Debug)]
struct Families(Arc<Vec<Family>>);

impl Collector for Families {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for f in self.0.iter() {
            let kind = match f.def.kind {
                Kind::Gauge => MetricType::Gauge,
                Kind::Counter => MetricType::Counter,
                Kind::Info => MetricType::Info,
            };
            let mut metric = encoder.encode_descriptor(f.def.name, f.def.help, None, kind)?;
            for s in &f.samples {
                let mut series = metric.encode_family(&s.labels)?;
                match (f.def.kind, s.value) {
                    (Kind::Info, _) => series.encode_info(&NO_LABELS)?,
                    (Kind::Counter, Value::Int(v)) => {
                        series.encode_counter::<NoLabelSet, u64, u64>(&v, None)?
                    }
                    (Kind::Counter, Value::Float(v)) => {
                        series.encode_counter::<NoLabelSet, f64, f64>(&v, None)?
                    }
                    (Kind::Gauge, Value::Int(v)) => series.encode_gauge(&v)?,
                    (Kind::Gauge, Value::Float(v)) => series.encode_gauge(&v)?,
                }
            }
        }
        Ok(())
    }
}

const NO_LABELS: [(&str, &str); 0] = [];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_asks_for_openmetrics_first() {
        // Prometheus 2.x's scrape Accept header.
        let prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                    version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(prom)), Format::OpenMetrics);
        assert_eq!(Format::negotiate(None), Format::Text);
        assert_eq!(Format::negotiate(Some("*/*")), Format::Text);
        assert_eq!(
            Format::negotiate(Some("text/plain;version=0.0.4")),
            Format::Text
        );
        assert_eq!(
            Format::negotiate(Some("text/plain;q=1,application/openmetrics-text;q=0.5")),
            Format::Text
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text; version=0.0.1")),
            Format::Text,
            "only OpenMetrics 1.0.0 is written"
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0")),
            Format::Text
        );
        assert_eq!(
            Format::negotiate(Some("Application/OpenMetrics-Text")),
            Format::OpenMetrics
        );
    }
}
