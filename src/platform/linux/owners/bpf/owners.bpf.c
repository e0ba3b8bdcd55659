// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// The owner scan's BPF program: an iter/task_file iterator that writes one fixed-size record
// for every socket fd of every process (bpf.rs reads them, record.rs has the layout). Built
// by scripts/build-bpf.sh; the object beside this file is committed and embedded, so a build
// of portwatch needs no clang.
//
// No kernel headers, no CO-RE relocations, no maps: the byte offset of each kernel field it
// reads is a 64-bit immediate marked with the field's index (OFF), which the loader
// (loader.rs) replaces with the offset found in the running kernel's BTF (btf.rs). The
// verifier sees each offset as a constant and checks every read against the kernel's BTF
// types, as it would a relocated one.
//
// GPL: bpf_probe_read_kernel is a GPL-only helper.

typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;

// The kernel types, opaque: only read at offsets from OFF.
struct task_struct;
struct file;
struct inode;
struct pid;
struct cred;
struct super_block;
struct seq_file;
struct bpf_iter_meta;

// The iterators' contexts: a fixed ABI (kernel/bpf/task_iter.c).
struct bpf_iter__task_file {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
	__u32 fd;
	struct file *file;
};

struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
};

struct files_struct;
struct fdtable;
struct sock_common;
struct socket;
struct tcp_sock;

struct bpf_iter__tcp {
	struct bpf_iter_meta *meta;
	struct sock_common *sk_common;
	__u32 uid;
};

// Field indexes: the order of FIELDS in btf.rs.
enum off {
	META_SEQ,
	TASK_GROUP_LEADER,
	TASK_THREAD_PID,
	TASK_START_BOOTTIME,
	TASK_REAL_CRED,
	TASK_COMM,
	CRED_UID,
	PID_LEVEL,
	PID_NUMBERS,
	UPID_NR,
	FILE_F_INODE,
	INODE_I_MODE,
	INODE_I_INO,
	INODE_I_SB,
	SB_S_MAGIC,
	TASK_FILES,
	FILES_FDT,
	FDTABLE_MAX_FDS,
	FDTABLE_FD,
	SEQ_FILE_COUNT,
	SKC_STATE,
	SOCK_SK_SOCKET,
	SOCKET_FILE,
	// The TCP glimpse's (tcp_glimpse), optional in btf.rs.
	SKC_FAMILY,
	SKC_NUM,
	SKC_DPORT,
	SKC_BOUND_DEV_IF,
	SKC_DADDR,
	SKC_RCV_SADDR,
	SKC_V6_DADDR,
	SKC_V6_RCV_SADDR,
	SK_ACK_BACKLOG,
	SK_MAX_ACK_BACKLOG,
	TP_RCV_NXT,
	TP_COPIED_SEQ,
	TP_WRITE_SEQ,
	TP_SND_UNA,
	// The state feed's (tcp_state_change), optional in btf.rs.
	SK_PROTOCOL,
	SKC_NET,
	NET_NS_INUM,
	UPID_SIZE,
	N_OFFSETS,
};

// The offset of field X: `rN = MARK | X ll`, patched by the loader (loader.rs, OFFSET_MARK).
#define OFF_MARK 0x4f574e5200000000ULL
#define OFF(X)                                                                  \
	({                                                                      \
		__u64 __off;                                                    \
		asm volatile("%0 = %1 ll" : "=r"(__off) : "i"(OFF_MARK | (X))); \
		__off;                                                          \
	})

// The address of `each_fd`, for bpf_loop: `rN = FUNC_MARK ll`, which the loader turns into
// a reference to the function (BPF_PSEUDO_FUNC), placed right after the program.
#define FUNC_MARK 0x4f574e4600000000ULL
#define EACH_FD_ADDRESS()                                                \
	({                                                               \
		void *__f;                                               \
		asm volatile("%0 = %1 ll" : "=r"(__f) : "i"(FUNC_MARK)); \
		__f;                                                     \
	})

