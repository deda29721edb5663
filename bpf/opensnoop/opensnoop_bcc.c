// SPDX-License-Identifier: GPL-2.0
/* opensnoop, BCC version, kernel side. opensnoop_bcc.py hands this file to BCC, which compiles it at
 * start-up against the running kernel's headers and attaches the TRACEPOINT_PROBEs itself.
 *
 * The same logic, caps and event layout as the libbpf version (opensnoop.bpf.c, opensnoop.h), whose
 * comments say why each step is there: the enter tracepoints of open, openat and openat2 save the
 * arguments in a hash map keyed by thread id; their exits send one event with the result and delete
 * the entry. BCC builds each probe's `args` struct from the tracepoint's format file. */

#define TASK_COMM_LEN 16
#define PATH_CAP 256              /* bytes of a path shown; a longer one: its first PATH_CAP, then "..." */
#define PATH_BUF (PATH_CAP + 2)   /* read one byte more than the cap and its NUL: "longer" shows */
#define MAX_OPENS_IN_FLIGHT 10240 /* one entry per thread inside open() */
#define SYSCALL_OPEN 1
#define SYSCALL_OPENAT 2
#define SYSCALL_OPENAT2 3

struct event {
	u32 pid;      /* tgid */
	u32 tid;
	s32 ret;      /* the new fd, or -errno */
	u32 syscall;  /* SYSCALL_* */
	u64 flags;
	u64 mode;
	u32 path_len; /* bpf_probe_read_user_str()'s return: with the NUL, at most PATH_BUF; < 0 unreadable */
	u32 pad;
	char comm[TASK_COMM_LEN];
	/* u8, so that Python gets the raw bytes, not a string cut at the first NUL */
	u8 path[PATH_BUF];
};

/* The event so far, and where the path is, to read it again at exit. */
struct open_in_flight {
	struct event event;
	const char *filename;
};

BPF_HASH(opens, u32, struct open_in_flight, MAX_OPENS_IN_FLIGHT);
/* A 328-byte entry is most of the 512-byte BPF stack: build it in a per-CPU slot instead. */
BPF_PERCPU_ARRAY(scratch, struct open_in_flight, 1);
/* A perf buffer, one per CPU, as in the other BCC versions (the libbpf version shows the ring buffer). */
BPF_PERF_OUTPUT(events);

static __always_inline int save_enter(u32 syscall, const char *filename, u64 flags, u64 mode)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id;
	int zero = 0;
	struct open_in_flight *o;
	long len;

	o = scratch.lookup(&zero);
	if (!o)
		return 0;
	o->event.pid = id >> 32;
	o->event.tid = tid;
	o->event.ret = 0;
	o->event.syscall = syscall;
	o->event.flags = flags;
	o->event.mode = mode;
	o->event.pad = 0;
	bpf_get_current_comm(&o->event.comm, sizeof(o->event.comm));
	len = bpf_probe_read_user_str(o->event.path, PATH_BUF, filename);
	if (len < 0)
		o->event.path[0] = '\0';
	o->event.path_len = len;
	o->filename = filename;
	opens.update(&tid, o);
	return 0;
}

/* The result; a path that was in a page not yet faulted in at enter reads now (the kernel has
 * copied it in since), unless the pointer was bad. */
static __always_inline int send_exit(void *ctx, long ret)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct open_in_flight *o;
	long len;

	o = opens.lookup(&tid);
	if (!o)
		return 0; /* its enter came before we attached */
	o->event.ret = ret;
	if ((s32)o->event.path_len < 0) {
		len = bpf_probe_read_user_str(o->event.path, PATH_BUF, o->filename);
		if (len < 0)
			o->event.path[0] = '\0';
		o->event.path_len = len;
	}
	events.perf_submit(ctx, &o->event, sizeof(o->event));
	opens.delete(&tid);
	return 0;
}

/* The exits come first: BCC attaches the probes in the order of this file, and an enter attached
 * before its exit could save an open whose exit is never seen, an entry that no exit deletes. */
TRACEPOINT_PROBE(syscalls, sys_exit_open)
{
	return send_exit(args, args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_exit_openat)
{
	return send_exit(args, args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_exit_openat2)
{
	return send_exit(args, args->ret);
}

/* The kernel takes flags as an int and mode as a umode_t (16 bits); the tracepoint records the whole
 * registers: keep what the kernel sees. */
TRACEPOINT_PROBE(syscalls, sys_enter_open)
{
	return save_enter(SYSCALL_OPEN, args->filename, (u32)args->flags, (u16)args->mode);
}

TRACEPOINT_PROBE(syscalls, sys_enter_openat)
{
	return save_enter(SYSCALL_OPENAT, args->filename, (u32)args->flags, (u16)args->mode);
}

/* flags and mode are the first two u64 of the caller's struct open_how (include/uapi/linux/openat2.h);
 * an unreadable how leaves them 0 (the kernel fails that open with EFAULT). */
TRACEPOINT_PROBE(syscalls, sys_enter_openat2)
{
	const u64 *how = (const u64 *)args->how;
	u64 flags = 0, mode = 0;

	bpf_probe_read_user(&flags, sizeof(flags), &how[0]);
	bpf_probe_read_user(&mode, sizeof(mode), &how[1]);
	return save_enter(SYSCALL_OPENAT2, args->filename, flags, mode);
}
