import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { createParser, escapeArgs, escapeBytes, parseExecsnoop, splitShellWords, unescapeArg, type ExecEvent } from '../../../../harness/examples/execsnoop/parse.js';
import type { ExecsnoopParserName } from '../../../../harness/examples/execsnoop/variants.js';

// Fixtures are real output captured on the host while a workload of tricky execs ran (first line says
// how); the upstream BCC one comes from a 6.1 guest, since the host has neither kprobes nor headers.
const fixtureDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures', 'parse');
const fixture = (name: string): string => {
  const text = readFileSync(path.join(fixtureDir, name), 'utf8');
  return text.startsWith('# ') ? text.slice(text.indexOf('\n') + 1) : text;
};
const events = (parser: ExecsnoopParserName, file: string): ExecEvent[] => parseExecsnoop(parser, fixture(file));

/** The event whose arguments start with these; throws (failing the test) naming what was looked for. */
function find(evs: ExecEvent[], ...prefix: string[]): ExecEvent {
  const found = evs.find((e) => prefix.every((p, i) => e.args[i] === p));
  if (!found) throw new Error(`no event with arguments ${JSON.stringify(prefix)}`);
  return found;
}
const xs = (c: string, n: number): string => c.repeat(n);
const numbers = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

// ---- our bcc, libbpf (and ts) table ----
for (const [file, what] of [
  ['execsnoop-libbpf.txt', 'libbpf'],
  ['execsnoop-bcc.txt', 'BCC'],
] as const) {
  t.test(`our ${what} execsnoop's captured output reads as one exact event per exec`, async (t) => {
    const evs = events('execsnoop-table', file);
    const rows = fixture(file).split('\n').filter((l) => /^\S.{15} \d/.test(l));
    t.equal(evs.length, rows.length, 'one event per row');
    const plain = find(evs, '/bin/true');
    t.match(plain, { comm: 'workload.sh', ret: 0, args: ['/bin/true'], truncated: false }, 'comm is the caller, read at enter');
    t.equal(plain.ppid, find(evs, '/tmp/wl/workload.sh').pid, "the parent pid is the workload script's");
    t.same(find(evs, '/bin/echo', 'a').args, ['/bin/echo', 'a', 'b', 'c'], 'three arguments');
    t.same(find(evs, '/bin/echo', '').args, ['/bin/echo', '', 'empty-before'], "an empty argument is ''");
    t.same(
      find(evs, '/bin/echo', 'hello world').args,
      ['/bin/echo', 'hello world', "it's", 'back\\slash', 'héllo'],
      'spaces, a quote, a backslash and UTF-8 keep their boundaries',
    );
    const many = find(evs, '/bin/echo', '1', '2');
    t.same(many.args, ['/bin/echo', ...numbers(1, 19)], '30 arguments keep MAX_ARGS = 20 entries');
    t.ok(many.truncated, 'and say they dropped the rest');
    const long = find(evs, '/bin/echo', `${xs('x', 127)}...`);
    t.ok(long.truncated, 'a 300-byte argument shows its first 127 bytes and "..."');
    const edge = find(evs, '/bin/echo', xs('y', 127));
    t.same(edge.args, ['/bin/echo', xs('y', 127), `${xs('z', 127)}...`], 'a 127-byte argument is whole, a 128-byte one is cut');
    t.ok(edge.truncated);
    t.match(find(evs, '/nonexistent'), { comm: 'sh', ret: -2 }, 'a failed exec (ENOENT) is an event with ret -2');
    t.equal(find(evs, '/bin/echo', 'from-my-prog').comm, 'my prog', 'a comm with a space');
    t.same(find(evs, '/bin/echo', 'line1\nline2').args, ['/bin/echo', 'line1\nline2', 'tab\tx'], "$'…' carries a newline and a tab");
    t.notOk(evs.some((e) => e.args[1] === 'from-thread'), 'an exec from a non-main thread is missed (keyed by tid)');
    const nineteen = evs.filter((e) => e.args[0] === '/bin/echo' && e.args[1] === '1' && !e.truncated);
    t.same(nineteen.map((e) => e.args), [['/bin/echo', ...numbers(1, 19)]], 'exactly 20 entries are not truncated');
  });
}

