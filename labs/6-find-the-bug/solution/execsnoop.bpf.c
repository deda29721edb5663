// SPDX-License-Identifier: GPL-2.0
/* execsnoop, libbpf CO-RE version, kernel side.
 *
 * sys_enter_execve saves pid, comm and argv in a hash map keyed by the process id; sys_exit_execve
 * adds the return value and the parent's pid, reads again any argument enter could not read, and
 * sends the event to user space (execsnoop.c). Compiled once against vmlinux.h; libbpf relocates
 * the task_struct and mm_struct field offsets (CO-RE) to whatever kernel it is loaded on. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "execsnoop.h"

/* Execs in flight, at most one per process: between a process's sys_enter_execve and its
 * sys_exit_execve. Every exit deletes its entry, so 512 is room for 512 processes exec'ing at the
 * same moment, not a budget that runs out (the course's tid-keyed map ran out after 10240 execs
 * from threads). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 512);
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

/* Copies the user string at arg into slot i and sets or clears its marks. A BPF program cannot
 * take a page fault: a string in a page the process has not touched yet reads as -EFAULT. */
static __always_inline void read_arg(struct event *e, int i, const char *arg)
{
	long len = bpf_probe_read_user_str(&e->args[i * ARGSIZE], ARGSIZE, arg);
	char next;

	if (len < 0) {
		e->args[i * ARGSIZE] = '\0';
		e->args_unreadable |= 1u << i;
		return;
	}
	e->args_unreadable &= ~(1u << i);
	/* A full buffer is a cut argument, unless the byte it replaced with NUL was one. */
	if (len == ARGSIZE && !bpf_probe_read_user(&next, 1, arg + ARGSIZE - 1) && next)
		e->args_truncated |= 1u << i;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int handle_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	const char *const *argv = (const char *const *)ctx->args[1];
	/* The course keys the event by thread id:
	 *     pid_t pid = (pid_t)bpf_get_current_pid_tgid();
	 * An exec from a non-main thread then never finds its event at exit (de_thread() has given the
	 * thread the process id by then): the exec goes unreported and its entry stays in the map for
	 * good; a storm of such execs fills the map and the tool goes blind. The process id is the same
	 * at enter and exit whichever thread execs, so the event is kept under it. */
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, zero = 0;
	const char *arg;
	struct event *e;
	int i;

	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	e->pid = tgid;
	e->ppid = 0;
	e->ret = 0;
	e->args_count = 0;
	e->args_complete = 0;
	e->args_truncated = 0;
	e->args_unreadable = 0;
	e->args_dropped = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));

#pragma unroll
	for (i = 0; i < MAX_ARGS; i++) {
		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i])) {
			/* argv itself is unreadable from here: one mark, and the list ends */
			e->args_unreadable |= 1u << i;
			e->args_count = i + 1;
			break;
		}
		if (!arg) {
			e->args_complete = 1;
			break;
		}
		read_arg(e, i, arg);
		e->args_count = i + 1;
	}
	if (i == MAX_ARGS && !bpf_probe_read_user(&arg, sizeof(arg), &argv[MAX_ARGS])) {
		if (arg)
			e->args_dropped = 1;
		else
			e->args_complete = 1;
	}

	/* Two threads of one process exec'ing at once: the later enter wins the slot, and only one
	 * of them can succeed anyway (de_thread() makes the other fail). */
	bpf_map_update_elem(&execs, &tgid, e, BPF_ANY);
	return 0;
}

/* After a successful exec the kernel has just copied argv onto the new program's stack:
 * mm->start_stack points at argc, then the argv pointers. Those pages are present, so a string
 * that faulted at enter reads here. A script's interpreter puts words in front ("#!/bin/sh -e"
 * gives "/bin/sh", "-e", then the script's path in place of argv[0]), so the old argv[i] is the
 * new argv[i + shift]. Only a complete argv at enter tells the shift. */
static __always_inline void reread_args(struct event *e, struct task_struct *task)
{
	unsigned long sp = BPF_CORE_READ(task, mm, start_stack);
	const char *const *argv = (const char *const *)(sp + sizeof(__u64));
	const char *arg;
	__u64 argc;
	__u32 shift;
	int i;

	if (bpf_probe_read_user(&argc, sizeof(argc), (void *)sp) || argc < e->args_count)
		return;
	shift = argc - e->args_count;
#pragma unroll
	for (i = 0; i < MAX_ARGS; i++) {
		if (i >= e->args_count)
			break;
		/* argv[0] of a script is gone: the interpreter got the script's path instead */
		if (!(e->args_unreadable & (1u << i)) || (i == 0 && shift))
			continue;
		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i + shift]) || !arg)
			continue;
		read_arg(e, i, arg);
	}
}

SEC("tracepoint/syscalls/sys_exit_execve")
int handle_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct task_struct *task;
	struct event *e;

	e = bpf_map_lookup_elem(&execs, &tgid);
	if (!e)
		return 0; /* execveat fires this too, or we attached mid-exec */
	e->ret = ctx->ret;
	task = (struct task_struct *)bpf_get_current_task();
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	if (e->ret == 0 && e->args_unreadable && e->args_complete)
		reread_args(e, task);
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, e, sizeof(*e));
	/* Whatever happened, the exec is over: nothing of it stays in the map. */
	bpf_map_delete_elem(&execs, &tgid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