// Helper ids from include/uapi/linux/bpf.h (stable ABI).
static long (*bpf_probe_read_kernel)(void *dst, __u32 size, const void *src) = (void *)113;
static long (*bpf_seq_write)(struct seq_file *m, const void *data, __u32 len) = (void *)127;
static struct task_struct *(*bpf_get_current_task_btf)(void) = (void *)158;
static __u64 (*bpf_get_current_task)(void) = (void *)35;
static long (*bpf_loop)(__u32 nr, void *fn, void *ctx, __u64 flags) = (void *)181;
static __u64 (*bpf_get_socket_cookie)(void *sk) = (void *)46;
static struct tcp_sock *(*bpf_skc_to_tcp_sock)(void *sk) = (void *)137;
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static void *(*bpf_ringbuf_reserve)(void *ringbuf, __u64 size, __u64 flags) = (void *)131;
static void (*bpf_ringbuf_submit)(void *data, __u64 flags) = (void *)132;

// A field of type T at the offset of field X in the object at P.
#define FIELD(T, P, X) (*(T *)((char *)(P) + OFF(X)))

#define S_IFMT 00170000
#define S_IFSOCK 0140000
// include/uapi/linux/magic.h
#define SOCKFS_MAGIC 0x534F434B
// include/linux/pid_namespace.h
#define MAX_PID_NS_LEVEL 32

// One socket fd. Layout shared with record.rs: 48 bytes, native endian, no padding.
struct owner_rec {
	__u64 inode;
	// The thread group leader's start time, ns since boot (/proc/PID/stat field 22 is this
	// in clock ticks).
	__u64 start_boottime;
	// The process id as the reader's pid namespace numbers it (as its /proc shows it).
	__u32 tgid;
	__u32 fd;
	// The leader's real uid (/proc/PID/status "Uid:" first field).
	__u32 uid;
	// OWNER_THREAD_FILES: the fd is in a thread's own table (it unshared CLONE_FILES).
	__u32 flags;
	// The leader's comm, as /proc/PID/comm shows it.
	char comm[16];
};

#define OWNER_THREAD_FILES 1

char LICENSE[] __attribute__((section("license"), used)) = "Dual MIT/GPL";

// The number of `pid` in the pid namespace `level` levels below the root (numbers[level].nr);
// 0 when it has none there (not visible to the reader).
static __attribute__((always_inline)) int pid_nr_at(struct pid *pid, __u32 pid_level,
						     __u32 level)
{
	int nr = 0;
	if (level > pid_level || level > MAX_PID_NS_LEVEL)
		return 0;
	char *upid = (char *)pid + OFF(PID_NUMBERS) + level * OFF(UPID_SIZE);
	if (bpf_probe_read_kernel(&nr, sizeof(nr), upid + OFF(UPID_NR)))
		return 0;
	return nr;
}

// A field of type T at the offset of field X in the object at P, read with a probe read
// (0 if it faults). The verifier checks a direct read (FIELD) of a pointer by searching the
// kernel's BTF for a type name, a linear search of ~100k types each time: once per file is
// paid per program load, and the per-task program reads pointers on every path.
#define READ(T, P, X)                                                              \
	({                                                                         \
		T __v = 0;                                                         \
		bpf_probe_read_kernel(&__v, sizeof(__v), (char *)(P) + OFF(X));    \
		__v;                                                               \
	})

// The process part of `task`'s records (all but inode and fd), read with GET (FIELD or
// READ); 0 when the process is not visible in the reader's pid namespace.
#define PROCESS_OF(NAME, GET)                                                             \
	static __attribute__((always_inline)) int NAME(struct task_struct *task,             \
						       struct task_struct *reader,           \
						       struct owner_rec *rec)                \
	{                                                                                 \
		struct task_struct *leader = GET(struct task_struct *, task, TASK_GROUP_LEADER); \
		if (!leader || !reader)                                                   \
			return 0;                                                         \
		struct pid *leader_pid = GET(struct pid *, leader, TASK_THREAD_PID);      \
		struct pid *reader_pid = GET(struct pid *, reader, TASK_THREAD_PID);      \
		if (!leader_pid || !reader_pid)                                           \
			return 0;                                                         \
		rec->tgid = pid_nr_at(leader_pid, GET(__u32, leader_pid, PID_LEVEL),      \
				      GET(__u32, reader_pid, PID_LEVEL));                 \
		if (!rec->tgid)                                                           \
			return 0;                                                         \
		rec->start_boottime = GET(__u64, leader, TASK_START_BOOTTIME);            \
		struct cred *cred = GET(struct cred *, leader, TASK_REAL_CRED);           \
		rec->uid = cred ? GET(__u32, cred, CRED_UID) : (__u32)-1;                 \
		if (task != leader)                                                       \
			rec->flags |= OWNER_THREAD_FILES;                                 \
		bpf_probe_read_kernel(rec->comm, sizeof(rec->comm),                       \
				      (char *)leader + OFF(TASK_COMM));                   \
		return 1;                                                                 \
	}

