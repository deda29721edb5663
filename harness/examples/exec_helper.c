// SPDX-License-Identifier: GPL-2.0
/* The workload's execs that Node cannot do itself. Built by `make -C bpf` into build/bpf/exec_helper.
 *
 *   exec_helper thread FILE ARGV0 [ARG...]      exec from a non-main thread
 *   exec_helper threadfork FILE ARGV0 [ARG...]  a non-main thread forks; the child execs (its parent is a thread)
 *   exec_helper execveat FILE ARGV0 [ARG...]    execveat(AT_FDCWD, FILE, ...)
 *   exec_helper fexecve FILE ARGV0 [ARG...]     FILE copied into a memfd, then execveat(fd, "", ...,
 *                                               AT_EMPTY_PATH): glibc's fexecve(), a program with no path
 *   exec_helper opath FILE ARGV0 [ARG...]       execveat(open(FILE, O_PATH), "", ..., AT_EMPTY_PATH)
 *   exec_helper int80 FILE ARGV0 [ARG...]       execve through the 32-bit entry (int $0x80), its strings
 *                                               and pointers in this static non-PIE program's .bss,
 *                                               below 4 GiB: no execve or execveat tracepoint fires
 *   exec_helper noargv FILE                     execve(FILE, {NULL}, ...): an argv of size 0
 *   exec_helper big N FILE ARGV0 [ARG...]       execve with one more argument of N bytes ('B'): E2BIG
 *   exec_helper bytes FILE ARGV0 [ARG...]       execve with each \xHH in the arguments made that byte
 *   exec_helper pidns FILE ARGV0 [ARG...]       a child in a new pid namespace (pid 1 there) execs
 *   exec_helper doors N FILE ARGV0 [ARG...]     DOORS_PROCS processes at once, N execs in all, each a
 *                                               child exec'ing FILE ARGV0 ARG... I through door I % 3:
 *                                               execve, execveat of a memfd holding FILE, int $0x80
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
 * (storm adds "i":I, fexecve and opath "fd":FD), so the workload knows the truth a tracer should report.
 * The modes above whose FILE is this helper pass LAB_EXEC_REPORT=1 in the new program's environment:
 * it then writes {"after":1,"pid":P,"argc":N,"comm":"..."} and exits 0 — what the kernel really gave
 * the new program (its comm after an exec by fd, its argc after an argv of size 0), measured, not guessed. A failed exec: a line
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
#include <sched.h>
#include <stdbool.h>
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
static int report_fd = -1;
/* The new program's environment in the modes whose FILE reports what it got (see above). */
static char *report_env[] = { "LAB_EXEC_REPORT=1", NULL };

static void report(void)
{
	char comm[17] = "";

	prctl(PR_GET_NAME, comm);
	/* comm is a file's basename cut to 15 bytes: no quote or backslash in the workload's */
	printf("{\"pid\":%d,\"tid\":%ld,\"ppid\":%d,\"comm\":\"%s\"", getpid(), syscall(SYS_gettid), getppid(), comm);
	if (storm_index >= 0)
		printf(",\"i\":%ld", storm_index);
	if (report_fd >= 0)
		printf(",\"fd\":%d", report_fd);
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

/* threadfork: a non-main thread forks, and the child execs. The child's real_parent is that thread, whose
 * pid (a thread id) is not its process's: the parent pid is the thread's tgid, what getppid() says.
 * The thread waits for the child, so the child keeps that parent until its exec is done. */
static int threadfork_status = 126;

static void *fork_from_thread(void *unused)
{
	pid_t child;
	int status;

	(void)unused;
	prctl(PR_SET_NAME, "fork-thread");
	fflush(stdout);
	child = fork();
	if (child < 0) {
		perror("exec_helper: fork");
		return NULL;
	}
	if (child == 0) {
		report();
		execv(file, args);
		_exit(failed("execv"));
	}
	if (waitpid(child, &status, 0) == child && WIFEXITED(status))
		threadfork_status = WEXITSTATUS(status);
	return NULL;
}

static int threadfork_exec(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, fork_from_thread, NULL)) {
		perror("exec_helper: pthread_create");
		return 126;
	}
	pthread_join(t, NULL);
	return threadfork_status;
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

/* The memfd again, opened read-only, and the writable fd closed: before 6.11 exec refuses a file
 * open for writing (ETXTBSY). */
static int read_only(int fd)
{
	char path[64];
	int ro;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY);
	close(fd);
	return ro;
}

/* A memfd holding a copy of FILE, read-only; -1 on failure. */
static int memfd_copy(const char *name)
{
	char buf[65536];
	ssize_t n;
	int in = open(file, O_RDONLY), fd = memfd_create(name, 0);

	if (in < 0 || fd < 0)
		return -1;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(fd, buf, n) != n)
			return -1;
	close(in);
	return read_only(fd);
}

