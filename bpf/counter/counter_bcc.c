// SPDX-License-Identifier: GPL-2.0
/* counter, BCC version, kernel side: counts execve calls in a one-entry array (the total, as the
 * cilium/ebpf kprobe example's counter) and in a hash keyed by process id (tgid).
 * counter_bcc.py hands this file to BCC, which compiles it at start-up against the running
 * kernel's headers and attaches the TRACEPOINT_PROBE(syscalls, sys_enter_execve)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	u64 one = 1, *count;

	total.atomic_increment(0);
	count = per_pid.lookup(&pid);
	if (count) {
		__sync_fetch_and_add(count, 1);
		return 0;
	}
	/* The one-liner per_pid.atomic_increment(pid) creates a missing entry with a plain update: two
	 * threads of one process creating it at once lose a count, and total no longer equals the sum
	 * per process. Insert only if absent (BPF_NOEXIST); if another CPU won, add to its entry. */
	if (per_pid.insert(&pid, &one)) {
		count = per_pid.lookup(&pid);
		if (count)
			__sync_fetch_and_add(count, 1);
	}
	return 0;
}
