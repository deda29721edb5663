// SPDX-License-Identifier: GPL-2.0
/* counter, libbpf CO-RE version, kernel side: counts execve calls in two maps, a total in a
 * one-entry array (the cilium/ebpf kprobe example's counter) and a count per process (tgid).
 *
 * Two ways in, of which counter.c loads only one:
 * - the stable tracepoint syscalls:sys_enter_execve (the default), and
 * - a kprobe on the syscall's kernel function (--kprobe), as in the cilium/ebpf example.
 *   "sys_execve" is what older examples probe, but since 4.17 x86-64 enters every syscall
 *   through a wrapper, __x64_sys_execve(const struct pt_regs *regs), which unpacks the user's
 *   registers and calls __do_sys_execve; there is no sys_execve symbol left to probe, and the
 *   arguments are in the inner pt_regs, not in the probe's own. SEC("ksyscall/execve") lets libbpf
 *   pick the right name for the running kernel (it probes for the wrapper). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} total SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} per_pid SEC(".maps");

static __always_inline void count_execve(void)
{
	__u32 zero = 0, pid = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1, *count;

	count = bpf_map_lookup_elem(&total, &zero);
	if (count)
		__sync_fetch_and_add(count, 1);

	count = bpf_map_lookup_elem(&per_pid, &pid);
	if (count) {
		__sync_fetch_and_add(count, 1);
		return;
	}
	/* Another thread of the process may have created the entry since the lookup: add to it. */
	if (bpf_map_update_elem(&per_pid, &pid, &one, BPF_NOEXIST)) {
		count = bpf_map_lookup_elem(&per_pid, &pid);
		if (count)
			__sync_fetch_and_add(count, 1);
	}
}

SEC("tracepoint/syscalls/sys_enter_execve")
int count_execve_tracepoint(void *ctx)
{
	count_execve();
	return 0;
}

SEC("ksyscall/execve")
int count_execve_kprobe(struct pt_regs *ctx)
{
	count_execve();
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
