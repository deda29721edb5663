import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { MAX_OPENS_IN_FLIGHT, PATH_BUF, PATH_CAP, TASK_COMM_LEN } from '../../../bpf/opensnoop/limits.js';
import { projectRoot } from '../../../harness/engine/paths.js';
import { VARIANTS } from '../../../harness/examples/opensnoop/variants.js';

// The limits are defined once in TypeScript (limits.ts); each other language spells them itself.
const source = (name: string) => readFileSync(path.join(projectRoot, 'bpf', 'opensnoop', name), 'utf8');
const number = (text: string, re: RegExp, what: string): number => {
  const m = re.exec(text);
  if (!m) throw new Error(`${what}: not found (${re})`);
  return Number(m[1]);
};

t.test('opensnoop.h, the libbpf event shared by both sides, has the same limits, and its map is that size', async (t) => {
  const h = source('opensnoop.h');
  t.equal(number(h, /#define TASK_COMM_LEN (\d+)/, 'TASK_COMM_LEN'), TASK_COMM_LEN);
  t.equal(number(h, /#define PATH_CAP (\d+)/, 'PATH_CAP'), PATH_CAP);
  t.match(h, /#define PATH_BUF \(PATH_CAP \+ 2\)/);
  t.equal(PATH_BUF, PATH_CAP + 2);
  t.equal(number(h, /#define MAX_OPENS_IN_FLIGHT (\d+)/, 'MAX_OPENS_IN_FLIGHT'), MAX_OPENS_IN_FLIGHT);
  t.match(source('opensnoop.bpf.c'), /__uint\(max_entries, MAX_OPENS_IN_FLIGHT\);/);
});

t.test('the BCC version, kernel side and Python side, has the same limits', async (t) => {
  const c = source('opensnoop_bcc.c');
  t.equal(number(c, /#define TASK_COMM_LEN (\d+)/, 'TASK_COMM_LEN'), TASK_COMM_LEN);
  t.equal(number(c, /#define PATH_CAP (\d+)/, 'PATH_CAP'), PATH_CAP);
  t.equal(number(c, /#define MAX_OPENS_IN_FLIGHT (\d+)/, 'MAX_OPENS_IN_FLIGHT'), MAX_OPENS_IN_FLIGHT);
  t.match(c, /BPF_HASH\(opens, u32, struct open_in_flight, MAX_OPENS_IN_FLIGHT\)/);
  t.equal(number(source('opensnoop_bcc.py'), /^PATH_CAP = (\d+)/m, 'PATH_CAP'), PATH_CAP);
});

t.test('the bpftrace version shows the cap its variant declares, and runs with the settings of its shebang', async (t) => {
  const bt = source('opensnoop.bt');
  const v = VARIANTS.find((x) => x.tool === 'bpftrace')!;
  t.equal(number(bt, /while \(\$n < (\d+)\)/, 'the loop that measures the path'), v.expect.pathCap);
  for (const setting of [`BPFTRACE_STRLEN=${v.expect.pathCap}`, 'BPFTRACE_PERF_RB_PAGES=1024']) {
    t.match(bt.split('\n')[0]!, setting, `shebang: ${setting}`);
    t.ok(v.command.includes(setting), `variant: ${setting}`);
  }
});
