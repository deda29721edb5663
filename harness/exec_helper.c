// SPDX-License-Identifier: GPL-2.0
/* The workload's execs that Node cannot do itself. Built by `make -C bpf` into build/bpf/exec_helper.
 *
 *   exec_helper thread FILE ARGV0 [ARG...]      exec from a non-main thread
 *   exec_helper execveat FILE ARGV0 [ARG...]    execveat(AT_FDCWD, FILE, ...)
 *   exec_helper untouched FILE ARGV0 [ARG...]   execve with argv's strings in memory this process
 *                                               has never touched
 *   exec_helper storm N FILE ARGV0 [ARG...]     N children one after the other, each exec'ing
 *                                               FILE ARGV0 ARG... I (I = 0..N-1) from a non-main thread
 *   exec_helper spawn N FILE ARGV0 [ARG...]     ./lab bench's exec storm: N children one after the other,
 *                                               vfork + execv FILE ARGV0 ARG... I, as fast as exec goes,
 *                                               no line per exec; at the end one JSON line:
 *                                               {"n":N,"ok":K,"ns":T,"pids":[...]}
 *   true [ARG...]                               a copy of it named "true" or "true-*" is true(1): exits 0
 *
 * It is linked statically, and the storm execs a copy named "true" in the workload's temporary
 * directory: in a QEMU guest whose root comes over 9p, an exec of /bin/true spends most of its time
 * loading libc through 9p (66 ms per exec under TCG, measured, against 25 ms for this).
 *
 * Before each exec it writes one JSON line on stdout saying who is about to exec:
 *   {"pid":P,"tid":T,"ppid":PP,"comm":"..."}
 * (storm adds "i":I), so the workload knows the truth a tracer should report. A failed exec: a line
 * on stderr and exit 126 (127 for ENOENT, as a shell does).
 *
 * Why "untouched" reads as nothing at sys_enter_execve: a BPF program runs with page faults disabled,
 * so bpf_probe_read_user_str() of a page that is not yet mapped into the process fails with -EFAULT
 * instead of faulting it in. The strings here live in a memfd mapping that is never read or written
 * through; execve itself copies them (get_user_pages faults them in) after the tracepoint has fired.
 * A small C program passing string literals to execv hits the same thing when .rodata was never read. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *file;
static char **args; /* NULL-terminated, argv[0] first */
static long storm_index = -1;

static void report(void)
{
	char comm[17] = "";

	prctl(PR_GET_NAME, comm);
	/* comm is a file's basename cut to 15 bytes: no quote or backslash in the workload's */
	printf("{\"pid\":%d,\"tid\":%ld,\"ppid\":%d,\"comm\":\"%s\"", getpid(), syscall(SYS_gettid), getppid(), comm);
	if (storm_index >= 0)
		printf(",\"i\":%ld", storm_index);
	printf("}\n");
	fflush(stdout);
}

/* A copy followed by FIXED_READ bytes this process has written: a tracer that reads a fixed 128 bytes
 * from a string (execsnoop-bpfcc) must not run into a heap page nobody has touched yet, which a BPF
 * program cannot fault in (the filename of a failed exec read as "" once on 6.12 without it). */
#define FIXED_READ 128
static char *touched_copy(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n + FIXED_READ);

	if (!p) {
		perror("exec_helper: malloc");
		exit(126);
	}
	memset(p, 0, n + FIXED_READ);
	memcpy(p, s, n);
	return p;
}

static int failed(const char *how)
{
	int err = errno;

	fprintf(stderr, "exec_helper: %s %s: %s\n", how, file, strerror(err));
	return err == ENOENT ? 127 : 126;
}

static void *exec_from_thread(void *unused)
{
	(void)unused;
	prctl(PR_SET_NAME, "exec-thread");
	report();
	execv(file, args);
	exit(failed("execv"));
}

/* Returns only if the exec failed: the kernel kills the other threads when it succeeds. */
static int thread_exec(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, exec_from_thread, NULL)) {
		perror("exec_helper: pthread_create");
		return 126;
	}
	pthread_join(t, NULL);
	return 126;
}

static int execveat_exec(void)
{
	report();
	syscall(SYS_execveat, AT_FDCWD, file, args, environ, 0);
	return failed("execveat");
}

/* Copies every argument into a memfd, maps it without touching the mapping, and execs with argv
 * pointing into it. The copies go through write(), never through the mapping. */
