import t from 'tap';
import { failures, renderDifference, type Grade } from '../../../../harness/engine/example.js';
import { expectedView, gradeExecsnoop as grade } from '../../../../harness/examples/execsnoop/grade.js';
import type { ExecEvent } from '../../../../harness/examples/execsnoop/parse.js';
import type { ExecsnoopExpectations } from '../../../../harness/examples/execsnoop/variants.js';
import type { ExecTruth, WorkloadRun } from '../../../../harness/examples/exec-workload.js';
import { run, truth } from '../../../lib/exec-truth.js';

/** The grade with its differences as the lines a report shows, which the assertions below compare. */
const lines = (g: Grade) => ({ ...g, failures: failures(g.differences).map(renderDifference), differences: g.differences.map(renderDifference) });
const gradeExecsnoop = (...a: Parameters<typeof grade>) => lines(grade(...a));

// A tool that sees everything perfectly is graded against the shared made-up run (test/lib/exec-truth.ts).

const ideal: ExecsnoopExpectations = {
  maxArgs: null, maxArgLen: null, cutMark: true, droppedMark: 'when-dropped', stopsAtEmptyArg: false, emptyArgs: 'kept', unreadableArgs: 'reread-else-marked', firstArg: 'argv0', argBoundaries: true, comm: 'exit', ppid: true, ret: true,
  failedExec: 'seen', threadExec: 'seen', execveat: 'missed', execve32: 'missed', syscall: 'none', bytes: 'escaped', burst: 'complete', why: { execveat: 'execve tracepoints do not fire for execveat' },
};

// What tools print for that run, written out by hand from test/lib/exec-truth.ts (not by expectedView, the
// function under test): a tool that sees everything perfectly, then each other kind as an edit of it.
const ev = (pid: number, comm: string, ret: number, args: string[], over: Partial<ExecEvent> = {}): ExecEvent => ({ pid, ppid: 100, comm, ret, args, truncated: false, unreadable: false, escaped: false, ...over });
const A = Array.from({ length: 29 }, (_, i) => `a${i}`);
const IDEAL: ExecEvent[] = [
  ev(201, 'true', 0, ['/bin/true']),
  ev(202, 'true', 0, ['/bin/true', ...A]),
  ev(203, 'true', 0, ['/bin/true', 'L'.repeat(300)]),
  ev(204, 'true', 0, ['/bin/true', 'two words', '']),
  ev(205, 'sh', 0, ['/bin/sh', '-c', 'x']), // failed-enoent's launcher
  ev(205, 'sh', -2, ['/nonexistent/x']),
  ev(206, 'python3', 0, ['/usr/bin/python3', 'h.py']), // from-thread's launcher
  ev(206, 'true', 0, ['/bin/true', 'run-from-thread']),
  ev(208, 'python3', 0, ['/usr/bin/python3', 'h.py']), // execveat's launcher; the execveat itself is unseen
];
/** IDEAL with the events of `pid` (and return value `ret`, when given) changed. */
const edit = (events: ExecEvent[], pid: number, change: (e: ExecEvent) => ExecEvent | undefined, ret?: number): ExecEvent[] =>
  events.flatMap((e) => (e.pid === pid && (ret === undefined || e.ret === ret) ? (change(e) ?? []) : [e]));
