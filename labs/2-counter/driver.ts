// Lab 2's driver: loads the student's counter with the two maps, attaches it to sys_enter_execve, makes
// execs whose count per process it knows, and reads the maps back. A rejection is reported with the
// verifier's words and the instruction they point at.

import { spawnSync } from 'node:child_process';
import { u32, u64 } from '../../bpf/ts/codec.js';
import { assemble } from '../../bpf/ts/insn.js';
import { createMap } from '../../bpf/ts/map.js';
import { loadProgram } from '../../bpf/ts/prog.js';
import { attachTracepoint } from '../../bpf/ts/tracepoint.js';
import { VerifierError } from '../../bpf/ts/errors.js';
import { explainRejection } from '../../harness/notebook/verifier.js';
import { report, tally } from '../../harness/grade/driver-api.js';
// The grader's bundler points this import at the submission's counter.ts; the reference gives the types.
import { counterProgram } from './solution/counter.js';

const total = createMap({ name: 'total', type: 'array', key: u32, value: u64, maxEntries: 1 });
const perPid = createMap({ name: 'per_pid', type: 'hash', key: u32, value: u64, maxEntries: 10240 });
let program;
try {
  program = assemble(counterProgram(), { maps: { total, per_pid: perPid } });
} catch (err) {
  report({ error: `the program does not assemble: ${(err as Error).message.split('\n')[0]}` });
  process.exit(0);
}
let prog;
try {
  prog = loadProgram({ name: 'lab_counter', type: 'tracepoint', insns: program, logLevel: 1 });
} catch (err) {
  if (!(err instanceof VerifierError)) throw err;
  const r = explainRejection(program, err);
  const at = r.slot === undefined ? 'the whole program' : r.listing.split('\n').find((l) => l.includes('<-- verifier'))!.split('<--')[0]!.trim();
  report({ rejected: { words: r.words, at } });
  process.exit(0);
}
const link = attachTracepoint(prog, 'syscalls', 'sys_enter_execve');
const before = Number(total.get(0) ?? 0n);
// Five processes that exec once each, and one that execs four times (sh, sh, sh, then true).
const singles = Array.from({ length: 5 }, () => spawnSync('/bin/true').pid);
const chain = spawnSync('/bin/sh', ['-c', 'exec /bin/sh -c "exec /bin/sh -c \\"exec /bin/true\\""']).pid;
const after = Number(total.get(0) ?? 0n);
link.close();
const count = (pid: number | undefined) => (pid === undefined ? undefined : Number(perPid.get(pid) ?? 0n));
report({
  loaded: true,
  insns: program.encode().toString('hex'),
  total: tally([
    { name: 'the total grew by at least the 9 execs made', ok: after - before >= 9, detail: `it grew by ${after - before}` },
    { name: 'the total counts execs, not more', ok: after - before <= 9 + 50, detail: `it grew by ${after - before} for 9 execs` },
  ]),
  perProcess: tally([
    ...singles.map((pid, i) => ({ name: `process ${i + 1} of 5 that exec'd once`, ok: count(pid) === 1, detail: `counted ${count(pid)}` })),
    { name: 'the process that exec\'d 4 times', ok: count(chain) === 4, detail: `counted ${count(chain)}` },
  ]),
  quiet: tally([{ name: 'no entry for this driver, which did not exec while counting', ok: perPid.get(process.pid) === undefined, detail: 'it has one' }]),
});
