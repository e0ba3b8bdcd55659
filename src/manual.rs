//! Long-form documentation for the man page (sections after OPTIONS). Paragraphs are separated
//! by blank lines; a paragraph whose lines all start with two spaces is shown verbatim.

/// (heading, body) pairs, rendered into man/portwatch.1 by tests/man.rs.
pub const SECTIONS: &[(&str, &str)] = &[
    (
        "FILTER",
        "The words after the options form a filter expression in the language of ss(8), with \
the same meaning, plus predicates ss lacks. Options may also follow the expression; after \
-- every word belongs to the expression. The first word that is not an option names a \
subcommand when it is one; no filter keyword is a subcommand name. Listing subcommands take \
the same options and expression, before or after their name.

  EXPR := TERM { [and|or] TERM }      (no operator means and)
  TERM := ( EXPR ) | not TERM | PRED
  PRED := state STATE | exclude STATE
        | src HOST | dst HOST
        | sport [OP] PORT | dport [OP] PORT | port [OP] PORT
        | proc GLOB | pid N | user NAME|UID | service GLOB
        | scope loopback|wildcard|private|public|link-local|multicast
        | autobound | dev INDEX
  OP   := = == eq != ne < lt <= le > gt >= ge
  PORT := :NUMBER | :SERVICE | *
  HOST := ADDR | ADDR/LEN | ADDR:PORT | [IPV6]:PORT | *:PORT | :PORT | * | unix path glob

As in ss, and, or and juxtaposition have equal precedence and group left to right: a or b \
and c means (a or b) and c. and may be written && or &, or as || or |, not as !.

STATE is an ss state name (established, syn-sent, syn-recv, fin-wait-1, fin-wait-2, \
time-wait, closed, close-wait, last-ack, listening, closing) or group (all, connected, \
synchronized, bucket, big). As in ss, state and exclude replace the set chosen by -l or -a, \
and the set is sent to the kernel.

proc and pid match the processes holding the socket and run the owner scan even without -p. \
service matches the name shown in the Service column. scope classifies the local address; \
IPv4-mapped addresses count as IPv4.

A bad expression exits with status 2 and shows the expression with a caret under the \
offending word and what was expected there. When the listing is empty only because of the \
default state set (neither -l nor -a, or -l alone), one line on stderr says how many sockets \
in other states match and which option shows them; the exit status stays 0.

  portwatch -tn state established '( dport = :443 or dport = :80 )'
  portwatch -lnt sport = :22
  portwatch -lntp proc 'nginx*' or user www-data",
    ),
    (
        "SERVICES",
        "The Service column names the service a socket belongs to; for a connection, the server \
side (the local port when this host listens on it, else the remote port, with the ephemeral \
range as tie-breaker). Names come from, highest first: labels (portwatch label), --services \
files, /etc/services, the embedded IANA registry, and a small curated list of ports in common \
unregistered use. A port nobody names is shown as unregistered with its class (well-known, \
registered, dynamic) and ephemeral when it is in net.ipv4.ip_local_port_range.

The labels file holds one label per line: PORT/PROTO NAME [DESCRIPTION], with # comments. \
portwatch rewrites it atomically under a lock and never overwrites a malformed file; it \
reports the file and line instead.",
    ),
    (
        "OUTPUT",
        "The table has ss's columns (Netid, omitted when one protocol is shown; State; Recv-Q; \
Send-Q, the backlog for listeners; Local and Peer Address:Port) plus Service, User and Inode \
with -e, and Process with -p. A dual-stack IPv6 wildcard prints as *:PORT. On a terminal the \
table is fitted to the width by shortening Process and Service; in a pipe nothing is cut.

Process names and unix paths are escaped: control characters, bidi and zero-width \
characters become \\e, \\n, \\t, \\xNN or \\u{NNNN}, and a backslash becomes \\\\.

--json prints one document {\"schema\": 1, \"sockets\": [...], \"warnings\": [...], \
\"owner_scan\": ...}; each socket \
has proto, family, type, state, local, remote, recv_q, send_q, inode, uid, user, v6only, \
iface, owners, service and port_info (see README.md for the full schema). Text that is not \
UTF-8 is given lossily plus a *_hex key with the exact bytes. --csv prints one header line and \
the same facts, RFC 4180 quoted.",
    ),
    (
        "PERMISSIONS",
        "Every user sees every socket. Owners come from /proc/PID/fd, which only root (or \
CAP_DAC_READ_SEARCH with CAP_SYS_PTRACE) can read for other users' processes; otherwise \
portwatch lists what it can and prints one line on stderr saying how many sockets have no \
visible owner, why, and how to see them; a /proc mounted with hidepid=invisible (which hides \
other users' processes instead of refusing them) is named there. An unknown owner is -, never \
a guess.",
    ),
    (
        "OWNERS",
        "No kernel interface maps a socket to the processes holding it: -p reads the fd table of \
processes (/proc/PID/fd), one readlink per open file. portwatch reads the processes of the \
sockets' uids first and stops once every socket it will show has a holder (a listing of \
every connection without a filter, such as -antp, reads every process instead, while the \
socket tables are dumped); then it reads \
those holders' parents (while they hold the same socket) and every descendant of the topmost \
one, which is where the other holders of a socket shared across fork are (pre-fork servers, \
socket activation by pid 1). A holder outside that tree is found only by reading every \
process: a socket sent to an unrelated process over a unix socket (SCM_RIGHTS), workers whose \
master exited (re-parented to pid 1), or below a parent that closed its copy or could not be \
read. --all-owners reads every process, as ss -p does. As with ss -p, a connection opened \
while an -antp scan runs can show no owner. \
JSON says which happened in owner_scan: \"all-processes\" or \"stopped-early\" (null when no \
owner scan ran).",
    ),
    (
        "ENVIRONMENT",
        "PORTWATCH_LABELS: the labels file. XDG_CONFIG_HOME, HOME: where the labels file is by \
default ($XDG_CONFIG_HOME/portwatch/labels, else ~/.config/portwatch/labels). COLUMNS: the \
terminal width to fit the table to.",
    ),
    (
        "FILES",
        "/etc/services (service names, read at run time); \
/proc/net/{tcp,tcp6,udp,udp6,raw,raw6,unix}; /proc/PID/fd; \
/proc/sys/net/ipv4/ip_local_port_range.",
    ),
    (
        "EXIT STATUS",
        "0 on success, also when nothing matched (as ss). 1 when the system could not be read. \
2 on bad input: a bad option or filter expression, a malformed labels or services file, or a \
file named on the command line that cannot be read; the message names what is wrong and where.

portwatch kill has its own: 0 every target exited and the port is free; 1 nothing matched; \
2 bad usage, or no consent (the question not answered yes, or no terminal and no --yes); 3 a \
target survived or could not be signalled, a matched socket has no visible holder, or the \
port is held again.

Writing to a closed pipe (portwatch | head -1) is not an error: portwatch stops and exits 0.",
    ),
    ("SEE ALSO", "ss(8), lsof(8), netstat(8), services(5)"),
];