PROCESS_OF(process_of, FIELD)
PROCESS_OF(process_of_read, READ)

// The program for kernels without bpf_loop (before 5.17): the kernel calls it for each open
// file of each task.
__attribute__((section("iter/task_file"), used))
int socket_owners(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	if (!task || !file)
		return 0;
	struct inode *inode = FIELD(struct inode *, file, FILE_F_INODE);
	if (!inode || (FIELD(__u16, inode, INODE_I_MODE) & S_IFMT) != S_IFSOCK)
		return 0;
	// A socket's inode is on sockfs. An S_IFSOCK inode elsewhere is a unix socket's path
	// in a file system, open with O_PATH: a file, not the socket.
	struct super_block *sb = FIELD(struct super_block *, inode, INODE_I_SB);
	if (!sb || FIELD(unsigned long, sb, SB_S_MAGIC) != SOCKFS_MAGIC)
		return 0;
	struct owner_rec rec = {};
	if (!process_of(task, bpf_get_current_task_btf(), &rec))
		return 0;
	rec.inode = FIELD(__u64, inode, INODE_I_INO);
	rec.fd = ctx->fd;
	bpf_seq_write(FIELD(struct seq_file *, ctx->meta, META_SEQ), &rec, sizeof(rec));
	return 0;
}

// The per-task program's output (record.rs, read_by_task): for each task with socket fds, a
// head (an owner_rec whose inode is HEAD), then an fd_rec per socket fd. A task's output is
// one write to the kernel's seq_file buffer (8 pages), which it must fit: hence 8 bytes per
// fd (socket inodes come from get_next_ino, 32 bits), and a cut mark when it is full, for
// the reader to read that process again with the per-file program.

struct fd_rec {
	__u32 inode;
	__u32 fd; // or CUT_MARK
};

#define HEAD_MARK 0xffffffffU
#define CUT_MARK 0xfffffffeU
// A head's inode: HEAD_MARK in its second 32-bit word (little-endian, as BTF is here), where
// an fd_rec has its fd.
#define HEAD ((__u64)HEAD_MARK << 32)
// What one task may write: the seq_file buffer is 8 pages (32 KiB with 4 KiB pages), and
// the cut mark must still fit.
#define TASK_BYTES_MAX (32768 - 2 * sizeof(struct fd_rec))

// Slots read at once: one probe read per 8 slots rather than per slot. fd tables hold a
// multiple of 64 slots (the kernel sizes them so), so a chunk never runs past the end.
#define CHUNK 8

// What `each_fd` works on: one fd table, its process, and where its output starts in the
// seq_file buffer. The callback counts from the buffer's fill (a value the verifier cannot
// know) rather than in a counter of its own: the verifier follows a bpf_loop callback until
// its states repeat, and a counter never repeats.
struct fd_walk {
	struct file **fd;
	__u32 max_fds;
	// The current chunk of slots (slot_at).
	__u64 chunk[CHUNK];
	// The superblock last found to be sockfs (one per kernel): its magic is not read again.
	__u64 sockfs_sb;
	struct seq_file *seq;
	__u64 start;
	struct owner_rec head;
};

// The inode's fields read at once, from its start (each_fd_chunked): i_mode, i_sb and i_ino
// lie in its first 128 bytes in the kernels seen. The verifier cannot tell a read past the
// window from one of the stack beyond it, so the loader checks the layout first
// (btf::inode_window_fits, with the same INODE_WINDOW) and loads each_fd where they do not
// fit. One probe read instead of three: the helper call, not the bytes, is the cost.
#define INODE_WINDOW 128

