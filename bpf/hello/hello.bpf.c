// SPDX-License-Identifier: GPL-2.0
/* hello, libbpf CO-RE version, kernel side: the course's first program. On every
 * sys_enter_execve it writes "Hello, World! execve pid=<tgid>" to the kernel's trace buffer with
 * bpf_printk(); hello.c reads the lines back from the trace pipe.
 *
 * bpf_printk(fmt, args...) is libbpf's macro over the helper bpf_trace_printk(fmt, fmt_size, ...)
 * (helper 6): with up to 3 arguments it calls bpf_trace_printk, with more bpf_trace_vprintk (5.16+).
 * The macro declares the format "static const", so clang puts it in .rodata, which libbpf loads as
 * a one-entry array map (hello_bp.rodata in `bpftool map list`) and hands the helper a pointer
 * into; without global data (BPF_NO_GLOBAL_DATA) it would be built on the stack instead, as the
 * course's hello_kern.c does by hand and hello.ts does instruction by instruction.
 *
 * Why this is for debugging only — and why execsnoop sends its events through a perf buffer:
 * - there is one trace buffer for the whole machine: every program's bpf_printk, every kernel
 *   trace_printk() and every enabled trace event write into it, mixed, and nothing says which line
 *   is whose;
 * - reading trace_pipe consumes: each line goes to one reader only, so two readers would steal
 *   each other's lines — and the kernel now refuses a second open of trace_pipe with EBUSY
 *   (since 6.5, backported to stable: measured on 6.18 and on Debian's 5.10.0-32 and 6.1.0-50), so a
 *   second copy of any hello here, or a `cat trace_pipe` in another window, cannot even start;
 * - the helper formats text in the kernel, on every call, checking the format string each time:
 *   slow next to copying a struct into a perf or ring buffer. The helper's documentation says it
 *   is for debugging only, and kernels before 5.10 said so in dmesg: loading a program that used
 *   it allocated the trace_printk() buffers, and the kernel printed its notice box
 *   "**   trace_printk() being used. Allocating extra memory.   **" ... "NOT SAFE FOR PRODUCTION".
 *   Since 5.10 the helper writes an event of its own, bpf_trace/bpf_trace_printk (loading the
 *   program enables it: events/bpf_trace/bpf_trace_printk/enable reads 1), so that name prefixes
 *   every line and the notice no longer appears (measured on 6.18: dmesg stays silent);
 * - at most 3 arguments (the helper's 5 arguments are fmt, its size and 3 values), and only the
 *   conversions %d %i %u %x %ld %li %lu %lx %lld %lli %llu %llx %p %s (and a few %p variants), with no
 *   width or padding; anything else makes the helper fail with -EINVAL and print nothing.
 * Real tools copy a fixed struct into a perf buffer (execsnoop.bpf.c) or a ring buffer (5.8+), one
 * per tool, read by that tool only, and format text in user space.
 *
 * CO-RE: vmlinux.h stands in for the kernel headers (here it supplies no more than __u32). This
 * program reads no kernel struct, so there is nothing for libbpf to relocate: the same object
 * loads unchanged on every kernel the lab runs, 5.10 to 7.x. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("tracepoint/syscalls/sys_enter_execve")
int hello_execve(void *ctx)
{
	/* The upper 32 bits are the tgid, the process id that user space calls its pid; the lower 32
	 * the thread id (the kernel's pid), which the trace pipe shows in its own prefix. */
	__u32 pid = bpf_get_current_pid_tgid() >> 32;

	/* No "\n": each call is one event in the trace buffer, and the trace pipe ends each with a
	 * newline itself (with "\n" here, an empty line follows every hello: measured on 6.18). */
	bpf_printk("Hello, World! execve pid=%d", pid);
	return 0;
}

/* bpf_trace_printk is a GPL-only helper: the verifier refuses it to a program that is not GPL. */
char LICENSE[] SEC("license") = "GPL";
