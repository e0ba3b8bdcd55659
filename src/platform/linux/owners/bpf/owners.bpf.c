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

// The iterator's context: a fixed ABI (kernel/bpf/task_iter.c).
struct bpf_iter__task_file {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
	__u32 fd;
	struct file *file;
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

// Helper ids from include/uapi/linux/bpf.h (stable ABI).
static long (*bpf_probe_read_kernel)(void *dst, __u32 size, const void *src) = (void *)113;
static long (*bpf_seq_write)(struct seq_file *m, const void *data, __u32 len) = (void *)127;
static struct task_struct *(*bpf_get_current_task_btf)(void) = (void *)158;

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
static __attribute__((always_inline)) int pid_nr_at(struct pid *pid, __u32 level)
{
	int nr = 0;
	if (level > FIELD(__u32, pid, PID_LEVEL) || level > MAX_PID_NS_LEVEL)
		return 0;
	char *upid = (char *)pid + OFF(PID_NUMBERS) + level * OFF(UPID_SIZE);
	if (bpf_probe_read_kernel(&nr, sizeof(nr), upid + OFF(UPID_NR)))
		return 0;
	return nr;
}

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

	struct task_struct *leader = FIELD(struct task_struct *, task, TASK_GROUP_LEADER);
	struct task_struct *reader = bpf_get_current_task_btf();
	if (!leader || !reader)
		return 0;
	struct pid *leader_pid = FIELD(struct pid *, leader, TASK_THREAD_PID);
	struct pid *reader_pid = FIELD(struct pid *, reader, TASK_THREAD_PID);
	if (!leader_pid || !reader_pid)
		return 0;

	struct owner_rec rec = {};
	rec.tgid = pid_nr_at(leader_pid, FIELD(__u32, reader_pid, PID_LEVEL));
	if (!rec.tgid)
		return 0;
	rec.inode = FIELD(__u64, inode, INODE_I_INO);
	rec.start_boottime = FIELD(__u64, leader, TASK_START_BOOTTIME);
	rec.fd = ctx->fd;
	struct cred *cred = FIELD(struct cred *, leader, TASK_REAL_CRED);
	rec.uid = cred ? FIELD(__u32, cred, CRED_UID) : (__u32)-1;
	if (task != leader)
		rec.flags |= OWNER_THREAD_FILES;
	bpf_probe_read_kernel(rec.comm, sizeof(rec.comm), (char *)leader + OFF(TASK_COMM));
	bpf_seq_write(FIELD(struct seq_file *, ctx->meta, META_SEQ), &rec, sizeof(rec));
	return 0;
}
