import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { failures, renderDifference, type Grade } from '../../../harness/engine/example.js';
import { gradeCounter as grade, parseCounter, type CounterExpectations, type CounterParserName } from '../../../harness/examples/counter.js';
import type { ExecTruth, WorkloadRun } from '../../../harness/examples/exec-workload.js';
import { run, truth } from '../../lib/exec-truth.js';

/** The grade with its differences as the lines a report shows, which the assertions below compare. */
const lines = (g: Grade) => ({ ...g, failures: failures(g.differences).map(renderDifference), differences: g.differences.map(renderDifference) });
const gradeCounter = (...a: Parameters<typeof grade>) => lines(grade(...a));

const fixtureDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'parse');
const fixture = (name: string): string => {
  const text = readFileSync(path.join(fixtureDir, name), 'utf8');
  return text.startsWith('# ') ? text.slice(text.indexOf('\n') + 1) : text;
};
// A tool that sees everything perfectly is graded against the shared made-up run (test/lib/exec-truth.ts).

// ---- counters ----
for (const [file, parser] of [
  ['counter-libbpf.txt', 'counter-table'],
  ['counter-bcc.txt', 'counter-table'],
  ['counter-bpftrace.txt', 'counter-bpftrace'],
] as const) {
  t.test(`the counter output ${file} gives the total and a count per process`, async (t) => {
    const snap = parseCounter(parser, fixture(file));
    t.ok(snap.perPid.size > 5, 'several processes');
    t.equal(snap.total, [...snap.perPid.values()].reduce((a, b) => a + b, 0), 'the total is the sum of the per-process counts');
    t.ok([...snap.perPid.values()].some((n) => n > 1), 'a process that exec\'d more than once');
  });
}

t.test('a counter that did not finish is unreadable, a bpftrace one that saw nothing counts 0', async (t) => {
  t.throws(() => parseCounter('counter-table', 'Counting execve calls... Hit Ctrl-C to end.\n'), /no TOTAL line/);
  t.same(parseCounter('counter-bpftrace', 'Attaching 2 probes...\n\n\n'), { total: 0, perPid: new Map() });
  t.throws(() => parseCounter('upstream-bcc' as CounterParserName, ''), /no counter parser named/);
});

const counter: CounterExpectations = { perPid: true, total: true, execveat: 'not-counted', why: { execveat: 'execveat is its own syscall' } };

t.test('a counter passes when each process is counted once per execve and the total covers them', async (t) => {
  // 201..204 one exec each, 205 launcher + failed exec, 206 launcher + thread exec, 208 only its launcher
  const perPid = new Map([[201, 1], [202, 1], [203, 1], [204, 1], [205, 2], [206, 2], [208, 1], [999, 7]]);
  const g = gradeCounter(run, { total: 16, perPid }, counter);
  t.same(g.failures, []);
  t.equal(g.expected, 8);
  t.equal(g.matched, 8);
  t.match(g.differences, [/execveat: execveat or the 32-bit entry not counted: execveat is its own syscall \(expected\)/]);
});

t.test('a counter that double counts or misses a process fails with the pid', async (t) => {
  const perPid = new Map([[201, 2], [202, 1], [203, 1], [204, 1], [205, 2], [206, 2]]);
  const g = gradeCounter(run, { total: 9, perPid }, counter);
  t.same(g.failures, ['plain: pid 201 counted 2, expected 1', 'execveat: pid 208 counted 0, expected 1']);
});

t.test('a counter total below the workload’s execve calls fails', async (t) => {
  const perPid = new Map([[201, 1], [202, 1], [203, 1], [204, 1], [205, 2], [206, 2], [208, 1]]);
  t.same(gradeCounter(run, { total: 3, perPid }, counter).failures, [
    'total: total 3 < 9 workload execve calls',
    'total: total 3 ≠ 9, the sum of the per-process counts',
  ]);
});

t.test('a total that is not the sum of the per-process counts fails, unless the variant keeps only one of them', async (t) => {
  const perPid = new Map([[201, 1], [202, 1], [203, 1], [204, 1], [205, 2], [206, 2], [208, 1], [999, 7]]);
  t.same(gradeCounter(run, { total: 17, perPid }, counter).failures, ['total: total 17 ≠ 16, the sum of the per-process counts']);
  t.same(gradeCounter(run, { total: 17, perPid: new Map() }, { ...counter, perPid: false }).failures, []);
});

// A storm: many execs of one case, each its own process
const storm: WorkloadRun = {
  runId: 'run',
  execs: Array.from({ length: 50 }, (_, i) =>
    truth({ id: 'thread-storm', pid: 1000 + i, tid: 2000 + i, argv: ['/bin/true', 'run-thread-storm', String(i)], commBefore: 'exec-thread' }),
  ),
};

t.test('a counter counts each process of a storm once, as one case', async (t) => {
  const perPid = new Map(storm.execs.map((x) => [x.pid, 1]));
  perPid.set(1003, 0);
  const g = gradeCounter(storm, { total: 49, perPid }, counter);
  t.same(g.failures, ['thread-storm: 1 of 50 processes: pid 1003 counted 0, expected 1', 'total: total 49 < 50 workload execve calls']);
});

