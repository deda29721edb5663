// SPDX-License-Identifier: GPL-2.0
/* opensnoop's workload helper: the opens Node cannot make (a chosen door, a dirfd, openat2 with RESOLVE
 * flags, opens from threads or as another user, a storm from many threads at once), each measured.
 *
 * Reads one open per line on stdin, tab-separated:
 *   WHO DOOR DIR FLAGS MODE RESOLVE PATH_HEX [COUNT THREADS]
 *     WHO      main | thread (a new thread of this process) | nobody (a child that became uid 65534)
 *            | storm (COUNT opens split over THREADS threads running at once)
 *     DOOR     open | openat | openat2: the system call, made raw (glibc's open() is openat)
 *     DIR      - (AT_FDCWD) or the hex bytes of a directory, opened O_PATH before the open (not reported)
 *     FLAGS, MODE, RESOLVE  decimal; RESOLVE is openat2's how.resolve
 *     PATH_HEX the path's bytes in hex (any byte but NUL)
 * or `pause MS`: sleep MS milliseconds, reporting nothing. It prints one line per open made, after it returned:
 *   LINE PID TID RET COMM                 LINE is the input line's index from 0, RET the fd or -errno
 * A storm prints one line per thread, `LINE PID TID RET COMM COUNT`: COUNT opens by TID, each returning RET
 * when all returned the same (else the line says `mixed`). A successful open's fd is closed at once.
 * Exit 0 when every line was run, 2 on a malformed line. Built static (bpf/Makefile). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_PATH 8192
#define MAX_THREADS 64

struct op {
	int line;
	char door[16];
	int dirfd;
	long flags, mode;
	unsigned long long resolve;
	char path[MAX_PATH];
	long count; /* storm: opens per thread */
	/* measured */
	pid_t tid;
	long ret;
	int mixed;
};

static long open_once(const struct op *o)
{
	long r;
	if (!strcmp(o->door, "open"))
		r = syscall(SYS_open, o->path, o->flags, o->mode);
	else if (!strcmp(o->door, "openat"))
		r = syscall(SYS_openat, o->dirfd, o->path, o->flags, o->mode);
	else {
		struct open_how how = { .flags = (uint64_t)o->flags, .mode = (uint64_t)o->mode, .resolve = o->resolve };
		r = syscall(SYS_openat2, o->dirfd, o->path, &how, sizeof(how));
	}
	if (r < 0)
		return -errno;
	close((int)r);
	return r;
}

static void *run_op(void *arg)
{
	struct op *o = arg;
	o->tid = (pid_t)syscall(SYS_gettid);
	for (long i = 0; i < (o->count ? o->count : 1); i++) {
		long r = open_once(o);
		if (i > 0 && r != o->ret)
			o->mixed = 1;
		o->ret = r;
	}
	return NULL;
}

static void report(const struct op *o, int storm)
{
	char comm[17] = "";
	prctl(PR_GET_NAME, comm);
	if (o->mixed)
		printf("%d %d %d mixed %s %ld\n", o->line, getpid(), o->tid, comm, o->count);
	else if (storm)
		printf("%d %d %d %ld %s %ld\n", o->line, getpid(), o->tid, o->ret, comm, o->count);
	else
		printf("%d %d %d %ld %s\n", o->line, getpid(), o->tid, o->ret, comm);
	fflush(stdout);
}

static int unhex(const char *hex, char *out, size_t cap)
{
	size_t n = strlen(hex);
	if (n % 2 || n / 2 >= cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned b;
		if (sscanf(hex + 2 * i, "%2x", &b) != 1 || b == 0)
			return -1;
		out[i] = (char)b;
	}
	out[n / 2] = 0;
	return 0;
}

static int run_line(char *text, int line)
{
	long ms;
	if (sscanf(text, "pause %ld", &ms) == 1 && ms >= 0) {
		usleep((useconds_t)ms * 1000);
		return 0;
	}
	static struct op ops[MAX_THREADS];
	char who[16], door[16], dir[2 * MAX_PATH + 1], hex[2 * MAX_PATH + 1];
	long flags, mode, count = 0, threads = 0;
	unsigned long long resolve;
	int n = sscanf(text, "%15s %15s %16384s %ld %ld %llu %16384s %ld %ld", who, door, dir, &flags, &mode, &resolve, hex, &count, &threads);
	struct op o = { .line = line, .dirfd = AT_FDCWD, .flags = flags, .mode = mode, .resolve = resolve };
	if (n < 7 || strlen(door) >= sizeof(o.door) || unhex(hex, o.path, sizeof(o.path)) < 0)
		return -1;
	strcpy(o.door, door);
	if (strcmp(dir, "-")) {
		char dpath[MAX_PATH];
		if (unhex(dir, dpath, sizeof(dpath)) < 0 || (o.dirfd = open(dpath, O_PATH | O_DIRECTORY)) < 0)
			return -1;
	}
	if (!strcmp(who, "main")) {
		run_op(&o);
		report(&o, 0);
	} else if (!strcmp(who, "thread")) {
		pthread_t t;
		if (pthread_create(&t, NULL, run_op, &o) || pthread_join(t, NULL))
			return -1;
		report(&o, 0);
	} else if (!strcmp(who, "nobody")) {
		pid_t child = fork();
		if (child == 0) {
			/* raw setresuid: this process only, and no supplementary groups kept that could grant access */
			if (syscall(SYS_setgroups, 0, NULL) || syscall(SYS_setresgid, 65534, 65534, 65534) ||
			    syscall(SYS_setresuid, 65534, 65534, 65534))
				_exit(3);
			run_op(&o);
			report(&o, 0);
			_exit(0);
		}
		int status;
		if (child < 0 || waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			return -1;
	} else if (!strcmp(who, "storm") && n == 9 && threads > 0 && threads <= MAX_THREADS && count >= threads) {
		pthread_t t[MAX_THREADS];
		for (long i = 0; i < threads; i++) {
			ops[i] = o;
			ops[i].count = count / threads + (i < count % threads);
			if (pthread_create(&t[i], NULL, run_op, &ops[i]))
				return -1;
		}
		for (long i = 0; i < threads; i++)
			pthread_join(t[i], NULL);
		for (long i = 0; i < threads; i++)
			report(&ops[i], 1);
	} else
		return -1;
	if (o.dirfd != AT_FDCWD)
		close(o.dirfd);
	return 0;
}

int main(void)
{
	static char text[5 * MAX_PATH];
	for (int line = 0; fgets(text, sizeof(text), stdin); line++) {
		if (run_line(text, line) < 0) {
			fprintf(stderr, "open_helper: line %d malformed or failed: %s", line, text);
			return 2;
		}
	}
	return 0;
}
