import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ARGSIZE, MAX_ARGS, MAX_EXECS_IN_FLIGHT, TASK_COMM_LEN, UNREADABLE_MARK } from '../../../bpf/execsnoop/limits.js';
import { projectRoot } from '../../../harness/engine/paths.js';

// The limits are defined once in TypeScript (limits.ts); each other language spells them itself.
const source = (name: string) => readFileSync(path.join(projectRoot, 'bpf', 'execsnoop', name), 'utf8');
const number = (text: string, re: RegExp, what: string): number => {
  const m = re.exec(text);
  if (!m) throw new Error(`${what}: not found (${re})`);
  return Number(m[1]);
};

t.test('execsnoop.h, the libbpf event shared by both sides, has the same limits', async (t) => {
  const h = source('execsnoop.h');
  t.equal(number(h, /#define TASK_COMM_LEN (\d+)/, 'TASK_COMM_LEN'), TASK_COMM_LEN);
  t.equal(number(h, /#define MAX_ARGS (\d+)/, 'MAX_ARGS'), MAX_ARGS);
  t.equal(number(h, /#define ARGSIZE (\d+)/, 'ARGSIZE'), ARGSIZE);
  t.match(h, `#define UNREADABLE_MARK "${UNREADABLE_MARK}"`);
  t.equal(number(source('execsnoop.bpf.c'), /__uint\(max_entries, (\d+)\);\s*__type\(key, __u32\);\s*__type\(value, struct event\);\s*\} execs/, 'execs'), MAX_EXECS_IN_FLIGHT);
});

t.test('the BCC version, kernel side and Python side, has the same limits', async (t) => {
  const c = source('execsnoop_bcc.c');
  t.equal(number(c, /#define MAX_ARGS (\d+)/, 'MAX_ARGS'), MAX_ARGS);
  t.equal(number(c, /#define ARGSIZE (\d+)/, 'ARGSIZE'), ARGSIZE);
  t.equal(number(c, /BPF_HASH\(execs, u32, struct event, (\d+)\)/, 'execs'), MAX_EXECS_IN_FLIGHT);
  const py = source('execsnoop_bcc.py');
  t.equal(number(py, /^MAX_ARGS = (\d+)/m, 'MAX_ARGS'), MAX_ARGS);
  t.equal(number(py, /^ARGSIZE = (\d+)/m, 'ARGSIZE'), ARGSIZE);
  t.match(py, `UNREADABLE_MARK = b'${UNREADABLE_MARK}'`);
});

t.test('the bpftrace version reads MAX_ARGS entries and shows ARGSIZE bytes (BPFTRACE_STRLEN = ARGSIZE + 1)', async (t) => {
  const bt = source('execsnoop.bt');
  t.equal(number(bt, /BPFTRACE_STRLEN=(\d+)/, 'BPFTRACE_STRLEN'), ARGSIZE + 1);
  t.equal(number(bt, /enter_execve[\s\S]*?unroll \((\d+)\)/, 'unroll'), MAX_ARGS);
  t.equal(number(bt, /\*\(\$argv \+ (\d+)\) != 0/, 'the look past the last entry'), MAX_ARGS);
  // the variant runs the script with the same setting as its shebang
  const { VARIANTS } = await import('../../../harness/examples/execsnoop/variants.js');
  t.ok(VARIANTS.find((v) => v.tool === 'bpftrace')!.command.includes(`BPFTRACE_STRLEN=${ARGSIZE + 1}`));
});

t.test('the Go version spells the limits again (bpf2go turns struct event into Go, not the macros)', async (t) => {
  const go = source('execsnoop_cilium.go');
  t.equal(number(go, /^\tmaxArgs += (\d+)$/m, 'maxArgs'), MAX_ARGS);
  t.equal(number(go, /^\targSize += (\d+)$/m, 'argSize'), ARGSIZE);
  t.match(go, new RegExp(`^\\tunreadableMark += "${UNREADABLE_MARK}"$`, 'm'));
});