// The walk's process ends here: a cut mark (after its head, if nothing was written yet), for
// the reader to read the process again with the per-file program. Returns 1: the walk stops.
static __attribute__((always_inline)) long cut_short(struct fd_walk *w)
{
	if (READ(__u64, w->seq, SEQ_FILE_COUNT) == w->start)
		bpf_seq_write(w->seq, &w->head, sizeof(w->head));
	struct fd_rec rec = { 0, CUT_MARK };
	bpf_seq_write(w->seq, &rec, sizeof(rec));
	return 1;
}

// Socket fd `fd` of the walk's table, open as `file`, into the output, after the process's
// head if it is the first. Every read is a probe read, so a slot closed meanwhile yields
// nothing or what the slot held a moment ago, never a fault. Returns 1 when the output is
// full (a cut mark written): the walk stops.
// With `window` (the chunked walk, for big hosts), the inode's fields come from one read and
// sockfs's superblock is remembered once seen: three probe reads fewer per socket fd. Without
// (small hosts), each field is read on its own, which the verifier checks in less time, and a
// small host's scan is mostly its load.
static __attribute__((always_inline)) long emit_socket(struct fd_walk *w, __u32 fd,
						       struct file *file, const int window)
{
	struct inode *inode = 0;
	if (bpf_probe_read_kernel(&inode, sizeof(inode), (char *)file + OFF(FILE_F_INODE)) ||
	    !inode)
		return 0;
	__u64 ino = 0;
	if (window) {
		__u64 win[INODE_WINDOW / 8];
		if (bpf_probe_read_kernel(win, sizeof(win), inode))
			return 0;
		__u16 mode = *(__u16 *)((char *)win + OFF(INODE_I_MODE));
		if ((mode & S_IFMT) != S_IFSOCK)
			return 0;
		__u64 sb = *(__u64 *)((char *)win + OFF(INODE_I_SB));
		if (!sb)
			return 0;
		if (sb != w->sockfs_sb) {
			unsigned long magic = 0;
			bpf_probe_read_kernel(&magic, sizeof(magic), (char *)sb + OFF(SB_S_MAGIC));
			if (magic != SOCKFS_MAGIC)
				return 0;
			w->sockfs_sb = sb;
		}
		ino = *(__u64 *)((char *)win + OFF(INODE_I_INO));
	} else {
		__u16 mode = 0;
		bpf_probe_read_kernel(&mode, sizeof(mode), (char *)inode + OFF(INODE_I_MODE));
		if ((mode & S_IFMT) != S_IFSOCK)
			return 0;
		struct super_block *sb = 0;
		unsigned long magic = 0;
		bpf_probe_read_kernel(&sb, sizeof(sb), (char *)inode + OFF(INODE_I_SB));
		if (!sb)
			return 0;
		bpf_probe_read_kernel(&magic, sizeof(magic), (char *)sb + OFF(SB_S_MAGIC));
		if (magic != SOCKFS_MAGIC)
			return 0;
		if (bpf_probe_read_kernel(&ino, sizeof(ino), (char *)inode + OFF(INODE_I_INO)))
			return 0;
	}
	__u64 used = READ(__u64, w->seq, SEQ_FILE_COUNT) - w->start;
	if (!used)
		bpf_seq_write(w->seq, &w->head, sizeof(w->head));
	struct fd_rec rec = { (__u32)ino, fd };
	// Full, or an inode past 32 bits (not sockfs's): the per-file program reads this process.
	if (used + sizeof(w->head) + sizeof(rec) > TASK_BYTES_MAX || ino >> 32) {
		rec.inode = 0;
		rec.fd = CUT_MARK;
		bpf_seq_write(w->seq, &rec, sizeof(rec));
		return 1;
	}
	bpf_seq_write(w->seq, &rec, sizeof(rec));
	return 0;
}

