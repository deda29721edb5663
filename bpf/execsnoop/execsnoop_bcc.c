// SPDX-License-Identifier: GPL-2.0
/* execsnoop, BCC version, kernel side. execsnoop_bcc.py hands this file to BCC, which compiles it
 * at start-up against the running kernel's headers and attaches the TRACEPOINT_PROBEs itself.
 *
 * The course traces sys_enter_execve (and sys_exit_execve) only, and so misses execveat (its own
 * tracepoints: glibc's fexecve()) and an execve through the 32-bit entry, int $0x80, which fires no
 * syscall tracepoint. What replaced it, as in the libbpf version: sched:sched_process_exec sends
 * every successful exec, whatever the door; sys_enter_execve and sys_enter_execveat save pid, comm
 * and argv in a hash map keyed by the process id; sys_exit_execve(at) send the failed execs. The
 * same caps, logic and event layout as the libbpf version (execsnoop.bpf.c, execsnoop.h): its
 * comments say why each step is there. */
#include <linux/sched.h>
#include <linux/mm_types.h>

#define MAX_ARGS 20 /* argv entries kept, argv[0] included */
#define ARGSIZE 128 /* bytes kept per argument, NUL included */
#define SYSCALL_UNKNOWN 0 /* only sched_process_exec saw it: the 32-bit entry */
#define SYSCALL_EXECVE 1
#define SYSCALL_EXECVEAT 2
#define AT_EMPTY_PATH_FLAG 0x1000 /* AT_EMPTY_PATH: an exec by fd */

struct event {
	u32 pid;             /* tgid */
	u32 ppid;            /* tgid of the real parent */
	s32 ret;             /* 0 or -errno */
	u32 args_count;      /* argv entries kept */
	u32 args_complete;   /* 1: argv's closing NULL was read */
	u32 args_truncated;  /* bit i: argument i was cut */
	u32 args_unreadable; /* bit i: argument i could not be read */
	u32 args_dropped;    /* 1: argv had more than MAX_ARGS entries */
	u32 syscall;         /* SYSCALL_* */
	u32 at_flags;        /* execveat's flags */
	char comm[TASK_COMM_LEN];
	char filename[ARGSIZE]; /* after an exec by fd: /dev/fd/N, the name the kernel gave it */
	/* argument i at args[i * ARGSIZE]; u8, so that Python gets the raw bytes past the first NUL */
	u8 args[MAX_ARGS * ARGSIZE];
};

/* The course: BPF_HASH(execs, u32, struct event) keyed by the thread id. Keyed by it, an exec from
 * a non-main thread is never found at exit and its entry leaks (see execsnoop.bpf.c); keyed by the
 * process id, every exit finds and deletes its entry, and 512 slots are plenty: one per process
 * in the middle of an exec. */
BPF_HASH(execs, u32, struct event, 512);
/* A 2.6 KiB event does not fit the 512-byte BPF stack: build it in a per-CPU slot instead. */
BPF_PERCPU_ARRAY(scratch, struct event, 1);
BPF_PERF_OUTPUT(events);

/* Copies the user string at arg into slot i and sets or clears its marks. */
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
static __always_inline void init_event(struct event *e, u32 tgid, u32 syscall, u32 at_flags)
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
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
}

static __always_inline int save_enter(const char *const *argv, u32 syscall, u32 at_flags)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	int zero = 0, i;
	const char *arg;
	struct event *e;

	e = scratch.lookup(&zero);
	if (!e)
		return 0;
	init_event(e, tgid, syscall, at_flags);

#pragma unroll
	for (i = 0; i < MAX_ARGS; i++) {
		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i])) {
			e->args_unreadable |= 1u << i; /* argv itself unreadable: one mark, the list ends */
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

	execs.update(&tgid, e);
	return 0;
}

/* The course's one probe. */
TRACEPOINT_PROBE(syscalls, sys_enter_execve)
{
	return save_enter((const char *const *)args->argv, SYSCALL_EXECVE, 0);
}

