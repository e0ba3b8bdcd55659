//! Replacing a file atomically: a temporary file in the same directory, then rename(2), so a
//! reader sees the old file or the new one, never a partial one. Used for the labels file and
//! `export --textfile`.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Replace `target` with `bytes`. The temporary file is `<target>.tmp.<pid>.<n>` (a name no
/// `*.prom` glob matches); on failure it is removed and `target` is left as it was. Keeps the
/// permissions of an existing `target`.
pub fn replace(target: &Path, bytes: &[u8]) -> io::Result<()> {
    // Unique per process and call, so even an unlocked writer (non-Linux) never shares it.
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let tmp = with_suffix(target, &format!(".tmp.{}.{seq}", std::process::id()));
    let write = || -> io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        if let Ok(meta) = std::fs::metadata(target) {
            f.set_permissions(meta.permissions())?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, target)?;
        // Make the rename durable (rename(2) + fsync of the directory); best effort.
        if let Some(d) = target.parent().and_then(|d| std::fs::File::open(d).ok()) {
            let _ = d.sync_all();
        }
        Ok(())
    };
    write().inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// `path` with `suffix` appended to its last component.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s: OsString = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}