// Slot i of the walk's fd table into *f, from the CHUNK slots read at the chunk's first one.
// 0 when the chunk cannot be read (never seen: the table is read under RCU and holds a
// multiple of 64 slots): the caller cuts the process short.
static __attribute__((always_inline)) int slot_at(__u32 i, struct fd_walk *w, __u64 *f)
{
	if (!(i % CHUNK) && bpf_probe_read_kernel(w->chunk, sizeof(w->chunk), &w->fd[i]))
		return 0;
	*f = w->chunk[i & (CHUNK - 1)];
	return 1;
}

// One slot of an fd table (bpf_loop's callback). The table is read as /proc reads it: under
// RCU (the iterator runs the program under rcu_read_lock), but without a reference on the
// file. Returns 1 to stop the loop.
__attribute__((section("iter/task/each_fd"), used, noinline))
long each_fd(__u32 i, struct fd_walk *w)
{
	struct file *file = 0;
	if (bpf_probe_read_kernel(&file, sizeof(file), &w->fd[i]) || !file)
		return 0;
	return emit_socket(w, i, file, 0);
}

// The same for a big host: slots read 8 at a time and the inode's fields in one read (half
// the probe reads per open file, a quarter less kernel time at 200k open files), for 0.4 ms
// more in the verifier (bpf.rs, CHUNKED_FROM_OPEN_FILES).
__attribute__((section("iter/task/each_fd_chunked"), used, noinline))
long each_fd_chunked(__u32 i, struct fd_walk *w)
{
	__u64 f = 0;
	if (!slot_at(i, w, &f))
		return cut_short(w);
	if (!f)
		return 0;
	return emit_socket(w, i, (struct file *)f, 1);
}

// The walk of `task`'s fd table: 0 when it has none of its own to walk (a thread sharing its
// leader's table, as the task_file iterator skips them) or its process is not visible.
static __attribute__((always_inline)) int start_walk(struct bpf_iter__task *ctx,
						     struct fd_walk *w)
{
	struct task_struct *task = ctx->task;
	if (!task)
		return 0;
	struct files_struct *files = READ(struct files_struct *, task, TASK_FILES);
	if (!files)
		return 0;
	struct task_struct *leader = READ(struct task_struct *, task, TASK_GROUP_LEADER);
	if (task != leader && leader && READ(struct files_struct *, leader, TASK_FILES) == files)
		return 0;
	struct fdtable *fdt = READ(struct fdtable *, files, FILES_FDT);
	if (!fdt)
		return 0;
	w->max_fds = READ(__u32, fdt, FDTABLE_MAX_FDS);
	w->fd = READ(struct file **, fdt, FDTABLE_FD);
	if (!w->fd)
		return 0;
	struct task_struct *reader = (struct task_struct *)bpf_get_current_task();
	if (!process_of_read(task, reader, &w->head))
		return 0;
	w->head.inode = HEAD;
	w->seq = FIELD(struct seq_file *, ctx->meta, META_SEQ);
	w->start = READ(__u64, w->seq, SEQ_FILE_COUNT);
	return 1;
}

// The program for Linux 5.17+: the kernel calls it once per task, and it walks the task's
// fd table itself with bpf_loop, which costs a fraction of the kernel's call per open file.
__attribute__((section("iter/task"), used))
int socket_owners_by_task(struct bpf_iter__task *ctx)
{
	struct fd_walk w = {};
	if (start_walk(ctx, &w))
		bpf_loop(w.max_fds, EACH_FD_ADDRESS(), &w, 0);
	return 0;
}

// The holders of a few known sockets (a one-port query): the loader patches the addresses
// of their files (found by `tcp_listener_files`) into WANTED(0..WANTED_MAX-1), 0 for none.
// A socket has one file however many fds and processes hold it, so comparing each slot of
// every fd table with those addresses finds them all without reading the file and inode
// behind each slot, the cache misses that are most of a whole scan. A match is then checked
// as any slot is (emit_socket), so a file freed and reused since is its new self, not the
// socket.
#define WANTED_MARK 0x4f574e5700000000ULL
#define WANTED_MAX 16
#define WANTED(I)                                                                   \
	({                                                                          \
		__u64 __w;                                                          \
		asm volatile("%0 = %1 ll" : "=r"(__w) : "i"(WANTED_MARK | (I)));   \
		__w;                                                                \
	})

