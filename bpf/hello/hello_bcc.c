// SPDX-License-Identifier: GPL-2.0
/* hello, BCC version, kernel side: the course's first program. On every sys_enter_execve it writes
 * "Hello, World! execve pid=<tgid>" to the kernel's trace buffer with bpf_trace_printk; hello_bcc.py
 * reads the lines back from the trace pipe with BPF.trace_fields().
 *
 * hello_bcc.py hands this file to BCC, which compiles it at start-up against the running kernel's
 * headers and attaches the TRACEPOINT_PROBE itself. BCC also rewrites the call: a BPF program has no
 * string constants, so the format literal becomes a char array on the BPF stack and BCC adds its
 * size, giving the helper's real signature bpf_trace_printk(fmt, fmt_size, ...); it checks the
 * conversions at compile time too (libbpf's bpf_printk puts the format in .rodata instead, hello.ts
 * stores it on the stack instruction by instruction).
 *
 * For debugging only — see hello.bpf.c for the whole story: one trace buffer for the whole machine,
 * shared by every program; each line goes to one reader of trace_pipe only, and the kernel refuses
 * a second reader (EBUSY, since 6.5 and in stable kernels), so only one tool at a time can read
 * it; the helper formats
 * text in the kernel on every call, slowly, and kernels before 5.10 printed a "trace_printk() being
 * used" notice in dmesg when it was loaded; at most 3 values. Real tools send a fixed struct through a
 * perf buffer (execsnoop_bcc.c's BPF_PERF_OUTPUT) or a ring buffer and format text in user space. */

TRACEPOINT_PROBE(syscalls, sys_enter_execve)
{
	/* No "\n": the trace pipe ends each line itself (with one, an empty line follows each). */
	bpf_trace_printk("Hello, World! execve pid=%d", bpf_get_current_pid_tgid() >> 32);
	return 0;
}
