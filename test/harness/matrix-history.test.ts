import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ClassifiedCell } from '../../harness/commands/baseline.js';
import { formatHistory, historyRows, loadRecords, saveRecord, type MatrixRecord } from '../../harness/commands/matrix-history.js';

const cell = (kernel: string, variant: string, klass: ClassifiedCell['class'], statuses: ClassifiedCell['status'][]): ClassifiedCell => ({
  kernel,
  variant,
  runs: statuses.filter((s) => s !== 'not-run').map((s) => ({ status: s as 'pass' })),
  class: klass,
  status: statuses[0],
  reason: klass === 'as-expected' ? 'pass' : `${klass} reason`,
  entries: [],
  counts: { pass: 0, fail: 0 },
});

const record = (startedAt: string, cells: ClassifiedCell[]): MatrixRecord => ({
  schema: 1,
  kind: 'ebpf-lab-matrix',
  startedAt,
  finishedAt: startedAt,
  reruns: 1,
  rerunsRun: 0,
  kernels: [{ kernel: '6.1' }, { kernel: '7.2' }],
  cells,
});

const runs = [
  record('2026-11-16T04:00:00.000Z', [cell('6.1', 'counter/bcc', 'as-expected', ['pass']), cell('7.2', 'counter/bcc', 'as-expected', ['pass'])]),
  record('2026-11-23T04:00:00.000Z', [cell('6.1', 'counter/bcc', 'flaky', ['fail', 'pass']), cell('7.2', 'counter/bcc', 'not-run', ['not-run'])]),
  record('2026-11-30T04:00:00.000Z', [cell('6.1', 'counter/bcc', 'as-expected', ['pass']), cell('7.2', 'counter/bcc', 'new-failure', ['fail', 'fail'])]),
  record('2026-12-07T04:00:00.000Z', [
    cell('6.1', 'counter/bcc', 'as-expected', ['skip']),
    cell('7.2', 'counter/bcc', 'known-failure', ['fail', 'fail']),
    cell('7.2', 'counter/ts', 'as-expected', ['pass']),
  ]),
];

t.test('each cell gets one symbol per run, oldest first, and a dot where it was not in a run', async (t) => {
  t.same(
    historyRows(runs, 10).map((r) => [r.kernel, r.variant, r.row]),
    [
      ['6.1', 'counter/bcc', '✓≈✓–'],
      ['7.2', 'counter/bcc', '✓?✗✗'],
      ['7.2', 'counter/ts', '···✓'],
    ],
  );
  t.same(historyRows(runs, 2).map((r) => r.row), ['✓–', '✗✗', '·✓'], 'only the last N runs');
});

t.test('the history prints a line per cell with the newest run’s class when it is not as expected', async (t) => {
  const text = formatHistory(runs, 3);
  t.match(text, /^3 run\(s\), oldest first: 2026-11-23T04:00:00\.000Z … 2026-12-07T04:00:00\.000Z$/m);
  t.match(text, /^6\.1     counter\/bcc  ≈✓–$/m);
  t.match(text, /^7\.2     counter\/bcc  \?✗✗  known-failure: known-failure reason$/m);
  t.equal(formatHistory([], 10), 'no matrix run recorded yet');
});

t.test('records are kept one file per run and read back in time order, other files passed over', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'matrix-history-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await saveRecord(dir, runs[2]);
  await saveRecord(dir, runs[0]);
  await writeFile(path.join(dir, 'notes.json'), '{"hello": 1}');
  const back = await loadRecords(dir);
  t.same(back.map((r) => r.startedAt), ['2026-11-16T04:00:00.000Z', '2026-11-30T04:00:00.000Z']);
  t.same(await loadRecords(path.join(dir, 'missing')), []);
});
