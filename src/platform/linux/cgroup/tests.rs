//! The cgroup parser on real `/proc/PID/cgroup` shapes of each runtime, v1, v2 and hybrid.
//! Each case names where the shape was seen; ids are kept as they appeared there.

use super::path::{parse_path, parse_proc_cgroup, ContainerRef, Placement};
use crate::model::{Runtime, Unit};

/// (runtime, id, pod uid, user manager uid) or `None`; (unit, user) or `None`.
type Want = (
    Option<(Runtime, &'static str, Option<&'static str>, Option<u32>)>,
    Option<(&'static str, Option<u32>)>,
);

fn want(w: Want) -> Placement {
    Placement {
        container: w.0.map(|(runtime, id, pod, user)| ContainerRef {
            runtime,
            id: id.into(),
            pod_uid: pod.map(String::from),
            user,
        }),
        unit: w.1.map(|(name, user)| Unit {
            name: name.into(),
            user,
        }),
    }
}

const DOCKER_V1: &str = "\
13:name=systemd:/docker/3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860
12:pids:/docker/3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860
11:hugetlb:/docker/3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860
8:cpu,cpuacct:/docker/3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860
1:cpuset:/docker/3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860
";

/// podman 4.3 + runc on this project's machine kind (hybrid, cgroupfs manager).
const PODMAN_HYBRID: &str = "\
9:name=systemd:/libpod_parent/libpod-dba47abbf81d9f8b53a1b5b99bedbf3cf9a73d70d4f331517d8064f0ed7f5aab
8:pids:/libpod_parent/libpod-dba47abbf81d9f8b53a1b5b99bedbf3cf9a73d70d4f331517d8064f0ed7f5aab
4:memory:/libpod_parent/libpod-dba47abbf81d9f8b53a1b5b99bedbf3cf9a73d70d4f331517d8064f0ed7f5aab
1:cpu:/libpod_parent/libpod-dba47abbf81d9f8b53a1b5b99bedbf3cf9a73d70d4f331517d8064f0ed7f5aab
0::/libpod_parent/libpod-dba47abbf81d9f8b53a1b5b99bedbf3cf9a73d70d4f331517d8064f0ed7f5aab
";

/// The same container's conmon: beside the container, not in it.
const PODMAN_CONMON_HYBRID: &str = "\
9:name=systemd:/
8:pids:/libpod_parent/conmon
4:memory:/libpod_parent/conmon
1:cpu:/libpod_parent/conmon
0::/
";

/// github.com/open-telemetry/opentelemetry-java/issues/4507: containerd run with the
/// cgroupfs driver while the kubelet asked for systemd, so the systemd cgroupsPath syntax
/// became a directory name (v1, some controllers below containerd.service).
const CONTAINERD_COLON_V1: &str = "\
11:perf_event:/kubepods-besteffort-pod0125ec2f_b64a_4868_8f5b_94b56cbab864.slice:cri-containerd:ee4b20e90ac7f42a10bd004d05646b13d8ab5e2c5e7cbc01abf8006bac016459
10:blkio:/system.slice/containerd.service/kubepods-besteffort-pod0125ec2f_b64a_4868_8f5b_94b56cbab864.slice:cri-containerd:ee4b20e90ac7f42a10bd004d05646b13d8ab5e2c5e7cbc01abf8006bac016459
1:name=systemd:/system.slice/containerd.service/kubepods-besteffort-pod0125ec2f_b64a_4868_8f5b_94b56cbab864.slice:cri-containerd:ee4b20e90ac7f42a10bd004d05646b13d8ab5e2c5e7cbc01abf8006bac016459
";

/// Hybrid, docker with its cgroupfs driver: the v1 controllers name the container, the
/// unified hierarchy (which the driver does not join) still has the daemon's unit. The unit
/// is not the container process's, so none is reported.
const DOCKER_CGROUPFS_HYBRID: &str = "\
12:pids:/docker/d3d81786f3e154c7c9d379bcc3d4bdb1c55a5ee824195be91b8a40e55fdebe3a
1:name=systemd:/docker/d3d81786f3e154c7c9d379bcc3d4bdb1c55a5ee824195be91b8a40e55fdebe3a
0::/system.slice/containerd.service
";

/// Hybrid under systemd, docker's systemd driver: both trees agree.
const DOCKER_SYSTEMD_HYBRID: &str = "\
10:devices:/system.slice/docker-9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d.scope
2:cpuacct,cpu:/system.slice/docker-9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d.scope
1:name=systemd:/system.slice/docker-9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d.scope
0::/system.slice/docker-9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d.scope
";

/// A host process on a pure v2 host; and pid 1 of a v1 host without systemd
/// (github.com/moby/moby/issues/38822).
const SERVICE_V2: &str = "0::/system.slice/nginx.service\n";
const ROOT_V1: &str = "12:name=systemd:/\n11:pids:/\n10:net_cls,net_prio:/\n";

#[test]
fn whole_files_v1_v2_hybrid() {
    let docker = "3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860";
    let podman = "dba47abbf81d9f8b53a1b5b99bedbf3cf9a73d70d4f331517d8064f0ed7f5aab";
    let cases: &[(&str, &str, Want)] = &[
        (
            "docker v1",
            DOCKER_V1,
            (Some((Runtime::Docker, docker, None, None)), None),
        ),
        (
            "podman hybrid",
            PODMAN_HYBRID,
            (Some((Runtime::Podman, podman, None, None)), None),
        ),
        ("podman conmon", PODMAN_CONMON_HYBRID, (None, None)),
        (
            "containerd colon form",
            CONTAINERD_COLON_V1,
            (
                Some((
                    Runtime::Containerd,
                    "ee4b20e90ac7f42a10bd004d05646b13d8ab5e2c5e7cbc01abf8006bac016459",
                    Some("0125ec2f-b64a-4868-8f5b-94b56cbab864"),
                    None,
                )),
                None,
            ),
        ),
        (
            "docker cgroupfs on hybrid",
            DOCKER_CGROUPFS_HYBRID,
            (
                Some((
                    Runtime::Docker,
                    "d3d81786f3e154c7c9d379bcc3d4bdb1c55a5ee824195be91b8a40e55fdebe3a",
                    None,
                    None,
                )),
                None,
            ),
        ),
        (
            "docker systemd on hybrid",
            DOCKER_SYSTEMD_HYBRID,
            (
                Some((
                    Runtime::Docker,
                    "9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d",
                    None,
                    None,
                )),
                Some((
                    "docker-9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d.scope",
                    None,
                )),
            ),
        ),
        (
            "service v2",
            SERVICE_V2,
            (None, Some(("nginx.service", None))),
        ),
        ("root v1", ROOT_V1, (None, None)),
        ("empty", "", (None, None)),
        ("garbage", "no colons here\n::\n7\n", (None, None)),
    ];
    for (what, text, w) in cases {
        assert_eq!(parse_proc_cgroup(text), want(*w), "{what}");
    }
}

#[test]
fn single_paths_of_each_runtime() {
    #[rustfmt::skip]
    let cases: &[(&str, &str, Want)] = &[
        // Kubernetes, cgroupfs driver: bare container id below the pod (dd-trace-java
        // ContainerInfoTest, from the container tagging RFC).
        ("k8s cgroupfs",
         "/kubepods/besteffort/pod3d274242-8ee0-11e9-a8a6-1e68d864ef1a/3e74d3fd9db4c9dd921ae05c2502fb984d0cde1b36e581b13f79c639da4518a1",
         (Some((Runtime::Cri, "3e74d3fd9db4c9dd921ae05c2502fb984d0cde1b36e581b13f79c639da4518a1", Some("3d274242-8ee0-11e9-a8a6-1e68d864ef1a"), None)), None)),
        // kind, v2 with the kubelet's own slice (github.com/containerd/nri/pull/227).
        ("kind containerd v2",
         "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod1e597579_417e_482f_bf65_5fe170c3aebd.slice/cri-containerd-a09bc17f5aa29b0dbdec9ede5f46cf1396d2405917ab02e6f1eb1019f388396e.scope",
         (Some((Runtime::Containerd, "a09bc17f5aa29b0dbdec9ede5f46cf1396d2405917ab02e6f1eb1019f388396e", Some("1e597579-417e-482f-bf65-5fe170c3aebd"), None)),
          Some(("cri-containerd-a09bc17f5aa29b0dbdec9ede5f46cf1396d2405917ab02e6f1eb1019f388396e.scope", None)))),
        // A static pod: 32-digit uid (github.com/netdata/netdata/issues/4868).
        ("static pod",
         "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod8daa50c3a64c9ff60bb9eab7b44b56fd.slice/cri-containerd-2884d57c0e100d7a9a2f9487ce0bc2986bca3430e988af7a4865aff061f51ac5.scope",
         (Some((Runtime::Containerd, "2884d57c0e100d7a9a2f9487ce0bc2986bca3430e988af7a4865aff061f51ac5", Some("8daa50c3a64c9ff60bb9eab7b44b56fd"), None)),
          Some(("cri-containerd-2884d57c0e100d7a9a2f9487ce0bc2986bca3430e988af7a4865aff061f51ac5.scope", None)))),
        // Kubernetes on docker, systemd driver (github.com/lxc/lxc/issues/3890).
        ("k8s docker systemd",
         "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod7d4424e6_bb13_42f4_a47a_45a4828bf54d.slice/docker-d0b3604b67ac7930dd34ba3a796627e3e4717d12309e90a4afe3f38b6816ac98.scope",
         (Some((Runtime::Docker, "d0b3604b67ac7930dd34ba3a796627e3e4717d12309e90a4afe3f38b6816ac98", Some("7d4424e6-bb13-42f4-a47a-45a4828bf54d"), None)),
          Some(("docker-d0b3604b67ac7930dd34ba3a796627e3e4717d12309e90a4afe3f38b6816ac98.scope", None)))),
        // CRI-O, systemd driver, and its conmon (github.com/opencontainers/runc/issues/4620).
        ("cri-o systemd",
         "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-poda5c1f8d5_1919_434d_add7_4afaafdaef89.slice/crio-5eed917563583925ffdbd40a64efb2aaffe58638e57add8becaf460fe74f5b1c.scope",
         (Some((Runtime::CriO, "5eed917563583925ffdbd40a64efb2aaffe58638e57add8becaf460fe74f5b1c", Some("a5c1f8d5-1919-434d-add7-4afaafdaef89"), None)),
          Some(("crio-5eed917563583925ffdbd40a64efb2aaffe58638e57add8becaf460fe74f5b1c.scope", None)))),
        ("cri-o conmon systemd",
         "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod207aaad1_659f_4db8_88e0_46e0cdcc3004.slice/crio-conmon-32da98c8522068be05a7510a3eddb09cad6ed2f03286180d0e931d0d0b6224a6.scope",
         (None, Some(("crio-conmon-32da98c8522068be05a7510a3eddb09cad6ed2f03286180d0e931d0d0b6224a6.scope", None)))),
        // CRI-O, cgroupfs driver, and its conmon (github.com/cri-o/cri-o/pull/5511).
        ("cri-o cgroupfs",
         "/kubepods/burstable/pod44e2e33e-776b-4284-a647-4bd959899c91/crio-dc4b5f11a034ac50f4bf7a0f2396fce881f58dcb5b2fa5f0f74d5c2ad924c083",
         (Some((Runtime::CriO, "dc4b5f11a034ac50f4bf7a0f2396fce881f58dcb5b2fa5f0f74d5c2ad924c083", Some("44e2e33e-776b-4284-a647-4bd959899c91"), None)), None)),
        ("cri-o conmon cgroupfs",
         "/kubepods/burstable/pod44e2e33e-776b-4284-a647-4bd959899c91/crio-conmon-dc4b5f11a034ac50f4bf7a0f2396fce881f58dcb5b2fa5f0f74d5c2ad924c083",
         (None, None)),
        // minikube: the kubelet inside a docker container; the innermost container wins
        // (github.com/kubernetes/minikube/issues/11280).
        ("minikube nested",
         "/docker/d6701ec289c56e4391acb11d07474b3139466857a305490575508a8b7a9fcf22/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod2ca4a155_3599_498d_bb9d_4446693fa3ea.slice/crio-0ba8ac17e4e7a31fb82279503552fe94e64bab4745bf6fd2ff231e7c8ca8bed0.scope",
         (Some((Runtime::CriO, "0ba8ac17e4e7a31fb82279503552fe94e64bab4745bf6fd2ff231e7c8ca8bed0", Some("2ca4a155-3599-498d-bb9d-4446693fa3ea"), None)),
          Some(("crio-0ba8ac17e4e7a31fb82279503552fe94e64bab4745bf6fd2ff231e7c8ca8bed0.scope", None)))),
        // systemd inside a docker container: the unit inside it
        // (github.com/systemd/systemd/issues/11752).
        ("systemd in docker",
         "/docker/d3d81786f3e154c7c9d379bcc3d4bdb1c55a5ee824195be91b8a40e55fdebe3a/system.slice/opendkim.service",
         (Some((Runtime::Docker, "d3d81786f3e154c7c9d379bcc3d4bdb1c55a5ee824195be91b8a40e55fdebe3a", None, None)), Some(("opendkim.service", None)))),
        // podman, systemd manager, rootful and in a pod; its conmon scope.
        ("podman systemd",
         "/machine.slice/libpod-dba47abbf81d9f8b53a1b5b99bedbf3cf9a73d70d4f331517d8064f0ed7f5aab.scope",
         (Some((Runtime::Podman, "dba47abbf81d9f8b53a1b5b99bedbf3cf9a73d70d4f331517d8064f0ed7f5aab", None, None)),
          Some(("libpod-dba47abbf81d9f8b53a1b5b99bedbf3cf9a73d70d4f331517d8064f0ed7f5aab.scope", None)))),
        ("podman conmon scope",
         "/machine.slice/libpod-conmon-dba47abbf81d9f8b53a1b5b99bedbf3cf9a73d70d4f331517d8064f0ed7f5aab.scope",
         (None, Some(("libpod-conmon-dba47abbf81d9f8b53a1b5b99bedbf3cf9a73d70d4f331517d8064f0ed7f5aab.scope", None)))),
        ("podman cgroupfs pod",
         "/libpod_parent/3206538f745dafcf8a9d41eb08cd2867031d2e12b79b195c10543a2078bba133/libpod-dba47abbf81d9f8b53a1b5b99bedbf3cf9a73d70d4f331517d8064f0ed7f5aab",
         (Some((Runtime::Podman, "dba47abbf81d9f8b53a1b5b99bedbf3cf9a73d70d4f331517d8064f0ed7f5aab", None, None)), None)),
        // Rootless podman: its pod slice and pause scope hold no container
        // (github.com/alumet-dev/alumet/pull/463); a container below the user manager, in
        // the `container` sub-cgroup podman makes for it.
        ("rootless pod slice",
         "/user.slice/user-1049.slice/user@1049.service/user.slice/user-libpod_pod_3206538f745dafcf8a9d41eb08cd2867031d2e12b79b195c10543a2078bba133.slice",
         (None, Some(("user@1049.service", None)))),
        ("rootless pause",
         "/user.slice/user-1049.slice/user@1049.service/user.slice/podman-pause-23c87985.scope",
         (None, Some(("podman-pause-23c87985.scope", Some(1049))))),
        ("rootless podman process",
         "/user.slice/user-1000.slice/user@1000.service/user.slice/podman-6696.scope",
         (None, Some(("podman-6696.scope", Some(1000))))),
        ("rootless container",
         "/user.slice/user-1049.slice/user@1049.service/user.slice/libpod-dba47abbf81d9f8b53a1b5b99bedbf3cf9a73d70d4f331517d8064f0ed7f5aab.scope/container",
         (Some((Runtime::Podman, "dba47abbf81d9f8b53a1b5b99bedbf3cf9a73d70d4f331517d8064f0ed7f5aab", None, Some(1049))),
          Some(("libpod-dba47abbf81d9f8b53a1b5b99bedbf3cf9a73d70d4f331517d8064f0ed7f5aab.scope", Some(1049))))),
        // nerdctl (containerd without Kubernetes), systemd driver.
        ("nerdctl",
         "/system.slice/nerdctl-ee4b20e90ac7f42a10bd004d05646b13d8ab5e2c5e7cbc01abf8006bac016459.scope",
         (Some((Runtime::Containerd, "ee4b20e90ac7f42a10bd004d05646b13d8ab5e2c5e7cbc01abf8006bac016459", None, None)),
          Some(("nerdctl-ee4b20e90ac7f42a10bd004d05646b13d8ab5e2c5e7cbc01abf8006bac016459.scope", None)))),
        // LXC 1.x-3.0 v1 with systemd inside (github.com/netdata/netdata/issues/3199), 3.1
        // (github.com/lxc/lxc/issues/2782), 4.0+ and waydroid's, incus's project prefix.
        ("lxc v1", "/lxc/deloittedigi/system.slice/php7.1-fpm.service",
         (Some((Runtime::Lxc, "deloittedigi", None, None)), Some(("php7.1-fpm.service", None)))),
        ("lxc 3.1", "/lxc.payload/c1", (Some((Runtime::Lxc, "c1", None, None)), None)),
        ("lxc 3.1 monitor", "/lxc.monitor/c1", (None, None)),
        ("lxc 4", "/lxc.payload.waydroid", (Some((Runtime::Lxc, "waydroid", None, None)), None)),
        ("lxc 4 monitor", "/lxc.monitor.waydroid", (None, None)),
        ("incus project", "/lxc.payload.user-1000_alpine-container/.lxc",
         (Some((Runtime::Lxc, "user-1000_alpine-container", None, None)), None)),
        // systemd units: system service, login session, user units
        // (github.com/containers/podman/issues/20910), the user manager itself.
        ("service", "/system.slice/nginx.service", (None, Some(("nginx.service", None)))),
        ("session", "/user.slice/user-1000.slice/session-1.scope", (None, Some(("session-1.scope", None)))),
        ("user unit",
         "/user.slice/user-10000.slice/user@10000.service/app.slice/app-org.gnome.Terminal.slice/vte-spawn-f22f14d2-3d44-4304-9879-3fdd0df7b08e.scope",
         (None, Some(("vte-spawn-f22f14d2-3d44-4304-9879-3fdd0df7b08e.scope", Some(10000))))),
        ("user manager", "/user.slice/user-1000.slice/user@1000.service/init.scope",
         (None, Some(("init.scope", Some(1000))))),
        ("pid 1", "/init.scope", (None, Some(("init.scope", None)))),
        // Seen from inside another cgroup namespace: leading `..` steps.
        ("other cgroupns", "/../../system.slice/nginx.service", (None, Some(("nginx.service", None)))),
        // Near misses: ids of the wrong length or case, a bare id nowhere near a pod, a slice.
        ("short id", "/system.slice/docker-9ec39b91f3d7.scope", (None, Some(("docker-9ec39b91f3d7.scope", None)))),
        ("upper-case id",
         "/docker/3726184226F5D3147C25FDEAB5B60097E378E8A720503A5E19ECFDF29F869860",
         (None, None)),
        ("bare id elsewhere",
         "/system.slice/3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860",
         (None, None)),
        ("slice only", "/system.slice", (None, None)),
        ("suffix only", "/.service", (None, None)),
    ];
    for (what, path, w) in cases {
        assert_eq!(parse_path(path), want(*w), "{what}");
    }
}

#[test]
fn never_panics_on_odd_text() {
    for text in [
        ":",
        "0::",
        "0:::::",
        "1:name=systemd:/a:b:c:d",
        "0::/kubepods/pod/",
        "0::/kubepods-pod.slice",
        "0::/lxc.payload.",
        "0::/user@.service/x.service",
        "0::/\u{202e}evil.service",
    ] {
        let _ = parse_proc_cgroup(text);
    }
}
