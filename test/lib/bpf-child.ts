// A child process for the kernel tests that need one: to run without privileges, in another mount
// namespace, or to exit without closing anything. Prints one JSON line on stdout.
//   node --import tsx test/lib/bpf-child.ts load-tracepoint NAME   try to load a tracepoint program
//   node --import tsx test/lib/bpf-child.ts leave NAME             load, attach, create — then exit
//   node --import tsx test/lib/bpf-child.ts tracefs                find (or mount) tracefs

import { u32, u64 } from '../../bpf/ts/codec.js';
import { createMap } from '../../bpf/ts/map.js';
import { loadProgram } from '../../bpf/ts/prog.js';
import { attachTracepoint, tracefsRoot } from '../../bpf/ts/tracepoint.js';
import { countInArray, RETURN_2 } from './programs.js';

const [mode, name = 'child'] = process.argv.slice(2);
const print = (v: unknown) => process.stdout.write(`${JSON.stringify(v)}\n`);

try {
  if (mode === 'load-tracepoint') {
    loadProgram({ name, type: 'tracepoint', insns: RETURN_2 }).close();
    print({ ok: true });
  } else if (mode === 'leave') {
    const map = createMap({ name, type: 'array', key: u32, value: u64, maxEntries: 1 });
    const prog = loadProgram({ name, type: 'tracepoint', insns: countInArray(map.fd) });
    attachTracepoint(prog, 'syscalls', 'sys_enter_execve');
    print({ ok: true, map: map.fd, prog: prog.fd });
    // Exit with everything open: the kernel must clean up after us.
    process.exit(0);
  } else if (mode === 'tracefs') {
    print({ ok: true, root: tracefsRoot() });
  } else {
    print({ ok: false, message: `unknown mode ${mode}` });
  }
} catch (err) {
  print({ ok: false, name: (err as Error).name, message: (err as Error).message });
}
