//! NameStore on fixture trees laid out as each runtime writes its state.

use super::*;

const PODMAN_ID: &str = "dba47abbf81d9f8b53a1b5b99bedbf3cf9a73d70d4f331517d8064f0ed7f5aab";
const OTHER_ID: &str = "9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d";

fn put(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn cref(runtime: Runtime, id: &str) -> ContainerRef {
    ContainerRef {
        runtime,
        id: id.into(),
        pod_uid: None,
        user: None,
    }
}

fn store(root: &Path) -> NameStore {
    let home = root.join("home/alice");
    NameStore::new(root, move |uid| (uid == 1000).then(|| home.clone()))
}

/// containers.json as podman 4.3 on this project's machine kind writes it.
fn podman_json(id: &str, name: &str) -> String {
    format!(
        r#"[{{"id":"{id}","names":["{name}"],"image":"c8afc9585cf3","layer":"e5ffbfab286e",
        "metadata":"{{\"image-name\":\"localhost/pwexp:1\",\"name\":\"{name}\"}}",
        "created":"2026-11-30T09:10:26.702428054Z","flags":{{"MountLabel":"","ProcessLabel":""}}}}]"#
    )
}

#[test]
fn podman_rootful_rootless_and_relocated() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    put(
        r,
        "var/lib/containers/storage/overlay-containers/containers.json",
        &podman_json(PODMAN_ID, "web"),
    );
    put(
        r,
        "home/alice/.local/share/containers/storage/overlay-containers/containers.json",
        &podman_json(OTHER_ID, "alices"),
    );
    let mut s = store(r);
    assert_eq!(
        s.resolve(&cref(Runtime::Podman, PODMAN_ID)).name.as_deref(),
        Some("web")
    );
    assert_eq!(s.resolve(&cref(Runtime::Podman, OTHER_ID)).name, None);
    let rootless = ContainerRef {
        user: Some(1000),
        ..cref(Runtime::Podman, OTHER_ID)
    };
    assert_eq!(s.resolve(&rootless).name.as_deref(), Some("alices"));

    // storage.conf moves the graphroot; the default store is then not read.
    put(
        r,
        "etc/containers/storage.conf",
        "[storage]\ndriver = \"vfs\"\ngraphroot = \"/srv/ctr\" # moved\n",
    );
    put(
        r,
        "srv/ctr/vfs-containers/containers.json",
        &podman_json(PODMAN_ID, "moved"),
    );
    let mut s = store(r);
    assert_eq!(
        s.resolve(&cref(Runtime::Podman, PODMAN_ID)).name.as_deref(),
        Some("moved")
    );
}

#[test]
fn docker_name_labels_and_data_root() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    put(
        r,
        &format!("var/lib/docker/containers/{OTHER_ID}/config.v2.json"),
        r#"{"ID":"x","Name":"/nginx","Config":{"Labels":{}}}"#,
    );
    let k8s = format!(
        r#"{{"Name":"/k8s_app_web-0_shop_{uid}_0","Config":{{"Labels":{{
        "io.kubernetes.container.name":"app","io.kubernetes.pod.name":"web-0",
        "io.kubernetes.pod.namespace":"shop"}}}}}}"#,
        uid = "7d4424e6-bb13-42f4-a47a-45a4828bf54d"
    );
    put(
        r,
        &format!("var/lib/docker/containers/{PODMAN_ID}/config.v2.json"),
        &k8s,
    );
    let mut s = store(r);
    let c = s.resolve(&cref(Runtime::Docker, OTHER_ID));
    assert_eq!((c.name.as_deref(), c.pod), (Some("nginx"), None));
    let c = s.resolve(&cref(Runtime::Docker, PODMAN_ID));
    assert_eq!(
        (c.name.as_deref(), c.pod.as_deref(), c.namespace.as_deref()),
        (Some("app"), Some("web-0"), Some("shop"))
    );
    put(
        r,
        "etc/docker/daemon.json",
        r#"{"data-root": "/data/docker"}"#,
    );
    let mut s = store(r);
    assert_eq!(
        s.resolve(&cref(Runtime::Docker, OTHER_ID)).name,
        None,
        "moved away"
    );
}

#[test]
fn bare_kubernetes_id_is_found_in_containerd_state_then_pods_dir() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    let uid = "3d274242-8ee0-11e9-a8a6-1e68d864ef1a";
    put(
        r,
        &format!("run/containerd/io.containerd.runtime.v2.task/k8s.io/{PODMAN_ID}/config.json"),
        r#"{"ociVersion":"1.1.0","annotations":{"io.kubernetes.cri.container-name":"dns",
        "io.kubernetes.cri.sandbox-name":"coredns-5d78c9869d-abcde",
        "io.kubernetes.cri.sandbox-namespace":"kube-system"}}"#,
    );
    std::fs::create_dir_all(r.join(format!("var/log/pods/shop_web-0_{uid}"))).unwrap();
    std::fs::create_dir_all(r.join("var/log/pods/not-a-pod-dir")).unwrap();
    let mut s = store(r);
    let c = s.resolve(&ContainerRef {
        pod_uid: Some(uid.into()),
        ..cref(Runtime::Cri, PODMAN_ID)
    });
    assert_eq!(c.runtime, Runtime::Containerd);
    assert_eq!(
        (c.name.as_deref(), c.pod.as_deref(), c.namespace.as_deref()),
        (
            Some("dns"),
            Some("coredns-5d78c9869d-abcde"),
            Some("kube-system")
        )
    );
    // Unknown to every runtime: stays `cri`, pod names from /var/log/pods.
    let c = s.resolve(&ContainerRef {
        pod_uid: Some(uid.into()),
        ..cref(Runtime::Cri, OTHER_ID)
    });
    assert_eq!(c.runtime, Runtime::Cri);
    assert_eq!(
        (c.name, c.pod.as_deref(), c.namespace.as_deref()),
        (None, Some("web-0"), Some("shop"))
    );
}

