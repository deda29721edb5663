import t from 'tap';
import { clampScore, defineLab, failAll, gradeReport, oneLine, statusOf } from '../../../harness/grade/lab.js';

const lab = defineLab<{ n: number }>({
  id: '0-test',
  title: 'test',
  files: ['x.ts'],
  version: 1,
  collector: '/nonexistent/collect.ts',
  evidence: [],
  judge: () => ({ n: 1 }),
  checks: [
    { id: 'a', name: 'half credit', points: 2, grade: (r) => ({ score: r.n, feedback: 'one of two' }) },
    { id: 'b', name: 'too much', points: 1, hidden: true, grade: () => ({ score: 5, feedback: 'line one\nline two' }) },
    { id: 'c', name: 'throws', points: 3, grade: () => { throw new Error('bug in the check'); } },
  ],
});

t.test('a report is graded check by check: partial credit, clamped scores, one-line feedback, a throwing check is an error', async (t) => {
  const r = gradeReport(lab, { n: 1 });
  t.same(r.map((x) => [x.check, x.points, x.max, x.status, x.hidden]), [
    ['a', 1, 2, 'partial', false],
    ['b', 1, 1, 'pass', true],
    ['c', 0, 3, 'error', false],
  ]);
  t.equal(r[1]!.feedback, 'line one | line two');
  t.match(r[2]!.feedback, /^grader error: bug in the check/);
});

t.test('failAll gives every check 0 with the reason, skipping those already graded', async (t) => {
  const r = failAll(lab, 'does not compile', 'fail', new Set(['a']));
  t.same(r.map((x) => [x.check, x.points, x.status, x.feedback]), [
    ['b', 0, 'fail', 'does not compile'],
    ['c', 0, 'fail', 'does not compile'],
  ]);
});

t.test('scores and statuses', async (t) => {
  t.equal(clampScore(Number.NaN, 2), 0);
  t.equal(clampScore(-1, 2), 0);
  t.equal(clampScore(2 / 3, 2), 0.67);
  t.equal(statusOf(0, 2), 'fail');
  t.equal(statusOf(1, 2), 'partial');
  t.equal(statusOf(2, 2), 'pass');
  t.equal(oneLine('x'.repeat(500)).length, 400);
});
