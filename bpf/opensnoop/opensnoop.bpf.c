// SPDX-License-Identifier: GPL-2.0
/* opensnoop, libbpf CO-RE version, kernel side.
 *
 * A program opens a file through one of three syscalls on x86_64, and each has its own tracepoints:
 * open (the legacy one, no directory fd), openat (what glibc's open() calls) and openat2 (5.6+: flags
 * and mode in a struct open_how in the caller's memory). Enter knows the arguments, exit the result:
 * sys_enter_* saves the arguments in a hash map keyed by thread id, sys_exit_* looks them up, sends
 * one event through the ring buffer and deletes the entry.
 *
 * Not traced here: creat() (open with O_CREAT|O_WRONLY|O_TRUNC, tracepoints of its own) and
 * open_by_handle_at(), which opens by handle, not by path. Not seen by any syscall tracepoint: an open
 * through the 32-bit entry (int $0x80: x86 fires none for a compat syscall) and io_uring's
 * IORING_OP_OPENAT (no syscall at all).
 * Compiled once against vmlinux.h: libbpf relocates the offsets of the tracepoint contexts' fields
 * (CO-RE) to the running kernel's; struct open_how is user ABI, the same everywhere. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "opensnoop.h"

/* What enter saves: the event so far, and where the path is, to read it again at exit. */
struct open_in_flight {
	struct event event;
	const char *filename;
};

/* Opens in flight, keyed by thread id: an open belongs to one thread from enter to exit, and the
 * threads of one process may all be inside open() at once (keyed by process id, they would overwrite
 * each other's entries). Every exit deletes its entry, so the map holds one entry per thread inside
 * open() right now: a storm of opens larger than the map never fills it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_OPENS_IN_FLIGHT);
	__type(key, __u32);
	__type(value, struct open_in_flight);
} opens SEC(".maps");

/* A 328-byte entry is most of the 512-byte BPF stack: build it in a per-CPU slot instead. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct open_in_flight);
} scratch SEC(".maps");

/* One ring buffer for every CPU (5.8+), read in the order the events were sent. 4 MiB: 12,000
 * events of 328 bytes (with the ring's 8-byte header), more than a burst of opens sends before
 * opensnoop.c reads them. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events SEC(".maps");

/* Events the ring buffer had no room for: a ring buffer has no lost-event callback, so the count is
 * kept here (.bss, which opensnoop.c reads through the skeleton) and reported on stderr. */
__u64 lost_events = 0;

static __always_inline int save_enter(__u32 syscall, const char *filename, __u64 flags, __u64 mode)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, zero = 0;
	struct open_in_flight *o;
	long len;

	o = bpf_map_lookup_elem(&scratch, &zero);
	if (!o)
		return 0;
	o->event.pid = id >> 32;
	o->event.tid = tid;
	o->event.ret = 0;
	o->event.syscall = syscall;
	o->event.flags = flags;
	o->event.mode = mode;
	o->event.pad = 0;
	bpf_get_current_comm(o->event.comm, sizeof(o->event.comm));
	/* PATH_BUF, one byte more than PATH_CAP and its NUL: a longer path fills it (opensnoop.h) */
	len = bpf_probe_read_user_str(o->event.path, PATH_BUF, filename);
	if (len < 0)
		o->event.path[0] = '\0';
	o->event.path_len = len;
	o->filename = filename;
	/* BPF_ANY: an entry still here for this thread is one whose exit fired before we attached it */
	bpf_map_update_elem(&opens, &tid, o, BPF_ANY);
	return 0;
}

/* open(filename, flags, mode). The kernel takes flags as an int and mode as a umode_t (16 bits), and
 * the tracepoint records the whole registers: keep what the kernel sees. */
SEC("tracepoint/syscalls/sys_enter_open")
int handle_enter_open(struct trace_event_raw_sys_enter *ctx)
{
	return save_enter(SYSCALL_OPEN, (const char *)ctx->args[0], (__u32)ctx->args[1], (__u16)ctx->args[2]);
}

/* openat(dirfd, filename, flags, mode) */
SEC("tracepoint/syscalls/sys_enter_openat")
int handle_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	return save_enter(SYSCALL_OPENAT, (const char *)ctx->args[1], (__u32)ctx->args[2], (__u16)ctx->args[3]);
}

/* openat2(dirfd, filename, how, size): flags and mode are 64-bit fields of *how, in user memory. An
 * unreadable how leaves them 0 (the kernel fails that open with EFAULT). */
SEC("tracepoint/syscalls/sys_enter_openat2")
int handle_enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how *how = (struct open_how *)ctx->args[2];
	__u64 flags = 0, mode = 0;

	bpf_probe_read_user(&flags, sizeof(flags), &how->flags);
	bpf_probe_read_user(&mode, sizeof(mode), &how->mode);
	return save_enter(SYSCALL_OPENAT2, (const char *)ctx->args[1], flags, mode);
}

static __always_inline int send_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct open_in_flight *o;
	long len;

	o = bpf_map_lookup_elem(&opens, &tid);
	if (!o)
		return 0; /* its enter came before we attached */
	o->event.ret = ctx->ret;
	/* A BPF program cannot take a page fault: a path in a page the process has not touched yet reads
	 * as -EFAULT at enter. The kernel has copied it in since (getname()), so it reads now — unless
	 * the pointer itself was bad, and the open failed with EFAULT. */
	if ((__s32)o->event.path_len < 0) {
		len = bpf_probe_read_user_str(o->event.path, PATH_BUF, o->filename);
		if (len < 0)
			o->event.path[0] = '\0';
		o->event.path_len = len;
	}
	if (bpf_ringbuf_output(&events, &o->event, sizeof(o->event), 0))
		__sync_fetch_and_add(&lost_events, 1);
	/* Whatever happened, the open is over: nothing of it stays in the map. */
	bpf_map_delete_elem(&opens, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_open")
int handle_exit_open(struct trace_event_raw_sys_exit *ctx)
{
	return send_exit(ctx);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int handle_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	return send_exit(ctx);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int handle_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	return send_exit(ctx);
}

char LICENSE[] SEC("license") = "GPL";
