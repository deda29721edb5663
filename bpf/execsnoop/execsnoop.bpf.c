// SPDX-License-Identifier: GPL-2.0
/* execsnoop, libbpf CO-RE version, kernel side.
 *
 * sys_enter_execve saves pid, comm and argv in a hash map keyed by the thread id; sys_exit_execve
 * adds the return value and the parent's pid and sends the event to user space (execsnoop.c).
 * Compiled once against vmlinux.h; libbpf relocates the task_struct field offsets (CO-RE) to
 * whatever kernel it is loaded on. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "execsnoop.h"

/* The event of each exec in flight, keyed by tid: the lower 32 bits of bpf_get_current_pid_tgid(),
 * as libbpf-tools does. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct event);
} execs SEC(".maps");

/* A 2.6 KiB event does not fit the 512-byte BPF stack: build it in a per-CPU slot instead. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct event);
} scratch SEC(".maps");

/* A perf buffer rather than a ring buffer (5.8+), so that 5.4-era kernels work too. */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_execve")
int handle_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	const char *const *argv = (const char *const *)ctx->args[1];
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid, zero = 0;
	const char *arg;
	struct event *e;
	char next;
	long len;
	int i;

	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	e->pid = pid_tgid >> 32;
	e->ppid = 0;
	e->ret = 0;
	e->args_count = 0;
	e->args_truncated = 0;
	e->args_dropped = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));

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

	bpf_map_update_elem(&execs, &tid, e, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int handle_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct task_struct *task;
	struct event *e;

	/* An exec from a non-main thread misses here: de_thread() gave the caller the process id
	 * as its tid before this tracepoint fires. */
	e = bpf_map_lookup_elem(&execs, &tid);
	if (!e)
		return 0;
	e->ret = ctx->ret;
	task = (struct task_struct *)bpf_get_current_task();
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, e, sizeof(*e));
	bpf_map_delete_elem(&execs, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
