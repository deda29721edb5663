// SPDX-License-Identifier: GPL-2.0
/* The grader's own user side for a student's libbpf execsnoop (lab 4): it loads the student's kernel side
 * through the student's skeleton, as their execsnoop.c does, and prints every event it gets as raw bytes,
 * one "event HEX" line each. It knows no field of the event: the judge on the host finds the parent pid
 * among the event's bytes (harness/grade/tracer-lab.ts, eventField), so the kernel side is graded apart
 * from the student's user side, and this file answers nothing. Built in the grading VM next to the
 * student's build: cc -I.grade event-dump.c -lbpf. It expects the perf event array to be called events,
 * as the course's is. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "execsnoop.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_event(void *ctx, int cpu, void *data, __u32 size)
{
	const unsigned char *b = data;
	__u32 i;

	(void)ctx;
	(void)cpu;
	fputs("event ", stdout);
	for (i = 0; i < size; i++)
		printf("%02x", b[i]);
	putchar('\n');
}

static void on_lost(void *ctx, int cpu, __u64 count)
{
	(void)ctx;
	fprintf(stderr, "lost %llu events on CPU %d\n", (unsigned long long)count, cpu);
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct perf_buffer *pb = NULL;
	struct execsnoop_bpf *skel;
	int err = 0;

	/* no SA_RESTART: perf_buffer__poll must return on SIGINT */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	skel = execsnoop_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "event-dump: load the kernel side: %s\n", strerror(errno));
		return 1;
	}
	pb = perf_buffer__new(bpf_map__fd(skel->maps.events), 64, on_event, on_lost, NULL, NULL);
	if (!pb || execsnoop_bpf__attach(skel)) {
		fprintf(stderr, "event-dump: %s: %s\n", pb ? "attach" : "open the perf buffer", strerror(errno));
		err = 1;
		goto out;
	}
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		err = perf_buffer__poll(pb, 100);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "event-dump: poll: %s\n", strerror(-err));
			break;
		}
		err = 0;
		fflush(stdout);
	}
	perf_buffer__consume(pb);
	fflush(stdout);
out:
	perf_buffer__free(pb);
	execsnoop_bpf__destroy(skel);
	return err ? 1 : 0;
}