const PRINTED = {
  ideal: IDEAL,
  // MAX_ARGS 20 (argv[0] included), 127 bytes kept of an argument, both marked
  capped: edit(edit(IDEAL, 202, (e) => ({ ...e, args: ['/bin/true', ...A.slice(0, 19)], truncated: true })), 203, (e) => ({ ...e, args: ['/bin/true', 'L'.repeat(127) + '...'], truncated: true })),
  // comm read at sys_enter: the caller's
  atEnter: IDEAL.map((e) => ({ ...e, comm: e.pid === 205 && e.ret === -2 ? 'sh' : e.pid === 206 && e.comm === 'true' ? 'python3' : 'node' })),
  missesThreads: edit(IDEAL, 206, (e) => (e.comm === 'true' ? undefined : e)),
  tid: edit(IDEAL, 206, (e) => (e.comm === 'true' ? { ...e, pid: 207 } : e)),
  // 127 bytes kept, no mark
  silent: edit(IDEAL, 203, (e) => ({ ...e, args: ['/bin/true', 'L'.repeat(127)] })),
  stopsAtEmpty: edit(IDEAL, 204, (e) => ({ ...e, args: ['/bin/true', 'two words'] })),
};
const perfectEvents = (kind: keyof typeof PRINTED): ExecEvent[] => structuredClone(PRINTED[kind]);

t.test('a tool that reports every exec exactly passes with every case matched', async (t) => {
  const g = gradeExecsnoop(run, perfectEvents('ideal'), ideal);
  t.same(g.failures, []);
  t.equal(g.expected, 7);
  t.equal(g.matched, 7);
  t.match(g.differences, [/execveat: not reported, as expected: execve tracepoints do not fire/]);
});

t.test('events from processes the workload did not start are ignored', async (t) => {
  const noise: ExecEvent = { pid: 999, comm: 'cron', args: ['/usr/sbin/cron'], truncated: false, unreadable: false, escaped: false, ret: 0, ppid: 1 };
  t.same(gradeExecsnoop(run, [noise, ...perfectEvents('ideal')], ideal).failures, []);
});

t.test('declared caps turn cut and dropped arguments into expected differences', async (t) => {
  const capped: ExecsnoopExpectations = { ...ideal, maxArgs: 20, maxArgLen: 127, why: { ...ideal.why, maxArgs: 'MAX_ARGS is 20' } };
  const events = perfectEvents('capped');
  const many = events.find((e) => e.pid === 202)!;
  t.equal(many.args.length, 20);
  t.ok(many.truncated);
  t.equal(events.find((e) => e.pid === 203)!.args[1], 'L'.repeat(127) + '...');
  const g = gradeExecsnoop(run, events, capped);
  t.same(g.failures, []);
  t.match(g.differences.join('\n'), /many-args: 10 arguments dropped: MAX_ARGS is 20 \(expected\)/);
  t.match(g.differences.join('\n'), /long-arg: argument cut to 127 bytes/);
});

t.test('a capped argument the tool did not cut is a failure that names the field', async (t) => {
  const capped: ExecsnoopExpectations = { ...ideal, maxArgLen: 127 };
  const events = perfectEvents('ideal'); // prints the whole 300-character argument
  const g = gradeExecsnoop(run, events, capped);
  t.equal(g.matched, 6);
  t.match(g.failures, [/^long-arg: args .* ≠ /, /^long-arg: truncated false ≠ true/]);
});

t.test('a missing event fails the case with the pid it looked for', async (t) => {
  const events = perfectEvents('ideal').filter((e) => e.pid !== 201);
  const g = gradeExecsnoop(run, events, ideal);
  t.same(g.failures, ['plain: no event for pid 201']);
  t.equal(g.cases.find((o) => o.id === 'plain')!.verdict, 'missed');
});

t.test('the failed exec is told apart from its launcher in the same process', async (t) => {
  const events = perfectEvents('ideal');
  const failed = events.find((e) => e.ret === -2)!;
  failed.ret = 0; // a tool that loses the return value
  const g = gradeExecsnoop(run, events, ideal);
  t.same(g.failures, ['failed-enoent: ret 0 ≠ -2']);
});

