// SPDX-License-Identifier: GPL-2.0
/* execsnoop, libbpf CO-RE version, user side: loads execsnoop.bpf.o through its skeleton, attaches
 * the two tracepoints and prints one line per exec from the perf buffer.
 *
 * Output (stdout, line-buffered): once attached, the header
 *   PCOMM            PID     PPID    RET SYSCALL  ARGS
 * then one line per exec: "%-16s %-7d %-7d %3d %-8s " comm, pid, ppid, ret, the door (execve,
 * execveat, execveat:/dev/fd/N for an exec by fd with the name the kernel gave it, or ? when no
 * syscall tracepoint saw it start: the 32-bit entry), and the arguments separated by spaces. (The
 * course's table has no SYSCALL column: it traces execve alone.) An argument is quoted only when
 * needed: '...' (an embedded ' as '\''), or $'...' with backslash escapes when it holds a control
 * character or bytes that are not UTF-8 (each such byte as \xHH, so the output is always UTF-8
 * text and the bytes come back exactly). A cut argument ends in "..." (inside the
 * quotes when quoted); a final unquoted "..." means argv had more than MAX_ARGS entries; an
 * unquoted <unreadable> stands for an argument the kernel side could not read.
 * SIGINT or SIGTERM: print what is still buffered, exit 0. Errors: stderr, exit 1. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "execsnoop.h"
#include "execsnoop.skel.h"

#define PERF_BUFFER_PAGES 64
#define POLL_TIMEOUT_MS 100

static volatile sig_atomic_t exiting;

/* With LAB_PHASES=1, one "lab-phase NAME MS" line on stderr per start-up phase, the ms since the previous
 * one (the first: since the process started, from /proc/self/stat): ./lab bench shows where time goes. */
static double phase_last = -1;

static double boottime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void phase(const char *name)
{
	double now;

	if (!getenv("LAB_PHASES") || strcmp(getenv("LAB_PHASES"), "1"))
		return;
	now = boottime_ms();
	if (phase_last < 0) {
		unsigned long long start = 0;
		FILE *f = fopen("/proc/self/stat", "r");
		char buf[1024], *p = NULL;

		if (f && fgets(buf, sizeof(buf), f))
			p = strrchr(buf, ')');
		/* field 22, starttime in clock ticks since boot: the 20th after the comm's ')' */
		for (int i = 0; p && i < 20; i++)
			p = strchr(p + 1, ' ');
		if (p)
			start = strtoull(p + 1, NULL, 10);
		if (f)
			fclose(f);
		phase_last = start * 1e3 / sysconf(_SC_CLK_TCK);
	}
	fprintf(stderr, "lab-phase %s %.1f\n", name, now - phase_last);
	phase_last = now;
}

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

static bool verbose;

/* libbpf's warnings always; with -v also its debug log: sections, maps, relocations, CO-RE. */
static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN || verbose ? vfprintf(stderr, fmt, ap) : 0;
}

/* The hint for an error: permissions are the usual cause, otherwise the step's own. */
static const char *hint(int err, const char *otherwise)
{
	return err == EPERM || err == EACCES ? "run as root or grant CAP_BPF+CAP_PERFMON" : otherwise;
}

static bool is_plain(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr("@%+=:,./-_", *s) && !(*s >= 'a' && *s <= 'z') &&
		    !(*s >= 'A' && *s <= 'Z') && !(*s >= '0' && *s <= '9'))
			return false;
	return true;
}

