//! Every network namespace on the host (issue #11): finding them (`discover`), choosing them
//! from `-N WHICH` (`spec`), and reading each from inside (`source`) with the same dumps and
//! kernel-side state filter as a listing of our own namespace.
//!
//! What "host" means. The host namespace is the initial network namespace when portwatch
//! can see it: Linux 6.18+ numbers it `0xEFFFFFF9` (`NET_NS_INIT_INO`), so it is known
//! whoever holds it. Otherwise (an older kernel, or a container whose pid namespace hides
//! the initial one) it is the namespace of pid 1 of portwatch's pid namespace: on a host,
//! init's; in a container that shares the host's pid namespace (`--pid=host`, a Kubernetes
//! `hostPID` pod) the host's, even if portwatch's own is the container's; in a container
//! with its own pid namespace, the container's own, the root of what portwatch can see.
//! When pid 1's namespace cannot be read (not root), it is portwatch's own. A listing
//! without `-N` reads portwatch's own namespace, which is then marked host only if it is.
//!
//! What is not found: a namespace kept alive only by an open file descriptor (an nsfs fd, or
//! a socket created in it and passed out) with no process and no mount in it, and one whose
//! only members are threads other than their process's main thread (only `/proc/PID`, not
//! `/proc/PID/task/TID`, is read: a thread scan would cost a readlink per thread). Without
//! root, namespaces of other users' processes cannot be identified at all: they are counted
//! (`Discovery::hidden_pids`) in the one warning about what was not read.

mod discover;
mod open;
mod parse;
mod set;
mod source;
mod spec;
mod worker;

pub use discover::{
    discover, discover_in, host_inode, link_inode, Discovery, NsEntry, NETNS_DIRS, NET_NS_INIT_INO,
};
pub use open::{open_ns_file, FileKind};
pub use parse::{net_mounts, ns_link_inode, unescape};
pub use set::{skipped_warning, MultiRead, NetnsSet};
pub use source::{NetnsSource, NsRead, Skip, Via};
pub use spec::{resolve, NetnsError};
