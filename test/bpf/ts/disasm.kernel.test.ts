import t from 'tap';
import { compareWithVerifierLog } from '../../../bpf/ts/disasm.js';
import { assemble } from '../../../bpf/ts/insn.js';
import { createMap, createRingBuffer } from '../../../bpf/ts/map.js';
import { loadProgram } from '../../../bpf/ts/prog.js';
import { u32 } from '../../../bpf/ts/codec.js';
import { Event, enterProgram, exitProgram, kernelLayout } from '../../../bpf/execsnoop/execsnoop.js';
import { requireFeature, requireRoot } from '../../lib/kernel.js';

// The execsnoop programs are the largest the project builds by hand: every instruction of both must
// print exactly as the kernel's verifier prints it.
t.test('our disassembly of the execsnoop programs matches the verifier log line for line', async (t) => {
  if (!requireRoot(t) || !requireFeature(t, 'tracefs') || !requireFeature(t, 'btf') || !requireFeature(t, 'ringbuf')) return;
  const layout = kernelLayout('ringbuf');
  const scratch = createMap({ name: 'dis_heap', type: 'percpu_array', key: u32, value: Event, maxEntries: 1 });
  const execs = createMap({ name: 'dis_execs', type: 'hash', key: u32, value: Event, maxEntries: 16 });
  const events = createRingBuffer('dis_rb', 4096);
  t.teardown(() => [scratch, execs, events].forEach((m) => m.close()));
  for (const [name, build] of [['dis_enter', enterProgram], ['dis_exit', exitProgram]] as const) {
    const prog = assemble(build(layout), { maps: { scratch, execs, events } });
    const loaded = loadProgram({ name, type: 'tracepoint', insns: prog, logLevel: 2 });
    t.teardown(() => loaded.close());
    const rows = compareWithVerifierLog(prog, loaded.log);
    const reached = rows.filter((r) => r.kernel !== undefined);
    t.ok(reached.length > prog.insns.length * 0.9, `${name}: the log shows ${reached.length} of ${prog.insns.length} instructions`);
    t.same(rows.filter((r) => !r.same && r.kernel !== undefined).map((r) => `${r.ours} ≠ ${r.kernel}`), [], `${name}: every printed instruction agrees`);
  }
});
