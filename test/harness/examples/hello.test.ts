import t from 'tap';
import { failures, renderDifference } from '../../../harness/engine/example.js';
import { gradeHello, hello, VARIANTS } from '../../../harness/examples/hello.js';
import { exampleOf } from '../../../harness/examples/index.js';
import { rounds } from '../../../harness/engine/session.js';
import type { ExecTruth, WorkloadRun } from '../../../harness/examples/exec-workload.js';

const truth = (over: Partial<ExecTruth> & Pick<ExecTruth, 'id' | 'pid'>): ExecTruth => ({
  marker: '', syscall: 'execve', tid: over.pid, ppid: 1, filename: '/bin/true', argv: ['/bin/true'], ret: 0, commBefore: 'node', commAfter: 'true', ...over,
});
const run: WorkloadRun = {
  runId: 'r',
  execs: [
    truth({ id: 'plain', pid: 10 }),
    truth({ id: 'failed-enoent:launcher', pid: 11, launcher: true }),
    truth({ id: 'failed-enoent', pid: 11, ret: -2 }),
    truth({ id: 'execveat:launcher', pid: 12, launcher: true }),
    truth({ id: 'execveat', pid: 12, syscall: 'execveat' }),
  ],
};
const line = (pid: number, tool = 'libbpf') =>
  tool === 'bpftrace' ? `Hello, World! execve pid=${pid} comm=node` : `            node-${pid}    [001] ...21  1234.5: bpf_trace_printk: Hello, World! execve pid=${pid}`;
const read = (texts: string[]) => {
  const r = hello.reader(VARIANTS[0]);
  return [...texts.flatMap((x) => r.line(x)), ...r.end()];
};
const expect = VARIANTS[0].expect;

t.test('the reader takes the pid from a trace-pipe line and from bpftrace’s own, and skips everything else', async (t) => {
  t.same(read([line(10), line(11, 'bpftrace'), 'WARNING: something', '   cron-5 [000] bpf_trace_printk: other program']).map((l) => l.pid), [10, 11]);
});

t.test('one hello per execve passes; execveat is expected to say nothing', async (t) => {
  const g = gradeHello(run, read([line(10), line(11), line(11), line(12)]), expect);
  t.same(failures(g.differences), []);
  t.same([g.expected, g.matched], [3, 3]);
  t.match(g.differences.map(renderDifference), [/^execveat: execveat or the 32-bit entry says no hello: the example follows the course and traces sys_enter_execve alone/]);
});

t.test('a missing or doubled hello fails its case with the pid and the counts', async (t) => {
  const g = gradeHello(run, read([line(10), line(10), line(11), line(12)]), expect);
  t.same(failures(g.differences).map(renderDifference), ['plain: pid 10 said hello 2 times, expected 1', 'failed-enoent: pid 11 said hello 1 times, expected 2']);
  t.equal(g.cases.find((c) => c.id === 'failed-enoent')!.verdict, 'missed');
});

t.test('the variants reading the trace pipe run one per round; the others share the first', async (t) => {
  const r = rounds(VARIANTS, exampleOf);
  t.same(r.map((group) => group.map((v) => v.tool)), [['bpftrace', 'bcc'], ['libbpf'], ['ts']]);
  t.ok(VARIANTS.filter((v) => v.tool !== 'bpftrace').every((v) => v.exclusive === 'trace-pipe'), 'as data on the variants');
});
