//! Ports in common use that no registry names (dev servers, databases, exporters): the lowest
//! layer, always shown with source "curated" so nobody mistakes it for a registration. Where
//! IANA names the port, IANA wins in listings and the curated entry only shows in `explain`.

/// (port, protocol, name, description), sorted by (port, protocol); names are portwatch's,
/// chosen to be recognisable, and descriptions say who commonly uses the port.
#[rustfmt::skip]
pub const CURATED: &[(u16, &str, &str, &str)] = &[
    (3000, "tcp", "dev-server", "Web dev servers (Node.js/Express, Rails, Create React App) and Grafana"),
    (3100, "tcp", "loki", "Grafana Loki HTTP API"),
    (4200, "tcp", "angular-dev", "Angular CLI dev server (ng serve)"),
    (4318, "tcp", "otlp-http", "OpenTelemetry OTLP over HTTP"),
    (5000, "tcp", "flask-dev", "Flask dev server, Docker registry, macOS AirPlay receiver"),
    (5173, "tcp", "vite", "Vite dev server"),
    (5555, "tcp", "adb", "Android Debug Bridge over TCP"),
    (5601, "tcp", "kibana", "Kibana / OpenSearch Dashboards web UI"),
    (6006, "tcp", "tensorboard", "TensorBoard web UI"),
    (6443, "tcp", "kube-apiserver", "Kubernetes API server"),
    (7860, "tcp", "gradio", "Gradio web UI (machine-learning demos)"),
    (8000, "tcp", "http-dev", "HTTP dev servers (python -m http.server, Django runserver, uvicorn)"),
    (8086, "tcp", "influxdb", "InfluxDB HTTP API"),
    (8123, "tcp", "home-assistant", "Home Assistant web UI"),
    (8384, "tcp", "syncthing-gui", "Syncthing web GUI"),
    (8500, "tcp", "consul", "HashiCorp Consul HTTP API"),
    (8501, "tcp", "streamlit", "Streamlit app server"),
    (8888, "tcp", "jupyter", "Jupyter Notebook / JupyterLab"),
    (9000, "tcp", "php-fpm", "PHP-FPM FastCGI; also MinIO, SonarQube, Portainer"),
    (9090, "tcp", "prometheus", "Prometheus server web UI and API"),
    (9092, "tcp", "kafka", "Apache Kafka broker"),
    (9093, "tcp", "alertmanager", "Prometheus Alertmanager"),
    (9100, "tcp", "node-exporter", "Prometheus node_exporter metrics"),
    (9104, "tcp", "mysqld-exporter", "Prometheus mysqld_exporter metrics"),
    (9115, "tcp", "blackbox-exporter", "Prometheus blackbox_exporter"),
    (9121, "tcp", "redis-exporter", "Prometheus redis_exporter metrics"),
    (9187, "tcp", "postgres-exporter", "Prometheus postgres_exporter metrics"),
    (9200, "tcp", "elasticsearch", "Elasticsearch / OpenSearch HTTP API"),
    (9229, "tcp", "node-inspector", "Node.js inspector (node --inspect)"),
    (9300, "tcp", "elasticsearch-transport", "Elasticsearch node-to-node transport"),
    (9411, "tcp", "zipkin", "Zipkin tracing collector and UI"),
    (10250, "tcp", "kubelet", "Kubernetes kubelet API"),
    (11434, "tcp", "ollama", "Ollama LLM server API"),
    (15672, "tcp", "rabbitmq-mgmt", "RabbitMQ management web UI"),
    (16686, "tcp", "jaeger-ui", "Jaeger tracing UI"),
    (19999, "tcp", "netdata", "Netdata monitoring web UI"),
    (22000, "tcp", "syncthing", "Syncthing file sync protocol"),
    (22000, "udp", "syncthing", "Syncthing file sync protocol (QUIC)"),
    (25565, "tcp", "minecraft", "Minecraft Java Edition server"),
    (41641, "udp", "tailscale", "Tailscale WireGuard transport"),
    (51820, "udp", "wireguard", "WireGuard (the common default ListenPort)"),
];

/// The curated entry of `port/proto`.
pub fn lookup(port: u16, proto: &str) -> Option<(&'static str, &'static str)> {
    let i = CURATED
        .binary_search_by(|e| (e.0, e.1).cmp(&(port, proto)))
        .ok()?;
    CURATED.get(i).map(|e| (e.2, e.3))
}

/// Every curated entry of `port`, any protocol.
pub fn for_port(
    port: u16,
) -> impl Iterator<Item = &'static (u16, &'static str, &'static str, &'static str)> {
    CURATED.iter().filter(move |e| e.0 == port)
}

/// The port of a curated name over `proto`.
pub fn port_by_name(name: &str, proto: &str) -> Option<u16> {
    CURATED
        .iter()
        .find(|e| e.1 == proto && e.2.eq_ignore_ascii_case(name))
        .map(|e| e.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_unique_and_well_formed() {
        for w in CURATED.windows(2) {
            assert!((w[0].0, w[0].1) < (w[1].0, w[1].1), "{:?} {:?}", w[0], w[1]);
        }
        for e in CURATED {
            assert!(super::super::iana::proto_code(e.1).is_some(), "{e:?}");
            assert!(super::super::labels::validate_name(e.2).is_ok(), "{e:?}");
        }
    }

    #[test]
    fn finds_entries() {
        assert_eq!(lookup(5173, "tcp").map(|e| e.0), Some("vite"));
        assert_eq!(lookup(5173, "udp"), None);
        assert_eq!(port_by_name("ollama", "tcp"), Some(11434));
        assert_eq!(for_port(22000).count(), 2);
    }
}
