// The labs' checks as pure functions of a driver's report: full marks, partial credit, and feedback
// that says what was wrong (the verifier's words and instruction for a rejection).
import t from 'tap';
import { gradeReport } from '../../harness/grade/lab.js';
import { judge as judgeMaps } from '../../labs/1-maps/checks.js';
import { counterSettings, judge as judgeCounter } from '../../labs/2-counter/checks.js';
import { findLab, LABS } from '../../labs/index.js';
import { VISIBLE_LABS } from '../../labs/visible.js';

// the grader's labs: visible and hidden checks
const [maps, counter, bpftrace, ppid, , findTheBug] = ['1', '2', '3', '4', '5', '6'].map((n) => findLab(n));

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
  t.same(r.map((x) => x.points), [0, 0, 0, 0, 0]);
  t.equal(r[0]!.feedback, `the verifier rejected it: "R0 invalid mem access 'map_value_or_null'" at 5: (db) lock *(u64 *)(r0 +0) += r1`);
  t.equal(r[1]!.feedback, 'not run: the verifier rejected the program');
  const ok = gradeReport(counter, { total: all(2, 2), perProcess: all(5, 6, "the process that exec'd 4 times: counted 1"), varied: all(3, 4), quiet: all(1, 1) });
  t.same(ok.map((x) => x.points), [2, 2, 2.5, 1.5, 1]);
});

t.test("lab 2's judge: each process's count against the execs the collector made it do; a program calling a helper outside the lab's is not loaded", async (t) => {
  const procs = [
    { kind: 'single', pid: 11, execs: 1, counted: 1 },
    { kind: 'chain-4', pid: 12, execs: 4, counted: 4 },
    { kind: 'chain-many', pid: 13, execs: 12, counted: 4 }, // a counter that stops at 4
    { kind: 'thread', pid: 14, execs: 2, counted: 1 }, // the thread's exec counted under its tid
  ] as const;
  const r = judgeCounter({ program: { insns: '95' }, load: { ok: true }, counts: { totalDelta: 19, procs: [...procs], agent: 0, entries: 5 } });
  t.same(r.perProcess, { right: 2, total: 2 });
  t.same(r.varied, { right: 0, total: 2, firstWrong: "a process that exec'd 12 times: counted 4 of its 12" });
  t.same(r.total, { right: 2, total: 2 });
  t.throws(() => judgeCounter({ program: { insns: '85', foreignHelpers: [36] } }), /helper 36, which this lab does not allow/);
  t.throws(() => judgeCounter({}, 'the guest stopped'), /the guest stopped/);
  t.same(counterSettings('seed-a'), counterSettings('seed-a'), 'the same seed, the same workload');
  for (const seed of ['a', 'b', 'c', 'd']) t.ok(counterSettings(seed).workload.many > 4, 'always more execs in one process than the visible 4');
});

t.test("lab 1's judge: each case is the student's answer against the kernel's", async (t) => {
  const r = judgeMaps({
    cases: {
      cases: [
        { group: 'create', name: 'create an array map', got: { value: { type: 2, key: 4, value: 8, max: 4 } }, want: { value: { type: 2, key: 4, value: 8, max: 4 } } },
        { group: 'flags', name: 'hash: BPF_EXIST on a missing key', got: { value: 0 }, want: { value: -2 } },
        { group: 'lookup', name: 'array: lookup of key 2', got: { threw: 'boom' }, want: { value: { hex: '0700000000000000' } } },
      ],
    },
  });
  t.same(r.create, { right: 1, total: 1 });
  t.same(r.flags, { right: 0, total: 1, firstWrong: 'hash: BPF_EXIST on a missing key: got 0, the kernel says -ENOENT' });
  t.same(r.lookup, { right: 0, total: 1, firstWrong: 'array: lookup of key 2: got threw boom, the kernel says 0x0700000000000000' });
  t.equal(r.churn, undefined);
});