/* glibc's fexecve(): the program is the memfd, never a path. */
static int fexecve_exec(void)
{
	int fd = memfd_copy("lab-fexecve");

	if (fd < 0)
		return failed("memfd copy");
	report_fd = fd;
	report();
	syscall(SYS_execveat, fd, "", args, report_env, AT_EMPTY_PATH);
	return failed("execveat memfd");
}

static int opath_exec(void)
{
	int fd = open(file, O_PATH);

	if (fd < 0)
		return failed("open O_PATH");
	report_fd = fd;
	report();
	syscall(SYS_execveat, fd, "", args, report_env, AT_EMPTY_PATH);
	return failed("execveat O_PATH");
}

/* int $0x80 takes 32-bit pointers: everything it reads is in .bss, which a static non-PIE program
 * (bpf/Makefile: -static -no-pie) keeps below 4 GiB. */
static char path32[4096], strings32[65536];
static unsigned int argv32[256], envp32[2];

static int int80_exec(void)
{
	size_t at = 0, i;
	long ret = 11; /* __NR_execve in the 32-bit table (arch/x86/entry/syscalls/syscall_32.tbl) */

	if ((unsigned long)strings32 > 0xffffffffUL || strlen(file) >= sizeof(path32)) {
		fprintf(stderr, "exec_helper: int80: .bss above 4 GiB (a PIE build?)\n");
		return 126;
	}
	strcpy(path32, file);
	for (i = 0; args[i] && i + 1 < sizeof(argv32) / sizeof(*argv32); i++) {
		size_t n = strlen(args[i]) + 1;

		if (at + n > sizeof(strings32))
			return 126;
		memcpy(strings32 + at, args[i], n);
		argv32[i] = (unsigned int)(unsigned long)(strings32 + at);
		at += n;
	}
	argv32[i] = 0;
	memcpy(strings32 + at, report_env[0], strlen(report_env[0]) + 1);
	envp32[0] = (unsigned int)(unsigned long)(strings32 + at);
	envp32[1] = 0;
	if (storm_index < 0) /* the doors storm reported already */
		report();
	/* the 32-bit entry clobbers r8-r11 in a 64-bit caller */
	asm volatile("int $0x80"
		     : "+a"(ret)
		     : "b"((unsigned long)path32), "c"((unsigned long)argv32), "d"((unsigned long)envp32)
		     : "memory", "r8", "r9", "r10", "r11");
	errno = -ret;
	return failed("int $0x80 execve");
}

static int noargv_exec(void)
{
	/* NULLs past the end too: execsnoop-bpfcc reads argv[1] whatever argv[0] was */
	char *none[] = { NULL, NULL, NULL };

	report();
	execve(file, none, report_env);
	return failed("execve");
}

static int big_exec(long size)
{
	size_t n = 0;
	char **more, *big = malloc(size + 1);

	while (args[n])
		n++;
	more = calloc(n + 2, sizeof(*more));
	if (!more || !big)
		return 126;
	memset(big, 'B', size);
	big[size] = '\0';
	memcpy(more, args, n * sizeof(*args));
	more[n] = big;
	report();
	execve(file, more, environ);
	return failed("execve");
}

static int hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Node can pass only UTF-8 in argv: the bytes that are not come as \xHH and are made bytes here. */
static int bytes_exec(void)
{
	for (char **a = args; *a; a++) {
		char *in = *a, *out = *a;

		while (*in) {
			if (in[0] == '\\' && in[1] == 'x' && hex(in[2]) >= 0 && hex(in[3]) >= 0) {
				*out++ = (char)(hex(in[2]) * 16 + hex(in[3]));
				in += 4;
			} else {
				*out++ = *in++;
			}
		}
		*out = '\0';
	}
	report();
	execve(file, args, environ);
	return failed("execve");
}

/* The child is pid 1 in its namespace; a tracer sees the pid this machine gives it, which the fork
 * returns here. The line is written for the child, before it may exec. */
static int pidns_exec(void)
{
	int pipefd[2], status;
	pid_t child;
	char go;

	if (unshare(CLONE_NEWPID) || pipe(pipefd))
		return failed("unshare(CLONE_NEWPID)");
	child = fork();
	if (child < 0)
		return failed("fork");
	if (child == 0) {
		close(pipefd[1]);
		if (read(pipefd[0], &go, 1) != 1)
			_exit(126);
		execve(file, args, report_env);
		_exit(failed("execve"));
	}
	{
		char comm[17] = "";

		prctl(PR_GET_NAME, comm);
		printf("{\"pid\":%d,\"tid\":%d,\"ppid\":%d,\"comm\":\"%s\"}\n", child, child, getpid(), comm);
		fflush(stdout);
	}
	close(pipefd[0]);
	if (write(pipefd[1], "x", 1) != 1)
		return 126;
	if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status))
		return 126;
	return WEXITSTATUS(status);
}

