//! Whether the proc mount hides other users' processes (`hidepid=invisible`): then their fd
//! tables are not refused but absent, and an owner scan cannot count what it did not see.

use std::path::Path;

/// How the proc filesystem at a mount point hides processes from users who are not root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HidePid {
    /// The option as mounted: `hidepid=invisible`, `hidepid=2`, `hidepid=ptraceable` ...
    pub option: String,
    /// Members of this group see every process (`gid=`).
    pub gid: Option<u32>,
}

/// The hiding option of the proc mount at `mount_point`, from `/proc/self/mountinfo`; `None`
/// when it shows every process (no hidepid, `hidepid=0`/`off`, or `1`/`noaccess`, which
/// leaves the directories listed and makes reads fail with EACCES: counted as denials).
pub fn hidepid(mount_point: &Path) -> Option<HidePid> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    parse(&text, mount_point.to_str()?)
}

/// `hidepid` on mountinfo text (proc(5)): the last proc mount at the point wins (it is the
/// one on top).
fn parse(mountinfo: &str, mount_point: &str) -> Option<HidePid> {
    let line = mountinfo.lines().rev().find(|l| {
        let mut f = l.split(' ');
        f.nth(4) == Some(mount_point)
            && l.split_once(" - ")
                .is_some_and(|(_, rest)| rest.split(' ').next() == Some("proc"))
    })?;
    let (_, rest) = line.split_once(" - ")?;
    let opts = rest.split(' ').nth(2)?;
    let mut hide = None;
    let mut gid = None;
    for o in opts.split(',') {
        match o.split_once('=') {
            Some(("hidepid", "2" | "invisible" | "4" | "ptraceable")) => {
                hide = Some(o.to_string());
            }
            Some(("gid", v)) => gid = v.parse().ok(),
            _ => {}
        }
    }
    hide.map(|option| HidePid { option, gid })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STACKED: &str = "\
22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
65 22 0:39 / /proc rw,relatime - proc proc rw,hidepid=invisible,gid=27
70 1 0:40 / /srv/proc rw - proc proc rw,hidepid=noaccess
71 1 8:1 / /data rw - ext4 /dev/sda1 rw,hidepid=2
";

    #[test]
    fn top_proc_mount_decides() {
        assert_eq!(
            parse(STACKED, "/proc"),
            Some(HidePid {
                option: "hidepid=invisible".into(),
                gid: Some(27)
            })
        );
        assert_eq!(
            parse(STACKED, "/srv/proc"),
            None,
            "noaccess: refused, not hidden"
        );
        assert_eq!(parse(STACKED, "/data"), None, "not a proc mount");
        assert_eq!(parse(STACKED, "/nowhere"), None);
        let old = "22 1 0:21 / /proc rw - proc proc rw,hidepid=2\n";
        assert_eq!(
            parse(old, "/proc").map(|h| h.option),
            Some("hidepid=2".into())
        );
        assert_eq!(
            parse("22 1 0:21 / /proc rw - proc proc rw\n", "/proc"),
            None
        );
        assert_eq!(parse("garbage\n\n", "/proc"), None);
    }
}