/* The length of the valid UTF-8 sequence at s, or 0 (a stray, overlong or surrogate byte). */
static int utf8_len(const unsigned char *s)
{
	int n = s[0] < 0x80 ? 1 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3 :
		s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;

	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((n == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (n == 3 && s[0] == 0xed && s[1] >= 0xa0) ||
	    (n == 4 && s[0] == 0xf0 && s[1] < 0x90) || (n == 4 && s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return n;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || !utf8_len((const unsigned char *)s))
			return true;
	return false;
}

/* Prints one argument as a shell would need it typed, then the cut marker. */
static void print_arg(const char *s, const char *cut)
{
	if (is_plain(s)) {
		printf("%s%s", s, cut);
	} else if (has_control(s)) {
		fputs("$'", stdout);
		for (; *s; s++) {
			unsigned char c = *s;
			if (c == '\n')
				fputs("\\n", stdout);
			else if (c == '\t')
				fputs("\\t", stdout);
			else if (c == '\r')
				fputs("\\r", stdout);
			else if (c == '\\' || c == '\'')
				printf("\\%c", c);
			else if (c < 0x20 || c == 0x7f || !utf8_len((const unsigned char *)s))
				printf("\\x%02x", c);
			else {
				int n = utf8_len((const unsigned char *)s);

				fwrite(s, 1, n, stdout);
				s += n - 1;
			}
		}
		printf("%s'", cut);
	} else {
		putchar('\'');
		for (; *s; s++)
			if (*s == '\'')
				fputs("'\\''", stdout);
			else
				putchar(*s);
		printf("%s'", cut);
	}
}

static void handle_event(void *ctx, int cpu, void *data, __u32 size)
{
	const struct event *e = data;
	__u32 i;

	(void)ctx, (void)cpu;
	if (size < sizeof(*e))
		return;
	printf("%-16s %-7u %-7u %3d ", e->comm, e->pid, e->ppid, e->ret);
	if (e->syscall == SYSCALL_EXECVEAT && e->filename[0])
		printf("execveat:%-8s ", e->filename);
	else
		printf("%-8s ", e->syscall == SYSCALL_EXECVE ? "execve" : e->syscall == SYSCALL_EXECVEAT ? "execveat" : "?");
	for (i = 0; i < e->args_count && i < MAX_ARGS; i++) {
		if (i)
			putchar(' ');
		if (e->args_unreadable >> i & 1)
			fputs(UNREADABLE_MARK, stdout);
		else
			print_arg(&e->args[i * ARGSIZE], e->args_truncated >> i & 1 ? "..." : "");
	}
	if (e->args_dropped)
		fputs(" ...", stdout);
	putchar('\n');
}

static void handle_lost(void *ctx, int cpu, __u64 count)
{
	(void)ctx;
	fprintf(stderr, "read perf buffer: lost %llu events on CPU %d\n", (unsigned long long)count, cpu);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct perf_buffer *pb = NULL;
	struct execsnoop_bpf *skel;
	int err;

	if (argc == 2 && strcmp(argv[1], "-v") == 0) {
		verbose = true;
	} else if (argc > 1) {
		fprintf(stderr, "usage: %s [-v] (-v: libbpf's debug log on stderr; Ctrl-C ends)\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* No SA_RESTART: the poll below must return on a signal. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	libbpf_set_print(print_libbpf);

	phase("start");
	skel = execsnoop_bpf__open();
	phase("open");
	if (skel && execsnoop_bpf__load(skel)) {
		execsnoop_bpf__destroy(skel);
		skel = NULL;
	}
	phase("load");
	if (!skel) {
		err = errno;
		fprintf(stderr, "load execsnoop.bpf.o: %s (%s)\n", strerror(err),
			hint(err, "libbpf's messages above say why"));
		return 1;
	}
	/* Open the perf buffer before attaching, so no event finds it without a reader. */
	pb = perf_buffer__new(bpf_map__fd(skel->maps.events), PERF_BUFFER_PAGES, handle_event,
			      handle_lost, NULL, NULL);
	if (!pb) {
		err = errno;
		fprintf(stderr, "open perf buffer: %s (%s)\n", strerror(err),
			hint(err, "libbpf's messages above say why"));
		goto out;
	}
	err = execsnoop_bpf__attach(skel);
	if (err) {
		err = -err;
		fprintf(stderr, "attach the exec tracepoints: %s (%s)\n", strerror(err),
			hint(err, "is tracefs mounted? mount -t tracefs tracefs /sys/kernel/tracing"));
		goto out;
	}
	phase("attach");

	printf("%-16s %-7s %-7s %3s %-8s %s\n", "PCOMM", "PID", "PPID", "RET", "SYSCALL", "ARGS");
	while (!exiting) {
		err = perf_buffer__poll(pb, POLL_TIMEOUT_MS);
		if (err < 0 && err != -EINTR) {
			err = -err;
			fprintf(stderr, "poll perf buffer: %s\n", strerror(err));
			goto out;
		}
	}
	perf_buffer__consume(pb);
	err = 0;
out:
	perf_buffer__free(pb);
	execsnoop_bpf__destroy(skel);
	return err ? 1 : 0;
}
