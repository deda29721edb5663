// opensnoop's grading, with truth and tool output written by hand: nothing here is computed by the code under test.
import t from 'tap';
import { failures, renderDifference } from '../../../../harness/engine/example.js';
import { gradeOpensnoop, type OpensnoopExpectations } from '../../../../harness/examples/opensnoop/grade.js';
import { opensnoop } from '../../../../harness/examples/opensnoop/index.js';
import type { OpenRun, OpenTruth } from '../../../../harness/examples/opensnoop/workload.js';

const truth = (over: Partial<OpenTruth> & Pick<OpenTruth, 'id' | 'path'>): OpenTruth => ({
  syscall: 'openat', pid: 100, tid: 100, comm: 'open_helper', flags: 0, mode: 0, ret: 3, count: 1, ...over,
});
const long = '/t/' + 'p'.repeat(254); // 257 bytes
const run: OpenRun = {
  runId: 'r',
  opens: [
    truth({ id: 'existing', path: '/t/r-existing' }),
    truth({ id: 'failed-enoent', path: '/t/r-missing', ret: -2 }),
    truth({ id: 'creat-0640', path: '/t/r-created', flags: 0o1101, mode: 0o640 }),
    truth({ id: 'legacy-open', syscall: 'open', path: '/t/r-legacy' }),
    truth({ id: 'openat2', syscall: 'openat2', path: '/t/r-openat2', resolve: 4, ret: -40 }),
    truth({ id: 'path-non-utf8', path: '/t/r-\\xff\\x0a\\\\', ret: -2 }),
    truth({ id: 'path-257-bytes', path: long, ret: -2 }),
    truth({ id: 'open-storm', path: '/t/r-storm', tid: 101, ret: -2, count: 2, burst: true }),
    truth({ id: 'open-storm', path: '/t/r-storm', tid: 102, ret: -2, count: 1, burst: true }),
  ],
};

// what our libbpf/BCC/ts opensnoop prints for that run, typed out (and one line of another process)
const ROWS = [
  '100     100     open_helper      openat  00000000 0000     3 /t/r-existing',
  '1       1       systemd          openat  02000000 0000     9 /t/r-missing',
  '100     100     open_helper      openat  00000000 0000    -2 /t/r-missing',
  '100     100     open_helper      openat  00001101 0640     3 /t/r-created',
  '100     100     open_helper      open    00000000 0000     3 /t/r-legacy',
  '100     100     open_helper      openat2 00000000 0000   -40 /t/r-openat2',
  '100     100     open_helper      openat  00000000 0000    -2 /t/r-\\xff\\x0a\\\\',
  `100     100     open_helper      openat  00000000 0000    -2 /t/${'p'.repeat(253)}...`,
  '100     101     open_helper      openat  00000000 0000    -2 /t/r-storm',
  '100     102     open_helper      openat  00000000 0000    -2 /t/r-storm',
  '100     101     open_helper      openat  00000000 0000    -2 /t/r-storm',
];
const ours = opensnoop.variants.find((v) => v.tool === 'libbpf')!;
const read = (lines: string[], v = ours) => {
  const r = opensnoop.reader(v);
  return [...lines.flatMap((l) => r.line(l)), ...r.end()];
};

t.test('every open seen once, as printed, passes: 8 cases, each matched', async (t) => {
  const g = gradeOpensnoop(run, read(ROWS), ours.expect);
  t.same(failures(g.differences), []);
  t.same([g.expected, g.matched], [8, 8]);
  t.match(g.differences.map(renderDifference), ['path-257-bytes: path cut to 256 bytes: a path is read into PATH_CAP + 2 bytes and shown up to PATH_CAP = 256 (expected)']);
});

t.test('a wrong return value, flags, mode or door fails its case and says what differs', async (t) => {
  const rows = [...ROWS];
  rows[2] = '100     100     open_helper      openat  00000000 0000    -13 /t/r-missing';
  rows[3] = '100     100     open_helper      openat  00001100 0600     3 /t/r-created';
  rows[4] = '100     100     open_helper      openat  00000000 0000     3 /t/r-legacy';
  const g = gradeOpensnoop(run, read(rows), ours.expect);
  t.same(failures(g.differences).map(renderDifference), [
    'failed-enoent: returned -2, shown -13',
    'creat-0640: flags 01101, shown 01100',
    'creat-0640: mode 0640, shown 0600',
    'legacy-open: made with open, shown as openat',
  ]);
  t.equal(g.matched, 5);
});

t.test('a missed open, one of the storm lost, and an open seen twice are failures', async (t) => {
  const rows = ROWS.filter((_, i) => i !== 0 && i !== 10);
  rows.push(rows[1]!); // r-missing twice
  const g = gradeOpensnoop(run, read(rows), ours.expect);
  t.same(failures(g.differences).map(renderDifference), [
    'existing: no event for openat("/t/r-existing") by 100/100',
    'failed-enoent: 2 events for openat("/t/r-missing") by 100/100',
    'open-storm: 1 of 2 groups of opens: 1 of 2 opens like openat("/t/r-storm") by 100/101 seen',
  ]);
});

t.test('a tool that may lose a burst is let off the storm, but not an ordinary open', async (t) => {
  const mayLose: OpensnoopExpectations = { ...ours.expect, burst: 'may-lose', why: { burst: 'perf buffer full' } };
  const g = gradeOpensnoop(run, read(ROWS.filter((_, i) => i !== 10 && i !== 0)), mayLose);
  t.same(failures(g.differences).map(renderDifference), ['existing: no event for openat("/t/r-existing") by 100/100']);
  t.ok(g.differences.map(renderDifference).includes('open-storm: some of a burst lost: perf buffer full (expected)'), 'the loss, declared');
});

