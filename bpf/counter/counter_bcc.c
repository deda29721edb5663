// SPDX-License-Identifier: GPL-2.0
/* counter, BCC version, kernel side: counts execve calls in a one-entry array (the total, as the
 * cilium/ebpf kprobe example's counter) and in a hash keyed by process id (tgid).
 * counter_bcc.py hands this file to BCC, which compiles it at start-up against the running
 * kernel's headers and attaches the TRACEPOINT_PROBE itself. */

BPF_ARRAY(total, u64, 1);
BPF_HASH(per_pid, u32, u64, 10240);

TRACEPOINT_PROBE(syscalls, sys_enter_execve)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32;

	total.atomic_increment(0);
	/* Atomic once the entry exists; two threads creating it at once may lose one count. */
	per_pid.atomic_increment(pid);
	return 0;
}