t.test('the table parser reads rows from the stream as they come, ignoring the header', async (t) => {
  const p = createParser('execsnoop-table');
  t.same(p.line('PCOMM            PID     PPID    RET ARGS'), []);
  t.same(p.line('sh               12      1        -2 /x'), [{ pid: 12, ppid: 1, comm: 'sh', ret: -2, args: ['/x'], truncated: false, unreadable: false, escaped: false }]);
  t.same(p.line('true             13      1         0 '), [{ pid: 13, ppid: 1, comm: 'true', ret: 0, args: [], truncated: false, unreadable: false, escaped: false }], 'no arguments');
  t.same(p.end(), []);
});

t.test('a quoted "..." is an argument, not the mark of dropped arguments', async (t) => {
  const args = [...numbers(1, 20), "'...'"].join(' ');
  const [ev] = createParser('execsnoop-table').line(`echo             5       1         0 ${args}`);
  t.equal(ev.args.length, 21);
  t.notOk(ev.truncated);
});

t.test('shell words: quotes, escapes and $-quoting', async (t) => {
  const words = (s: string) => splitShellWords(s).map((w) => w.value);
  t.same(words("a 'b c' 'it'\\''s' ''"), ['a', 'b c', "it's", '']);
  t.same(words("$'a\\nb\\x01\\\\\\''"), ["a\nb\u0001\\'"]);
  t.same(splitShellWords("... '...'").map((w) => w.quoted), [false, true]);
  t.throws(() => splitShellWords("'open"), /parse arguments: unterminated quote/);
  t.throws(() => splitShellWords("$'\\q'"), /unknown escape/);
});

// ---- our bpftrace ----
t.test("our bpftrace execsnoop's records pair into events at exit", async (t) => {
  const evs = events('execsnoop-bpftrace', 'execsnoop-bpftrace.txt');
  const text = fixture('execsnoop-bpftrace.txt');
  const exits = text.split('\n').filter((l) => l.startsWith('exit\t')).length;
  t.equal(evs.length, exits - 1, 'every exit but the execveat one (no enter) makes an event');
  t.match(find(evs, '/bin/true'), { comm: 'workload.sh', ret: 0, truncated: false });
  t.same(find(evs, '/bin/echo', '').args, ['/bin/echo', '', 'empty-before'], 'an empty argument keeps its place');
  t.same(find(evs, '/bin/echo', 'hello world').args, ['/bin/echo', 'hello world', "it's", 'back\\slash', 'héllo']);
  const many = find(evs, '/bin/echo', '1', '2');
  t.same(many.args, ['/bin/echo', ...numbers(1, 19)], 'unroll(20) keeps 20 entries');
  t.ok(many.truncated, 'the "more" record marks the rest');
  t.ok(find(evs, '/bin/echo', `${xs('x', 127)}...`).truncated, 'a 128-byte str() means cut: 127 bytes and "..."');
  t.same(find(evs, '/bin/echo', xs('y', 127)).args, ['/bin/echo', xs('y', 127), `${xs('z', 127)}...`]);
  t.match(find(evs, '/nonexistent'), { comm: 'sh', ret: -2 });
  t.equal(find(evs, '/bin/echo', 'from-my-prog').comm, 'my prog');
  t.same(find(evs, '/bin/echo', 'line1\nline2').args, ['/bin/echo', 'line1\nline2', 'tab\tx'], 'a raw newline continues the argument');
  const thread = find(evs, 'echo', 'from-thread');
  const launcher = find(evs, '/root/.pyenv/versions/3.11.7/bin/python3', '/tmp/wl/thr.py');
  t.equal(thread.pid, launcher.pid, 'an exec from a non-main thread pairs with its exit by pid, and shows the process id');
  t.equal(thread.comm, 'python3');
  t.notOk(evs.some((e) => e.args.includes('via-execveat')), 'execveat is not seen');
});

