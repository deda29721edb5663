import t from 'tap';
import { counterProgram, formatCounts } from '../../../bpf/counter/counter.js';
import { assemble } from '../../../bpf/ts/insn.js';
import { disasm } from '../../../bpf/ts/disasm.js';

t.test('the counter program assembles with its two maps and bumps both with an atomic add', async (t) => {
  const prog = assemble(counterProgram(), { maps: { total: 3, per_pid: 4 } });
  const text = disasm(prog, { labels: false, comments: false });
  t.match(text, /lock \*\(u64 \*\)\(r0 \+0\) \+= r1/);
  t.match(text, /call bpf_get_current_pid_tgid#14/);
  t.match(text, /call bpf_map_update_elem#2/);
  t.throws(() => assemble(counterProgram()), /unknown map 'total'/, 'maps must be given');
});

t.test('the counts print as counter.c prints them: PID COUNT lines sorted by pid, then TOTAL', async (t) => {
  t.equal(formatCounts(7, new Map([[300, 2], [12, 1]])), 'PID     COUNT\n12      1\n300     2\nTOTAL   7\n');
});
