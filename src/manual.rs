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
        | autobound | dev INDEX | cgroup [=|!=] PATH
        | netns NAME|INODE|GLOB | container GLOB | unit GLOB | host
  OP   := = == eq != ne < lt <= le > gt >= ge
  PORT := :NUMBER | :SERVICE | *
  HOST := ADDR | ADDR/LEN | ADDR:PORT | [IPV6]:PORT | *:PORT | :PORT | * | unix path glob

As in ss, and, or and juxtaposition have equal precedence and group left to right: a or b \
and c means (a or b) and c. and may be written && or &, or as || or |, not as !.

STATE is an ss state name (established, syn-sent, syn-recv, fin-wait-1, fin-wait-2, \
time-wait, closed, close-wait, last-ack, listening, closing) or group (all, connected, \
synchronized, bucket, big). As in ss, state and exclude replace the set chosen by -l or -a, \
and the set is sent to the kernel. So is a local port the expression pins (sport = :P, src \
ADDR:P, an or of those under any and): the kernel then replies only for sockets on those \
ports, as it does for ss.

proc and pid match the processes holding the socket and run the owner scan even without -p. \
service matches the name shown in the Service column. scope classifies the local address; \
IPv4-mapped addresses count as IPv4. cgroup matches sockets whose cgroup v2 is exactly PATH \
(as under the cgroup2 mount, / for the root), as in ss; a PATH that names no cgroup is an \
error. netns matches the socket's network namespace by name (glob), inode or net:[INODE]; \
host is the host's namespace. container matches the name (glob) or an id prefix of the \
container of the socket's holders, unit the systemd unit of its holders; both run the owner \
scan as proc does.

A bad expression exits with status 2 and shows the expression with a caret under the \
offending word and what was expected there. When the listing is empty only because of the \
default state set (neither -l nor -a, or -l alone), one line on stderr says how many sockets \
in other states match and which option shows them; the exit status stays 0.

  portwatch -tn state established '( dport = :443 or dport = :80 )'
  portwatch -lnt sport = :22
  portwatch -lntp proc 'nginx*' or user www-data",
    ),
    (
        "NAMESPACES",
        "-N WHICH (repeatable) reads other network namespaces: all, a name under /run/netns \
(as ss -N), a pid (that process's namespace; all digits is a pid) or the path of a namespace \
file (/proc/PID/ns/net, a bind mount; anything with a / is a path). A WHICH that names no \
network namespace exits with status 2, naming it. all finds every namespace from every \
process's /proc/PID/ns/net, the bind mounts under /run/netns and /run/docker/netns, and the \
nsfs mounts of every mount namespace, so a namespace held only by a bind mount is listed.

Each namespace is read from inside over netlink, with the same kernel-side state filter: \
helper threads enter it with setns(2), the main thread never does. Its listener set, \
ephemeral port range and interface names are its own; owners are found once for all. \
Entering needs CAP_SYS_ADMIN; without it the /proc/PID/net tables of one of your processes \
in the namespace are read, else the namespace is skipped and one warning counts the skipped \
ones; the exit status stays 0.

The host namespace is the initial one when the kernel numbers it (Linux 6.18+), else pid 1's \
(of portwatch's pid namespace), else portwatch's own when pid 1 cannot be read. With more \
than one namespace the table starts with Netns (the name, else net:[INODE]) and Container \
columns and groups rows by namespace, the host's first.