t.test('bpftrace records: an exit without its enter is dropped, a thread exec pairs by pid', async (t) => {
  const p = createParser('execsnoop-bpftrace');
  t.same(p.line('exit\t9\t9\t1\t0'), [], 'an exit with nothing pending');
  p.line('enter\t11\t10\tworker');
  p.line('arg\t11\t0\t/bin/true');
  t.same(p.line('exit\t10\t10\t1\t0'), [{ pid: 10, ppid: 1, comm: 'worker', ret: 0, args: ['/bin/true'], truncated: false, unreadable: false, escaped: false, syscall: 'execve' }]);
  t.same(p.end(), []);
});

// ---- upstream tools ----
t.test("libbpf-tools execsnoop's captured output: filename first, arguments joined by spaces", async (t) => {
  const evs = events('upstream-libbpf-tools', 'upstream-libbpf-tools.txt');
  t.match(find(evs, '/usr/bin/sleep'), { comm: 'sleep', ret: 0, args: ['/usr/bin/sleep', '0.3'] }, 'comm read at exit, filename first');
  t.same(find(evs, '/bin/echo', '').args, ['/bin/echo', '', 'empty-before'], 'the trailing space is not an argument');
  t.same(find(evs, '/bin/echo', 'hello').args, ['/bin/echo', 'hello', 'world', "it's", 'back\\slash', 'héllo'], 'boundaries are lost');
  const many = find(evs, '/bin/echo', '1', '2');
  t.same(many.args, ['/bin/echo', ...numbers(1, 19)]);
  t.ok(many.truncated, '" ..." marks dropped arguments');
  const long = find(evs, '/bin/echo', xs('x', 127));
  t.notOk(long.truncated, 'a cut argument has no mark: 127 bytes');
  t.match(find(evs, '/nonexistent'), { comm: 'sh', ret: -2 }, '-x shows failed execs');
  t.equal(find(evs, '/tmp/wl/my', 'prog').comm, 'my prog', 'a comm with a space (and a path split in two)');
  t.same(find(evs, '/bin/echo', 'line1\nline2').args, ['/bin/echo', 'line1\nline2', 'tab\tx'], 'a raw newline continues the row');
  t.notOk(evs.some((e) => e.args.includes('from-thread')), 'an exec from a non-main thread is missed');
  t.equal(evs.filter((e) => e.args[0] === '/bin/echo' && e.args[1] === '1' && e.truncated).length, 2, '30 and 21 entries are marked, 20 not');
});

t.test('a continued row is held until the next row or the end', async (t) => {
  const p = createParser('upstream-libbpf-tools');
  t.same(p.line('echo             7      1        0 /bin/echo a'), []);
  t.same(p.line('b '), [], 'the continuation');
  const [ev] = p.line('true             8      1        0 /bin/true ');
  t.same(ev.args, ['/bin/echo', 'a\nb']);
  t.same(p.end().map((e) => e.args), [['/bin/true']]);
});