static __attribute__((always_inline)) int wanted(__u64 f)
{
	return f == WANTED(0) || f == WANTED(1) || f == WANTED(2) || f == WANTED(3) ||
	       f == WANTED(4) || f == WANTED(5) || f == WANTED(6) || f == WANTED(7) ||
	       f == WANTED(8) || f == WANTED(9) || f == WANTED(10) || f == WANTED(11) ||
	       f == WANTED(12) || f == WANTED(13) || f == WANTED(14) || f == WANTED(15);
}

// Slot i of an fd table (bpf_loop's callback), from the chunk read at its first slot. One
// call per slot rather than per chunk: the verifier then checks emit_socket once, not once
// per slot of a chunk (a chunk's worth of paths, 3 ms of load time).
__attribute__((section("iter/task/each_wanted_fd"), used, noinline))
long each_wanted_fd(__u32 i, struct fd_walk *w)
{
	__u64 f = 0;
	if (!slot_at(i, w, &f))
		return cut_short(w);
	if (!f || !wanted(f))
		return 0;
	// Few slots match: the per-field reads, which verify faster, cost nothing here.
	return emit_socket(w, i, (struct file *)f, 0);
}

__attribute__((section("iter/task/wanted"), used))
int socket_owners_of_files(struct bpf_iter__task *ctx)
{
	struct fd_walk w = {};
	if (start_walk(ctx, &w))
		bpf_loop(w.max_fds, EACH_FD_ADDRESS(), &w, 0);
	return 0;
}

// The files of the TCP listeners in the reader's network namespace, for
// `socket_owners_of_files`: a (inode, file address) pair per listener. The kernel's TCP
// iterator visits the listening hash first; the first socket in another state is the end of
// the listeners, marked by a pair with inode LISTENERS_END, and the reader stops there.
#define TCP_LISTEN 10
#define LISTENERS_END 0xffffffffffffffffULL

struct listener_rec {
	__u64 inode;
	__u64 file;
};

__attribute__((section("iter/tcp"), used))
int tcp_listener_files(struct bpf_iter__tcp *ctx)
{
	struct sock_common *sk = ctx->sk_common;
	if (!sk)
		return 0;
	struct seq_file *seq = FIELD(struct seq_file *, ctx->meta, META_SEQ);
	struct listener_rec rec = {};
	// Request and TIME-WAIT sockets are smaller than a struct sock: only the state is read
	// before it says this is a listener (a full socket; sock_common is its first member).
	if (READ(unsigned char, sk, SKC_STATE) != TCP_LISTEN) {
		rec.inode = LISTENERS_END;
		bpf_seq_write(seq, &rec, sizeof(rec));
		return 0;
	}
	struct socket *sock = READ(struct socket *, sk, SOCK_SK_SOCKET);
	struct file *file = sock ? READ(struct file *, sock, SOCKET_FILE) : 0;
	struct inode *inode = file ? READ(struct inode *, file, FILE_F_INODE) : 0;
	if (!inode)
		return 0;
	rec.inode = READ(__u64, inode, INODE_I_INO);
	rec.file = (__u64)file;
	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}

// The TCP glimpse (glimpse.rs): what a repeated read (`watch`) needs to tell which sockets
// are new or changed, for every TCP socket of the reader's network namespace, without the
// fill of a sock_diag reply: the identity (cookie, addresses), the state, whether a file
// holds it (an accepted connection gains one), and the queues. Every field is a direct load
// the verifier checks against the kernel's BTF: sock_common's from the iterator's pointer,
// the rest from bpf_skc_to_tcp_sock's, which only full sockets have (request and
// TIME-WAIT sockets are smaller).
#define TCP_TIME_WAIT 6
#define TCP_NEW_SYN_RECV 12
#define AF_INET 2

// Layout shared with glimpse.rs: 64 bytes, native endian but for dport (network order).
struct glimpse_rec {
	__u64 cookie;
	__u32 rqueue;
	__u32 wqueue;
	__u32 ifindex;
	__u16 sport;
	__u16 dport;
	unsigned char state;
	unsigned char family;
	unsigned char held;
	unsigned char pad[5];
	__u32 saddr[4];
	__u32 daddr[4];
};