A socket's container is its holders': their /proc/PID/cgroup (v1, v2 or hybrid) names \
docker, podman, containerd, CRI-O, Kubernetes pods and lxc; names come only from each \
runtime's own state on disk (never its CLI). Holders that disagree give none. A socket no \
known process holds gets its namespace's container when every process there is in it. The \
unit is the systemd unit of the holders. A socket held from another namespace than its own \
is listed under its own, and JSON's holder_netns_differs says so.

  portwatch -lntp -N all
  portwatch -lntp -N all container web
  portwatch -tn -N blue state established",
    ),
    (
        "DETAILS",
        "-i, -m, -o and -e show what ss shows with the same letters, from the same kernel \
interface (netlink sock_diag), in ss's notation: on a terminal on a line under each socket, \
wrapped to the width; in a pipe at the end of the socket's own line, so that one line is one \
socket. -o prints the pending timer (timer:(on|keepalive|timewait|persist,EXPIRES,RETRANS)) \
and, with -i, the negotiated TCP options; -e the socket cookie (sk:), its cgroup and the \
shutdown state (<-> open, --> receive shut, <-- send shut); --cgroup the cgroup alone; -m \
skmem:(r,rb,t,tb,f,w,o,bl,d); -i the congestion control and tcp_info (rtt, cwnd, mss, \
retransmissions, bytes, rates, ...). Rates are in bits per second, plain numbers with -n. \
Sockets read from /proc/net (raw, --backend proc) have none of these.

portwatch adds alerts to the details: !accept_queue_full(N%) for a listener whose accept \
queue holds more than 80% of its backlog, !zero_window when the peer's window is closed (a \
persist timer, or a zero send window in tcp_info), !retransmitting(N) while segments are being \
retransmitted. --sort KEY orders the rows by recv_q, send_q, rtt, retrans, bytes, cwnd or mem, \
largest first (sockets without the value last); the TCP metrics read tcp_info and mem reads \
socket memory even without -i or -m.

  portwatch -tin --sort rtt state established
  portwatch -tmo dport = :5432",
    ),
    (
        "SUMMARY, CLOSING, EVENTS",
        "-s prints the totals of ss -s, line for line and with the same numbers (they come from \
/proc/net/sockstat, sockstat6 and the CurrEstab counter of /proc/net/snmp; TCP alloc and \
orphan are host-wide even in a network namespace), reading nothing else. -sl adds the \
listeners whose accept queues are filling and the number of listeners per service (one \
read of the listeners, filtered like a listing); -sa also the listeners with most open \
connections (which reads every TCP connection). --json gives {\"schema\": 1, \
\"summary\": {...}}.

-K closes the TCP and UDP sockets the options and expression select, as ss -K: the kernel \
aborts each one (SOCK_DESTROY; the peer gets a reset, the owning process an error on its next \
call, and keeps running). It needs CAP_NET_ADMIN and a kernel built with \
CONFIG_INET_DIAG_DESTROY. Unlike ss, it refuses to run without an expression or -a, so one \
missing word cannot close every connection on the host. Each closed socket is printed; each \
one the kernel refused goes to stderr with the reason. A socket is named by its cookie as \
well as its addresses, so a newer socket that took the addresses of a closed one is never \
closed by mistake.

-E prints TCP and UDP sockets as the kernel destroys them, as ss -E, until SIGINT or \
SIGTERM (exit 0). A closed socket has no owner and no uid left. With --json each close is \
one line {\"schema\": 1, \"event\": \"closed\", \"time\": ..., \"socket\": {...}}; \
when the kernel's queue overflows, a line {\"event\": \"warning\", \"kind\": \
\"events-lost\", ...} says so.

  portwatch -sl
  portwatch -K dport = :8080
  portwatch -Et --json",
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
with -e, and Process with -p; with more than one network namespace, Netns and Container \
first. A dual-stack IPv6 wildcard prints as *:PORT. On a terminal the table is fitted to the \
width by shortening Process, Service, then Netns and Container; in a pipe nothing is cut.

Process names and unix paths are escaped: control characters, bidi and zero-width \
characters become \\e, \\n, \\t, \\xNN or \\u{NNNN}, and a backslash becomes \\\\.

--json prints one document {\"schema\": 1, \"sockets\": [...], \"warnings\": [...], \
\"owner_scan\": ..., \"owner_method\": ...}; each socket \
has proto, family, type, state, local, remote, recv_q, send_q, inode, uid, user, v6only, \
iface, owners, service, port_info, cookie, cgroup, tcp_info, skmem, timer, shutdown, \
alerts, netns, container, unit and holder_netns_differs (see README.md for the full schema); \
an extra not asked for or not known is null, and a tcp_info field the kernel does not report \
is absent, never 0. Text that is not \
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
a guess. -N needs root (CAP_SYS_ADMIN) to enter other network namespaces.",
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
owner scan ran).

--owners bpf reads every process's fds in one kernel pass instead: a BPF task iterator \
(Linux 5.8 or later with BTF; root, or CAP_BPF with CAP_PERFMON). From Linux 5.17 its \
program walks each task's fd table itself (bpf_loop), on a host with 20000 open files or \
more reading 8 fd slots at a time; before, the kernel calls it per open file. From Linux 6.1 a host with many open files per process is read process by process on \
several threads. It always reads every process (owner_scan \"all-processes\"), and also \
finds a thread that unshared its fd table (listed under its process), which /proc/PID/fd \
does not show. Loading it costs a fixed 2-20 ms, so it pays from about 2000 open files on \
the host. Most of that is a pass over the kernel's BTF for the offsets of the fields the \
program reads; its result is kept in /run/portwatch/btf-layout (keyed by the kernel's build \
id; a file that does not match or parse is replaced), after which loading is the \
verifier's ~1 ms and BPF pays from about 500 open files. The holders of up to 16 TCP listeners (a one-port query such as -lntp sport = :P) \
are found faster still on a host with 20000 open files or more: a TCP iterator gives each \
listener's file, and a program compares every fd slot with those files without reading what \
is behind the slot (on a smaller host the whole scan costs less than loading those two). \
--owners proc is the /proc scan above. \
The default, --owners auto, uses BPF when the host has that many open files \
(/proc/sys/fs/file-nr) and the program loads, else /proc, without a word; the owners are the \
same either way. --owners bpf where BPF cannot run is an error (exit 1) with the reason. JSON \
says which ran in owner_method: \"bpf\" or \"proc\" (null when no owner scan ran); \
PORTWATCH_DEBUG=1 says it on stderr, with the reason when auto read /proc and which program read when \
BPF did.",
    ),
    (
        "METRICS",
        "portwatch serve answers HTTP on 127.0.0.1:10455 by default (a port on no entry of \
Prometheus' default port allocations): /metrics in the Prometheus text format 0.0.4, or \
OpenMetrics 1.0 when the Accept header prefers it; / names the metrics; /healthz answers ok. \
GET and HEAD only (405), other paths 404. portwatch export prints the same metrics once, or \
with --textfile replaces a file atomically for node_exporter's textfile collector.

Without flags both read TCP and UDP sockets in every state: listeners with their processes, \
users, containers and units (for their labels), the rest only counted. -t, -u, -x, -w choose \
tables, -l keeps listeners only, a filter's state replaces the set, and -N reads other \
network namespaces (opened anew for each collection).

  portwatch_listener_info{proto,family,address,port,service,process,user,netns,container,unit} 1
  portwatch_listener_queue_length{proto,address,port,netns}   accept queue (TCP)
  portwatch_listener_backlog{proto,address,port,netns}        its limit (TCP)
  portwatch_connections{proto,state,local_service,direction}  connected TCP/UDP sockets
  portwatch_sockets{proto,state}
  portwatch_owners_hidden_sockets, portwatch_scrape_duration_seconds,
  portwatch_scrape_error, portwatch_build_info{version}, portwatch_collections_total

One listener series per address and distinct process name; no pid, remote address or \
client port is a label, so the number of series follows the host's configuration, not its \
traffic. Ports no registry layer names count as other in local_service. Process names are \
escaped as in the table, then by the exposition format.

Scrapes during a collection share it; a collection is reused for --min-interval (default \
1s). At most 256 connections; a request head within 10 s and 16 KiB; each write of a \
response must progress within 10 s. An unreadable table gives portwatch_scrape_error 1 (HTTP 200); \
nothing readable gives HTTP 500. SIGTERM, SIGINT or SIGHUP: stop accepting, finish responses in \
flight, exit 0. A non-loopback --listen address is said on stderr at start.",
    ),
    (
        "AUDIT",
        "portwatch audit judges the TCP and UDP listeners (of every namespace with -N all) and \
prints findings grouped by severity, most severe first: an id, the sockets, their reach \
(loopback, link-local, private, public, wildcard) and the interfaces that lead to them, the \
firewall verdict, the holders and their users, the namespace, container and unit when known, \
why it matters and what to do.

  plaintext-login            high    telnet, ftp, r-services, pop3, imap, vnc, snmp beyond loopback
  private-service-exposed    high    redis, databases, docker API, etcd, kubelet, exporters, 9229
                             medium  the same on a private address only
  unknown-listener           medium  beyond loopback on a port nothing names
  plaintext-unexpected-port  medium  (--probe) plaintext where another protocol is expected
  deleted-executable         high    the holder's program was deleted or replaced since it started
  world-writable-exe         high    the holder runs from /tmp, /dev/shm or another o+w directory
  tls-on-plaintext-port      info    (--probe) TLS on a plaintext protocol's port
  exposed-listener           info    reachable beyond loopback, nothing more to say

The firewall verdict (accepted, dropped, unknown) comes from the namespace's nftables ruleset \
(nft -j list ruleset, read inside it) for a new connection from another host on each \
interface; a rule portwatch cannot evaluate (source addresses, rate limits, marks...) makes \
it unknown, and iptables-legacy rules are only detected (unknown). A dropped port's findings \
are downgraded to low, never hidden.

--allow FILE lists accepted exposures, one per line: PROTO/PORT [PROGRAM-GLOB] [SCOPE] \
(SCOPE private or public, default public), # comments. --probe connects to the exposed TCP \
listeners only, from inside their namespace, and names what answers. The exit status is 1 \
when a finding is at or above --fail-on (default medium).",
    ),
    (
        "WATCH, SNAPSHOT, DIFF",
        "watch reads the selected sockets every --interval and reports each socket opened, \
closed or changed (state, owners; queues with --queues). Sockets are followed by the kernel's \
socket cookie, else by inode, else by both ends. Owners are looked for only where a new \
socket can be; one that look misses has owners null (unknown) until every process is read \
for it at the next read. On a terminal it shows a live view (keys: q \
quit, space pause, / filter, s sort, ? help); otherwise, or with --json, one JSON object per \
line: {\"schema\":1,\"event\":\"opened\"|\"closed\"|\"changed\",\"time\":RFC3339,\
\"socket\":{...},\"before\":{...}|null}, and {\"event\":\"warning\",\"kind\",\"message\"} \
once per warning. A connection that opens and closes between two reads is reported from the \
kernel's close reports (TCP and UDP; owners unknown); nothing else between two reads is \
seen. SIGINT, SIGTERM and SIGHUP end it with status 0. As root, a TCP-only watch without -i, \
-m, -o, -e or a process filter glimpses every TCP socket with a BPF iterator and reads in \
full only the new and changed ones (the first read is a full one); a watch that streams \
events without --queues instead takes the kernel's TCP state changes since the last read \
(a BPF program on the inet_sock_set_state tracepoint) and dumps only the states no change \
reports (SYN-SENT, SYN-RECV, TIME-WAIT, bound sockets); rows kept by such reads have \
unknown (null) queues. Its ring starts at 1 MiB; when changes were lost that read glimpses \
(exact) and the ring grows fourfold, up to 8 MiB. --reads auto|glimpse|full picks the way (full: every socket each \
time), and PORTWATCH_DEBUG=1 says why reads are not fed or glimpsed.

snapshot writes the listing, with owners, as a baseline document; -o FILE writes it \
atomically (a temp file renamed over FILE). diff BASELINE [NEW] compares the host now, or \
the document NEW, with it: listeners by protocol, local address and port and holding \
program; connections as groups per service port and remote address class (each one with \
--connections); never pids, inodes or ephemeral ports. NEW is the word after BASELINE unless \
that word starts a filter. Without listing options the baseline's own are used; a filter \
alone narrows them (one naming states replaces them, as in ss); options that choose sockets \
(-t, -l, -a, -4 ...) replace them. All three \
read portwatch's own network namespace and refuse -N (run them inside it: ip netns exec).

  portwatch watch -ltp
  portwatch watch -tanp --json --initial --count 10
  portwatch snapshot -ltup -o base.json
  portwatch diff base.json --ignore 'sport = :5353'",
    ),
    (
        "ENVIRONMENT",
        "PORTWATCH_LABELS: the labels file. XDG_CONFIG_HOME, HOME: where the labels file is by \
default ($XDG_CONFIG_HOME/portwatch/labels, else ~/.config/portwatch/labels). COLUMNS: the \
terminal width to fit the table to. NO_COLOR: no colour in the watch view (unless \
--color always). TERM: dumb makes watch print NDJSON. PORTWATCH_DEBUG=1: say on stderr how socket owners were \
read (BPF or /proc) and why, and why watch reads are not fed or glimpsed. \
PORTWATCH_FEED_RING=BYTES: the first size of watch's state-feed ring (a power of two from \
4096 to 8388608; default 1048576). PORTWATCH_CACHE_DIR: where the BPF programs' \
layout for the running kernel is kept (default /run/portwatch; empty: not kept).",
    ),
    (
        "FILES",
        "/etc/services (service names, read at run time); \
/proc/net/{tcp,tcp6,udp,udp6,raw,raw6,unix}; /proc/net/{sockstat,sockstat6,snmp} (-s); \
/proc/PID/fd; /proc/sys/fs/file-nr; /sys/kernel/btf/vmlinux, /sys/kernel/notes and \
/run/portwatch/btf-layout (--owners bpf, written by portwatch, safe to delete); \
/proc/sys/net/ipv4/ip_local_port_range; the cgroup2 mount (-e, --cgroup); \
/proc/PID/ns/net, /run/netns, /run/docker/netns, /proc/PID/mountinfo (-N); /proc/PID/cgroup, \
/var/lib/docker/containers/ID/config.v2.json, \
/var/lib/containers/storage/*-containers/containers.json, \
/run/containerd/io.containerd.runtime.v2.task/NS/ID/config.json, /var/log/pods (containers).",
    ),
    (
        "EXIT STATUS",
        "0 on success, also when nothing matched (as ss). 1 when the system could not be read, \
when -K could not close every selected socket (not permitted, or refused by the kernel; a \
socket that closed on its own meanwhile counts as closed), and for audit when a finding \
reaches --fail-on. \
2 on bad input: a bad option or filter expression, a malformed labels or services file, or a \
file named on the command line that cannot be read; the message names what is wrong and where.

diff exits as diff(1): 0 no difference, 1 differences, 2 trouble (including a malformed or \
newer-schema baseline, reported with its line).

portwatch kill has its own: 0 every target exited and the port is free; 1 nothing matched; \
2 bad usage, or no consent (the question not answered yes, or no terminal and no --yes); 3 a \
target survived or could not be signalled, a matched socket has no visible holder, or the \
port is held again.

Writing to a closed pipe (portwatch | head -1) is not an error: portwatch stops and exits 0.",
    ),
    ("SEE ALSO", "ss(8), lsof(8), netstat(8), services(5)"),
];