t.test("bpftrace's execsnoop.bt captured output: argv joined, printed at enter", async (t) => {
  const evs = events('upstream-bpftrace', 'upstream-bpftrace.txt');
  t.match(find(evs, '/bin/true'), { comm: '', args: ['/bin/true'], truncated: false });
  t.equal(find(evs, '/bin/true').ret, undefined, 'no return value');
  t.same(find(evs, '/bin/echo', 'a').args, ['/bin/echo', 'a', 'b', 'c']);
  t.ok(evs.some((e) => e.args.length === 1 && e.args[0] === '/bin/echo'), 'join() stops at an empty argument');
  t.same(find(evs, '/bin/echo', '1', '2').args, ['/bin/echo', ...numbers(1, 15)], 'join() prints 16 arguments, unmarked');
  t.equal(find(evs, '/bin/echo', xs('x', 300)).args[1].length, 300, 'a 300-byte argument is whole (join keeps 1023)');
  t.same(find(evs, '/bin/echo', 'line1\nline2').args, ['/bin/echo', 'line1\nline2', 'tab\tx']);
  t.ok(find(evs, 'echo', 'from-thread').pid > 0, 'an exec from a thread is seen');
  t.ok(find(evs, 'echo', 'via-execveat').pid > 0, 'sys_enter_exec* sees execveat too');
  t.same(evs[evs.length - 1].args, ['sleep', '0.3'], 'the blank lines bpftrace prints at exit are not an argument');
});

t.test("BCC's execsnoop-bpfcc output (captured on 6.1): filename first, 128-byte fields", async (t) => {
  const evs = events('upstream-bcc', 'upstream-bcc.txt');
  t.equal(evs.length, 15);
  t.match(find(evs, '/bin/true'), { comm: 'true', pid: 234, ppid: 141, ret: 0, truncated: false }, 'comm read after exec');
  t.same(find(evs, '/bin/echo', 'a').args, ['/bin/echo', 'a', 'two', 'words', ''], 'spaces split arguments; an empty last one stays');
  t.equal(find(evs, '/bin/echo', xs('x', 128)).truncated, false, 'a cut argument has no mark: 128 bytes');
  const capped = evs.filter((e) => e.args[0] === '/bin/echo' && e.args[1] === '1');
  t.same(capped.map((e) => e.args), [['/bin/echo', ...numbers(1, 19)], ['/bin/echo', ...numbers(1, 19)]], 'the empty field meant as "..." is not an argument');
  t.same(capped.map((e) => e.truncated), [false, false], 'and it is no mark');
  t.same(find(evs, '/bin/echo', 'line1\nline2').args, ['/bin/echo', 'line1\nline2', 'tab\tx'], 'its \\n reads back as a newline');
  t.same(evs.filter((e) => e.pid === 246).map((e) => [e.ret, e.args]), [[0, ['/usr/bin/sh', '-c', 'exec', '/nonexistent/capture']], [-2, ['/nonexistent/capture']]], 'a failed exec shows -2');
  const [unknownParent] = parseExecsnoop('upstream-bcc', 'true             300     ?         0 /bin/true\n');
  t.equal(unknownParent?.ppid, undefined, 'a "?" parent is unknown');
  t.equal(find(evs, '/bin/echo', 'from-thread').pid, 247, 'a thread exec shows the process id');
});

t.test('createParser refuses what is not an execsnoop parser', async (t) => {
  t.throws(() => createParser('counter-table' as ExecsnoopParserName), /create parser: no execsnoop parser named "counter-table"/);
});

// ---- the marks: unreadable arguments, exact fits, thread execs (capture-marks.sh, fresh from the tools) ----
const marks = (parser: ExecsnoopParserName, file: string) => {
  const evs = events(parser, file);
  const by = (mark: string) => {
    const found = evs.find((e) => e.args[1] === mark); // a launcher carries the mark further along
    if (!found) throw new Error(`no event for ${mark}`);
    return found;
  };
  return { evs, by };
};

