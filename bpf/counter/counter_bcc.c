// SPDX-License-Identifier: GPL-2.0
/* counter, BCC version, kernel side: counts execve calls in a one-entry array (the total, as the
 * cilium/ebpf kprobe example's counter) and in a hash keyed by process id (tgid).
 * counter_bcc.py hands this file to BCC, which compiles it at start-up against the running
 * kernel's headers and attaches the TRACEPOINT_PROBE itself. */

BPF_ARRAY(total, u64, 1);
BPF_HASH(per_pid, u32, u64, 10240);

/* per_pid.atomic_increment(pid) alone, the one-liner, creates a missing entry with a plain update:
 * two threads of one process creating it at once lose a count, and the total no longer equals the
 * sum per process. So: add to the entry if it exists, else insert 1 only if still absent
 * (BPF_NOEXIST), and if another CPU inserted it first, add to that one. */
TRACEPOINT_PROBE(syscalls, sys_enter_execve)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	u64 one = 1, *count;

	total.atomic_increment(0);
	count = per_pid.lookup(&pid);
	if (!count && per_pid.insert(&pid, &one) == 0)
		return 0; /* inserted as 1 */
	if (!count)
		count = per_pid.lookup(&pid); /* another CPU inserted it first */
	if (count)
		__sync_fetch_and_add(count, 1);
	return 0;
}
