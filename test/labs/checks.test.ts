// The labs' checks as pure functions of a driver's report: full marks, partial credit, and feedback
// that says what was wrong (the verifier's words and instruction for a rejection).
import t from 'tap';
import { gradeReport } from '../../harness/grade/lab.js';
import { lab as maps } from '../../labs/1-maps/checks.js';
import { lab as counter } from '../../labs/2-counter/checks.js';
import { findLab, LABS } from '../../labs/index.js';

const all = (right: number, total: number, firstWrong?: string) => ({ right, total, ...(firstWrong ? { firstWrong } : {}) });

t.test('lab 1: every part right is full marks; half right is half the points with the first wrong case', async (t) => {
  const full = gradeReport(maps, { create: all(2, 2), update: all(4, 4), lookup: all(6, 6), flags: all(14, 14), delete: all(6, 6), iterate: all(3, 3), churn: all(1, 1) });
  t.equal(full.reduce((s, r) => s + r.points, 0), 12);
  const half = gradeReport(maps, { create: all(2, 2), update: all(4, 4), lookup: all(6, 6), flags: all(7, 14, 'hash: BPF_EXIST on a missing key: got 0, the kernel says -ENOENT'), delete: all(6, 6), iterate: all(3, 3), churn: undefined });
  const flags = half.find((r) => r.check === 'flags')!;
  t.same([flags.points, flags.status], [1, 'partial']);
  t.match(flags.feedback, /7 of 14 right; first wrong: hash: BPF_EXIST on a missing key/);
  t.equal(half.find((r) => r.check === 'churn')!.points, 0);
  t.ok(half.find((r) => r.check === 'churn')!.hidden);
});

t.test('lab 2: a rejection costs every check, and "loads" quotes the verifier and the instruction', async (t) => {
  const r = gradeReport(counter, { rejected: { words: "R0 invalid mem access 'map_value_or_null'", at: '5: (db) lock *(u64 *)(r0 +0) += r1' } });
  t.same(r.map((x) => x.points), [0, 0, 0, 0]);
  t.equal(r[0]!.feedback, `the verifier rejected it: "R0 invalid mem access 'map_value_or_null'" at 5: (db) lock *(u64 *)(r0 +0) += r1`);
  t.equal(r[1]!.feedback, 'not run: the verifier rejected the program');
  const ok = gradeReport(counter, { loaded: true, total: all(2, 2), perProcess: all(5, 6, "the process that exec'd 4 times: counted 1"), quiet: all(1, 1) });
  t.same(ok.map((x) => x.points), [2, 2, 4.17, 1]);
});

t.test('labs are found by folder name or by number; an unknown lab is bad usage', async (t) => {
  t.equal(findLab('2').id, '2-counter');
  t.equal(findLab('1-maps').id, '1-maps');
  t.throws(() => findLab('9'), /no lab "9" \(labs: 1-maps, 2-counter/);
  for (const lab of LABS) t.ok(lab.checks.length > 0 && lab.files.length > 0, lab.id);
});