__attribute__((section("iter/tcp/glimpse"), used))
int tcp_glimpse(struct bpf_iter__tcp *ctx)
{
	struct sock_common *sk = ctx->sk_common;
	if (!sk)
		return 0;
	struct seq_file *seq = FIELD(struct seq_file *, ctx->meta, META_SEQ);
	struct glimpse_rec r = {};
	r.state = FIELD(unsigned char, sk, SKC_STATE);
	r.family = FIELD(unsigned short, sk, SKC_FAMILY);
	r.sport = FIELD(__u16, sk, SKC_NUM);
	r.dport = FIELD(__u16, sk, SKC_DPORT);
	r.ifindex = FIELD(__u32, sk, SKC_BOUND_DEV_IF);
	if (r.family == AF_INET) {
		r.saddr[0] = FIELD(__u32, sk, SKC_RCV_SADDR);
		r.daddr[0] = FIELD(__u32, sk, SKC_DADDR);
	} else {
		char *s6 = (char *)sk + OFF(SKC_V6_RCV_SADDR);
		char *d6 = (char *)sk + OFF(SKC_V6_DADDR);
		r.saddr[0] = *(__u32 *)s6;
		r.saddr[1] = *(__u32 *)(s6 + 4);
		r.saddr[2] = *(__u32 *)(s6 + 8);
		r.saddr[3] = *(__u32 *)(s6 + 12);
		r.daddr[0] = *(__u32 *)d6;
		r.daddr[1] = *(__u32 *)(d6 + 4);
		r.daddr[2] = *(__u32 *)(d6 + 8);
		r.daddr[3] = *(__u32 *)(d6 + 12);
	}
	r.cookie = bpf_get_socket_cookie(sk);
	// A full socket (not a request or TIME-WAIT one), as a typed pointer: its fields are
	// then plain loads the verifier checks, not a probe read each.
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	if (tp) {
		r.held = FIELD(struct socket *, tp, SOCK_SK_SOCKET) != 0;
		if (r.state == TCP_LISTEN) {
			r.rqueue = FIELD(__u32, tp, SK_ACK_BACKLOG);
			r.wqueue = FIELD(__u32, tp, SK_MAX_ACK_BACKLOG);
		} else {
			// As tcp_diag_get_info: unread bytes (never below 0), unacknowledged ones.
			int unread = FIELD(__u32, tp, TP_RCV_NXT) - FIELD(__u32, tp, TP_COPIED_SEQ);
			r.rqueue = unread > 0 ? unread : 0;
			r.wqueue = FIELD(__u32, tp, TP_WRITE_SEQ) - FIELD(__u32, tp, TP_SND_UNA);
		}
	}
	bpf_seq_write(seq, &r, sizeof(r));
	return 0;
}

// The TCP state feed (feed.rs): every state change of a TCP socket of the reader's network
// namespace, from the kernel's `inet_sock_set_state` tracepoint (tp_btf, Linux 5.5+; the
// cookie helper is allowed in tracing programs from 5.12), written to a ring buffer
// (Linux 5.8+). The sockets are identified as the glimpse identifies them, so a change and
// a glimpse of the same socket agree on cookie, family, ends and interface. The tracepoint
// fires as the new state is stored (inet_sk_state_store), after tcp_set_state did what the
// state entails: a socket moving to CLOSE has let go of a port the kernel chose for it
// (inet_put_port), so its local port reads 0, as a connect's move to SYN-SENT reads 0 before
// the port is chosen. The cookie says which socket it is.
//
// Maps are not ELF maps (that would need relocations): the loader creates them and rewrites
// `rN = MAP_MARK | index ll` into a reference to the map's fd (BPF_PSEUDO_MAP_FD), and
// `rN = CONST_MARK | index ll` into a value known at load time (the reader's netns).
#define MAP_MARK 0x4f574e4d00000000ULL
#define MAP_RING 0
#define MAP_LOST 1
#define MAP(I)                                                                    \
	({                                                                        \
		void *__m;                                                        \
		asm volatile("%0 = %1 ll" : "=r"(__m) : "i"(MAP_MARK | (I)));     \
		__m;                                                              \
	})
