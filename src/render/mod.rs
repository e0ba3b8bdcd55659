//! Renderers: table, JSON, CSV, explain and label output, stderr notes, watch's events and
//! live view. Each takes finished data and a `&mut dyn Write`, nothing else; none reads the
//! system.

pub mod addr;
pub mod audit;
pub mod cells;
pub mod csv;
pub mod detail;
pub mod diff;
pub mod events;
pub mod explain;
pub mod json;
mod json_extras;
pub mod kill;
pub mod labels;
pub mod notes;
pub mod num;
pub mod sanitize;
pub mod snapshot;
pub mod summary;
pub mod table;
pub mod time;
pub mod watch_view;

/// A column of the socket table, in ss's order plus portwatch's additions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// The network namespace (with more than one read): name, else `net:[INODE]`.
    Netns,
    /// The container (with more than one namespace read): name, else short id.
    Container,
    Netid,
    State,
    RecvQ,
    SendQ,
    Local,
    Peer,
    Service,
    User,
    Inode,
    Process,
}

impl Column {
    pub fn header(self) -> &'static str {
        match self {
            Column::Netns => "Netns",
            Column::Container => "Container",
            Column::Netid => "Netid",
            Column::State => "State",
            Column::RecvQ => "Recv-Q",
            Column::SendQ => "Send-Q",
            Column::Local => "Local Address:Port",
            Column::Peer => "Peer Address:Port",
            Column::Service => "Service",
            Column::User => "User",
            Column::Inode => "Inode",
            Column::Process => "Process",
        }
    }
}
