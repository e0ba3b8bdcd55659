# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_portwatch_global_optspecs
    string join \n l/listening a/all n/numeric t/tcp u/udp x/unix w/raw p/processes all-owners e/extended i/info m/memory o/options cgroup sort= 4/ipv4 6/ipv6 N/netns= pid= c/command= U/user= s/summary K/kill E/events H/no-header json csv backend= owners= services= labels= proc-root= etc-services= h/help V/version
end

function __fish_portwatch_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_portwatch_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_portwatch_using_subcommand
    set -l cmd (__fish_portwatch_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c portwatch -n "__fish_portwatch_needs_command" -l sort -d 'Sort by a metric, largest first: recv_q, send_q, rtt, retrans, bytes, cwnd, mem (the TCP metrics read tcp_info, mem reads socket memory)' -r -f -a "recv_q\t''
send_q\t''
rtt\t''
retrans\t''
bytes\t''
cwnd\t''
mem\t''"
complete -c portwatch -n "__fish_portwatch_needs_command" -s N -l netns -d 'Read these network namespaces instead of portwatch\'s own (repeatable): `all`, a name under /run/netns (as ss -N), a pid (that process\'s namespace) or the path of a namespace file (/proc/PID/ns/net, a bind mount). With more than one, rows are grouped by namespace (the host\'s first) under Netns and Container columns. Entering another namespace needs root (CAP_SYS_ADMIN); those that cannot be read are counted in one warning' -r
complete -c portwatch -n "__fish_portwatch_needs_command" -l pid -d 'Only sockets held by this process id (repeatable); same as the filter `pid N`' -r
complete -c portwatch -n "__fish_portwatch_needs_command" -s c -l command -d 'Only sockets held by processes whose command matches this glob (repeatable); same as the filter `proc NAME`' -r
complete -c portwatch -n "__fish_portwatch_needs_command" -s U -l user -d 'Only sockets owned by this user name or uid (repeatable); same as the filter `user U`' -r
complete -c portwatch -n "__fish_portwatch_needs_command" -l backend -d 'Socket source: auto (netlink on Linux), netlink, proc (/proc/net text) or netstat2' -r -f -a "auto\t'netlink sock_diag on Linux (with /proc/net for raw sockets and any protocol whose diag module is missing); netstat2 elsewhere'
netlink\t'netlink sock_diag (Linux), /proc/net for raw and missing diag modules'
proc\t'/proc/net text tables only (Linux)'
netstat2\t'The netstat2 crate: TCP and UDP only; the default off Linux'"
complete -c portwatch -n "__fish_portwatch_needs_command" -l owners -d 'How -p finds socket owners: auto (BPF where it pays and is allowed, else /proc), bpf (one kernel pass; root only; an error where unavailable) or proc (readlink of every /proc/PID/fd entry)' -r -f -a "auto\t'BPF when the host has enough open files for it to pay and it loads; else /proc'
bpf\t'A BPF task iterator: every process\'s fds in one kernel pass (Linux 5.8+ with BTF, root or CAP_BPF and CAP_PERFMON)'
proc\t'A readlink of every /proc/PID/fd entry'"
complete -c portwatch -n "__fish_portwatch_needs_command" -l services -d 'Read an extra services(5) file; its names win over /etc/services (repeatable)' -r -F
complete -c portwatch -n "__fish_portwatch_needs_command" -l labels -d 'The labels file [default: $PORTWATCH_LABELS, else $XDG_CONFIG_HOME/portwatch/labels]' -r -F
complete -c portwatch -n "__fish_portwatch_needs_command" -l proc-root -d 'Read socket tables and processes from this directory instead of /proc (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_needs_command" -l etc-services -d 'Read the services(5) database from this file instead of /etc/services (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_needs_command" -s l -l listening -d 'Show only listening sockets (TCP/unix LISTEN, unconnected UDP/raw), as ss -l'
complete -c portwatch -n "__fish_portwatch_needs_command" -s a -l all -d 'Show all sockets: listening and non-listening, including TIME-WAIT'
complete -c portwatch -n "__fish_portwatch_needs_command" -s n -l numeric -d 'Numeric: accepted for ss compatibility. Ports in address columns are always numbers and host names are never resolved; the Service column stays (it is an annotation)'
complete -c portwatch -n "__fish_portwatch_needs_command" -s t -l tcp -d 'TCP sockets'
complete -c portwatch -n "__fish_portwatch_needs_command" -s u -l udp -d 'UDP sockets'
complete -c portwatch -n "__fish_portwatch_needs_command" -s x -l unix -d 'Unix domain sockets'
complete -c portwatch -n "__fish_portwatch_needs_command" -s w -l raw -d 'Raw sockets'
complete -c portwatch -n "__fish_portwatch_needs_command" -s p -l processes -d 'Show the processes holding each socket (pid, command, fd), every one when shared. Unless every connection is listed (-antp), the scan stops once each shown socket has a holder, then reads those holders\' parents and children (where fork-shared copies are); see --all-owners'
complete -c portwatch -n "__fish_portwatch_needs_command" -l all-owners -d 'Read every process\'s fds for owners, as ss -p does, instead of stopping early: also finds holders outside the first holder\'s process tree (a socket passed to an unrelated process, workers whose master exited). Slower on hosts with many open files'
complete -c portwatch -n "__fish_portwatch_needs_command" -s e -l extended -d 'Extended: show uid, user name and inode; under each socket (as with -i), its cookie (ss\'s sk:), cgroup and shutdown state'
complete -c portwatch -n "__fish_portwatch_needs_command" -s i -l info -d 'TCP internals under each socket, as ss -i: congestion control, RTT, cwnd, MSS, retransmissions, bytes and segments, rates (JSON: "tcp_info", in base units)'
complete -c portwatch -n "__fish_portwatch_needs_command" -s m -l memory -d 'Socket memory under each socket, as ss -m: skmem:(r,rb,t,tb,f,w,o,bl,d)'
complete -c portwatch -n "__fish_portwatch_needs_command" -s o -l options -d 'Timers under each socket, as ss -o: timer:(on|keepalive|timewait|persist,EXPIRES, RETRANS)'
complete -c portwatch -n "__fish_portwatch_needs_command" -l cgroup -d 'The cgroup v2 path of each socket, as ss --cgroup (also the filter `cgroup PATH`)'
complete -c portwatch -n "__fish_portwatch_needs_command" -s 4 -l ipv4 -d 'IPv4 sockets only; includes dual-stack [::] listeners, which serve IPv4 (ss omits them)'
complete -c portwatch -n "__fish_portwatch_needs_command" -s 6 -l ipv6 -d 'IPv6 sockets only, except those bound to v4-mapped addresses (they carry IPv4)'
complete -c portwatch -n "__fish_portwatch_needs_command" -s s -l summary -d 'Print the socket summary of ss -s (same numbers). With -l also the listeners whose accept queues fill up and the listeners per service; with -a also the listeners with most open connections'
complete -c portwatch -n "__fish_portwatch_needs_command" -s K -l kill -d 'Close the TCP (and UDP) sockets the flags and filter select, as ss -K (root only): prints each socket closed and each the kernel refused, with the reason; exit 1 if any was not closed. Refuses to run without a filter expression or -a/--all'
complete -c portwatch -n "__fish_portwatch_needs_command" -s E -l events -d 'Print TCP and UDP sockets as they close, as ss -E, until interrupted (with --json: one JSON object per line, "event": "closed")'
complete -c portwatch -n "__fish_portwatch_needs_command" -s H -l no-header -d 'Do not print the header line'
complete -c portwatch -n "__fish_portwatch_needs_command" -l json -d 'Print one JSON document ({"schema": 1, "sockets": [...], "warnings": [...]})'
complete -c portwatch -n "__fish_portwatch_needs_command" -l csv -d 'Print CSV (RFC 4180) with one header line'
complete -c portwatch -n "__fish_portwatch_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c portwatch -n "__fish_portwatch_needs_command" -s V -l version -d 'Print version'
complete -c portwatch -n "__fish_portwatch_needs_command" -a "list" -d 'The listing, by name: `portwatch list -lntp` is `portwatch -lntp`'
complete -c portwatch -n "__fish_portwatch_needs_command" -a "explain" -d 'Everything known about a port: names, descriptions, class, your label, who uses it now'
complete -c portwatch -n "__fish_portwatch_needs_command" -a "label" -d 'Name ports yourself: `label set 8123/tcp home-assistant`, `label rm`, `label list`'
complete -c portwatch -n "__fish_portwatch_needs_command" -a "watch" -d 'Watch sockets open, close and change: a live view on a terminal, NDJSON events otherwise (`portwatch watch -lnt`)'
complete -c portwatch -n "__fish_portwatch_needs_command" -a "snapshot" -d 'Save the listing as a baseline document for `diff` (`portwatch snapshot -ltup -o base.json`)'
complete -c portwatch -n "__fish_portwatch_needs_command" -a "diff" -d 'Compare the host now, or a second snapshot, with a baseline, by what survives a restart: exit 0 when they match, 1 when they differ (`portwatch diff base.json`)'
complete -c portwatch -n "__fish_portwatch_needs_command" -a "audit" -d 'Judge the listeners: what is reachable beyond loopback that should not be (plaintext logins, private services, unknown ports), suspicious holders, and what the firewall does with each. Exit 1 when a finding reaches --fail-on'
complete -c portwatch -n "__fish_portwatch_needs_command" -a "kill" -d 'Free a port: signal the processes listening on it (SIGTERM, then SIGKILL), safely'
complete -c portwatch -n "__fish_portwatch_needs_command" -a "serve" -d 'Serve Prometheus metrics over HTTP: /metrics, / and /healthz (see METRICS in portwatch(1))'
complete -c portwatch -n "__fish_portwatch_needs_command" -a "export" -d 'Print the Prometheus metrics once, or write them atomically for node_exporter\'s textfile collector (--textfile)'
complete -c portwatch -n "__fish_portwatch_needs_command" -a "completions" -d 'Print a shell completion script: `portwatch completions bash > /etc/bash_completion.d/portwatch`'
complete -c portwatch -n "__fish_portwatch_needs_command" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -l backend -d 'Socket source: auto (netlink on Linux), netlink, proc (/proc/net text) or netstat2' -r -f -a "auto\t'netlink sock_diag on Linux (with /proc/net for raw sockets and any protocol whose diag module is missing); netstat2 elsewhere'
netlink\t'netlink sock_diag (Linux), /proc/net for raw and missing diag modules'
proc\t'/proc/net text tables only (Linux)'
netstat2\t'The netstat2 crate: TCP and UDP only; the default off Linux'"
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -l owners -d 'How -p finds socket owners: auto (BPF where it pays and is allowed, else /proc), bpf (one kernel pass; root only; an error where unavailable) or proc (readlink of every /proc/PID/fd entry)' -r -f -a "auto\t'BPF when the host has enough open files for it to pay and it loads; else /proc'
bpf\t'A BPF task iterator: every process\'s fds in one kernel pass (Linux 5.8+ with BTF, root or CAP_BPF and CAP_PERFMON)'
proc\t'A readlink of every /proc/PID/fd entry'"
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -l services -d 'Read an extra services(5) file; its names win over /etc/services (repeatable)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -l labels -d 'The labels file [default: $PORTWATCH_LABELS, else $XDG_CONFIG_HOME/portwatch/labels]' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -l proc-root -d 'Read socket tables and processes from this directory instead of /proc (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -l etc-services -d 'Read the services(5) database from this file instead of /etc/services (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -l sort -d 'Sort by a metric, largest first: recv_q, send_q, rtt, retrans, bytes, cwnd, mem (the TCP metrics read tcp_info, mem reads socket memory)' -r -f -a "recv_q\t''
send_q\t''
rtt\t''
retrans\t''
bytes\t''
cwnd\t''
mem\t''"
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -s N -l netns -d 'Read these network namespaces instead of portwatch\'s own (repeatable): `all`, a name under /run/netns (as ss -N), a pid (that process\'s namespace) or the path of a namespace file (/proc/PID/ns/net, a bind mount). With more than one, rows are grouped by namespace (the host\'s first) under Netns and Container columns. Entering another namespace needs root (CAP_SYS_ADMIN); those that cannot be read are counted in one warning' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -l pid -d 'Only sockets held by this process id (repeatable); same as the filter `pid N`' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -s c -l command -d 'Only sockets held by processes whose command matches this glob (repeatable); same as the filter `proc NAME`' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -s U -l user -d 'Only sockets owned by this user name or uid (repeatable); same as the filter `user U`' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -s l -l listening -d 'Show only listening sockets (TCP/unix LISTEN, unconnected UDP/raw), as ss -l'
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -s a -l all -d 'Show all sockets: listening and non-listening, including TIME-WAIT'
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -s n -l numeric -d 'Numeric: accepted for ss compatibility. Ports in address columns are always numbers and host names are never resolved; the Service column stays (it is an annotation)'
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -s t -l tcp -d 'TCP sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -s u -l udp -d 'UDP sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -s x -l unix -d 'Unix domain sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -s w -l raw -d 'Raw sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -s p -l processes -d 'Show the processes holding each socket (pid, command, fd), every one when shared. Unless every connection is listed (-antp), the scan stops once each shown socket has a holder, then reads those holders\' parents and children (where fork-shared copies are); see --all-owners'
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -l all-owners -d 'Read every process\'s fds for owners, as ss -p does, instead of stopping early: also finds holders outside the first holder\'s process tree (a socket passed to an unrelated process, workers whose master exited). Slower on hosts with many open files'
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -s e -l extended -d 'Extended: show uid, user name and inode; under each socket (as with -i), its cookie (ss\'s sk:), cgroup and shutdown state'
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -s i -l info -d 'TCP internals under each socket, as ss -i: congestion control, RTT, cwnd, MSS, retransmissions, bytes and segments, rates (JSON: "tcp_info", in base units)'
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -s m -l memory -d 'Socket memory under each socket, as ss -m: skmem:(r,rb,t,tb,f,w,o,bl,d)'
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -s o -l options -d 'Timers under each socket, as ss -o: timer:(on|keepalive|timewait|persist,EXPIRES, RETRANS)'
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -l cgroup -d 'The cgroup v2 path of each socket, as ss --cgroup (also the filter `cgroup PATH`)'
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -s 4 -l ipv4 -d 'IPv4 sockets only; includes dual-stack [::] listeners, which serve IPv4 (ss omits them)'
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -s 6 -l ipv6 -d 'IPv6 sockets only, except those bound to v4-mapped addresses (they carry IPv4)'
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -s s -l summary -d 'Print the socket summary of ss -s (same numbers). With -l also the listeners whose accept queues fill up and the listeners per service; with -a also the listeners with most open connections'
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -s K -l kill -d 'Close the TCP (and UDP) sockets the flags and filter select, as ss -K (root only): prints each socket closed and each the kernel refused, with the reason; exit 1 if any was not closed. Refuses to run without a filter expression or -a/--all'
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -s E -l events -d 'Print TCP and UDP sockets as they close, as ss -E, until interrupted (with --json: one JSON object per line, "event": "closed")'
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -s H -l no-header -d 'Do not print the header line'
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -l json -d 'Print one JSON document ({"schema": 1, "sockets": [...], "warnings": [...]})'
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -l csv -d 'Print CSV (RFC 4180) with one header line'
complete -c portwatch -n "__fish_portwatch_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c portwatch -n "__fish_portwatch_using_subcommand explain" -l backend -d 'Socket source: auto (netlink on Linux), netlink, proc (/proc/net text) or netstat2' -r -f -a "auto\t'netlink sock_diag on Linux (with /proc/net for raw sockets and any protocol whose diag module is missing); netstat2 elsewhere'
netlink\t'netlink sock_diag (Linux), /proc/net for raw and missing diag modules'
proc\t'/proc/net text tables only (Linux)'
netstat2\t'The netstat2 crate: TCP and UDP only; the default off Linux'"
complete -c portwatch -n "__fish_portwatch_using_subcommand explain" -l owners -d 'How -p finds socket owners: auto (BPF where it pays and is allowed, else /proc), bpf (one kernel pass; root only; an error where unavailable) or proc (readlink of every /proc/PID/fd entry)' -r -f -a "auto\t'BPF when the host has enough open files for it to pay and it loads; else /proc'
bpf\t'A BPF task iterator: every process\'s fds in one kernel pass (Linux 5.8+ with BTF, root or CAP_BPF and CAP_PERFMON)'
proc\t'A readlink of every /proc/PID/fd entry'"
complete -c portwatch -n "__fish_portwatch_using_subcommand explain" -l services -d 'Read an extra services(5) file; its names win over /etc/services (repeatable)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand explain" -l labels -d 'The labels file [default: $PORTWATCH_LABELS, else $XDG_CONFIG_HOME/portwatch/labels]' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand explain" -l proc-root -d 'Read socket tables and processes from this directory instead of /proc (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand explain" -l etc-services -d 'Read the services(5) database from this file instead of /etc/services (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand explain" -l json -d 'Print JSON'
complete -c portwatch -n "__fish_portwatch_using_subcommand explain" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and not __fish_seen_subcommand_from set rm list help" -l backend -d 'Socket source: auto (netlink on Linux), netlink, proc (/proc/net text) or netstat2' -r -f -a "auto\t'netlink sock_diag on Linux (with /proc/net for raw sockets and any protocol whose diag module is missing); netstat2 elsewhere'
netlink\t'netlink sock_diag (Linux), /proc/net for raw and missing diag modules'
proc\t'/proc/net text tables only (Linux)'
netstat2\t'The netstat2 crate: TCP and UDP only; the default off Linux'"
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and not __fish_seen_subcommand_from set rm list help" -l owners -d 'How -p finds socket owners: auto (BPF where it pays and is allowed, else /proc), bpf (one kernel pass; root only; an error where unavailable) or proc (readlink of every /proc/PID/fd entry)' -r -f -a "auto\t'BPF when the host has enough open files for it to pay and it loads; else /proc'
bpf\t'A BPF task iterator: every process\'s fds in one kernel pass (Linux 5.8+ with BTF, root or CAP_BPF and CAP_PERFMON)'
proc\t'A readlink of every /proc/PID/fd entry'"
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and not __fish_seen_subcommand_from set rm list help" -l services -d 'Read an extra services(5) file; its names win over /etc/services (repeatable)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and not __fish_seen_subcommand_from set rm list help" -l labels -d 'The labels file [default: $PORTWATCH_LABELS, else $XDG_CONFIG_HOME/portwatch/labels]' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and not __fish_seen_subcommand_from set rm list help" -l proc-root -d 'Read socket tables and processes from this directory instead of /proc (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and not __fish_seen_subcommand_from set rm list help" -l etc-services -d 'Read the services(5) database from this file instead of /etc/services (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and not __fish_seen_subcommand_from set rm list help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and not __fish_seen_subcommand_from set rm list help" -f -a "set" -d 'Set (or replace) the label of PORT/PROTO'
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and not __fish_seen_subcommand_from set rm list help" -f -a "rm" -d 'Remove the label of PORT/PROTO'
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and not __fish_seen_subcommand_from set rm list help" -f -a "list" -d 'List all labels'
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and not __fish_seen_subcommand_from set rm list help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from set" -l backend -d 'Socket source: auto (netlink on Linux), netlink, proc (/proc/net text) or netstat2' -r -f -a "auto\t'netlink sock_diag on Linux (with /proc/net for raw sockets and any protocol whose diag module is missing); netstat2 elsewhere'
netlink\t'netlink sock_diag (Linux), /proc/net for raw and missing diag modules'
proc\t'/proc/net text tables only (Linux)'
netstat2\t'The netstat2 crate: TCP and UDP only; the default off Linux'"
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from set" -l owners -d 'How -p finds socket owners: auto (BPF where it pays and is allowed, else /proc), bpf (one kernel pass; root only; an error where unavailable) or proc (readlink of every /proc/PID/fd entry)' -r -f -a "auto\t'BPF when the host has enough open files for it to pay and it loads; else /proc'
bpf\t'A BPF task iterator: every process\'s fds in one kernel pass (Linux 5.8+ with BTF, root or CAP_BPF and CAP_PERFMON)'
proc\t'A readlink of every /proc/PID/fd entry'"
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from set" -l services -d 'Read an extra services(5) file; its names win over /etc/services (repeatable)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from set" -l labels -d 'The labels file [default: $PORTWATCH_LABELS, else $XDG_CONFIG_HOME/portwatch/labels]' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from set" -l proc-root -d 'Read socket tables and processes from this directory instead of /proc (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from set" -l etc-services -d 'Read the services(5) database from this file instead of /etc/services (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from rm" -l backend -d 'Socket source: auto (netlink on Linux), netlink, proc (/proc/net text) or netstat2' -r -f -a "auto\t'netlink sock_diag on Linux (with /proc/net for raw sockets and any protocol whose diag module is missing); netstat2 elsewhere'
netlink\t'netlink sock_diag (Linux), /proc/net for raw and missing diag modules'
proc\t'/proc/net text tables only (Linux)'
netstat2\t'The netstat2 crate: TCP and UDP only; the default off Linux'"
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from rm" -l owners -d 'How -p finds socket owners: auto (BPF where it pays and is allowed, else /proc), bpf (one kernel pass; root only; an error where unavailable) or proc (readlink of every /proc/PID/fd entry)' -r -f -a "auto\t'BPF when the host has enough open files for it to pay and it loads; else /proc'
bpf\t'A BPF task iterator: every process\'s fds in one kernel pass (Linux 5.8+ with BTF, root or CAP_BPF and CAP_PERFMON)'
proc\t'A readlink of every /proc/PID/fd entry'"
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from rm" -l services -d 'Read an extra services(5) file; its names win over /etc/services (repeatable)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from rm" -l labels -d 'The labels file [default: $PORTWATCH_LABELS, else $XDG_CONFIG_HOME/portwatch/labels]' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from rm" -l proc-root -d 'Read socket tables and processes from this directory instead of /proc (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from rm" -l etc-services -d 'Read the services(5) database from this file instead of /etc/services (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from list" -l backend -d 'Socket source: auto (netlink on Linux), netlink, proc (/proc/net text) or netstat2' -r -f -a "auto\t'netlink sock_diag on Linux (with /proc/net for raw sockets and any protocol whose diag module is missing); netstat2 elsewhere'
netlink\t'netlink sock_diag (Linux), /proc/net for raw and missing diag modules'
proc\t'/proc/net text tables only (Linux)'
netstat2\t'The netstat2 crate: TCP and UDP only; the default off Linux'"
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from list" -l owners -d 'How -p finds socket owners: auto (BPF where it pays and is allowed, else /proc), bpf (one kernel pass; root only; an error where unavailable) or proc (readlink of every /proc/PID/fd entry)' -r -f -a "auto\t'BPF when the host has enough open files for it to pay and it loads; else /proc'
bpf\t'A BPF task iterator: every process\'s fds in one kernel pass (Linux 5.8+ with BTF, root or CAP_BPF and CAP_PERFMON)'
proc\t'A readlink of every /proc/PID/fd entry'"
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from list" -l services -d 'Read an extra services(5) file; its names win over /etc/services (repeatable)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from list" -l labels -d 'The labels file [default: $PORTWATCH_LABELS, else $XDG_CONFIG_HOME/portwatch/labels]' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from list" -l proc-root -d 'Read socket tables and processes from this directory instead of /proc (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from list" -l etc-services -d 'Read the services(5) database from this file instead of /etc/services (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from list" -l json -d 'Print JSON'
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from help" -f -a "set" -d 'Set (or replace) the label of PORT/PROTO'
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Remove the label of PORT/PROTO'
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from help" -f -a "list" -d 'List all labels'
complete -c portwatch -n "__fish_portwatch_using_subcommand label; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -l backend -d 'Socket source: auto (netlink on Linux), netlink, proc (/proc/net text) or netstat2' -r -f -a "auto\t'netlink sock_diag on Linux (with /proc/net for raw sockets and any protocol whose diag module is missing); netstat2 elsewhere'
netlink\t'netlink sock_diag (Linux), /proc/net for raw and missing diag modules'
proc\t'/proc/net text tables only (Linux)'
netstat2\t'The netstat2 crate: TCP and UDP only; the default off Linux'"
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -l owners -d 'How -p finds socket owners: auto (BPF where it pays and is allowed, else /proc), bpf (one kernel pass; root only; an error where unavailable) or proc (readlink of every /proc/PID/fd entry)' -r -f -a "auto\t'BPF when the host has enough open files for it to pay and it loads; else /proc'
bpf\t'A BPF task iterator: every process\'s fds in one kernel pass (Linux 5.8+ with BTF, root or CAP_BPF and CAP_PERFMON)'
proc\t'A readlink of every /proc/PID/fd entry'"
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -l services -d 'Read an extra services(5) file; its names win over /etc/services (repeatable)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -l labels -d 'The labels file [default: $PORTWATCH_LABELS, else $XDG_CONFIG_HOME/portwatch/labels]' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -l proc-root -d 'Read socket tables and processes from this directory instead of /proc (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -l etc-services -d 'Read the services(5) database from this file instead of /etc/services (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -l sort -d 'Sort by a metric, largest first: recv_q, send_q, rtt, retrans, bytes, cwnd, mem (the TCP metrics read tcp_info, mem reads socket memory)' -r -f -a "recv_q\t''
send_q\t''
rtt\t''
retrans\t''
bytes\t''
cwnd\t''
mem\t''"
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -l pid -d 'Only sockets held by this process id (repeatable); same as the filter `pid N`' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -s c -l command -d 'Only sockets held by processes whose command matches this glob (repeatable); same as the filter `proc NAME`' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -s U -l user -d 'Only sockets owned by this user name or uid (repeatable); same as the filter `user U`' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -l interval -d 'Time between reads: 1s, 200ms, 2s, 1m; a plain number is seconds' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -l count -d 'Stop after N reads' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -l duration -d 'Stop after this long (30s, 10m, 1h30m; a plain number is seconds)' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -l reads -d 'How reads after the first find what changed: auto (as root, a TCP-only watch takes the kernel\'s state changes when it streams events without --queues, else glimpses every TCP socket; both read in full only the new and changed ones), glimpse (never the state changes), full (dump every socket on each read)' -r -f -a "auto\t''
glimpse\t''
full\t''"
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -l color -d 'Colour in the live view: auto (unless NO_COLOR is set), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -s N -l netns -d 'Read these network namespaces instead of portwatch\'s own (repeatable): `all`, a name under /run/netns (as ss -N), a pid (that process\'s namespace) or the path of a namespace file (/proc/PID/ns/net, a bind mount). With more than one, rows are grouped by namespace (the host\'s first) under Netns and Container columns. Entering another namespace needs root (CAP_SYS_ADMIN); those that cannot be read are counted in one warning' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -s l -l listening -d 'Show only listening sockets (TCP/unix LISTEN, unconnected UDP/raw), as ss -l'
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -s a -l all -d 'Show all sockets: listening and non-listening, including TIME-WAIT'
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -s n -l numeric -d 'Numeric: accepted for ss compatibility. Ports in address columns are always numbers and host names are never resolved; the Service column stays (it is an annotation)'
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -s t -l tcp -d 'TCP sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -s u -l udp -d 'UDP sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -s x -l unix -d 'Unix domain sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -s w -l raw -d 'Raw sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -s p -l processes -d 'Show the processes holding each socket (pid, command, fd), every one when shared. Unless every connection is listed (-antp), the scan stops once each shown socket has a holder, then reads those holders\' parents and children (where fork-shared copies are); see --all-owners'
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -l all-owners -d 'Read every process\'s fds for owners, as ss -p does, instead of stopping early: also finds holders outside the first holder\'s process tree (a socket passed to an unrelated process, workers whose master exited). Slower on hosts with many open files'
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -s e -l extended -d 'Extended: show uid, user name and inode; under each socket (as with -i), its cookie (ss\'s sk:), cgroup and shutdown state'
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -s i -l info -d 'TCP internals under each socket, as ss -i: congestion control, RTT, cwnd, MSS, retransmissions, bytes and segments, rates (JSON: "tcp_info", in base units)'
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -s m -l memory -d 'Socket memory under each socket, as ss -m: skmem:(r,rb,t,tb,f,w,o,bl,d)'
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -s o -l options -d 'Timers under each socket, as ss -o: timer:(on|keepalive|timewait|persist,EXPIRES, RETRANS)'
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -l cgroup -d 'The cgroup v2 path of each socket, as ss --cgroup (also the filter `cgroup PATH`)'
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -s 4 -l ipv4 -d 'IPv4 sockets only; includes dual-stack [::] listeners, which serve IPv4 (ss omits them)'
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -s 6 -l ipv6 -d 'IPv6 sockets only, except those bound to v4-mapped addresses (they carry IPv4)'
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -l initial -d 'Report every socket of the first read as opened; otherwise the first read is the starting point and reports nothing'
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -l queues -d 'A change of Recv-Q or Send-Q is a change too (otherwise only state and owners are)'
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -l json -d 'NDJSON events, one object per line, even on a terminal'
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -l timings -d 'Print each read\'s wall and CPU time to stderr (for benchmarks)'
complete -c portwatch -n "__fish_portwatch_using_subcommand watch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -l backend -d 'Socket source: auto (netlink on Linux), netlink, proc (/proc/net text) or netstat2' -r -f -a "auto\t'netlink sock_diag on Linux (with /proc/net for raw sockets and any protocol whose diag module is missing); netstat2 elsewhere'
netlink\t'netlink sock_diag (Linux), /proc/net for raw and missing diag modules'
proc\t'/proc/net text tables only (Linux)'
netstat2\t'The netstat2 crate: TCP and UDP only; the default off Linux'"
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -l owners -d 'How -p finds socket owners: auto (BPF where it pays and is allowed, else /proc), bpf (one kernel pass; root only; an error where unavailable) or proc (readlink of every /proc/PID/fd entry)' -r -f -a "auto\t'BPF when the host has enough open files for it to pay and it loads; else /proc'
bpf\t'A BPF task iterator: every process\'s fds in one kernel pass (Linux 5.8+ with BTF, root or CAP_BPF and CAP_PERFMON)'
proc\t'A readlink of every /proc/PID/fd entry'"
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -l services -d 'Read an extra services(5) file; its names win over /etc/services (repeatable)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -l labels -d 'The labels file [default: $PORTWATCH_LABELS, else $XDG_CONFIG_HOME/portwatch/labels]' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -l proc-root -d 'Read socket tables and processes from this directory instead of /proc (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -l etc-services -d 'Read the services(5) database from this file instead of /etc/services (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -l sort -d 'Sort by a metric, largest first: recv_q, send_q, rtt, retrans, bytes, cwnd, mem (the TCP metrics read tcp_info, mem reads socket memory)' -r -f -a "recv_q\t''
send_q\t''
rtt\t''
retrans\t''
bytes\t''
cwnd\t''
mem\t''"
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -l pid -d 'Only sockets held by this process id (repeatable); same as the filter `pid N`' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -s c -l command -d 'Only sockets held by processes whose command matches this glob (repeatable); same as the filter `proc NAME`' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -s U -l user -d 'Only sockets owned by this user name or uid (repeatable); same as the filter `user U`' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -s o -l output -d 'Write the document to FILE, atomically (a temp file in the same directory, renamed over FILE); `-` is stdout, the default' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -s N -l netns -d 'Read these network namespaces instead of portwatch\'s own (repeatable): `all`, a name under /run/netns (as ss -N), a pid (that process\'s namespace) or the path of a namespace file (/proc/PID/ns/net, a bind mount). With more than one, rows are grouped by namespace (the host\'s first) under Netns and Container columns. Entering another namespace needs root (CAP_SYS_ADMIN); those that cannot be read are counted in one warning' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -s l -l listening -d 'Show only listening sockets (TCP/unix LISTEN, unconnected UDP/raw), as ss -l'
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -s a -l all -d 'Show all sockets: listening and non-listening, including TIME-WAIT'
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -s n -l numeric -d 'Numeric: accepted for ss compatibility. Ports in address columns are always numbers and host names are never resolved; the Service column stays (it is an annotation)'
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -s t -l tcp -d 'TCP sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -s u -l udp -d 'UDP sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -s x -l unix -d 'Unix domain sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -s w -l raw -d 'Raw sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -s p -l processes -d 'Show the processes holding each socket (pid, command, fd), every one when shared. Unless every connection is listed (-antp), the scan stops once each shown socket has a holder, then reads those holders\' parents and children (where fork-shared copies are); see --all-owners'
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -l all-owners -d 'Read every process\'s fds for owners, as ss -p does, instead of stopping early: also finds holders outside the first holder\'s process tree (a socket passed to an unrelated process, workers whose master exited). Slower on hosts with many open files'
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -s e -l extended -d 'Extended: show uid, user name and inode; under each socket (as with -i), its cookie (ss\'s sk:), cgroup and shutdown state'
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -s i -l info -d 'TCP internals under each socket, as ss -i: congestion control, RTT, cwnd, MSS, retransmissions, bytes and segments, rates (JSON: "tcp_info", in base units)'
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -s m -l memory -d 'Socket memory under each socket, as ss -m: skmem:(r,rb,t,tb,f,w,o,bl,d)'
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -l cgroup -d 'The cgroup v2 path of each socket, as ss --cgroup (also the filter `cgroup PATH`)'
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -s 4 -l ipv4 -d 'IPv4 sockets only; includes dual-stack [::] listeners, which serve IPv4 (ss omits them)'
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -s 6 -l ipv6 -d 'IPv6 sockets only, except those bound to v4-mapped addresses (they carry IPv4)'
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -l options -d 'Timers under each socket, as ss -o: timer:(on|keepalive|timewait|persist,EXPIRES, RETRANS)'
complete -c portwatch -n "__fish_portwatch_using_subcommand snapshot" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -l backend -d 'Socket source: auto (netlink on Linux), netlink, proc (/proc/net text) or netstat2' -r -f -a "auto\t'netlink sock_diag on Linux (with /proc/net for raw sockets and any protocol whose diag module is missing); netstat2 elsewhere'
netlink\t'netlink sock_diag (Linux), /proc/net for raw and missing diag modules'
proc\t'/proc/net text tables only (Linux)'
netstat2\t'The netstat2 crate: TCP and UDP only; the default off Linux'"
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -l owners -d 'How -p finds socket owners: auto (BPF where it pays and is allowed, else /proc), bpf (one kernel pass; root only; an error where unavailable) or proc (readlink of every /proc/PID/fd entry)' -r -f -a "auto\t'BPF when the host has enough open files for it to pay and it loads; else /proc'
bpf\t'A BPF task iterator: every process\'s fds in one kernel pass (Linux 5.8+ with BTF, root or CAP_BPF and CAP_PERFMON)'
proc\t'A readlink of every /proc/PID/fd entry'"
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -l services -d 'Read an extra services(5) file; its names win over /etc/services (repeatable)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -l labels -d 'The labels file [default: $PORTWATCH_LABELS, else $XDG_CONFIG_HOME/portwatch/labels]' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -l proc-root -d 'Read socket tables and processes from this directory instead of /proc (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -l etc-services -d 'Read the services(5) database from this file instead of /etc/services (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -l sort -d 'Sort by a metric, largest first: recv_q, send_q, rtt, retrans, bytes, cwnd, mem (the TCP metrics read tcp_info, mem reads socket memory)' -r -f -a "recv_q\t''
send_q\t''
rtt\t''
retrans\t''
bytes\t''
cwnd\t''
mem\t''"
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -l pid -d 'Only sockets held by this process id (repeatable); same as the filter `pid N`' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -s c -l command -d 'Only sockets held by processes whose command matches this glob (repeatable); same as the filter `proc NAME`' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -s U -l user -d 'Only sockets owned by this user name or uid (repeatable); same as the filter `user U`' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -l ignore -d 'Leave out the sockets this filter matches, on both sides (repeatable): expected churn, e.g. --ignore \'sport = :5353\'' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -s N -l netns -d 'Read these network namespaces instead of portwatch\'s own (repeatable): `all`, a name under /run/netns (as ss -N), a pid (that process\'s namespace) or the path of a namespace file (/proc/PID/ns/net, a bind mount). With more than one, rows are grouped by namespace (the host\'s first) under Netns and Container columns. Entering another namespace needs root (CAP_SYS_ADMIN); those that cannot be read are counted in one warning' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -s l -l listening -d 'Show only listening sockets (TCP/unix LISTEN, unconnected UDP/raw), as ss -l'
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -s a -l all -d 'Show all sockets: listening and non-listening, including TIME-WAIT'
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -s n -l numeric -d 'Numeric: accepted for ss compatibility. Ports in address columns are always numbers and host names are never resolved; the Service column stays (it is an annotation)'
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -s t -l tcp -d 'TCP sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -s u -l udp -d 'UDP sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -s x -l unix -d 'Unix domain sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -s w -l raw -d 'Raw sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -s p -l processes -d 'Show the processes holding each socket (pid, command, fd), every one when shared. Unless every connection is listed (-antp), the scan stops once each shown socket has a holder, then reads those holders\' parents and children (where fork-shared copies are); see --all-owners'
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -l all-owners -d 'Read every process\'s fds for owners, as ss -p does, instead of stopping early: also finds holders outside the first holder\'s process tree (a socket passed to an unrelated process, workers whose master exited). Slower on hosts with many open files'
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -s e -l extended -d 'Extended: show uid, user name and inode; under each socket (as with -i), its cookie (ss\'s sk:), cgroup and shutdown state'
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -s i -l info -d 'TCP internals under each socket, as ss -i: congestion control, RTT, cwnd, MSS, retransmissions, bytes and segments, rates (JSON: "tcp_info", in base units)'
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -s m -l memory -d 'Socket memory under each socket, as ss -m: skmem:(r,rb,t,tb,f,w,o,bl,d)'
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -s o -l options -d 'Timers under each socket, as ss -o: timer:(on|keepalive|timewait|persist,EXPIRES, RETRANS)'
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -l cgroup -d 'The cgroup v2 path of each socket, as ss --cgroup (also the filter `cgroup PATH`)'
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -s 4 -l ipv4 -d 'IPv4 sockets only; includes dual-stack [::] listeners, which serve IPv4 (ss omits them)'
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -s 6 -l ipv6 -d 'IPv6 sockets only, except those bound to v4-mapped addresses (they carry IPv4)'
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -l connections -d 'Compare connections one by one (by local address, remote address and the service port, never an ephemeral one) instead of as counts per service and remote address class'
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -l json -d 'Print a JSON document of the differences'
complete -c portwatch -n "__fish_portwatch_using_subcommand diff" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -l backend -d 'Socket source: auto (netlink on Linux), netlink, proc (/proc/net text) or netstat2' -r -f -a "auto\t'netlink sock_diag on Linux (with /proc/net for raw sockets and any protocol whose diag module is missing); netstat2 elsewhere'
netlink\t'netlink sock_diag (Linux), /proc/net for raw and missing diag modules'
proc\t'/proc/net text tables only (Linux)'
netstat2\t'The netstat2 crate: TCP and UDP only; the default off Linux'"
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -l owners -d 'How -p finds socket owners: auto (BPF where it pays and is allowed, else /proc), bpf (one kernel pass; root only; an error where unavailable) or proc (readlink of every /proc/PID/fd entry)' -r -f -a "auto\t'BPF when the host has enough open files for it to pay and it loads; else /proc'
bpf\t'A BPF task iterator: every process\'s fds in one kernel pass (Linux 5.8+ with BTF, root or CAP_BPF and CAP_PERFMON)'
proc\t'A readlink of every /proc/PID/fd entry'"
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -l services -d 'Read an extra services(5) file; its names win over /etc/services (repeatable)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -l labels -d 'The labels file [default: $PORTWATCH_LABELS, else $XDG_CONFIG_HOME/portwatch/labels]' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -l proc-root -d 'Read socket tables and processes from this directory instead of /proc (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -l etc-services -d 'Read the services(5) database from this file instead of /etc/services (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -l sort -d 'Sort by a metric, largest first: recv_q, send_q, rtt, retrans, bytes, cwnd, mem (the TCP metrics read tcp_info, mem reads socket memory)' -r -f -a "recv_q\t''
send_q\t''
rtt\t''
retrans\t''
bytes\t''
cwnd\t''
mem\t''"
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -s N -l netns -d 'Read these network namespaces instead of portwatch\'s own (repeatable): `all`, a name under /run/netns (as ss -N), a pid (that process\'s namespace) or the path of a namespace file (/proc/PID/ns/net, a bind mount). With more than one, rows are grouped by namespace (the host\'s first) under Netns and Container columns. Entering another namespace needs root (CAP_SYS_ADMIN); those that cannot be read are counted in one warning' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -l pid -d 'Only sockets held by this process id (repeatable); same as the filter `pid N`' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -s c -l command -d 'Only sockets held by processes whose command matches this glob (repeatable); same as the filter `proc NAME`' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -s U -l user -d 'Only sockets owned by this user name or uid (repeatable); same as the filter `user U`' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -l allow -d 'Accepted exposures, one per line: `PROTO/PORT [PROGRAM-GLOB] [SCOPE]`, e.g. `tcp/22 sshd public`, `tcp/5432 postgres private`, `udp/53`; `#` starts a comment. Findings an entry matches are counted, not listed. A malformed line is an error naming it (exit 2)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -l fail-on -d 'Exit 1 when a finding is at or above this severity (findings below it are still shown)' -r -f -a "info\t''
low\t''
medium\t''
high\t''"
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -s l -l listening -d 'Show only listening sockets (TCP/unix LISTEN, unconnected UDP/raw), as ss -l'
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -s a -l all -d 'Show all sockets: listening and non-listening, including TIME-WAIT'
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -s n -l numeric -d 'Numeric: accepted for ss compatibility. Ports in address columns are always numbers and host names are never resolved; the Service column stays (it is an annotation)'
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -s t -l tcp -d 'TCP sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -s u -l udp -d 'UDP sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -s x -l unix -d 'Unix domain sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -s w -l raw -d 'Raw sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -s p -l processes -d 'Show the processes holding each socket (pid, command, fd), every one when shared. Unless every connection is listed (-antp), the scan stops once each shown socket has a holder, then reads those holders\' parents and children (where fork-shared copies are); see --all-owners'
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -l all-owners -d 'Read every process\'s fds for owners, as ss -p does, instead of stopping early: also finds holders outside the first holder\'s process tree (a socket passed to an unrelated process, workers whose master exited). Slower on hosts with many open files'
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -s e -l extended -d 'Extended: show uid, user name and inode; under each socket (as with -i), its cookie (ss\'s sk:), cgroup and shutdown state'
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -s i -l info -d 'TCP internals under each socket, as ss -i: congestion control, RTT, cwnd, MSS, retransmissions, bytes and segments, rates (JSON: "tcp_info", in base units)'
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -s m -l memory -d 'Socket memory under each socket, as ss -m: skmem:(r,rb,t,tb,f,w,o,bl,d)'
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -s o -l options -d 'Timers under each socket, as ss -o: timer:(on|keepalive|timewait|persist,EXPIRES, RETRANS)'
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -l cgroup -d 'The cgroup v2 path of each socket, as ss --cgroup (also the filter `cgroup PATH`)'
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -s 4 -l ipv4 -d 'IPv4 sockets only; includes dual-stack [::] listeners, which serve IPv4 (ss omits them)'
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -s 6 -l ipv6 -d 'IPv6 sockets only, except those bound to v4-mapped addresses (they carry IPv4)'
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -l probe -d 'Identify what answers on each TCP listener reachable beyond loopback by connecting to it from inside its network namespace (greeting, TLS ClientHello, HTTP HEAD; 0.7 s timeout per step): TLS on plaintext ports, plaintext where TLS is expected, SMTP, POP3 and IMAP without STARTTLS. Nothing is sent anywhere else'
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -l json -d 'Print one JSON document ({"schema": 1, "findings": [...], "summary": {...}, "warnings": [...]})'
complete -c portwatch -n "__fish_portwatch_using_subcommand audit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -l backend -d 'Socket source: auto (netlink on Linux), netlink, proc (/proc/net text) or netstat2' -r -f -a "auto\t'netlink sock_diag on Linux (with /proc/net for raw sockets and any protocol whose diag module is missing); netstat2 elsewhere'
netlink\t'netlink sock_diag (Linux), /proc/net for raw and missing diag modules'
proc\t'/proc/net text tables only (Linux)'
netstat2\t'The netstat2 crate: TCP and UDP only; the default off Linux'"
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -l owners -d 'How -p finds socket owners: auto (BPF where it pays and is allowed, else /proc), bpf (one kernel pass; root only; an error where unavailable) or proc (readlink of every /proc/PID/fd entry)' -r -f -a "auto\t'BPF when the host has enough open files for it to pay and it loads; else /proc'
bpf\t'A BPF task iterator: every process\'s fds in one kernel pass (Linux 5.8+ with BTF, root or CAP_BPF and CAP_PERFMON)'
proc\t'A readlink of every /proc/PID/fd entry'"
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -l services -d 'Read an extra services(5) file; its names win over /etc/services (repeatable)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -l labels -d 'The labels file [default: $PORTWATCH_LABELS, else $XDG_CONFIG_HOME/portwatch/labels]' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -l proc-root -d 'Read socket tables and processes from this directory instead of /proc (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -l etc-services -d 'Read the services(5) database from this file instead of /etc/services (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -l sort -d 'Sort by a metric, largest first: recv_q, send_q, rtt, retrans, bytes, cwnd, mem (the TCP metrics read tcp_info, mem reads socket memory)' -r -f -a "recv_q\t''
send_q\t''
rtt\t''
retrans\t''
bytes\t''
cwnd\t''
mem\t''"
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -s N -l netns -d 'Read these network namespaces instead of portwatch\'s own (repeatable): `all`, a name under /run/netns (as ss -N), a pid (that process\'s namespace) or the path of a namespace file (/proc/PID/ns/net, a bind mount). With more than one, rows are grouped by namespace (the host\'s first) under Netns and Container columns. Entering another namespace needs root (CAP_SYS_ADMIN); those that cannot be read are counted in one warning' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -l pid -d 'Only sockets held by this process id (repeatable); same as the filter `pid N`' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -s c -l command -d 'Only sockets held by processes whose command matches this glob (repeatable); same as the filter `proc NAME`' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -s U -l user -d 'Only sockets owned by this user name or uid (repeatable); same as the filter `user U`' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -l timeout -d 'How long to wait for the processes to exit after SIGTERM before SIGKILL, and then for the port to be free: 200ms, 2s, 1.5s, 1m (a bare number is seconds; at most a day)' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -l signal -d 'Send this signal only (a name such as HUP or SIGINT, or a number), with no SIGKILL after it' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -s l -l listening -d 'Show only listening sockets (TCP/unix LISTEN, unconnected UDP/raw), as ss -l'
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -s a -l all -d 'Show all sockets: listening and non-listening, including TIME-WAIT'
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -s n -l numeric -d 'Numeric: accepted for ss compatibility. Ports in address columns are always numbers and host names are never resolved; the Service column stays (it is an annotation)'
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -s t -l tcp -d 'TCP sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -s u -l udp -d 'UDP sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -s x -l unix -d 'Unix domain sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -s w -l raw -d 'Raw sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -s p -l processes -d 'Show the processes holding each socket (pid, command, fd), every one when shared. Unless every connection is listed (-antp), the scan stops once each shown socket has a holder, then reads those holders\' parents and children (where fork-shared copies are); see --all-owners'
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -l all-owners -d 'Read every process\'s fds for owners, as ss -p does, instead of stopping early: also finds holders outside the first holder\'s process tree (a socket passed to an unrelated process, workers whose master exited). Slower on hosts with many open files'
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -s e -l extended -d 'Extended: show uid, user name and inode; under each socket (as with -i), its cookie (ss\'s sk:), cgroup and shutdown state'
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -s i -l info -d 'TCP internals under each socket, as ss -i: congestion control, RTT, cwnd, MSS, retransmissions, bytes and segments, rates (JSON: "tcp_info", in base units)'
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -s m -l memory -d 'Socket memory under each socket, as ss -m: skmem:(r,rb,t,tb,f,w,o,bl,d)'
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -s o -l options -d 'Timers under each socket, as ss -o: timer:(on|keepalive|timewait|persist,EXPIRES, RETRANS)'
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -l cgroup -d 'The cgroup v2 path of each socket, as ss --cgroup (also the filter `cgroup PATH`)'
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -s 4 -l ipv4 -d 'IPv4 sockets only; includes dual-stack [::] listeners, which serve IPv4 (ss omits them)'
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -s 6 -l ipv6 -d 'IPv6 sockets only, except those bound to v4-mapped addresses (they carry IPv4)'
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -s y -l yes -d 'Signal without asking (needed when stdin, stdout or stderr is not a terminal)'
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -l dry-run -d 'Show the plan and signal nothing'
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -l json -d 'Print one JSON document with the plan and the outcome of each process ({"schema": 1, ...}); needs --yes or --dry-run, since it does not ask'
complete -c portwatch -n "__fish_portwatch_using_subcommand kill" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -l backend -d 'Socket source: auto (netlink on Linux), netlink, proc (/proc/net text) or netstat2' -r -f -a "auto\t'netlink sock_diag on Linux (with /proc/net for raw sockets and any protocol whose diag module is missing); netstat2 elsewhere'
netlink\t'netlink sock_diag (Linux), /proc/net for raw and missing diag modules'
proc\t'/proc/net text tables only (Linux)'
netstat2\t'The netstat2 crate: TCP and UDP only; the default off Linux'"
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -l owners -d 'How -p finds socket owners: auto (BPF where it pays and is allowed, else /proc), bpf (one kernel pass; root only; an error where unavailable) or proc (readlink of every /proc/PID/fd entry)' -r -f -a "auto\t'BPF when the host has enough open files for it to pay and it loads; else /proc'
bpf\t'A BPF task iterator: every process\'s fds in one kernel pass (Linux 5.8+ with BTF, root or CAP_BPF and CAP_PERFMON)'
proc\t'A readlink of every /proc/PID/fd entry'"
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -l services -d 'Read an extra services(5) file; its names win over /etc/services (repeatable)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -l labels -d 'The labels file [default: $PORTWATCH_LABELS, else $XDG_CONFIG_HOME/portwatch/labels]' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -l proc-root -d 'Read socket tables and processes from this directory instead of /proc (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -l etc-services -d 'Read the services(5) database from this file instead of /etc/services (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -l sort -d 'Sort by a metric, largest first: recv_q, send_q, rtt, retrans, bytes, cwnd, mem (the TCP metrics read tcp_info, mem reads socket memory)' -r -f -a "recv_q\t''
send_q\t''
rtt\t''
retrans\t''
bytes\t''
cwnd\t''
mem\t''"
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -s N -l netns -d 'Read these network namespaces instead of portwatch\'s own (repeatable): `all`, a name under /run/netns (as ss -N), a pid (that process\'s namespace) or the path of a namespace file (/proc/PID/ns/net, a bind mount). With more than one, rows are grouped by namespace (the host\'s first) under Netns and Container columns. Entering another namespace needs root (CAP_SYS_ADMIN); those that cannot be read are counted in one warning' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -l pid -d 'Only sockets held by this process id (repeatable); same as the filter `pid N`' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -s c -l command -d 'Only sockets held by processes whose command matches this glob (repeatable); same as the filter `proc NAME`' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -s U -l user -d 'Only sockets owned by this user name or uid (repeatable); same as the filter `user U`' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -l listen -d 'Address and port to listen on. A non-loopback address exposes every listener, process and user name of this host to whoever can reach it (said on stderr at start)' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -l min-interval -d 'Reuse a collection for scrapes within this long of it (500ms, 2s, 1m; a plain number is seconds; at most 1h); 0 collects for every scrape. Scrapes arriving during a collection always share it' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -l http-timeout -d 'Seconds a client may take to send a request head, or to take response bytes' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -s l -l listening -d 'Show only listening sockets (TCP/unix LISTEN, unconnected UDP/raw), as ss -l'
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -s a -l all -d 'Show all sockets: listening and non-listening, including TIME-WAIT'
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -s n -l numeric -d 'Numeric: accepted for ss compatibility. Ports in address columns are always numbers and host names are never resolved; the Service column stays (it is an annotation)'
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -s t -l tcp -d 'TCP sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -s u -l udp -d 'UDP sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -s x -l unix -d 'Unix domain sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -s w -l raw -d 'Raw sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -s p -l processes -d 'Show the processes holding each socket (pid, command, fd), every one when shared. Unless every connection is listed (-antp), the scan stops once each shown socket has a holder, then reads those holders\' parents and children (where fork-shared copies are); see --all-owners'
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -l all-owners -d 'Read every process\'s fds for owners, as ss -p does, instead of stopping early: also finds holders outside the first holder\'s process tree (a socket passed to an unrelated process, workers whose master exited). Slower on hosts with many open files'
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -s e -l extended -d 'Extended: show uid, user name and inode; under each socket (as with -i), its cookie (ss\'s sk:), cgroup and shutdown state'
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -s i -l info -d 'TCP internals under each socket, as ss -i: congestion control, RTT, cwnd, MSS, retransmissions, bytes and segments, rates (JSON: "tcp_info", in base units)'
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -s m -l memory -d 'Socket memory under each socket, as ss -m: skmem:(r,rb,t,tb,f,w,o,bl,d)'
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -s o -l options -d 'Timers under each socket, as ss -o: timer:(on|keepalive|timewait|persist,EXPIRES, RETRANS)'
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -l cgroup -d 'The cgroup v2 path of each socket, as ss --cgroup (also the filter `cgroup PATH`)'
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -s 4 -l ipv4 -d 'IPv4 sockets only; includes dual-stack [::] listeners, which serve IPv4 (ss omits them)'
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -s 6 -l ipv6 -d 'IPv6 sockets only, except those bound to v4-mapped addresses (they carry IPv4)'
complete -c portwatch -n "__fish_portwatch_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -l backend -d 'Socket source: auto (netlink on Linux), netlink, proc (/proc/net text) or netstat2' -r -f -a "auto\t'netlink sock_diag on Linux (with /proc/net for raw sockets and any protocol whose diag module is missing); netstat2 elsewhere'
netlink\t'netlink sock_diag (Linux), /proc/net for raw and missing diag modules'
proc\t'/proc/net text tables only (Linux)'
netstat2\t'The netstat2 crate: TCP and UDP only; the default off Linux'"
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -l owners -d 'How -p finds socket owners: auto (BPF where it pays and is allowed, else /proc), bpf (one kernel pass; root only; an error where unavailable) or proc (readlink of every /proc/PID/fd entry)' -r -f -a "auto\t'BPF when the host has enough open files for it to pay and it loads; else /proc'
bpf\t'A BPF task iterator: every process\'s fds in one kernel pass (Linux 5.8+ with BTF, root or CAP_BPF and CAP_PERFMON)'
proc\t'A readlink of every /proc/PID/fd entry'"
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -l services -d 'Read an extra services(5) file; its names win over /etc/services (repeatable)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -l labels -d 'The labels file [default: $PORTWATCH_LABELS, else $XDG_CONFIG_HOME/portwatch/labels]' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -l proc-root -d 'Read socket tables and processes from this directory instead of /proc (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -l etc-services -d 'Read the services(5) database from this file instead of /etc/services (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -l sort -d 'Sort by a metric, largest first: recv_q, send_q, rtt, retrans, bytes, cwnd, mem (the TCP metrics read tcp_info, mem reads socket memory)' -r -f -a "recv_q\t''
send_q\t''
rtt\t''
retrans\t''
bytes\t''
cwnd\t''
mem\t''"
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -s N -l netns -d 'Read these network namespaces instead of portwatch\'s own (repeatable): `all`, a name under /run/netns (as ss -N), a pid (that process\'s namespace) or the path of a namespace file (/proc/PID/ns/net, a bind mount). With more than one, rows are grouped by namespace (the host\'s first) under Netns and Container columns. Entering another namespace needs root (CAP_SYS_ADMIN); those that cannot be read are counted in one warning' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -l pid -d 'Only sockets held by this process id (repeatable); same as the filter `pid N`' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -s c -l command -d 'Only sockets held by processes whose command matches this glob (repeatable); same as the filter `proc NAME`' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -s U -l user -d 'Only sockets owned by this user name or uid (repeatable); same as the filter `user U`' -r
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -l textfile -d 'Replace FILE atomically (a temporary file in its directory, then a rename) instead of printing; a failed write leaves FILE as it was. For node_exporter\'s textfile collector: name it *.prom in its --collector.textfile.directory' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -s l -l listening -d 'Show only listening sockets (TCP/unix LISTEN, unconnected UDP/raw), as ss -l'
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -s a -l all -d 'Show all sockets: listening and non-listening, including TIME-WAIT'
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -s n -l numeric -d 'Numeric: accepted for ss compatibility. Ports in address columns are always numbers and host names are never resolved; the Service column stays (it is an annotation)'
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -s t -l tcp -d 'TCP sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -s u -l udp -d 'UDP sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -s x -l unix -d 'Unix domain sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -s w -l raw -d 'Raw sockets'
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -s p -l processes -d 'Show the processes holding each socket (pid, command, fd), every one when shared. Unless every connection is listed (-antp), the scan stops once each shown socket has a holder, then reads those holders\' parents and children (where fork-shared copies are); see --all-owners'
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -l all-owners -d 'Read every process\'s fds for owners, as ss -p does, instead of stopping early: also finds holders outside the first holder\'s process tree (a socket passed to an unrelated process, workers whose master exited). Slower on hosts with many open files'
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -s e -l extended -d 'Extended: show uid, user name and inode; under each socket (as with -i), its cookie (ss\'s sk:), cgroup and shutdown state'
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -s i -l info -d 'TCP internals under each socket, as ss -i: congestion control, RTT, cwnd, MSS, retransmissions, bytes and segments, rates (JSON: "tcp_info", in base units)'
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -s m -l memory -d 'Socket memory under each socket, as ss -m: skmem:(r,rb,t,tb,f,w,o,bl,d)'
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -s o -l options -d 'Timers under each socket, as ss -o: timer:(on|keepalive|timewait|persist,EXPIRES, RETRANS)'
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -l cgroup -d 'The cgroup v2 path of each socket, as ss --cgroup (also the filter `cgroup PATH`)'
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -s 4 -l ipv4 -d 'IPv4 sockets only; includes dual-stack [::] listeners, which serve IPv4 (ss omits them)'
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -s 6 -l ipv6 -d 'IPv6 sockets only, except those bound to v4-mapped addresses (they carry IPv4)'
complete -c portwatch -n "__fish_portwatch_using_subcommand export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c portwatch -n "__fish_portwatch_using_subcommand completions" -l backend -d 'Socket source: auto (netlink on Linux), netlink, proc (/proc/net text) or netstat2' -r -f -a "auto\t'netlink sock_diag on Linux (with /proc/net for raw sockets and any protocol whose diag module is missing); netstat2 elsewhere'
netlink\t'netlink sock_diag (Linux), /proc/net for raw and missing diag modules'
proc\t'/proc/net text tables only (Linux)'
netstat2\t'The netstat2 crate: TCP and UDP only; the default off Linux'"
complete -c portwatch -n "__fish_portwatch_using_subcommand completions" -l owners -d 'How -p finds socket owners: auto (BPF where it pays and is allowed, else /proc), bpf (one kernel pass; root only; an error where unavailable) or proc (readlink of every /proc/PID/fd entry)' -r -f -a "auto\t'BPF when the host has enough open files for it to pay and it loads; else /proc'
bpf\t'A BPF task iterator: every process\'s fds in one kernel pass (Linux 5.8+ with BTF, root or CAP_BPF and CAP_PERFMON)'
proc\t'A readlink of every /proc/PID/fd entry'"
complete -c portwatch -n "__fish_portwatch_using_subcommand completions" -l services -d 'Read an extra services(5) file; its names win over /etc/services (repeatable)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand completions" -l labels -d 'The labels file [default: $PORTWATCH_LABELS, else $XDG_CONFIG_HOME/portwatch/labels]' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand completions" -l proc-root -d 'Read socket tables and processes from this directory instead of /proc (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand completions" -l etc-services -d 'Read the services(5) database from this file instead of /etc/services (for tests)' -r -F
complete -c portwatch -n "__fish_portwatch_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c portwatch -n "__fish_portwatch_using_subcommand help; and not __fish_seen_subcommand_from list explain label watch snapshot diff audit kill serve export completions help" -f -a "list" -d 'The listing, by name: `portwatch list -lntp` is `portwatch -lntp`'
complete -c portwatch -n "__fish_portwatch_using_subcommand help; and not __fish_seen_subcommand_from list explain label watch snapshot diff audit kill serve export completions help" -f -a "explain" -d 'Everything known about a port: names, descriptions, class, your label, who uses it now'
complete -c portwatch -n "__fish_portwatch_using_subcommand help; and not __fish_seen_subcommand_from list explain label watch snapshot diff audit kill serve export completions help" -f -a "label" -d 'Name ports yourself: `label set 8123/tcp home-assistant`, `label rm`, `label list`'
complete -c portwatch -n "__fish_portwatch_using_subcommand help; and not __fish_seen_subcommand_from list explain label watch snapshot diff audit kill serve export completions help" -f -a "watch" -d 'Watch sockets open, close and change: a live view on a terminal, NDJSON events otherwise (`portwatch watch -lnt`)'
complete -c portwatch -n "__fish_portwatch_using_subcommand help; and not __fish_seen_subcommand_from list explain label watch snapshot diff audit kill serve export completions help" -f -a "snapshot" -d 'Save the listing as a baseline document for `diff` (`portwatch snapshot -ltup -o base.json`)'
complete -c portwatch -n "__fish_portwatch_using_subcommand help; and not __fish_seen_subcommand_from list explain label watch snapshot diff audit kill serve export completions help" -f -a "diff" -d 'Compare the host now, or a second snapshot, with a baseline, by what survives a restart: exit 0 when they match, 1 when they differ (`portwatch diff base.json`)'
complete -c portwatch -n "__fish_portwatch_using_subcommand help; and not __fish_seen_subcommand_from list explain label watch snapshot diff audit kill serve export completions help" -f -a "audit" -d 'Judge the listeners: what is reachable beyond loopback that should not be (plaintext logins, private services, unknown ports), suspicious holders, and what the firewall does with each. Exit 1 when a finding reaches --fail-on'
complete -c portwatch -n "__fish_portwatch_using_subcommand help; and not __fish_seen_subcommand_from list explain label watch snapshot diff audit kill serve export completions help" -f -a "kill" -d 'Free a port: signal the processes listening on it (SIGTERM, then SIGKILL), safely'
complete -c portwatch -n "__fish_portwatch_using_subcommand help; and not __fish_seen_subcommand_from list explain label watch snapshot diff audit kill serve export completions help" -f -a "serve" -d 'Serve Prometheus metrics over HTTP: /metrics, / and /healthz (see METRICS in portwatch(1))'
complete -c portwatch -n "__fish_portwatch_using_subcommand help; and not __fish_seen_subcommand_from list explain label watch snapshot diff audit kill serve export completions help" -f -a "export" -d 'Print the Prometheus metrics once, or write them atomically for node_exporter\'s textfile collector (--textfile)'
complete -c portwatch -n "__fish_portwatch_using_subcommand help; and not __fish_seen_subcommand_from list explain label watch snapshot diff audit kill serve export completions help" -f -a "completions" -d 'Print a shell completion script: `portwatch completions bash > /etc/bash_completion.d/portwatch`'
complete -c portwatch -n "__fish_portwatch_using_subcommand help; and not __fish_seen_subcommand_from list explain label watch snapshot diff audit kill serve export completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c portwatch -n "__fish_portwatch_using_subcommand help; and __fish_seen_subcommand_from label" -f -a "set" -d 'Set (or replace) the label of PORT/PROTO'
complete -c portwatch -n "__fish_portwatch_using_subcommand help; and __fish_seen_subcommand_from label" -f -a "rm" -d 'Remove the label of PORT/PROTO'
complete -c portwatch -n "__fish_portwatch_using_subcommand help; and __fish_seen_subcommand_from label" -f -a "list" -d 'List all labels'
