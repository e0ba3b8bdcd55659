//! Pure parsers for namespace discovery: `net:[INODE]` link targets and the nsfs mounts of a
//! `mountinfo` file (proc(5)).

use std::ffi::OsString;
use std::num::NonZeroU64;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

/// The inode of a `<kind>:[N]` namespace link target (`readlink /proc/PID/ns/net`), as the
/// kernel writes it (ns_dname / proc_ns_readlink).
pub fn ns_link_inode(target: &[u8], kind: &str) -> Option<NonZeroU64> {
    let digits = target
        .strip_prefix(kind.as_bytes())?
        .strip_prefix(b":[")?
        .strip_suffix(b"]")?;
    if digits.is_empty() || digits.len() > 20 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Every network-namespace mount in a mountinfo file: (inode, mount point). An nsfs mount's
/// root field names the namespace (`net:[4026532177]`); a bind mount of
/// `/proc/PID/ns/net` made by `ip netns add` or a runtime shows exactly so.
pub fn net_mounts(mountinfo: &[u8]) -> Vec<(NonZeroU64, PathBuf)> {
    let mut out = Vec::new();
    for line in mountinfo.split(|&b| b == b'\n') {
        let mut f = line.split(|&b| b == b' ');
        let (Some(_id), Some(_parent), Some(_dev), Some(root), Some(point)) =
            (f.next(), f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        // Optional fields end with a lone "-"; the filesystem type follows it.
        let fstype = f.skip_while(|x| *x != b"-").nth(1);
        if fstype != Some(b"nsfs".as_slice()) {
            continue;
        }
        if let Some(ino) = ns_link_inode(root, "net") {
            out.push((ino, PathBuf::from(OsString::from_vec(unescape(point)))));
        }
    }
    out
}

/// Undo mountinfo's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134`
/// backslash: fs/proc_namespace.c, mangle); anything else is kept as is.
pub fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let oct = s.get(i + 1..i + 4).filter(|d| {
            s[i] == b'\\' && d[0] <= b'3' && d.iter().all(|c| (b'0'..=b'7').contains(c))
        });
        match oct {
            Some(d) => {
                out.push((d[0] - b'0') << 6 | (d[1] - b'0') << 3 | (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(s[i]);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in crate::platform::linux::netns) fn ino(n: u64) -> NonZeroU64 {
        NonZeroU64::new(n).unwrap()
    }

    #[test]
    fn link_targets() {
        assert_eq!(
            ns_link_inode(b"net:[4026531833]", "net"),
            Some(ino(4026531833))
        );
        assert_eq!(
            ns_link_inode(b"mnt:[4026531832]", "mnt"),
            Some(ino(4026531832))
        );
        for bad in [
            &b"mnt:[4026531832]"[..],
            b"net:[]",
            b"net:[0]",
            b"net:[12a]",
            b"net:4026531833",
            b"net:[99999999999999999999999]",
            b"socket:[5]",
            b"",
        ] {
            assert_eq!(
                ns_link_inode(bad, "net"),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn nsfs_mounts_of_this_machine_kind() {
        // podman's namespace (as mounted on this project's machine kind), an `ip netns add`
        // one with optional fields, a bind mount to a path with a space, other namespace
        // kinds and other filesystems, and broken lines.
        let text = b"\
22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw
48 42 0:4 net:[4026532177] /run/netns/netns-29f3584e-eb65-ec1a-ca75-77e4f847f672 rw shared:2 - nsfs nsfs rw
51 42 0:4 net:[4026532300] /run/netns/blue rw shared:2 master:1 - nsfs nsfs rw
52 25 0:4 net:[4026532301] /srv/my\\040ns rw - nsfs nsfs rw
53 25 0:4 mnt:[4026532302] /run/snapd/ns/x.mnt rw - nsfs nsfs rw
54 25 0:4 net:[4026532303] /tmp/fake rw - tmpfs tmpfs rw
55 25 0:4 net:[4026532304]
";
        let got = net_mounts(text);
        assert_eq!(
            got,
            vec![
                (
                    ino(4026532177),
                    PathBuf::from("/run/netns/netns-29f3584e-eb65-ec1a-ca75-77e4f847f672")
                ),
                (ino(4026532300), PathBuf::from("/run/netns/blue")),
                (ino(4026532301), PathBuf::from("/srv/my ns")),
            ]
        );
    }

    #[test]
    fn unescape_octal_only_when_complete() {
        assert_eq!(unescape(b"a\\040b\\011c\\012d\\134e"), b"a b\tc\nd\\e");
        assert_eq!(unescape(b"x\\04"), b"x\\04");
        assert_eq!(unescape(b"x\\999"), b"x\\999");
        assert_eq!(unescape(b"\\"), b"\\");
    }
}
