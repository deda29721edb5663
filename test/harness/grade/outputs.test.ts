import t from 'tap';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { csvRows, gradescopeResults, hashSubmission, toCsv } from '../../../harness/grade/outputs.js';
import type { GradedSubmission } from '../../../harness/grade/vm.js';

const graded: GradedSubmission[] = [
  {
    student: 'zoe',
    bootMs: 1,
    totalMs: 2,
    results: [{ check: 'a', name: 'A', points: 1, max: 2, status: 'partial', feedback: 'said "no", then, well', hidden: false }],
  },
  {
    student: 'al',
    bootMs: 1,
    totalMs: 2,
    results: [
      { check: 'a', name: 'A', points: 2, max: 2, status: 'pass', feedback: 'ok', hidden: false },
      { check: 'h', name: 'H', points: 0, max: 1, status: 'fail', feedback: 'secret', hidden: true },
    ],
  },
];

t.test('the CSV has a row per student and check, then a TOTAL row, students in order, quoted properly', async (t) => {
  const text = toCsv(csvRows('2-counter', graded));
  t.match(text, /^student,lab,check,points,max,status,feedback,hidden\n/);
  t.equal(
    text,
    [
      'student,lab,check,points,max,status,feedback,hidden',
      'al,2-counter,a,2,2,pass,ok,no',
      'al,2-counter,h,0,1,fail,secret,yes',
      'al,2-counter,TOTAL,2,3,partial,,no',
      'zoe,2-counter,a,1,2,partial,"said ""no"", then, well",no',
      'zoe,2-counter,TOTAL,1,2,partial,,no',
      '',
    ].join('\n'),
    'commas and quotes are quoted, students in order',
  );
});

t.test('Gradescope results.json: tests with score, max_score, name, output, visibility (hidden stays hidden)', async (t) => {
  const r = gradescopeResults(graded[1]!) as { score: number; tests: Record<string, unknown>[] };
  t.equal(r.score, 2);
  t.same(r.tests[1], { name: 'h: H', score: 0, max_score: 1, status: 'failed', output: 'secret', visibility: 'hidden' });
  t.equal(r.tests[0]!.visibility, 'visible');
});

t.test('a submission graded again after the emulator\'s fault says so in its TOTAL row and in Gradescope\'s output', async (t) => {
  const again: GradedSubmission = { ...graded[0]!, regraded: ['graded again: oops: Oops: int3: 0000 [#1] SMP NOPTI'] };
  t.equal(csvRows('2-counter', [again]).at(-1)!.feedback, 'graded again: oops: Oops: int3: 0000 [#1] SMP NOPTI');
  t.equal((gradescopeResults(again) as { output: string }).output, 'graded again: oops: Oops: int3: 0000 [#1] SMP NOPTI');
  t.notOk('output' in (gradescopeResults(graded[0]!) as object), 'nothing said when graded once');
});

t.test('a submission hash depends on names and contents only', async (t) => {
  const base = await mkdtemp(path.join(tmpdir(), 'hash-test-'));
  for (const d of ['a', 'b']) {
    await mkdir(path.join(base, d, 'sub'), { recursive: true });
    await writeFile(path.join(base, d, 'x.ts'), 'x');
    await writeFile(path.join(base, d, 'sub', 'y.ts'), 'y');
  }
  t.equal(await hashSubmission(path.join(base, 'a')), await hashSubmission(path.join(base, 'b')));
  await writeFile(path.join(base, 'b', 'x.ts'), 'x2');
  t.not(await hashSubmission(path.join(base, 'a')), await hashSubmission(path.join(base, 'b')));
});

t.test('--merge joins shards into the CSV one run would write; a student in two shards or another lab is refused', async (t) => {
  const { mergeCsv, shardOf } = await import('../../../harness/grade/outputs.js');
  const whole = toCsv(csvRows('2-counter', graded));
  const a = toCsv(csvRows('2-counter', [graded[0]!]));
  const b = toCsv(csvRows('2-counter', [graded[1]!]));
  t.equal(toCsv(mergeCsv([{ name: 'a.csv', text: a }, { name: 'b.csv', text: b }])), whole);
  t.throws(() => mergeCsv([{ name: 'a.csv', text: a }, { name: 'c.csv', text: a }]), /zoe is in both a\.csv and c\.csv/);
  t.throws(() => mergeCsv([{ name: 'a.csv', text: a }, { name: 'a.csv', text: a }]), /zoe is in both a\.csv and a\.csv \(the same file, named twice\)/);
  t.throws(() => mergeCsv([{ name: 'a.csv', text: a }, { name: 'd.csv', text: toCsv(csvRows('1-maps', [graded[1]!])) }]), /d\.csv grades lab 1-maps, the others 2-counter/);
  const students = ['a', 'b', 'c', 'd', 'e'];
  t.same([shardOf(students, '1/2'), shardOf(students, '2/2')], [['a', 'c', 'e'], ['b', 'd']]);
  t.throws(() => shardOf(students, '3/2'), /--shard must be i\/n/);
});
