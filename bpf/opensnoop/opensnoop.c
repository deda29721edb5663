// SPDX-License-Identifier: GPL-2.0
/* opensnoop, libbpf CO-RE version, user side: loads opensnoop.bpf.o through its skeleton, attaches the
 * six open tracepoints and prints one line per open from the ring buffer.
 *
 * Output (stdout, line-buffered), as format.ts's formatRow writes it: once every probe is attached,
 * the header
 *   PID     TID     COMM             SYSCALL FLAGS    MODE   RET PATH
 * then one row per open, "%-7u %-7u %-16s %-7s %08o %04o %5d %s": pid, tid, comm, the door (open,
 * openat, openat2), flags and mode in octal, the return value (the new fd, or -errno) and the path:
 * each byte 0x20-0x7e as itself but the backslash, written \\; any other byte as \xHH; a path longer
 * than PATH_CAP bytes as its first PATH_CAP, then "...". A path the kernel side could not read (the
 * open failed with EFAULT) is empty: the row ends after the return value's space.
 * SIGINT or SIGTERM: print what is still buffered, exit 0. Errors: stderr, exit 1; bad usage: 2.
 * Events the ring buffer had no room for are counted on stderr ("lost N events"). */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "opensnoop.h"
#include "opensnoop.skel.h"

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

/* libbpf's warnings always (a rejected program's verifier log among them); with -v also its debug
 * log: sections, maps, relocations, CO-RE. */
static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN || verbose ? vfprintf(stderr, fmt, ap) : 0;
}

/* The hint for an error: permissions are the usual cause, otherwise the step's own. */
static const char *hint(int err, const char *otherwise)
{
	return err == EPERM || err == EACCES ? "run as root or grant CAP_BPF+CAP_PERFMON" : otherwise;
}

static const char *const doors[] = {
	[SYSCALL_OPEN] = "open",
	[SYSCALL_OPENAT] = "openat",
	[SYSCALL_OPENAT2] = "openat2",
};

/* The path as format.ts's escapePath writes it, so that a row stays one line of ASCII. */
static void print_path(const struct event *e)
{
	/* bpf_probe_read_user_str()'s return: the bytes read with the NUL, or -errno */
	int len = (int)e->path_len, n, i;
	bool cut = len == PATH_BUF;

	if (len <= 0)
		return;
	n = cut ? PATH_CAP : len - 1;
	for (i = 0; i < n; i++) {
		unsigned char c = e->path[i];

		if (c == '\\')
			fputs("\\\\", stdout);
		else if (c >= 0x20 && c <= 0x7e)
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	if (cut)
		fputs("...", stdout);
}

static int handle_event(void *ctx, void *data, size_t size)
{
	const struct event *e = data;

	(void)ctx;
	if (size < sizeof(*e))
		return 0;
	printf("%-7u %-7u %-16.16s %-7s %08llo %04llo %5d ", e->pid, e->tid, e->comm,
	       e->syscall < sizeof(doors) / sizeof(doors[0]) && doors[e->syscall] ? doors[e->syscall] : "?",
	       (unsigned long long)e->flags, (unsigned long long)e->mode, e->ret);
	print_path(e);
	putchar('\n');
	return 0;
}

/* Reports on stderr what the kernel side counted as lost since the last report. */
static void report_lost(const struct opensnoop_bpf *skel, __u64 *reported)
{
	__u64 lost = __atomic_load_n(&skel->bss->lost_events, __ATOMIC_RELAXED);

	if (lost != *reported) {
		fprintf(stderr, "ring buffer full: lost %llu events\n", (unsigned long long)(lost - *reported));
		*reported = lost;
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct ring_buffer *rb = NULL;
	struct opensnoop_bpf *skel;
	__u64 lost_reported = 0;
	size_t i;
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
	skel = opensnoop_bpf__open();
	phase("open");
	if (skel && opensnoop_bpf__load(skel)) {
		opensnoop_bpf__destroy(skel);
		skel = NULL;
	}
	phase("load");
	if (!skel) {
		err = errno;
		/* EACCES here is the verifier's no (its log is above), not a permission: bpf() says EPERM */
		fprintf(stderr, "load opensnoop.bpf.o: %s (%s)\n", strerror(err),
			err == EPERM ? hint(err, "") : "libbpf's messages above say why");
		return 1;
	}
	/* Open the ring buffer before attaching, so no event finds it without a reader. */
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), handle_event, NULL, NULL);
	if (!rb) {
		err = errno;
		fprintf(stderr, "open ring buffer: %s (%s)\n", strerror(err),
			hint(err, "libbpf's messages above say why"));
		goto out;
	}

	/* Exits first, then enters (opensnoop_bpf__attach() would go in the order of the source): an
	 * enter attached before its exit could save an open whose exit is never seen, an entry that no
	 * exit deletes. */
	struct {
		struct bpf_program *prog;
		struct bpf_link **link;
	} steps[] = {
		{ skel->progs.handle_exit_open, &skel->links.handle_exit_open },
		{ skel->progs.handle_exit_openat, &skel->links.handle_exit_openat },
		{ skel->progs.handle_exit_openat2, &skel->links.handle_exit_openat2 },
		{ skel->progs.handle_enter_open, &skel->links.handle_enter_open },
		{ skel->progs.handle_enter_openat, &skel->links.handle_enter_openat },
		{ skel->progs.handle_enter_openat2, &skel->links.handle_enter_openat2 },
	};
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		/* the link goes into the skeleton, which destroys it */
		*steps[i].link = bpf_program__attach(steps[i].prog);
		if (!*steps[i].link) {
			err = errno;
			fprintf(stderr, "attach %s: %s (%s)\n", bpf_program__section_name(steps[i].prog),
				strerror(err),
				hint(err, "is tracefs mounted? mount -t tracefs tracefs /sys/kernel/tracing"));
			goto out;
		}
	}
	phase("attach");

	printf("%-7s %-7s %-16s %-7s %-8s %-4s %5s %s\n", "PID", "TID", "COMM", "SYSCALL", "FLAGS", "MODE",
	       "RET", "PATH");
	while (!exiting) {
		err = ring_buffer__poll(rb, POLL_TIMEOUT_MS);
		if (err < 0 && err != -EINTR) {
			err = -err;
			fprintf(stderr, "poll ring buffer: %s\n", strerror(err));
			goto out;
		}
		report_lost(skel, &lost_reported);
	}
	/* Detach first, so the drain ends: then print what is still in the ring. */
	opensnoop_bpf__detach(skel);
	err = ring_buffer__consume(rb);
	if (err < 0) {
		err = -err;
		fprintf(stderr, "read ring buffer: %s\n", strerror(err));
		goto out;
	}
	report_lost(skel, &lost_reported);
	err = 0;
out:
	ring_buffer__free(rb);
	opensnoop_bpf__destroy(skel);
	return err ? 1 : 0;
}
