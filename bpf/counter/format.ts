// How the counter prints its maps, the same as counter.c and counter_bcc.py. No koffi here: the harness
// formats counts with it without loading the bpf() layer.

/** The printout of counter.c: PID and COUNT columns, then the total. */
export function formatCounts(total: number, perPid: Map<number, number>): string {
  const lines = ['PID     COUNT'];
  for (const [pid, n] of [...perPid].sort((a, b) => a[0] - b[0])) lines.push(`${String(pid).padEnd(7)} ${n}`);
  lines.push(`${'TOTAL'.padEnd(7)} ${total}`);
  return lines.join('\n') + '\n';
}