/* The doors storm: DOORS_PROCS processes at once, each forking its share of the N execs one after the
 * other; exec I goes through door I % 3. Every program started reports what it got (LAB_EXEC_REPORT). */
#define DOORS_PROCS 40
static int doors_storm(long count)
{
	char *index = malloc(24);
	size_t n = 0;
	char **with_index;
	int memfd = memfd_copy("lab-doors"), status, worst = 0;
	pid_t procs[DOORS_PROCS];

	while (args[n])
		n++;
	with_index = calloc(n + 2, sizeof(*with_index));
	if (!with_index || !index || memfd < 0)
		return 126;
	memcpy(with_index, args, n * sizeof(*args));
	with_index[n] = index;
	args = with_index;
	for (int p = 0; p < DOORS_PROCS; p++) {
		procs[p] = fork();
		if (procs[p] < 0)
			return failed("fork");
		if (procs[p])
			continue;
		for (long i = p; i < count; i += DOORS_PROCS) {
			pid_t child;

			snprintf(index, 24, "%ld", i);
			storm_index = i;
			report_fd = i % 3 == 1 ? memfd : -1;
			fflush(stdout);
			child = fork();
			if (child < 0)
				_exit(126);
			if (child == 0) {
				report();
				if (i % 3 == 0)
					execve(file, args, report_env);
				else if (i % 3 == 1)
					syscall(SYS_execveat, memfd, "", args, report_env, AT_EMPTY_PATH);
				else
					_exit(int80_exec());
				_exit(failed("exec"));
			}
			if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
				_exit(126);
		}
		_exit(0);
	}
	for (int p = 0; p < DOORS_PROCS; p++)
		if (waitpid(procs[p], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			worst = 126;
	return worst;
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
	/* argc may be 0 (noargv on a kernel before 5.18): argv[0] is NULL then */
	const char *name = argc == 0 ? "" : strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	const char *mode = argc > 1 ? argv[1] : "";
	int first = 2;
	long count = 0;

	if (getenv("LAB_EXEC_REPORT")) {
		char comm[17] = "";

		prctl(PR_GET_NAME, comm);
		printf("{\"after\":1,\"pid\":%d,\"argc\":%d,\"comm\":\"%s\"}\n", getpid(), argc, comm);
		return 0;
	}
	if (argc > 0 && (!strcmp(name, "true") || !strncmp(name, "true-", 5)))
		return 0;
	if (!strcmp(mode, "storm") || !strcmp(mode, "spawn") || !strcmp(mode, "big") || !strcmp(mode, "doors")) {
		count = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
		first = 3;
	}
	static const char *const single[] = { "thread", "threadfork", "execveat", "untouched", "fexecve", "opath", "int80", "bytes", "pidns", NULL };
	bool known = !strcmp(mode, "noargv") ? argc == 3 : false;

	for (int i = 0; single[i]; i++)
		known |= !strcmp(mode, single[i]) && argc >= first + 2;
	known |= (!strcmp(mode, "storm") || !strcmp(mode, "spawn") || !strcmp(mode, "big") || !strcmp(mode, "doors")) && count > 0 &&
		 argc >= first + 2;
	if (!known) {
		fprintf(stderr, "usage: exec_helper thread|threadfork|execveat|untouched|fexecve|opath|int80|bytes|pidns FILE ARGV0 [ARG...]\n"
				"       exec_helper noargv FILE\n"
				"       exec_helper storm|spawn|big|doors N FILE ARGV0 [ARG...]\n");
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
	if (!strcmp(mode, "noargv"))
		return noargv_exec();
	if (!strcmp(mode, "fexecve"))
		return fexecve_exec();
	if (!strcmp(mode, "opath"))
		return opath_exec();
	if (!strcmp(mode, "int80"))
		return int80_exec();
	if (!strcmp(mode, "big"))
		return big_exec(count);
	if (!strcmp(mode, "bytes"))
		return bytes_exec();
	if (!strcmp(mode, "pidns"))
		return pidns_exec();
	if (!strcmp(mode, "thread"))
		return thread_exec();
	if (!strcmp(mode, "threadfork"))
		return threadfork_exec();
	if (!strcmp(mode, "execveat"))
		return execveat_exec();
	if (!strcmp(mode, "untouched"))
		return untouched_exec();
	if (!strcmp(mode, "spawn"))
		return spawn_storm(count);
	if (!strcmp(mode, "doors"))
		return doors_storm(count);
	return storm(count);
}
