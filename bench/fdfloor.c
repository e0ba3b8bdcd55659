/*
 * fdfloor: the floor of the socket-owner scan that `ss -p`, `netstat -p`,
 * `lsof` and `portwatch -p` all do: readlink() every /proc/PID/fd/N and keep
 * (socket inode, pid, fd) for each "socket:[INODE]" link. Nothing else: no
 * netlink dump, no process names, no output per socket. An owner lookup
 * cannot do less work than this, so "ss -ant + fdfloor -j 2" is the floor for
 * "-antp" on a 2-core machine.
 *
 *   fdfloor [-j THREADS]    THREADS workers pull pids from a shared counter
 *
 * Prints "FD_ENTRIES SOCKET_LINKS PIDS" (entries that cannot be read, e.g. of
 * a process that just exited, count in FD_ENTRIES only).
 * Build: cc -O2 -pthread -o fdfloor fdfloor.c
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct owner {
	unsigned long ino;
	int pid, fd;
};

struct worker {
	pthread_t tid;
	long entries, pids;
	struct owner *own;
	size_t nown, cap;
};

static int proc_fd;
static int *pids, npids, next_pid;

static void keep(struct worker *w, unsigned long ino, int pid, int fd)
{
	if (w->nown == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 4096;
		struct owner *o = realloc(w->own, cap * sizeof(*o));
		if (!o)
			return; /* out of memory: the count is then short, never wrong */
		w->own = o;
		w->cap = cap;
	}
	w->own[w->nown++] = (struct owner){ ino, pid, fd };
}

static void scan_pid(struct worker *w, int pid)
{
	char path[32], link[64];
	snprintf(path, sizeof(path), "%d/fd", pid);
	int dfd = openat(proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return; /* exited, or a kernel thread's fd dir we may not read */
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	w->pids++;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		w->entries++;
		ssize_t n = readlinkat(dfd, e->d_name, link, sizeof(link) - 1);
		if (n < 9 || memcmp(link, "socket:[", 8) != 0)
			continue;
		link[n] = '\0';
		keep(w, strtoul(link + 8, NULL, 10), pid, atoi(e->d_name));
	}
	closedir(d);
}

static void *work(void *arg)
{
	struct worker *w = arg;
	for (;;) {
		int i = __atomic_fetch_add(&next_pid, 1, __ATOMIC_RELAXED);
		if (i >= npids)
			return NULL;
		scan_pid(w, pids[i]);
	}
}

int main(int argc, char **argv)
{
	int nthreads = 1;
	if (argc == 3 && strcmp(argv[1], "-j") == 0)
		nthreads = atoi(argv[2]);
	else if (argc != 1) {
		fprintf(stderr, "usage: fdfloor [-j THREADS]\n");
		return 2;
	}
	if (nthreads < 1 || nthreads > 64)
		nthreads = 1;
	proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *proc = proc_fd < 0 ? NULL : fdopendir(dup(proc_fd));
	if (!proc) {
		perror("/proc");
		return 1;
	}
	int cap = 0;
	struct dirent *e;
	while ((e = readdir(proc)) != NULL) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		if (npids == cap) {
			int *p = realloc(pids, (cap = cap ? 2 * cap : 1024) * sizeof(*p));
			if (!p)
				return 1;
			pids = p;
		}
		pids[npids++] = atoi(e->d_name);
	}
	closedir(proc);

	struct worker *w = calloc((size_t)nthreads, sizeof(*w));
	if (!w)
		return 1;
	for (int i = 1; i < nthreads; i++)
		if (pthread_create(&w[i].tid, NULL, work, &w[i]) != 0)
			w[i].tid = 0;
	work(&w[0]); /* the main thread is worker 0 */
	long entries = 0, socks = 0, np = 0;
	for (int i = 0; i < nthreads; i++) {
		if (i > 0 && w[i].tid)
			pthread_join(w[i].tid, NULL);
		entries += w[i].entries;
		socks += (long)w[i].nown;
		np += w[i].pids;
	}
	printf("%ld %ld %ld\n", entries, socks, np);
	return 0;
}
