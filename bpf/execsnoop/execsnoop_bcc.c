// SPDX-License-Identifier: GPL-2.0
/* execsnoop, BCC version, kernel side. execsnoop_bcc.py hands this file to BCC, which compiles it
 * at start-up against the running kernel's headers and attaches the TRACEPOINT_PROBEs itself.
 *
 * sys_enter_execve saves pid, comm and argv in a hash map keyed by the thread id; sys_exit_execve
 * adds the return value and the parent's pid and sends the event to user space.
 * The same caps and event layout as the libbpf version (execsnoop.h). */
#include <linux/sched.h>

#define MAX_ARGS 20 /* argv entries kept, argv[0] included */
#define ARGSIZE 128 /* bytes kept per argument, NUL included */

struct event {
	u32 pid;            /* tgid */
	u32 ppid;           /* tgid of the real parent */
	s32 ret;            /* 0 or -errno */
	u32 args_count;     /* argv entries read */
	u32 args_truncated; /* bit i: argument i was cut */
	u32 args_dropped;   /* 1: argv had more than MAX_ARGS entries */
	char comm[TASK_COMM_LEN];
	/* argument i at args[i * ARGSIZE]; u8, so that Python gets the raw bytes past the first NUL */
	u8 args[MAX_ARGS * ARGSIZE];
};

BPF_HASH(execs, u32, struct event);
/* A 2.6 KiB event does not fit the 512-byte BPF stack: build it in a per-CPU slot instead. */
BPF_PERCPU_ARRAY(scratch, struct event, 1);
BPF_PERF_OUTPUT(events);

TRACEPOINT_PROBE(syscalls, sys_enter_execve)
{
	const char *const *argv = (const char *const *)args->argv;
	u64 pid_tgid = bpf_get_current_pid_tgid();
	u32 tid = (u32)pid_tgid;
	int zero = 0, i;
	const char *arg;
	struct event *e;
	char next;
	long len;

	e = scratch.lookup(&zero);
	if (!e)
		return 0;
	e->pid = pid_tgid >> 32;
	e->ppid = 0;
	e->ret = 0;
	e->args_count = 0;
	e->args_truncated = 0;
	e->args_dropped = 0;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));

#pragma unroll
	for (i = 0; i < MAX_ARGS; i++) {
		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) || !arg)
			break;
		len = bpf_probe_read_user_str(&e->args[i * ARGSIZE], ARGSIZE, arg);
		if (len < 0)
			break;
		/* A full buffer is a cut argument, unless the byte it replaced with NUL was one. */
		if (len == ARGSIZE && !bpf_probe_read_user(&next, 1, arg + ARGSIZE - 1) && next)
			e->args_truncated |= 1u << i;
		e->args_count++;
	}
	if (i == MAX_ARGS && !bpf_probe_read_user(&arg, sizeof(arg), &argv[MAX_ARGS]) && arg)
		e->args_dropped = 1;

	execs.update(&tid, e);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_execve)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct task_struct *task;
	struct event *e;

	/* An exec from a non-main thread misses here: de_thread() gave the caller the process id
	 * as its tid before this tracepoint fires. */
	e = execs.lookup(&tid);
	if (!e)
		return 0;
	e->ret = args->ret;
	task = (struct task_struct *)bpf_get_current_task();
	/* BCC turns this pointer walk into bpf_probe_read_kernel() calls. */
	e->ppid = task->real_parent->tgid;
	events.perf_submit(args, e, sizeof(*e));
	execs.delete(&tid);
	return 0;
}