for (const [file, what] of [
  ['execsnoop-libbpf-marks.txt', 'libbpf'],
  ['execsnoop-ts-marks.txt', 'ts'],
  ['execsnoop-bcc-marks.txt', 'BCC'],
] as const) {
  t.test(`our ${what} execsnoop marks what it could not read, and only that`, async (t) => {
    const { evs, by } = marks('execsnoop-table', file);
    t.match(by('mark-untouched'), { comm: 'exec_helper', ret: 0, args: ['/bin/true', 'mark-untouched', 'second'], unreadable: false },
      'argv in untouched pages, read again from the new stack after the exec: exact');
    const failed = evs.find((e) => e.ret === -2 && e.comm === 'exec_helper');
    t.match(failed, { args: ['<unreadable>', '<unreadable>'], unreadable: true, truncated: false }, 'after a failed exec: marked, not ""');
    t.match(by('mark-thread'), { comm: 'exec-thread', ret: 0, args: ['/bin/true', 'mark-thread'] }, 'an exec from a thread is seen');
    t.equal(by('mark-thread').pid, evs.find((e) => e.args.includes('thread'))!.pid, 'under the process id, the launcher’s');
    t.match(by('mark-fits'), { args: ['/bin/true', 'mark-fits', xs('F', 127)], truncated: false }, 'exactly ARGSIZE-1 bytes: no mark');
    t.match(by('mark-cut'), { args: ['/bin/true', 'mark-cut', `${xs('C', 127)}...`], truncated: true }, 'ARGSIZE bytes: cut');
    t.match(by('mark-20'), { truncated: false }, 'exactly MAX_ARGS entries: no mark');
    t.equal(by('mark-20').args.length, 20);
    t.match(by('mark-21'), { truncated: true }, 'one more: marked');
    t.equal(by('mark-21').args.length, 20);
    t.same(by('mark-newline').args, ['/bin/true', 'mark-newline', 'one\ntwo']);
    t.match(by('mark-spelled'), { args: ['/bin/true', 'mark-spelled', '<unreadable>'], unreadable: false }, 'a real "<unreadable>" is quoted, so not a mark');
  });
}

t.test('our bpftrace execsnoop takes arguments again from the new argv, and cannot mark after a failed exec', async (t) => {
  const { evs, by } = marks('execsnoop-bpftrace', 'execsnoop-bpftrace-marks.txt');
  t.match(by('mark-untouched'), { comm: 'exec_helper', ret: 0, args: ['/bin/true', 'mark-untouched', 'second'], unreadable: false },
    'enter showed "" three times; the xarg records after the exec fill them in');
  t.match(evs.find((e) => e.ret === -2 && e.comm === 'exec_helper'), { args: ['', ''], unreadable: false },
    'after a failed exec str() gave "" and there is no new argv: the harness declares this');
  t.match(by('mark-thread'), { comm: 'exec-thread', ret: 0 });
  t.match(by('mark-fits'), { args: ['/bin/true', 'mark-fits', xs('F', 127)], truncated: false });
  t.match(by('mark-cut'), { args: ['/bin/true', 'mark-cut', `${xs('C', 127)}...`], truncated: true });
  t.match(by('mark-20'), { truncated: false });
  t.match(by('mark-21'), { truncated: true });
  t.same(by('mark-newline').args, ['/bin/true', 'mark-newline', 'one\ntwo']);
});

t.test('bpftrace: the new argv lines up behind the words a script interpreter put in front', async (t) => {
  const p = createParser('execsnoop-bpftrace');
  const lines = ['enter\t9\t9\tsh', 'arg\t9\t0\t', 'arg\t9\t1\t', 'argc\t9\t3', 'xarg\t9\t0\t/bin/sh', 'xarg\t9\t1\t/tmp/s.sh', 'xarg\t9\t2\tx', 'exit\t9\t9\t1\t0'];
  const [ev] = lines.flatMap((l) => p.line(l));
  t.same(ev.args, ['', 'x'], "argv[1] is the new argv[2]; a script's argv[0] is gone and stays as enter showed it");
});

