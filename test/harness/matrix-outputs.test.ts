import t from 'tap';
import { junitSchemaErrors } from '../lib/junit.js';
import { classify, type Baseline } from '../../harness/commands/baseline.js';
import { matrixJunit, matrixSummaryMarkdown, xmlEscape } from '../../harness/commands/matrix-outputs.js';
import type { MatrixRecord } from '../../harness/commands/matrix-history.js';

const kernels = [
  { kernel: '6.1', release: '6.1.0-50-amd64', package: 'linux-image-6.1.0-50-amd64 6.1.176-1' },
  { kernel: '7.2', error: 'run in vm 7.2: the guest\'s kernel broke (soft lockup) & "died"' },
];
const baseline: Baseline = {
  entries: [
    { kernel: '6.1', variant: 'counter/bpftrace', status: 'fail', reason: 'maps too small', link: 'https://example.org/b' },
    { kernel: '6.1', variant: 'counter/libbpf', status: 'fail', reason: 'old bug' },
  ],
};
const cells = classify(
  [
    { kernel: '6.1', variant: 'counter/bpftrace', runs: [{ status: 'fail', reason: 'plain: pid 1 <counted> 0', failingCases: ['plain'] }] },
    { kernel: '6.1', variant: 'counter/bcc', runs: [{ status: 'fail', reason: 'total: 3 ≠ 4', failingCases: ['total'] }, { status: 'fail', reason: 'total: 3 ≠ 4', failingCases: ['total'] }] },
    { kernel: '6.1', variant: 'counter/ts', runs: [{ status: 'error', reason: 'tracer died' }, { status: 'pass' }] },
    { kernel: '6.1', variant: 'counter/libbpf', runs: [{ status: 'pass' }] },
    { kernel: '6.1', variant: 'hello/bcc', runs: [{ status: 'pass' }] },
    { kernel: '7.2', variant: 'counter/bcc', runs: [], notRun: kernels[1].error },
  ],
  kernels,
  baseline,
  '2026-12-07',
);
const record: MatrixRecord = { schema: 1, kind: 'ebpf-lab-matrix', startedAt: '2026-12-07T04:00:00.000Z', finishedAt: '2026-12-07T04:09:00.000Z', baseline: 'matrix-baseline.yaml', reruns: 1, rerunsRun: 2, kernels, cells };

t.test('the JUnit XML is valid against the JUnit schema, and the validator does say no to an invalid one', async (t) => {
  const xml = matrixJunit(record);
  t.same(await junitSchemaErrors(xml), []);
  t.not((await junitSchemaErrors('<testsuites><testsuite name="x"><testcase/></testsuite></testsuites>')).length, 0, 'a testcase without a name and a suite without counts are rejected');
});

t.test('the JUnit XML has a suite per kernel and a test case per cell, the reason as the failure text', async (t) => {
  const xml = matrixJunit(record);
  t.match(xml, /^<testsuites name="ebpf-lab matrix" tests="6" failures="1" errors="0">$/m);
  t.match(xml, /^  <testsuite name="matrix\.6\.1" tests="5" failures="1" errors="0" skipped="1" timestamp="2026-12-07T04:00:00">$/m);
  t.match(xml, /<property name="package" value="linux-image-6\.1\.0-50-amd64 6\.1\.176-1"\/>/);
  t.match(
    xml,
    '<testcase classname="matrix.6.1" name="counter/bcc">\n      <failure type="new-failure" message="new failure: expected pass, now fail: total: 3 ≠ 4 (failed 2 of 2 runs)">new failure: expected pass, now fail: total: 3 ≠ 4 (failed 2 of 2 runs)\nruns: fail, fail</failure>',
  );
  t.match(xml, '<skipped type="known-failure" message="known failure: maps too small (https://example.org/b)"/>');
  t.match(xml, '<flakyFailure type="flaky" message="error: tracer died"/>');
  t.match(xml, '<system-out>newly passing: expected fail, now passes (the baseline: old bug)</system-out>');
  t.match(xml, '<testcase classname="matrix.6.1" name="hello/bcc"/>');
  t.match(xml, `<skipped type="not-run" message="not run: run in vm 7.2: the guest&apos;s kernel broke (soft lockup) &amp; &quot;died&quot;"/>`);
  t.equal(xmlEscape('a\u0001b<c>'), 'a\ufffdb&lt;c&gt;', 'a control character XML cannot hold is replaced, markup escaped');
});

t.test('the Markdown summary leads with the verdict and lists each change with its reason and link', async (t) => {
  const md = matrixSummaryMarkdown(record);
  const lines = md.split('\n');
  t.equal(lines[0], '## Kernel matrix: FAILED — 1 new failure, 1 flaky, 1 not run, 1 known failure, 1 newly passing, 1 as expected');
  t.equal(lines[2], 'Baseline `matrix-baseline.yaml`; 2 reruns of failing cells ran (--reruns 1). Run 2026-12-07T04:00:00.000Z – 2026-12-07T04:09:00.000Z.');
  t.ok(lines.includes('| 6.1 | counter/bcc | ❌ new failure | fail fail | expected pass, now fail: total: 3 ≠ 4 (failed 2 of 2 runs) |'));
  t.ok(lines.includes('| 6.1 | counter/bpftrace | ☑️ known failure | fail | known failure: maps too small (https://example.org/b) ([link](https://example.org/b)) |'));
  t.ok(lines.includes('| 7.2 | counter/bcc | ⚠️ not run | — | run in vm 7.2: the guest\'s kernel broke (soft lockup) & "died" |'));
  t.ok(lines.includes('| 6.1 | 6.1.0-50-amd64 | linux-image-6.1.0-50-amd64 6.1.176-1 |  |'));
  t.ok(lines.includes('| counter/bcc | fail (new failure) | not run |'));
  t.ok(lines.includes('| hello/bcc | pass |  |'));
});

t.test('without a baseline a kernel that did not run fails the run; with one it does not', async (t) => {
  const { recordFailed } = await import('../../harness/commands/matrix-outputs.js');
  const notRun = classify([{ kernel: '7.2', variant: 'hello/ts', runs: [], notRun: 'fetch kernel 7.2: no network' }], [kernels[1]], undefined, '2026-12-07');
  const bare: MatrixRecord = { ...record, baseline: undefined, kernels: [kernels[1]], cells: notRun };
  t.equal(recordFailed(bare), true);
  t.match(matrixSummaryMarkdown(bare), /^## Kernel matrix: FAILED — 1 not run$/m);
  t.equal(recordFailed({ ...bare, baseline: 'b.yaml' }), false);
});
