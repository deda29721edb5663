// SPDX-License-Identifier: GPL-2.0
/* execsnoop, libbpf CO-RE version, kernel side.
 *
 * The course traces sys_enter_execve (and sys_exit_execve) only. That misses two doors into exec:
 * execveat, a syscall with tracepoints of its own (glibc's fexecve() is execveat(fd, "", ...,
 * AT_EMPTY_PATH): a program that never had a path), and the 32-bit entry — a 64-bit process may
 * call execve through int $0x80, and x86 fires no syscall tracepoint for a compat syscall. Security
 * tools know both as the classic ways around an execve monitor.
 *
 * What replaced it: sched:sched_process_exec is the event of every *successful* exec, whatever the
 * door (it fires in exec_binprm() once the new program is loaded, on every kernel 5.10-7.2, with the
 * pid this machine sees). sys_enter_execve and sys_enter_execveat still save pid, comm, argv (and
 * execveat's flags) in a hash map keyed by the process id: that is the caller's comm, the argv as
 * passed, and what a failed exec — which fires no sched_process_exec — is reported from at
 * sys_exit_execve(at). An exec sched_process_exec finds no entry for came through the 32-bit entry
 * (or was under way at attach): its arguments come from the new program's stack, and its door is
 * unknown — set_personality_64bit() has rewritten orig_ax to __NR_execve and cleared TS_COMPAT by
 * then, so nothing tells int $0x80 apart. A failed exec through the 32-bit entry fires nothing at
 * all: it stays unseen (the harness declares it). Compiled once against vmlinux.h; libbpf relocates
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

#ifdef EXECSNOOP_RINGBUF
/* The Go variant (execsnoop_cilium.go, built by bpf2go with -DEXECSNOOP_RINGBUF): one ring buffer shared by
 * every CPU (5.8+), events in the order they were sent, read by cilium/ebpf's ringbuf.Reader. 4 MiB: 1,500
 * events of 2.6 KiB, as much as the perf buffer's 64 pages on each of 16 CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events SEC(".maps");
#define send_event(ctx, e) bpf_ringbuf_output(&events, e, sizeof(*e), 0)
#else
/* A perf buffer rather than a ring buffer (5.8+), so that 5.4-era kernels work too. */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");
#define send_event(ctx, e) bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, e, sizeof(*e))
#endif

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

/* A fresh event for this process: no arguments yet, the current comm, the door. */
static __always_inline void init_event(struct event *e, __u32 tgid, __u32 syscall, __u32 at_flags)
{
	e->pid = tgid;
	e->ppid = 0;
	e->ret = 0;
	e->args_count = 0;
	e->args_complete = 0;
	e->args_truncated = 0;
	e->args_unreadable = 0;
	e->args_dropped = 0;
	e->syscall = syscall;
	e->at_flags = at_flags;
	e->filename[0] = '\0';
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

/* Saves what enter knows: the caller's comm and argv as passed. */
static __always_inline int save_enter(const char *const *argv, __u32 syscall, __u32 at_flags)
{
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
	init_event(e, tgid, syscall, at_flags);

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

/* The course's one probe: execve(filename, argv, envp). */
SEC("tracepoint/syscalls/sys_enter_execve")
int handle_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	return save_enter((const char *const *)ctx->args[1], SYSCALL_EXECVE, 0);
}

/* execveat(dirfd, pathname, argv, envp, flags): the door the course's probe never sees. */
SEC("tracepoint/syscalls/sys_enter_execveat")
int handle_enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
	return save_enter((const char *const *)ctx->args[2], SYSCALL_EXECVEAT, (__u32)ctx->args[4]);
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

/* No enter saw this exec: argv is only on the new program's stack (argc, then the pointers). */
static __always_inline void stack_args(struct event *e, struct task_struct *task)
{
	unsigned long sp = BPF_CORE_READ(task, mm, start_stack);
	const char *const *argv = (const char *const *)(sp + sizeof(__u64));
	const char *arg;
	__u64 argc;
	int i;

	if (bpf_probe_read_user(&argc, sizeof(argc), (void *)sp))
		return;
#pragma unroll
	for (i = 0; i < MAX_ARGS; i++) {
		if (i >= argc)
			break;
		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) || !arg)
			break;
		read_arg(e, i, arg);
		e->args_count = i + 1;
	}
	e->args_complete = argc <= MAX_ARGS;
	e->args_dropped = argc > MAX_ARGS;
}

/* Every successful exec, whatever the door: the event is sent from here. */
SEC("tracepoint/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, zero = 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct event *e;

	e = bpf_map_lookup_elem(&execs, &tgid);
	if (e) {
		if (e->args_unreadable && e->args_complete)
			reread_args(e, task);
	} else {
		/* The 32-bit entry: no enter fired. comm is already the new program's. */
		e = bpf_map_lookup_elem(&scratch, &zero);
		if (!e)
			return 0;
		init_event(e, tgid, SYSCALL_UNKNOWN, 0);
		stack_args(e, task);
	}
	e->ret = 0;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->filename[0] = '\0';
	/* an exec by fd has no path: the kernel names it /dev/fd/N (__data_loc: offset in the low 16 bits) */
	if (e->at_flags & AT_EMPTY_PATH)
		bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), (void *)ctx + (ctx->__data_loc_filename & 0xffff));
	send_event(ctx, e);
	bpf_map_delete_elem(&execs, &tgid);
	return 0;
}

/* The exit of execve or execveat: reports a failed exec (a successful one was sent by handle_exec). */
static __always_inline int on_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct task_struct *task;
	struct event *e;

	/* No entry: the exec succeeded and handle_exec sent it (a successful execveat, or one through the
	 * 32-bit entry, fires sys_exit_execve: set_personality_64bit() set orig_ax to __NR_execve), or it
	 * was under way at attach. */
	e = bpf_map_lookup_elem(&execs, &tgid);
	if (!e)
		return 0;
	e->ret = ctx->ret;
	task = (struct task_struct *)bpf_get_current_task();
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	if (e->ret == 0 && e->args_unreadable && e->args_complete)
		reread_args(e, task);
	/* A success still here: sched_process_exec was not attached yet when it fired (start-up). */
	send_event(ctx, e);
	/* Whatever happened, the exec is over: nothing of it stays in the map. */
	bpf_map_delete_elem(&execs, &tgid);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int handle_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx);
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int handle_exit_execveat(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx);
}

char LICENSE[] SEC("license") = "GPL";