static int untouched_exec(void)
{
	size_t n = 0, size = 0, at = 0, i;
	char **moved, *map;
	int fd;

	while (args[n])
		size += strlen(args[n++]) + 1;
	moved = calloc(n + 1, sizeof(*moved));
	fd = memfd_create("exec_helper_argv", 0);
	if (!moved || fd < 0) {
		perror("exec_helper: memfd_create");
		return 126;
	}
	for (i = 0; i < n; i++)
		if (write(fd, args[i], strlen(args[i]) + 1) < 0) {
			perror("exec_helper: write");
			return 126;
		}
	map = mmap(NULL, size ? size : 1, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		perror("exec_helper: mmap");
		return 126;
	}
	for (i = 0; i < n; i++) {
		moved[i] = map + at; /* an address computed, not a byte read */
		at += strlen(args[i]) + 1;
	}
	report();
	execve(file, moved, environ);
	return failed("execve");
}

static int storm(long count)
{
	/* on the heap like the other arguments (see main()): near the end of .bss, a fixed 128-byte read
	 * by a tracer can run into the unmapped gap before the heap */
	char *index = malloc(24);
	size_t n = 0;
	char **with_index;
	long i;
	int status, worst = 0;

	while (args[n])
		n++;
	with_index = calloc(n + 2, sizeof(*with_index));
	if (!with_index || !index)
		return 126;
	memcpy(with_index, args, n * sizeof(*args));
	with_index[n] = index;
	args = with_index;
	for (i = 0; i < count; i++) {
		pid_t child;

		snprintf(index, 24, "%ld", i);
		storm_index = i;
		fflush(stdout);
		child = fork();
		if (child < 0) {
			perror("exec_helper: fork");
			return 126;
		}
		if (child == 0)
			_exit(thread_exec());
		/* one at a time: a burst as fast as exec goes, without a fork bomb */
		if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status))
			worst = 126;
		else if (WEXITSTATUS(status) > worst)
			worst = WEXITSTATUS(status);
	}
	return worst;
}

/* The bench storm: vfork (the child borrows our memory until it execs, so no page tables are copied)
 * and execv, one child at a time, timed with CLOCK_MONOTONIC. Nothing is written per exec: the cost
 * measured is exec's, not ours. */
static int spawn_storm(long count)
{
	char *index = malloc(24);
	size_t n = 0;
	char **with_index;
	pid_t *pids = calloc(count, sizeof(*pids));
	struct timespec t0, t1;
	long i, ok = 0;
	int status;

	while (args[n])
		n++;
	with_index = calloc(n + 2, sizeof(*with_index));
	if (!with_index || !index || !pids)
		return 126;
	memcpy(with_index, args, n * sizeof(*args));
	with_index[n] = index;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < count; i++) {
		pid_t child;

		snprintf(index, 24, "%ld", i);
		child = vfork();
		if (child < 0) {
			perror("exec_helper: vfork");
			return 126;
		}
		if (child == 0) {
			execv(file, with_index);
			_exit(127);
		}
		pids[i] = child;
		if (waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0)
			ok++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("{\"n\":%ld,\"ok\":%ld,\"ns\":%lld,\"pids\":[", count, ok,
	       (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
	for (i = 0; i < count; i++)
		printf(i ? ",%d" : "%d", pids[i]);
	printf("]}\n");
	return ok == count ? 0 : 126;
}

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	const char *mode = argc > 1 ? argv[1] : "";
	int first = 2;
	long count = 0;

	if (!strcmp(name, "true") || !strncmp(name, "true-", 5))
		return 0;
	if (!strcmp(mode, "storm") || !strcmp(mode, "spawn")) {
		count = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
		first = 3;
	}
	if (argc < first + 2 || (strcmp(mode, "thread") && strcmp(mode, "execveat") && strcmp(mode, "untouched") &&
				 ((strcmp(mode, "storm") && strcmp(mode, "spawn")) || count <= 0))) {
		fprintf(stderr, "usage: exec_helper thread|execveat|untouched FILE ARGV0 [ARG...]\n"
				"       exec_helper storm|spawn N FILE ARGV0 [ARG...]\n");
		return 2;
	}
	/* Copies on the heap: the strings of our own argv sit at the very top of the stack, and a tracer
	 * reading a fixed 128 bytes per argument (execsnoop-bpfcc) faults past its end. A shell's
	 * arguments live on its heap too. */
	args = calloc(argc - first + 1, sizeof(*args)); /* FILE, argv, NULL */
	if (!args)
		return 126;
	for (int i = first; i < argc; i++)
		args[i - first] = touched_copy(argv[i]);
	file = *args++;
	if (!strcmp(mode, "thread"))
		return thread_exec();
	if (!strcmp(mode, "execveat"))
		return execveat_exec();
	if (!strcmp(mode, "untouched"))
		return untouched_exec();
	if (!strcmp(mode, "spawn"))
		return spawn_storm(count);
	return storm(count);
}