#define CONST_MARK 0x4f574e4300000000ULL
#define CONST_NETNS 0
#define CONST(I)                                                                  \
	({                                                                        \
		__u64 __c;                                                        \
		asm volatile("%0 = %1 ll" : "=r"(__c) : "i"(CONST_MARK | (I)));   \
		__c;                                                              \
	})

#define IPPROTO_TCP 6
// The reader polls the ring (watch reads once per interval) and never sleeps on its fd, so
// no wakeup is sent: that would queue an irq_work for nobody on every change that finds the
// ring empty.
#define BPF_RB_NO_WAKEUP 1

struct sock;
struct net;

// Layout shared with feed.rs: 56 bytes (64 with the ring's 8-byte header), native endian
// but for dport (network order).
struct change_rec {
	__u64 cookie;
	__u32 ifindex;
	__u16 sport;
	__u16 dport;
	unsigned char old;
	unsigned char state;
	unsigned char family;
	unsigned char held;
	__u32 pad;
	__u32 saddr[4];
	__u32 daddr[4];
};

// The tracepoint's arguments (include/trace/events/sock.h): const struct sock *sk,
// const int oldstate, const int newstate; a tp_btf program gets each as a u64.
__attribute__((section("tp_btf/inet_sock_set_state"), used))
int tcp_state_change(__u64 *ctx)
{
	struct sock *sk = (struct sock *)ctx[0];
	if (!sk)
		return 0;
	// SCTP and MPTCP sockets change state through the same tracepoint.
	if (FIELD(__u16, sk, SK_PROTOCOL) != IPPROTO_TCP)
		return 0;
	struct net *net = FIELD(struct net *, sk, SKC_NET);
	if (!net || FIELD(__u32, net, NET_NS_INUM) != (__u32)CONST(CONST_NETNS))
		return 0;
	struct change_rec *r = bpf_ringbuf_reserve(MAP(MAP_RING), sizeof(*r), 0);
	if (!r) {
		// The ring is full (the reader is behind): count it, so the reader knows that
		// what it has is incomplete.
		__u32 zero = 0;
		__u64 *lost = bpf_map_lookup_elem(MAP(MAP_LOST), &zero);
		if (lost)
			__sync_fetch_and_add(lost, 1);
		return 0;
	}
	r->old = ctx[1];
	r->state = ctx[2];
	r->family = FIELD(unsigned short, sk, SKC_FAMILY);
	r->sport = FIELD(__u16, sk, SKC_NUM);
	r->dport = FIELD(__u16, sk, SKC_DPORT);
	r->ifindex = FIELD(__u32, sk, SKC_BOUND_DEV_IF);
	r->held = FIELD(struct socket *, sk, SOCK_SK_SOCKET) != 0;
	r->pad = 0;
	if (r->family == AF_INET) {
		r->saddr[0] = FIELD(__u32, sk, SKC_RCV_SADDR);
		r->daddr[0] = FIELD(__u32, sk, SKC_DADDR);
		r->saddr[1] = r->saddr[2] = r->saddr[3] = 0;
		r->daddr[1] = r->daddr[2] = r->daddr[3] = 0;
	} else {
		char *s6 = (char *)sk + OFF(SKC_V6_RCV_SADDR);
		char *d6 = (char *)sk + OFF(SKC_V6_DADDR);
		r->saddr[0] = *(__u32 *)s6;
		r->saddr[1] = *(__u32 *)(s6 + 4);
		r->saddr[2] = *(__u32 *)(s6 + 8);
		r->saddr[3] = *(__u32 *)(s6 + 12);
		r->daddr[0] = *(__u32 *)d6;
		r->daddr[1] = *(__u32 *)(d6 + 4);
		r->daddr[2] = *(__u32 *)(d6 + 8);
		r->daddr[3] = *(__u32 *)(d6 + 12);
	}
	r->cookie = bpf_get_socket_cookie(sk);
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	return 0;
}