t.test('bpftrace: an exit read before its enter (the exec moved to another CPU) still makes the event', async (t) => {
  const p = createParser('execsnoop-bpftrace');
  const lines = [
    'exit\t21\t21\t1\t0', // read first, from the CPU the exec finished on
    'enter\t22\t21\texec-thread', // the thread's enter, from the CPU it started on
    'arg\t22\t0\t/bin/true',
    'arg\t22\t1\tm',
    'enter\t30\t30\tsh', // anything else: the waiting event is complete
  ];
  const evs = lines.flatMap((l) => p.line(l));
  t.same(evs, [{ pid: 21, ppid: 1, comm: 'exec-thread', ret: 0, args: ['/bin/true', 'm'], truncated: false, unreadable: false, escaped: false, syscall: 'execve' }]);
  t.same(p.end(), [], 'the pending enter of pid 30 has no exit yet: nothing invented');
  const q = createParser('execsnoop-bpftrace');
  t.same(['enter\t40\t40\tsh', 'arg\t40\t0\t/x', 'exit\t41\t41\t1\t0'].flatMap((l) => q.line(l)), [], 'an exit of another process pairs with nothing');
  t.same([...['enter\t41\t41\tsh', 'arg\t41\t0\t/y'].flatMap((l) => q.line(l)), ...q.end()].map((e) => e.pid), [41], 'until its own enter comes, even last');
  const r = createParser('execsnoop-bpftrace');
  const stale = ['exit\t50\t50\t1\t0', ...Array.from({ length: 300 }, (_, i) => `enter\t${1000 + i}\t${1000 + i}\tx`), 'enter\t50\t50\tsh'];
  t.same([...stale.flatMap((l) => r.line(l)), ...r.end()], [], 'an exit read long before is not a swapped pair (an execveat’s, say)');
});

// Issue 19: the door each exec came through, and arguments as bytes (execsnoop-libbpf-doors.txt, captured).
t.test('libbpf with the SYSCALL column: the door of each exec, /dev/fd/N for an exec by fd', async (t) => {
  const evs = events('execsnoop-table-syscall', 'execsnoop-libbpf-doors.txt');
  t.equal(evs.length, 10, 'one event a row');
  t.match(find(evs, 'build/bpf/exec_helper', 'a1'), { syscall: 'execveat', filename: '/dev/fd/5', ret: 0, escaped: false }, 'fexecve of a memfd');
  t.match(find(evs, 'build/bpf/exec_helper', 'a2'), { syscall: 'execveat', filename: '/dev/fd/4' }, 'execveat on an O_PATH fd');
  t.match(find(evs, 'build/bpf/exec_helper', 'a3', 'b'), { syscall: 'unknown', filename: undefined }, 'int $0x80: no tracepoint saw it start');
  t.match(find(evs, 't', 'a6'), { syscall: 'execveat', filename: undefined }, 'execveat with a path');
  t.same(evs.find((e) => e.args.length === 0)?.syscall, 'execve', 'argc 0: a row with no arguments');
  const big = find(evs, 't', 'a4');
  t.match(big, { ret: -7, truncated: true, syscall: 'execve' }, 'E2BIG, its long argument cut');
  t.equal(big.args[2], `${'B'.repeat(127)}...`);
});

t.test('bytes that are not UTF-8 come back exactly, escaped, and the event says so', async (t) => {
  const evs = events('execsnoop-table-syscall', 'execsnoop-libbpf-doors.txt');
  // the row is $'ok\xff\xfe\\é\x80': 0xff 0xfe, a real backslash, é, 0x80
  t.same(find(evs, 't', 'ok\\xff\\xfe\\\\é\\x80'), { ...find(evs, 't', 'ok\\xff\\xfe\\\\é\\x80'), escaped: true });
  t.ok(evs.filter((e) => e.escaped).length === 1, 'only that event is marked');
});

