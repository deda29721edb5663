import t from 'tap';
import { csvRows, exitCodeFor, formatTables, summaryLine, toCsv, toJson } from '../../harness/engine/report.js';
import type { CompareReport, VariantResult } from '../../harness/engine/types.js';

const pass: VariantResult = {
  name: 'execsnoop/libbpf', example: 'execsnoop', tool: 'libbpf', status: 'pass', expected: 2, matched: 2, startupMs: 120,
  details: [{ case: 'many-args', level: 'expected', kind: 'maxArgs', text: '20 arguments dropped: MAX_ARGS is 20' }],
  cases: [
    { id: 'plain', verdict: 'matched', notes: [] },
    { id: 'many-args', verdict: 'matched', notes: ['20 arguments dropped: MAX_ARGS is 20'] },
  ],
};
const fail: VariantResult = {
  name: 'execsnoop/ts', example: 'execsnoop', tool: 'ts', status: 'fail', reason: 'plain: no event for pid 7', expected: 2, matched: 1,
  details: [{ case: 'plain', level: 'failure', kind: 'missed', text: 'no event for pid 7' }],
  cases: [
    { id: 'plain', verdict: 'missed', notes: ['no event for pid 7'] },
    { id: 'many-args', verdict: 'matched', notes: [] },
  ],
};
const skip: VariantResult = {
  name: 'execsnoop/bcc', example: 'execsnoop', tool: 'bcc', status: 'skip', skipKind: 'no-kernel-headers',
  reason: 'bcc: no kernel headers for 6.18.44 — install linux-headers-6.18.44', expected: 0, matched: 0, details: [],
};
const report: CompareReport = { schema: 1, target: { kind: 'host', kernel: '6.18.44', accel: 'none', btf: true }, variants: [pass, fail, skip] };

t.test('the table shows each exec per variant: a match, a match with an expected difference, a miss', async (t) => {
  const text = formatTables(report);
  t.match(text, /target: host 6\.18\.44, BTF/);
  t.match(text, /│ plain\s+│ match\s+│ MISSED\s+│\s+│/);
  t.match(text, /│ many-args\s+│ match\*\s+│ match\s+│/);
  t.match(text, /\n  libbpf: 20 arguments dropped: MAX_ARGS is 20\n/);
  t.match(text, /execsnoop\/ts: FAIL plain: no event for pid 7/);
  t.match(text, /execsnoop\/bcc: SKIP — bcc: no kernel headers/);
  t.match(summaryLine(report.variants), '3 variants: 1 pass, 1 fail, 1 skip, 0 error');
});

t.test('a reason several variants declare is printed once, with each of them', async (t) => {
  const comm = { case: '', level: 'expected' as const, kind: 'comm', text: "comm is the caller's: read at sys_enter" };
  const variant = (tool: string, cases: string[]): VariantResult => ({ ...pass, name: `execsnoop/${tool}`, tool, details: cases.map((c) => ({ ...comm, case: c })) });
  const text = formatTables({ ...report, variants: [variant('bcc', ['plain', 'many-args']), variant('bpftrace', ['plain']), { ...pass, name: 'execsnoop/go', tool: 'go' }, variant('ts', ['plain'])] });
  t.equal(text.split("comm is the caller's").length - 1, 1, 'once');
  t.match(text, /\n  bcc, bpftrace, ts: comm is the caller's: read at sys_enter\n/);
  t.match(text, /\n  go: 20 arguments dropped: MAX_ARGS is 20\n/);
});

t.test('JSON is schema 1 with the target and every variant', async (t) => {
  const json = JSON.parse(toJson(report));
  t.equal(json.schema, 1);
  t.same(json.target, report.target);
  t.same(json.variants.map((v: VariantResult) => [v.name, v.status]), [['execsnoop/libbpf', 'pass'], ['execsnoop/ts', 'fail'], ['execsnoop/bcc', 'skip']]);
  // rendered only here, at the edge: the contract's lines beside the data they come from
  t.same(json.variants.map((v: { differences: string[] }) => v.differences), [['many-args: 20 arguments dropped: MAX_ARGS is 20 (expected)'], ['plain: no event for pid 7'], []]);
  t.same(json.variants[1].details, fail.details);
});

t.test('CSV has one row per variant, the skip kind beside its reason', async (t) => {
  const lines = toCsv(report).trim().split('\n');
  t.equal(lines[0], 'target,kernel,accel,variant,example,tool,status,skip_kind,reason,expected,matched,startup_ms,differences');
  t.equal(lines.length, 4);
  t.same(csvRows(report)[2].slice(6, 9), ['skip', 'no-kernel-headers', skip.reason]);
  t.equal(csvRows(report)[0].at(-1), 'many-args: 20 arguments dropped: MAX_ARGS is 20 (expected)');
});

t.test('the exit code is 1 when anything failed, 0 when only skips', async (t) => {
  t.equal(exitCodeFor([pass, skip]), 0);
  t.equal(exitCodeFor([pass, fail]), 1);
  t.equal(exitCodeFor([{ ...pass, status: 'error' }]), 1);
});