t.test('labs 3, 4 and 6: each check from its view; a rejection quotes the verifier, its instruction and the source line', async (t) => {
  const three = gradeReport(bpftrace, { views: { events: all(5, 5), ppid: all(0, 5, 'plain: ppid NaN ≠ 50'), ret: all(5, 5) } });
  t.same(three.map((x) => x.points), [1, 3, 0, 3, 0], 'the hidden ppid-thread view was not in this report: 0');
  t.match(three[2]!.feedback, /^0 of 5 right; first wrong: plain: ppid NaN/);
  const rejected = { rejected: { words: "R0 invalid mem access 'map_value_or_null'", at: '9: (63) *(u32 *)(r0 +8) = r1', source: 'e->ret = ctx->ret;' } };
  const r = gradeReport(ppid, rejected);
  t.same(r.map((x) => x.points), [0, 0, 0, 0, 0, 0]);
  t.equal(r[0]!.feedback, `the verifier rejected it: "R0 invalid mem access 'map_value_or_null'" at 9: (63) *(u32 *)(r0 +8) = r1 (source: e->ret = ctx->ret;)`);
  t.same(r.map((x) => x.feedback.slice(0, 50)).slice(1, 4), ['not run: the verifier rejected the program', 'not run: the verifier rejected the program', 'not run: the verifier rejected the program']);
  t.ok(r[5]!.hidden, "lab 4's thread case is hidden");
  // lab 4's kernel side and user side apart: a report whose events carry the parent pid but whose column does not
  const halves = gradeReport(ppid, { views: { events: all(4, 4), ppid: all(0, 4, 'plain: ppid undefined ≠ 50') }, field: { kernel: all(4, 4), user: all(0, 4, 'plain: the PPID column holds no number') } });
  t.same(halves.map((x) => x.points), [1, 3, 2, 0, 0, 0]);
  t.same(halves.map((x) => x.name.split(':')[0]), ['it builds, the verifier accepts it, it attaches', 'every exec is printed', 'kernel side', 'user side', 'together', 'the parent pid when the parent is a thread']);
  t.match(halves[3]!.feedback, /^0 of 4 right; first wrong: plain: the PPID column holds no number/);
  t.match(gradeReport(ppid, { views: {}, field: { failed: "the grader's event dump did not attach your kernel side" } })[2]!.feedback, /^the grader's event dump did not attach/);
  const leaky = gradeReport(findTheBug, { views: { events: all(3, 3), thread: all(0, 1, 'from-thread: no event for pid 7'), storm: all(1, 2, 'thread-storm: 0 of 600 execs') }, leftInMap: 601 });
  t.same(leaky.map((x) => x.points), [1, 2, 0, 1, 0, 0]);
  t.match(leaky[4]!.feedback, /^601 entries left in execs/);
  t.equal(gradeReport(findTheBug, { views: {}, leftInMap: 0 })[4]!.points, 1);
});

t.test('labs are found by folder name or by number; an unknown lab is bad usage', async (t) => {
  t.equal(findLab('2').id, '2-counter');
  t.equal(findLab('1-maps').id, '1-maps');
  t.throws(() => findLab('9'), /no lab "9" \(labs: 1-maps, 2-counter/);
  for (const lab of LABS) t.ok(lab.checks.length > 0 && lab.files.length > 0, lab.id);
});

t.test("a handout's labs (labs/visible.ts) are the grader's without the hidden checks", async (t) => {
  const hiddenIds: Record<string, string[]> = { '1-maps': ['churn'], '2-counter': ['varied', 'quiet'], '3-bpftrace': ['ppid-thread'], '4-ppid': ['ppid-thread'], '5-long-args': ['many-long'], '6-find-the-bug': ['thread-failed'] };
  t.same(VISIBLE_LABS.map((l) => l.id), LABS.map((l) => l.id));
  for (const [i, lab] of LABS.entries()) {
    const visible = VISIBLE_LABS[i]!;
    t.same(lab.checks.filter((c) => c.hidden).map((c) => c.id), hiddenIds[lab.id], `${lab.id}: the grader's hidden checks`);
    t.same(visible.checks.map((c) => c.id), lab.checks.filter((c) => !c.hidden).map((c) => c.id), `${lab.id}: the handout's are the visible ones`);
  }
  // a tracer lab's hidden case runs only where the grader grades
  const cases = (lab: (typeof LABS)[number]) => (lab.settings?.('s') as { cases: string[] }).cases;
  t.ok(cases(findLab('4')).includes('fork-from-thread'));
  t.notOk(cases(findLab('4', VISIBLE_LABS)).includes('fork-from-thread'));
});