t.test('the escaped form: \\xHH for a byte that is not UTF-8, \\\\ for a backslash, the rest as it is', async (t) => {
  t.equal(escapeBytes(Buffer.from([0x61, 0xff, 0x5c, 0xc3, 0xa9, 0x80])), 'a\\xff\\\\é\\x80');
  t.equal(escapeBytes(Buffer.from([0xed, 0xa0, 0x80])), '\\xed\\xa0\\x80', 'a surrogate is not UTF-8');
  t.equal(escapeBytes(Buffer.from([0xc0, 0xaf])), '\\xc0\\xaf', 'an overlong form is not UTF-8');
  t.equal(escapeBytes(Buffer.from('€😀', 'utf8')), '€😀', 'multi-byte characters stay');
  t.same(escapeArgs([Buffer.from('a\\b'), Buffer.from('\uFFFD')]), { args: ['a\\b', '\uFFFD'], escaped: false }, 'all UTF-8: unmarked, a backslash is itself, a real U+FFFD too');
  t.same(escapeArgs([Buffer.from('a\\b'), Buffer.from([0xff])]), { args: ['a\\\\b', '\\xff'], escaped: true }, 'one argument not UTF-8: every argument escaped');
  t.same([...unescapeArg('a\\\\b\\xff')], [0x61, 0x5c, 0x62, 0xff], 'and back to bytes');
  t.same(splitShellWords("$'\\xff\\x41'")[0]!.bytes, Buffer.from([0xff, 0x41]), "$'…' \\xHH is one byte");
});

t.test('execsnoop.bt with sched_process_exec: exec and lone records, the door from flags (captured)', async (t) => {
  const evs = events('execsnoop-bpftrace', 'execsnoop-bpftrace-doors.txt');
  t.match(find(evs, 'build/bpf/exec_helper', 'a1'), { syscall: 'execveat', filename: '/dev/fd/5', ret: 0, comm: 'exec_helper' }, 'fexecve: flags 4096, /dev/fd/N');
  t.match(find(evs, 'build/bpf/exec_helper', 'a3', 'b'), { syscall: 'unknown', ret: 0, pid: 19956, ppid: 19935 }, 'int $0x80: a lone record, args from the stack');
  t.match(find(evs, 't', 'a6'), { syscall: 'execveat', filename: undefined, ret: 0 }, 'execveat with a path: flags 0');
  t.match(find(evs, 't', 'a9'), { syscall: 'execveat', ret: -2 }, 'a failed execveat: its exit');
  t.match(find(evs, 't', 'a4'), { syscall: 'execve', ret: -7, truncated: true }, 'E2BIG');
  t.same(find(evs, '/bin/true', 'a8').pid, find(evs, '/usr/bin/env', '/bin/true', 'a8').pid, 'env then true, one pid');
  t.notOk(evs.some((e) => e.args.includes('/nonexistent/x') && e.ret === 0 && e.pid !== 19957), 'the failed int $0x80 exec: nothing');
});

t.test('bpftrace: an exec record read thousands of records before its enter still makes the event; an exit does not', async (t) => {
  const noise = Array.from({ length: 300 }, (_, i) => [`enter\t${1000 + i}\t${1000 + i}\tsh`, `arg\t${1000 + i}\t0\t/x`, `exit\t${1000 + i}\t${1000 + i}\t1\t-2`]).flat();
  const p = createParser('execsnoop-bpftrace');
  const lines = ['exec\t50\t50\t1\t/bin/true', ...noise, 'enter\t50\t50\tsh', 'arg\t50\t0\t/bin/true', 'enter\t60\t60\tsh'];
  const evs = [...lines.flatMap((l) => p.line(l)), ...p.end()];
  t.match(evs.find((e) => e.pid === 50), { ret: 0, args: ['/bin/true'], comm: 'sh', syscall: 'execve' }, 'our script prints exec only for an exec whose enter it saw');
  const q = createParser('execsnoop-bpftrace');
  const stale = ['exit\t70\t70\t1\t0', ...noise, 'enter\t70\t70\tsh', 'arg\t70\t0\t/bin/true', 'enter\t80\t80\tsh'];
  t.notOk([...stale.flatMap((l) => q.line(l)), ...q.end()].some((e) => e.pid === 70), 'an exit that far before is no swapped pair (the course\'s script prints exits for execveat too)');
});
