// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// The owner scan's BPF program: an iter/task_file iterator that writes one fixed-size record
// for every socket fd of every process (see bpf.rs for the reader and record.rs for the
// layout). Built by scripts/build-bpf.sh; the object beside this file is committed and
// embedded, so a build of portwatch needs no clang.
//
// The kernel types are declared here by hand, only the fields read, with
// preserve_access_index: the loader relocates each access to the running kernel's layout
// from its BTF (CO-RE), so the object is built from this file alone, without a vmlinux.h.
//
// GPL: bpf_probe_read_kernel is a GPL-only helper.

typedef unsigned char __u8;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef unsigned int uid_t;

#define CORE __attribute__((preserve_access_index))

typedef struct CORE {
	uid_t val;
} kuid_t;

struct cred {
	kuid_t uid;
} CORE;

struct upid {
	int nr;
	void *ns;
} CORE;

struct pid {
	unsigned int level;
	struct upid numbers[1];
} CORE;

struct task_struct {
	struct task_struct *group_leader;
	struct pid *thread_pid;
	__u64 start_boottime;
	const struct cred *real_cred;
	char comm[16];
	void *files;
} CORE;

struct inode {
	unsigned short i_mode;
	unsigned long i_ino;
} CORE;

struct file {
	struct inode *f_inode;
} CORE;

struct seq_file;

struct bpf_iter_meta {
	struct seq_file *seq;
} CORE;

// The iterator's context: a fixed ABI (kernel/bpf/task_iter.c), not relocated.
struct bpf_iter__task_file {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
	__u32 fd;
	struct file *file;
};

// Helper ids from include/uapi/linux/bpf.h (stable ABI).
static long (*bpf_probe_read_kernel)(void *dst, __u32 size, const void *src) = (void *)113;
static long (*bpf_seq_write)(struct seq_file *m, const void *data, __u32 len) = (void *)127;
static struct task_struct *(*bpf_get_current_task_btf)(void) = (void *)158;

#define S_IFMT 00170000
#define S_IFSOCK 0140000
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

// The number of `pid` in the pid namespace `level` levels below the root; 0 when it has
// none there (not visible to the reader).
static __attribute__((always_inline)) int pid_nr_at(struct pid *pid, unsigned int level)
{
	struct upid up = {};
	if (level > pid->level || level > MAX_PID_NS_LEVEL)
		return 0;
	struct upid *numbers = __builtin_preserve_access_index(&pid->numbers[0]);
	if (bpf_probe_read_kernel(&up, sizeof(up), numbers + level))
		return 0;
	return up.nr;
}

__attribute__((section("iter/task_file"), used))
int socket_owners(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	if (!task || !file)
		return 0;
	struct inode *inode = file->f_inode;
	if (!inode || (inode->i_mode & S_IFMT) != S_IFSOCK)
		return 0;

	struct task_struct *leader = task->group_leader;
	struct task_struct *reader = bpf_get_current_task_btf();
	if (!leader || !reader)
		return 0;
	struct pid *leader_pid = leader->thread_pid;
	struct pid *reader_pid = reader->thread_pid;
	if (!leader_pid || !reader_pid)
		return 0;

	struct owner_rec rec = {};
	rec.tgid = pid_nr_at(leader_pid, reader_pid->level);
	if (!rec.tgid)
		return 0;
	rec.inode = inode->i_ino;
	rec.start_boottime = leader->start_boottime;
	rec.fd = ctx->fd;
	const struct cred *cred = leader->real_cred;
	if (cred)
		rec.uid = cred->uid.val;
	else
		rec.uid = (__u32)-1;
	if (task != leader)
		rec.flags |= OWNER_THREAD_FILES;
	bpf_probe_read_kernel(rec.comm, sizeof(rec.comm), __builtin_preserve_access_index(&leader->comm));
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}
