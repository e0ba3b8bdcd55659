//! cgroup v2 ids and paths, as ss's `--cgroup` and `cgroup PATH` use them (iproute2
//! lib/cg_map.c): a socket carries the id of its cgroup (INET_DIAG_CGROUP_ID), which is the
//! inode number of that cgroup's directory in the cgroup2 mount (kernfs node id, 64-bit
//! inodes since Linux 5.5). The path is the directory's, relative to the mount; `/` is the
//! root cgroup.

use crate::platform::linux::netns::unescape;
use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Where cgroup2 is mounted, from a mountinfo text (`proc(5)`): the first mount of type
/// `cgroup2`, its mount point unescaped (`\040` is a space).
pub fn cgroup2_mount(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        if right.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        let point = left.split_whitespace().nth(4)?;
        Some(PathBuf::from(OsString::from_vec(unescape(
            point.as_bytes(),
        ))))
    })
}

/// The live cgroup2 mount point.
pub fn mount() -> Option<PathBuf> {
    cgroup2_mount(&std::fs::read_to_string("/proc/self/mountinfo").ok()?)
}

/// The id of the cgroup at `path` (relative to the mount, `/` for the root).
pub fn id_of(mount: &Path, path: &str) -> Option<u64> {
    let rel = path.trim_start_matches('/');
    let meta = std::fs::metadata(mount.join(rel)).ok()?;
    meta.is_dir().then(|| meta.ino())
}

/// Every cgroup under `mount`: id -> path. Stays on the mount's filesystem and skips what
/// cannot be read (a cgroup removed mid-walk is normal).
pub fn paths(mount: &Path) -> HashMap<u64, String> {
    let mut map = HashMap::new();
    let Ok(root) = std::fs::metadata(mount) else {
        return map;
    };
    let mut stack = vec![(mount.to_path_buf(), "/".to_string())];
    while let Some((dir, rel)) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&dir) else {
            continue;
        };
        if !meta.is_dir() || meta.dev() != root.dev() {
            continue;
        }
        map.insert(meta.ino(), rel.clone());
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                let name = e.file_name().to_string_lossy().into_owned();
                let child = if rel == "/" {
                    format!("/{name}")
                } else {
                    format!("{rel}/{name}")
                };
                stack.push((e.path(), child));
            }
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_cgroup2_mount_in_mountinfo() {
        let text = "\
25 31 0:23 / /sys rw,nosuid - sysfs sysfs rw
33 25 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu
41 31 0:38 / /sys/fs/cgroup/my\\040unified rw,relatime - cgroup2 cgroup2 rw
";
        assert_eq!(
            cgroup2_mount(text),
            Some(PathBuf::from("/sys/fs/cgroup/my unified"))
        );
        assert_eq!(
            cgroup2_mount("33 25 0:28 / /x rw - cgroup cgroup rw\n"),
            None
        );
        assert_eq!(cgroup2_mount("garbage\n - \n"), None);
    }

    #[test]
    fn walks_a_tree_by_inode() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a/b c")).unwrap();
        std::fs::write(d.path().join("a/file"), "").unwrap();
        let map = paths(d.path());
        let ino = |p: &str| std::fs::metadata(d.path().join(p)).unwrap().ino();
        assert_eq!(map.get(&ino("")).map(String::as_str), Some("/"));
        assert_eq!(map.get(&ino("a/b c")).map(String::as_str), Some("/a/b c"));
        assert_eq!(map.len(), 3, "directories only: {map:?}");
        assert_eq!(id_of(d.path(), "/a/b c"), Some(ino("a/b c")));
        assert_eq!(id_of(d.path(), "/a/file"), None);
        assert_eq!(id_of(d.path(), "/missing"), None);
    }
}