#[test]
fn crio_names_from_annotations() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    put(
        r,
        "var/lib/containers/storage/overlay-containers/containers.json",
        &podman_json(PODMAN_ID, "k8s_proxy_kube-proxy-x_kube-system_2ca4a155_0"),
    );
    put(
        r,
        &format!("var/lib/containers/storage/overlay-containers/{PODMAN_ID}/userdata/config.json"),
        r#"{"annotations":{"io.kubernetes.container.name":"kube-proxy",
        "io.kubernetes.pod.name":"kube-proxy-x","io.kubernetes.pod.namespace":"kube-system"}}"#,
    );
    let c = store(r).resolve(&cref(Runtime::CriO, PODMAN_ID));
    assert_eq!(
        (c.name.as_deref(), c.pod.as_deref(), c.namespace.as_deref()),
        (
            Some("kube-proxy"),
            Some("kube-proxy-x"),
            Some("kube-system")
        )
    );
}

#[test]
fn malformed_or_missing_state_leaves_names_unknown() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    put(
        r,
        "var/lib/containers/storage/overlay-containers/containers.json",
        "[{\"id\": ",
    );
    put(
        r,
        &format!("var/lib/docker/containers/{OTHER_ID}/config.v2.json"),
        "{}",
    );
    put(r, "etc/docker/daemon.json", "not json");
    let mut s = store(r);
    assert_eq!(s.resolve(&cref(Runtime::Podman, PODMAN_ID)).name, None);
    let c = s.resolve(&cref(Runtime::Docker, OTHER_ID));
    assert_eq!((c.runtime, c.name), (Runtime::Docker, None));
    let c = s.resolve(&cref(Runtime::Lxc, "web"));
    assert_eq!(c.name.as_deref(), Some("web"));
}

#[test]
fn a_users_cgroup_never_borrows_the_systems_names() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    let uid = "3d274242-8ee0-11e9-a8a6-1e68d864ef1a";
    put(
        r,
        &format!("run/containerd/io.containerd.runtime.v2.task/k8s.io/{PODMAN_ID}/config.json"),
        r#"{"annotations":{"io.kubernetes.cri.container-name":"payments"}}"#,
    );
    put(
        r,
        &format!("var/lib/docker/containers/{PODMAN_ID}/config.v2.json"),
        r#"{"Name":"/prod-db"}"#,
    );
    std::fs::create_dir_all(r.join(format!("var/log/pods/shop_web-0_{uid}"))).unwrap();
    let mut s = store(r);
    for runtime in [
        Runtime::Cri,
        Runtime::Containerd,
        Runtime::Docker,
        Runtime::CriO,
    ] {
        let c = s.resolve(&ContainerRef {
            pod_uid: Some(uid.into()),
            user: Some(1000),
            ..cref(runtime, PODMAN_ID)
        });
        assert_eq!((c.name, c.pod), (None, None), "{runtime:?}");
    }
}

#[test]
fn state_files_must_be_regular_and_small() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("fifo.json");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    assert_eq!(read_json(&fifo), None, "returns at once, no writer needed");
    assert_eq!(read_json(Path::new("/dev/zero")), None);
    assert_eq!(read_json(d.path()), None, "a directory");
    let ok = d.path().join("ok.json");
    std::fs::write(&ok, r#"{"a": 1}"#).unwrap();
    assert_eq!(read_json(&ok).unwrap()["a"], 1);
}

#[test]
fn pod_dirs_and_graphroot_lines() {
    assert_eq!(
        pod_dir("kube-system_coredns-1_3D27"),
        Some(("kube-system".into(), "coredns-1".into(), "3d27".into()))
    );
    for bad in ["a_b", "a_b_c_d", "_b_c", "a__c", "plain"] {
        assert_eq!(pod_dir(bad), None, "{bad}");
    }
    assert_eq!(
        graphroot_of("graphroot = \"/x\""),
        None,
        "outside [storage]"
    );
    assert_eq!(
        graphroot_of("[storage]\n  graphroot='/y'\n[storage.options]\ngraphroot=\"/z\""),
        Some("/y".into())
    );
    assert_eq!(graphroot_of("[storage]\ngraphroot = \"\""), None);
}