TRACEPOINT_PROBE(syscalls, sys_enter_execveat)
{
	return save_enter((const char *const *)args->argv, SYSCALL_EXECVEAT, (u32)args->flags);
}

/* After a successful exec, argv sits on the new program's stack: argc at mm->start_stack, then the
 * argv pointers; the old argv[i] is the new argv[i + shift] (a script's interpreter adds words). */
static __always_inline void reread_args(struct event *e, struct task_struct *task)
{
	struct mm_struct *mm = NULL;
	unsigned long sp = 0;
	const char *const *argv;
	const char *arg;
	u64 argc;
	u32 shift;
	int i;

	/* explicit reads: BCC rewrites pointer walks only inside the probe function itself */
	bpf_probe_read_kernel(&mm, sizeof(mm), &task->mm);
	if (!mm || bpf_probe_read_kernel(&sp, sizeof(sp), &mm->start_stack))
		return;
	if (bpf_probe_read_user(&argc, sizeof(argc), (void *)sp) || argc < e->args_count)
		return;
	shift = argc - e->args_count;
	argv = (const char *const *)(sp + sizeof(u64));
#pragma unroll
	for (i = 0; i < MAX_ARGS; i++) {
		if (i >= e->args_count)
			break;
		if (!(e->args_unreadable & (1u << i)) || (i == 0 && shift))
			continue;
		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i + shift]) || !arg)
			continue;
		read_arg(e, i, arg);
	}
}

/* No enter saw this exec: argv only on the new program's stack (argc, then the pointers). */
static __always_inline void stack_args(struct event *e, struct task_struct *task)
{
	struct mm_struct *mm = NULL;
	unsigned long sp = 0;
	const char *const *argv;
	const char *arg;
	u64 argc;
	int i;

	bpf_probe_read_kernel(&mm, sizeof(mm), &task->mm);
	if (!mm || bpf_probe_read_kernel(&sp, sizeof(sp), &mm->start_stack))
		return;
	if (bpf_probe_read_user(&argc, sizeof(argc), (void *)sp))
		return;
	argv = (const char *const *)(sp + sizeof(u64));
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

/* Every successful exec, whatever the door. */
TRACEPOINT_PROBE(sched, sched_process_exec)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	int zero = 0;
	struct event *e;

	e = execs.lookup(&tgid);
	if (e) {
		if (e->args_unreadable && e->args_complete)
			reread_args(e, task);
	} else {
		/* the 32-bit entry: no enter fired; comm is already the new program's */
		e = scratch.lookup(&zero);
		if (!e)
			return 0;
		init_event(e, tgid, SYSCALL_UNKNOWN, 0);
		stack_args(e, task);
	}
	e->ret = 0;
	e->ppid = task->real_parent->tgid;
	e->filename[0] = '\0';
	/* __data_loc: the string's offset in the record, in the low 16 bits */
	if (e->at_flags & AT_EMPTY_PATH_FLAG)
		bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), (void *)args + (args->data_loc_filename & 0xffff));
	events.perf_submit(args, e, sizeof(*e));
	execs.delete(&tgid);
	return 0;
}

/* A failed exec (a success was sent at sched_process_exec, and left nothing here). */
static __always_inline int on_exit(void *ctx, long ret)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct task_struct *task;
	struct event *e;

	e = execs.lookup(&tgid);
	if (!e)
		return 0;
	e->ret = ret;
	task = (struct task_struct *)bpf_get_current_task();
	bpf_probe_read_kernel(&task, sizeof(task), &task->real_parent);
	bpf_probe_read_kernel(&e->ppid, sizeof(e->ppid), &task->tgid);
	if (e->ret == 0 && e->args_unreadable && e->args_complete)
		reread_args(e, (struct task_struct *)bpf_get_current_task());
	events.perf_submit(ctx, e, sizeof(*e));
	execs.delete(&tgid);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_execve)
{
	return on_exit(args, args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_exit_execveat)
{
	return on_exit(args, args->ret);
}