t.test('libbpf-tools prints paths raw and cuts them silently: its reader joins a path across its newline', async (t) => {
  const lt = opensnoop.variants.find((v) => v.tool === 'upstream-libbpf-tools')!; // 254 bytes, raw, no mark
  const sub: OpenRun = { runId: 'r', opens: run.opens.filter((o) => ['existing', 'failed-enoent', 'path-non-utf8', 'path-257-bytes'].includes(o.id)) };
  const rows = [ // "%-6d %-16s %3d %3d %08o %s", typed out
    '100    open_helper        3   0 00000000 /t/r-existing',
    '100    open_helper       -1   2 00000000 /t/r-missing',
    '100    open_helper       -1   2 00000000 /t/r-\uFFFD',
    '\\',
    `100    open_helper       -1   2 00000000 /t/${'p'.repeat(251)}`,
  ];
  const g = gradeOpensnoop(sub, read(rows, lt), lt.expect);
  t.same(failures(g.differences), []);
  t.equal(g.matched, 4);
});

t.test('our bpftrace: %r escapes a byte as ours do but not a backslash, and cuts at 160 bytes with a mark', async (t) => {
  const bt = opensnoop.variants.find((v) => v.tool === 'bpftrace')!;
  const rows = ROWS.map((r) => r.replace('/t/r-\\xff\\x0a\\\\', '/t/r-\\xff\\x0a\\').replace(/\/t\/p+\.\.\./, '/t/' + 'p'.repeat(157) + '...'));
  const g = gradeOpensnoop(run, read(rows, bt), bt.expect);
  t.same(failures(g.differences), []);
  t.equal(g.matched, 8);
  const ours = gradeOpensnoop(run, read(ROWS, bt), bt.expect); // a backslash doubled, and cut at 256: not what it prints
  t.same(failures(ours.differences).map((d) => d.case), ['path-non-utf8', 'path-257-bytes']);
});

t.test('a door the tool declares untraced is expected missing; an event for it anyway is a failure', async (t) => {
  const noOpenat2: OpensnoopExpectations = { ...ours.expect, doors: { open: 'seen', openat: 'seen', openat2: 'missed' }, why: { doors: 'no openat2 tracepoint used' } };
  const without = gradeOpensnoop(run, read(ROWS.filter((_, i) => i !== 5)), noOpenat2);
  t.same(failures(without.differences), []);
  t.match(without.cases.find((c) => c.id === 'openat2'), { verdict: 'expected-missing' });
  const withIt = gradeOpensnoop(run, read(ROWS), noOpenat2);
  t.same(failures(withIt.differences).map(renderDifference), ['openat2: openat2 declared untraced, but 1 event(s) for openat2("/t/r-openat2") by 100/100']);
});

t.test('owed() counts the opens due without their event, storm included, and none of an untraced door', async (t) => {
  t.equal(opensnoop.owed(read(ROWS), run, ours), 0);
  t.equal(opensnoop.owed(read(ROWS.slice(0, -1)), run, ours), 1, 'one of the storm');
  t.equal(opensnoop.owed(read(ROWS.slice(0, 4)), run, ours), 7, 'legacy, openat2, non-utf8, 257 bytes and 3 of the storm');
  const noOpenat2 = { ...ours, expect: { ...ours.expect, doors: { open: 'seen', openat: 'seen', openat2: 'missed' } as const } };
  t.equal(opensnoop.owed(read(ROWS.filter((_, i) => i !== 5)), run, noOpenat2), 0);
});

t.test("our reader: bpftrace's own lines are not events, and a line it does not know fails the variant with the line", async (t) => {
  t.same(read([ROWS[0]!, 'Lost 3 events', '', ROWS[2]!]).map((e) => e.path), ['/t/r-existing', '/t/r-missing']);
  t.throws(() => read([ROWS[0]!, 'WARNING: something']), /not an opensnoop row: "WARNING: something"/);
});

t.test('where syscall programs can be preempted, a lost part of a burst is expected of every tool; an ordinary open is not', async (t) => {
  const rows = ROWS.filter((_, i) => i !== 10 && i !== 0);
  const preemptible = gradeOpensnoop(run, read(rows), ours.expect, { syscallProgsPreemptible: true });
  t.same(failures(preemptible.differences).map(renderDifference), ['existing: no event for openat("/t/r-existing") by 100/100']);
  t.ok(preemptible.differences.some((d) => d.case === 'open-storm' && d.level === 'expected' && d.kind === 'recursion'), 'the storm: recursion misses, declared');
  t.same(failures(gradeOpensnoop(run, read(rows), ours.expect, { syscallProgsPreemptible: false }).differences).map((d) => d.case), ['existing', 'open-storm']);
});

t.test('a tool that may lose a burst may also miss the open right after it; one that may not, may not', async (t) => {
  const after: OpenRun = { runId: 'r', opens: [truth({ id: 'after-storm', path: '/t/r-after', afterBurst: true })] };
  const mayLose: OpensnoopExpectations = { ...ours.expect, burst: 'may-lose', why: { burst: 'perf buffer full' } };
  t.match(gradeOpensnoop(after, [], mayLose).cases, [{ id: 'after-storm', verdict: 'expected-missing' }]);
  t.match(gradeOpensnoop(after, [], ours.expect).cases, [{ id: 'after-storm', verdict: 'missed' }]);
});