t.test('comm read at enter is the caller’s name, and is reported as an expected difference', async (t) => {
  const atEnter: ExecsnoopExpectations = { ...ideal, comm: 'enter', why: { comm: 'read at sys_enter' } };
  const events = perfectEvents('atEnter');
  t.equal(events.find((e) => e.pid === 201)!.comm, 'node');
  const g = gradeExecsnoop(run, events, atEnter);
  t.same(g.failures, []);
  t.match(g.differences.join('\n'), /plain: comm is "node", the caller's: read at sys_enter \(expected\)/);
  t.same(gradeExecsnoop(run, perfectEvents('ideal'), atEnter).failures.length > 0, true, 'exit comm fails an enter-comm tool');
});

t.test('a thread exec declared missed is expected-missing; reporting it anyway is a difference', async (t) => {
  const missesThreads: ExecsnoopExpectations = { ...ideal, threadExec: 'missed', why: { threadExec: 'tid changes in de_thread' } };
  const g = gradeExecsnoop(run, perfectEvents('missesThreads'), missesThreads);
  t.same(g.failures, []);
  t.equal(g.cases.find((o) => o.id === 'from-thread')!.verdict, 'expected-missing');
  const g2 = gradeExecsnoop(run, perfectEvents('ideal'), missesThreads);
  t.equal(g2.cases.find((o) => o.id === 'from-thread')!.verdict, 'differs');
});

t.test('a tool that shows the thread id is matched on the tid', async (t) => {
  const tid: ExecsnoopExpectations = { ...ideal, threadExec: 'tid' };
  const events = perfectEvents('tid');
  t.ok(events.some((e) => e.pid === 207));
  t.same(gradeExecsnoop(run, events, tid).failures, []);
});

t.test('joined arguments are compared as text when the tool loses their boundaries', async (t) => {
  const joined: ExecsnoopExpectations = { ...ideal, argBoundaries: false };
  const events = perfectEvents('ideal').map((e) => ({ ...e, args: e.args.join(' ').split(' ') }));
  t.same(gradeExecsnoop(run, events, joined).failures, []);
  t.not(gradeExecsnoop(run, events, ideal).failures.length, 0, 'split arguments fail a tool that keeps boundaries');
});

t.test('the filename as first argument is applied before the comparison', async (t) => {
  const byFilename: ExecsnoopExpectations = { ...ideal, firstArg: 'filename' };
  const events = perfectEvents('ideal') /* the filename is argv[0] in every case here */;
  t.equal(events.find((e) => e.pid === 205 && e.ret === -2)!.args[0], '/nonexistent/x');
  t.same(gradeExecsnoop(run, events, byFilename).failures, []);
});

t.test('a tool declared to print an exec before its arguments may show one with none; anything else still counts', async (t) => {
  const late: ExecsnoopExpectations = { ...ideal, argsAfterReturn: 'printed-without', why: { ...ideal.why, argsAfterReturn: 'per-CPU buffers read in turn' } };
  const bare = (evs: ExecEvent[]) => evs.map((e) => (e.pid === 205 && e.ret === -2 ? { ...e, args: [] } : e));
  const g = gradeExecsnoop(run, bare(perfectEvents('ideal')), late);
  t.same(g.failures, []);
  t.match(g.differences, [/printed with no arguments: per-CPU buffers read in turn/]);
  t.not(gradeExecsnoop(run, bare(perfectEvents('ideal')), ideal).failures.length, 0, 'a tool that declares nothing of the kind fails');
  const wrongRet = bare(perfectEvents('ideal')).map((e) => (e.pid === 205 && e.ret === -2 ? { ...e, ret: 0 } : e));
  t.not(gradeExecsnoop(run, wrongRet, late).failures.length, 0, 'an event with no arguments and a wrong return value is still wrong');
});

t.test('a duplicate event for a workload process is a failure', async (t) => {
  const events = perfectEvents('ideal');
  events.push({ ...events[0] });
  t.match(gradeExecsnoop(run, events, ideal).failures, [/^extra event for workload pid 201/]);
});

// A storm: many execs of one case, each its own process
const storm: WorkloadRun = {
  runId: 'run',
  execs: Array.from({ length: 50 }, (_, i) =>
    truth({ id: 'thread-storm', pid: 1000 + i, tid: 2000 + i, argv: ['/bin/true', 'run-thread-storm', String(i)], commBefore: 'exec-thread' }),
  ),
};

t.test('the execs of a storm are graded as one case, with the failures counted', async (t) => {
  const all = Array.from({ length: 50 }, (_, i) => ev(1000 + i, 'true', 0, ['/bin/true', 'run-thread-storm', String(i)]));
  const g = gradeExecsnoop(storm, all, ideal);
  t.same([g.expected, g.matched, g.failures], [1, 1, []]);
  t.same(g.cases, [{ id: 'thread-storm', verdict: 'matched', notes: [] }]);
  const lost = gradeExecsnoop(storm, all.slice(0, 47), ideal);
  t.same(lost.failures, ['thread-storm: 3 of 50 execs: no event for pid 1047; no event for pid 1048; no event for pid 1049']);
  t.equal(lost.cases[0].verdict, 'missed');
  const byTid: ExecsnoopExpectations = { ...ideal, threadExec: 'missed', why: { threadExec: 'keyed by tid' } };
  const none = gradeExecsnoop(storm, [], byTid);
  t.same(none.failures, []);
  t.same(none.differences, ['thread-storm: not reported, as expected: keyed by tid (expected)']);
});

t.test('an argument unreadable at enter is expected as each variant declares it', async (t) => {
  const untouched = truth({ id: 'untouched-argv', pid: 300, argv: ['/bin/true', 'm', 'second'], unreadableAtEnter: [0, 1, 2] });
  const failed = { ...untouched, id: 'untouched-argv-failed', ret: -2, filename: '/nonexistent/x', argv: ['/nonexistent/x', 'm', 'second'] };
  const view = (x: ExecTruth, u: ExecsnoopExpectations['unreadableArgs'], over: Partial<ExecsnoopExpectations> = {}) => {
    const v = expectedView(x, { ...ideal, unreadableArgs: u, ...over });
    return [v.args, v.unreadable];
  };
  t.same(view(untouched, 'reread-else-marked'), [['/bin/true', 'm', 'second'], false], 'read again after a success: exact');
  t.same(view(failed, 'reread-else-marked'), [['<unreadable>', '<unreadable>', '<unreadable>'], true], 'marked after a failure');
  t.same(view(failed, 'reread-else-empty'), [['', '', ''], false]);
  t.same(view(untouched, 'shown-empty'), [['', '', ''], false]);
  t.same(view(untouched, 'lost-from-first', { firstArg: 'filename' }), [['/bin/true'], false], 'the filename reads; argv[1] ends the list');
  const tooMany = { ...untouched, argv: Array.from({ length: 25 }, (_, i) => `a${i}`), unreadableAtEnter: [3] };
  t.same(view(tooMany, 'reread-else-marked', { maxArgs: 20 })[0], [...Array.from({ length: 20 }, (_, i) => `a${i}`)].map((a, i) => (i === 3 ? '<unreadable>' : a)),
    'more than maxArgs entries: no shift is known, so no second read');
  const marked = { pid: 300, ppid: 100, comm: 'node', ret: -2, args: ['<unreadable>', '<unreadable>', '<unreadable>'], truncated: false, unreadable: true, escaped: false };
  const g = gradeExecsnoop({ runId: 'run', execs: [failed] }, [marked], ideal);
  t.same(g.failures, []);
  t.match(g.differences, [/untouched-argv-failed: 3 arguments marked <unreadable>: .* \(expected\)/]);
  const asEmpty = gradeExecsnoop({ runId: 'run', execs: [failed] }, [{ ...marked, args: ['', '', ''], unreadable: false, escaped: false }], ideal);
  t.match(asEmpty.failures, [/args \["","",""\] ≠ \["<unreadable>"/], 'an unreadable argument shown as "" fails a variant that marks');
});

t.test('a tool that cuts silently is expected to show the kept bytes with no mark', async (t) => {
  const silent: ExecsnoopExpectations = { ...ideal, maxArgLen: 127, cutMark: false };
  const v = expectedView(run.execs.find((x) => x.id === 'long-arg')!, silent);
  t.same(v.args, ['/bin/true', 'L'.repeat(127)]);
  t.equal(v.truncated, false);
  t.match(gradeExecsnoop(run, perfectEvents('silent'), silent).differences.join('\n'), /argument cut to 127 bytes without a mark/);
});

t.test('a tool that marks "..." at its cap marks an argv of exactly that many entries', async (t) => {
  const atCap: ExecsnoopExpectations = { ...ideal, maxArgs: 3, droppedMark: 'at-cap' };
  const three = truth({ id: 'three', pid: 301, argv: ['/bin/true', 'a', 'b'] });
  t.equal(expectedView(three, atCap).truncated, true);
  t.equal(expectedView(three, { ...atCap, droppedMark: 'when-dropped' }).truncated, false);
});

t.test('a tool that stops at the first empty argument is expected to lose the rest', async (t) => {
  const stops: ExecsnoopExpectations = { ...ideal, stopsAtEmptyArg: true, argBoundaries: false };
  const v = expectedView(run.execs.find((x) => x.id === 'arg-with-spaces')!, stops);
  t.same(v.args, ['/bin/true', 'two words']);
  const g = gradeExecsnoop(run, perfectEvents('stopsAtEmpty'), stops);
  t.same(g.failures, []);
  t.match(g.differences.join('\n'), /arg-with-spaces: 1 arguments lost from the first empty one/);
});

t.test('an empty argument vanishes for a packing tool only on a kernel whose string read returns 0 for it', async (t) => {
  const packs: ExecsnoopExpectations = { ...ideal, emptyArgs: 'lost-where-str-read-is-0', argBoundaries: false };
  const spaces = run.execs.find((x) => x.id === 'arg-with-spaces')!;
  t.same(expectedView(spaces, packs, { strReadCountsNul: false }).args, ['/bin/true', 'two words']);
  t.same(expectedView(spaces, packs, { strReadCountsNul: true }).args, ['/bin/true', 'two words', '']);
  const old = { strReadCountsNul: false };
  // the ideal tool's output, but the empty argument gone (an old kernel's bpf_probe_read_user_str returned 0 for it)
  const g = gradeExecsnoop(run, perfectEvents('stopsAtEmpty'), packs, old);
  t.same(g.failures, []);
  t.match(g.differences.join('\n'), /arg-with-spaces: empty argument lost/);
});

t.test('a tool declared to lose events in a burst may miss or cut some; those it reports whole must match', async (t) => {
  const burst: WorkloadRun = { runId: 'r', execs: storm.execs.map((x) => ({ ...x, burst: true })) };
  const lossy: ExecsnoopExpectations = { ...ideal, burst: 'may-lose', why: { burst: '8-page perf buffer' } };
  const all = Array.from({ length: 50 }, (_, i) => ev(1000 + i, 'true', 0, ['/bin/true', 'run-thread-storm', String(i)]));
  const cut = [...all.slice(0, 45), { ...all[45], args: [] }, ...all.slice(46, 48)]; // 2 lost, 1 cut short
  const g = gradeExecsnoop(burst, cut, lossy);
  t.same(g.failures, []);
  t.same(g.differences, ['thread-storm: lost or cut short in the burst: 8-page perf buffer (expected)']);
  t.match(gradeExecsnoop(burst, cut, ideal).failures, [/^thread-storm: 3 of 50 execs: /], 'a tool that must be complete fails');
  const wrong = [...all.slice(0, 49), { ...all[49], pid: 9999 }];
  t.same(gradeExecsnoop(burst, wrong, lossy).failures, [], 'an event of a pid the workload never had is noise');
});

// Issue 19: the doors, and bytes.
t.test('the doors: an exec by fd shows /dev/fd/N, the 32-bit entry an unknown door and the new comm, a failed one is absent for all', async (t) => {
  const doors: ExecsnoopExpectations = { ...ideal, comm: 'enter', execveat: 'seen', execve32: 'seen', syscall: 'shown' };
  const byFd = truth({ id: 'fexecve-memfd', pid: 301, syscall: 'execveat', filename: '/dev/fd/3', fd: 3, argv: ['/x', 'm'], commBefore: 'exec_helper', commAfter: 'memfd:lab-fexec' });
  t.match(expectedView(byFd, doors), { syscall: 'execveat', filename: '/dev/fd/3', comm: 'exec_helper' });
  const int80 = truth({ id: 'int80', pid: 302, syscall: 'execve-32', filename: '/x', argv: ['/x'], commBefore: 'exec_helper', commAfter: 'x' });
  t.match(expectedView(int80, doors), { syscall: 'unknown', filename: undefined, comm: 'x' }, 'seen at sched_process_exec only');
  const failed = truth({ id: 'int80-failed', pid: 303, syscall: 'execve-32', filename: '/nope', argv: ['/nope'], ret: -2 });
  const events: ExecEvent[] = [
    { pid: 301, ppid: 100, comm: 'exec_helper', ret: 0, args: ['/x', 'm'], truncated: false, unreadable: false, escaped: false, syscall: 'execveat', filename: '/dev/fd/3' },
    { pid: 302, ppid: 100, comm: 'x', ret: 0, args: ['/x'], truncated: false, unreadable: false, escaped: false, syscall: 'unknown' },
  ];
  const g = gradeExecsnoop({ runId: 'r', execs: [byFd, int80, failed] }, events, doors);
  t.same(g.failures, []);
  t.match(g.differences.join('\n'), /int80-failed: not reported, as expected: a failed exec through the 32-bit entry/);
  const wrongDoor = gradeExecsnoop({ runId: 'r', execs: [byFd] }, [{ ...events[0]!, syscall: 'execve', filename: undefined }], doors);
  t.match(wrongDoor.failures.join('\n'), /syscall execve ≠ execveat\n.*filename undefined ≠ "\/dev\/fd\/3"/);
  t.match(gradeExecsnoop({ runId: 'r', execs: [int80] }, [], ideal).differences.join('\n'), /not reported, as expected: an exec through the 32-bit entry/, 'a course tool declares it missed');
});

t.test('bytes that are not UTF-8: escaped and marked by a tool that escapes, U+FFFD unmarked by one that prints them raw', async (t) => {
  const bytes = truth({ id: 'non-utf8-arg', pid: 304, argv: ['/x', 'ok\\xff\\\\é'], escaped: true });
  t.match(expectedView(bytes, ideal), { args: ['/x', 'ok\\xff\\\\é'], escaped: true });
  t.match(expectedView(bytes, { ...ideal, bytes: 'replaced' }), { args: ['/x', 'ok\uFFFD\\é'], escaped: false });
  const g = gradeExecsnoop({ runId: 'r', execs: [bytes] }, [{ pid: 304, ppid: 100, comm: 'true', ret: 0, args: ['/x', 'ok\uFFFD\\é'], truncated: false, unreadable: false, escaped: false }], { ...ideal, bytes: 'replaced', why: { bytes: 'printed raw' } });
  t.same(g.failures, []);
  t.match(g.differences.join('\n'), /bytes that are not UTF-8 shown as U\+FFFD, unmarked: printed raw/);
  const unmarked = gradeExecsnoop({ runId: 'r', execs: [bytes] }, [{ pid: 304, ppid: 100, comm: 'x', ret: 0, args: ['/x', 'ok\\xff\\\\é'], truncated: false, unreadable: false, escaped: false }], ideal);
  t.match(unmarked.failures.join('\n'), /escaped false ≠ true/, 'the right text without the mark is not enough');
});
