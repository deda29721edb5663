// SPDX-License-Identifier: GPL-2.0
/* counter, libbpf CO-RE version, user side: loads one of counter.bpf.c's two programs (the
 * tracepoint, or with --kprobe the kprobe), attaches it, and prints the maps when told to stop.
 *
 * Output (stdout): once attached, "Counting execve calls... Hit Ctrl-C to end."; on SIGINT or
 * SIGTERM, "PID     COUNT", one "%-7d %d" line per process (by pid), then "TOTAL   <n>", exit 0.
 * Errors: stderr, exit 1; bad usage: exit 2. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "counter.skel.h"

#define MAX_PIDS 10240 /* per_pid's max_entries */

static int print_libbpf_warnings(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static const char *hint(int err, const char *otherwise)
{
	return err == EPERM || err == EACCES ? "run as root or grant CAP_BPF+CAP_PERFMON" : otherwise;
}

/* libbpf attaches a kprobe through the perf "kprobe" PMU (4.17+), else through tracefs's
 * kprobe_events; a kernel built without CONFIG_KPROBES has neither. */
static bool kprobes_available(void)
{
	return !access("/sys/bus/event_source/devices/kprobe/type", F_OK) ||
	       !access("/sys/kernel/tracing/kprobe_events", F_OK) ||
	       !access("/sys/kernel/debug/tracing/kprobe_events", F_OK);
}

static int by_value(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static int print_counts(struct counter_bpf *skel)
{
	static __u32 pids[MAX_PIDS];
	__u32 zero = 0, n = 0, i;
	__u64 count, total;

	while (n < MAX_PIDS && !bpf_map__get_next_key(skel->maps.per_pid, n ? &pids[n - 1] : NULL,
						      &pids[n], sizeof(pids[n])))
		n++;
	qsort(pids, n, sizeof(pids[0]), by_value);
	printf("%-7s %s\n", "PID", "COUNT");
	for (i = 0; i < n; i++)
		if (!bpf_map__lookup_elem(skel->maps.per_pid, &pids[i], sizeof(pids[i]), &count,
					  sizeof(count), 0))
			printf("%-7u %llu\n", pids[i], (unsigned long long)count);
	if (bpf_map__lookup_elem(skel->maps.total, &zero, sizeof(zero), &total, sizeof(total), 0)) {
		fprintf(stderr, "read total: %s\n", strerror(errno));
		return 1;
	}
	printf("%-7s %llu\n", "TOTAL", (unsigned long long)total);
	return 0;
}

int main(int argc, char **argv)
{
	bool kprobe = argc == 2 && !strcmp(argv[1], "--kprobe");
	struct counter_bpf *skel;
	sigset_t stop;
	int err, sig;

	if (argc > 2 || (argc == 2 && !kprobe)) {
		fprintf(stderr, "usage: %s [--kprobe] (Ctrl-C prints the counts)\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Held until sigwait() below, so a stop request never ends the process before the counts. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	libbpf_set_print(print_libbpf_warnings);

	if (kprobe && !kprobes_available()) {
		fprintf(stderr, "attach ksyscall/execve: kprobes are not available on this kernel "
				"(CONFIG_KPROBES is not set; run without --kprobe to use the tracepoint)\n");
		return 1;
	}
	skel = counter_bpf__open();
	if (!skel) {
		err = errno;
		fprintf(stderr, "open counter.bpf.o: %s\n", strerror(err));
		return 1;
	}
	/* Only one way in: the other program is neither loaded nor attached. */
	bpf_program__set_autoload(kprobe ? skel->progs.count_execve_tracepoint
					 : skel->progs.count_execve_kprobe, false);
	err = counter_bpf__load(skel);
	if (err) {
		err = -err;
		fprintf(stderr, "load counter.bpf.o: %s (%s)\n", strerror(err),
			hint(err, "libbpf's messages above say why"));
		goto out;
	}
	err = counter_bpf__attach(skel);
	if (err) {
		err = -err;
		fprintf(stderr, "attach %s: %s (%s)\n", kprobe ? "ksyscall/execve" : "sys_enter_execve",
			strerror(err), hint(err, kprobe ? "libbpf's messages above say why"
					       : "is tracefs mounted? mount -t tracefs tracefs /sys/kernel/tracing"));
		goto out;
	}

	printf("Counting execve calls... Hit Ctrl-C to end.\n");
	sigwait(&stop, &sig);
	/* Detach first, so the counts printed are final. */
	counter_bpf__detach(skel);
	err = print_counts(skel);
out:
	counter_bpf__destroy(skel);
	return err ? 1 : 0;
}
