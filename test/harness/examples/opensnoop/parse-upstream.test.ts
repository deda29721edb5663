// The readers of upstream's opensnoops. Every fixture is real output of test/fixtures/opensnoop/capture.py's opens
// (their first line says how): bpftrace's and libbpf-tools' captured on the host (6.18). opensnoop-bpfcc cannot
// run on this host (no kprobes, no kernel headers): its rows were first written by hand from the printf formats
// in /usr/sbin/opensnoop-bpfcc, then captured in a 6.1 guest, which printed them byte for byte but for the pid.
// Every expected value here is typed out: nothing is computed by the code under test.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { OpenEvent } from '../../../../harness/examples/opensnoop/events.js';
import {
  createUpstreamReader,
  parseUpstreamOpensnoop,
  UPSTREAM_HEADERS,
  type UpstreamOpensnoopName,
} from '../../../../harness/examples/opensnoop/parse-upstream.js';

const fixtureDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures', 'opensnoop');
/** A fixture without its first line (how it was made), read as the session reads a tool: UTF-8. */
const fixture = (name: string): string => {
  const text = readFileSync(path.join(fixtureDir, name), 'utf8');
  return text.slice(text.indexOf('\n') + 1);
};

// The paths capture.py opens, as bytes read as UTF-8 (0xff 0xfe are two U+FFFD)
const D = '/tmp/osw/mark-';
const len254 = (c: string) => `${D}len254-${c.repeat(59)}/${c.repeat(99)}/${c.repeat(73)}`; // 21 + 59 + 1 + 99 + 1 + 73
const len255 = (c: string) => `${D}len255-${c.repeat(59)}/${c.repeat(99)}/${c.repeat(74)}`;
const len300 = (c: string) => `${D}len300-${c.repeat(59)}/${c.repeat(99)}/${c.repeat(99)}/${c.repeat(19)}`;

type Shown = Omit<OpenEvent, 'pid'>;
const py = (ret: number, p: string, flags?: number): Shown => ({ comm: 'python3', ...(flags === undefined ? {} : { flags }), ret, path: p });

t.test("bpftrace's opensnoop.bt, captured: openat and open only, paths cut to 63 bytes, a NULL path unseen", async (t) => {
  const evs = parseUpstreamOpensnoop('upstream-bpftrace', fixture('upstream-bpftrace.txt'));
  t.same([...new Set(evs.map((e) => e.pid))], [8629], 'one process: the tgid, for the thread too');
  const want: Shown[] = [
    py(3, '/tmp/osw/mark-begin'),
    py(3, '/tmp/osw/mark-ok'),
    py(3, '/tmp/osw/mark-creat'),
    py(-2, '/tmp/osw/mark-missing'),
    py(-21, '/tmp/osw'),
    py(3, '/tmp/osw/mark-legacy-open'),
    // no openat2: the script traces sys_enter/exit_open and _openat only
    py(-2, `${D}len63-${'a'.repeat(43)}`),
    py(-2, `${D}len64-${'b'.repeat(43)}`), // 64 bytes shown as 63, unmarked
    py(-2, `${D}len254-${'c'.repeat(42)}`),
    py(-2, `${D}len255-${'d'.repeat(42)}`),
    py(-2, `${D}len300-${'e'.repeat(42)}`),
    py(3, '/tmp/osw/mark-new\nline'),
    py(3, '/tmp/osw/mark-trailing\n'),
    py(-2, '/tmp/osw/mark-two\n\nnewlines'),
    py(-2, '/tmp/osw/mark-\ufffd\ufffd-bytes'),
    py(-2, '/tmp/osw/mark-héllo'),
    py(-2, '/tmp/osw/mark-back\\slash'),
    py(-2, '/tmp/osw/mark-with space'),
    py(-2, ''),
    // no NULL path (EFAULT): the predicate /@filename[tid]/ is false for a NULL pointer
    { comm: 'opener-thread', ret: 3, path: '/tmp/osw/mark-thread' },
    { comm: 'my opener', ret: 3, path: '/tmp/osw/mark-comm' },
    { comm: 'my opener', ret: 3, path: '/tmp/osw/mark-end' },
  ];
  t.same(evs.map(({ pid, ...rest }) => rest), want, 'each open, in order; the blank lines bpftrace ends with are no path');
});

t.test("libbpf-tools' opensnoop -e, captured: flags, no openat2, paths cut to 254 bytes, a NULL path shown empty", async (t) => {
  const evs = parseUpstreamOpensnoop('upstream-libbpf-tools', fixture('upstream-libbpf-tools.txt'));
  t.same([...new Set(evs.map((e) => e.pid))], [8614]);
  const want: Shown[] = [
    py(3, '/tmp/osw/mark-begin', 0),
    py(3, '/tmp/osw/mark-ok', 0o2000000),
    py(3, '/tmp/osw/mark-creat', 0o1101),
    py(-2, '/tmp/osw/mark-missing', 0),
    py(-21, '/tmp/osw', 0o1),
    py(3, '/tmp/osw/mark-legacy-open', 0),
    // no openat2
    py(-2, `${D}len63-${'a'.repeat(43)}`, 0),
    py(-2, `${D}len64-${'b'.repeat(44)}`, 0),
    py(-2, len254('c'), 0),
    py(-2, len254('d').replace('len254', 'len255'), 0), // 255 bytes shown as 254, unmarked
    py(-2, len254('e').replace('len254', 'len300'), 0),
    py(3, '/tmp/osw/mark-new\nline', 0),
    py(3, '/tmp/osw/mark-trailing\n', 0),
    py(-2, '/tmp/osw/mark-two\n\nnewlines', 0),
    py(-2, '/tmp/osw/mark-\ufffd\ufffd-bytes', 0),
    py(-2, '/tmp/osw/mark-héllo', 0),
    py(-2, '/tmp/osw/mark-back\\slash', 0),
    py(-2, '/tmp/osw/mark-with space', 0),
    py(-2, '', 0),
    py(-14, '', 0), // the NULL path: EFAULT, the failed read leaves the path empty
    { comm: 'opener-thread', flags: 0, ret: 3, path: '/tmp/osw/mark-thread' },
    { comm: 'my opener', flags: 0, ret: 3, path: '/tmp/osw/mark-comm' },
    { comm: 'my opener', flags: 0, ret: 3, path: '/tmp/osw/mark-end' },
  ];
  t.same(evs.map(({ pid, ...rest }) => rest), want);
  t.notOk(evs.some((e) => e.path === len255('d') || e.path === len300('e')), 'the paths longer than 254 bytes are not whole');
});

t.test("BCC's opensnoop-bpfcc -e, captured on 6.1 (kfunc mode): every door, flags, paths cut to 254 bytes", async (t) => {
  const evs = parseUpstreamOpensnoop('upstream-bcc', fixture('upstream-bcc.txt'));
  t.same([...new Set(evs.map((e) => e.pid))], [150]);
  const want: Shown[] = [
    py(3, '/tmp/osw/mark-begin', 0),
    py(3, '/tmp/osw/mark-ok', 0o2000000),
    py(3, '/tmp/osw/mark-creat', 0o1101),
    py(-2, '/tmp/osw/mark-missing', 0),
    py(-21, '/tmp/osw', 0o1),
    py(3, '/tmp/osw/mark-legacy-open', 0),
    py(3, '/tmp/osw/mark-openat2', 0), // fexit on __x64_sys_openat2
    py(-2, `${D}len63-${'a'.repeat(43)}`, 0),
    py(-2, `${D}len64-${'b'.repeat(44)}`, 0),
    py(-2, len254('c'), 0),
    py(-2, len254('d').replace('len254', 'len255'), 0),
    py(-2, len254('e').replace('len254', 'len300'), 0),
    py(3, '/tmp/osw/mark-new\nline', 0),
    py(3, '/tmp/osw/mark-trailing\n', 0),
    py(-2, '/tmp/osw/mark-two\n\nnewlines', 0),
    py(-2, '/tmp/osw/mark-\ufffd\ufffd-bytes', 0),
    py(-2, '/tmp/osw/mark-héllo', 0),
    py(-2, '/tmp/osw/mark-back\\slash', 0),
    py(-2, '/tmp/osw/mark-with space', 0),
    py(-2, '', 0),
    py(-14, '', 0),
    { comm: 'opener-thread', flags: 0, ret: 3, path: '/tmp/osw/mark-thread' },
    { comm: 'my opener', flags: 0, ret: 3, path: '/tmp/osw/mark-comm' },
    { comm: 'my opener', flags: 0, ret: 3, path: '/tmp/osw/mark-end' },
  ];
  t.same(evs.map(({ pid, ...rest }) => rest), want);
});

t.test('the test helpers build the paths capture.py opens (checked against the bytes, not the reader)', async (t) => {
  t.equal(Buffer.byteLength(len254('c')), 254);
  t.equal(Buffer.byteLength(len255('d')), 255);
  t.equal(Buffer.byteLength(len300('e')), 300);
  t.ok(readFileSync(path.join(fixtureDir, 'upstream-libbpf-tools.txt'), 'latin1').includes('/tmp/osw/mark-\xff\xfe-bytes\n'), 'the raw bytes are in the fixture');
});

t.test('a row is held until the next row or the end; a line that is not a row continues its path', async (t) => {
  const r = createUpstreamReader('upstream-libbpf-tools');
  t.same(r.line('PID    COMM              FD ERR FLAGS    PATH'), [], 'the header');
  t.same(r.line('77     cat                3   0 00000000 /etc/one'), [], 'held');
  t.same(r.line('two'), [], 'a continuation');
  t.same(r.line(''), [], 'a blank line: the path may end with a newline');
  t.same(r.line('78     cat               -1   2 00000000 /etc/x'), [{ pid: 77, comm: 'cat', flags: 0, ret: 3, path: '/etc/one\ntwo\n' }]);
  t.same(r.line('1234567 cat               12   0 00000101 /etc/y'), [{ pid: 78, comm: 'cat', flags: 0, ret: -2, path: '/etc/x' }], 'a 7-digit pid widens its column');
  t.same(r.line(''), []);
  t.same(r.end(), [{ pid: 1234567, comm: 'cat', flags: 0o101, ret: 12, path: '/etc/y\n' }], 'libbpf-tools ends with no blank line of its own');
});

t.test("bpftrace's own lines are skipped, its last three blank lines are its own", async (t) => {
  const r = createUpstreamReader('upstream-bpftrace');
  for (const line of ['Attaching 6 probes...', 'Tracing open syscalls... Hit Ctrl-C to end.', 'PID    COMM               FD ERR PATH']) t.same(r.line(line), []);
  t.same(r.line('5      sh                  3   0 /a'), []);
  t.same(r.line('Lost 3 events'), [], 'bpftrace writes lost events on stdout');
  for (const line of ['', '', '', '']) t.same(r.line(line), []);
  t.same(r.end(), [{ pid: 5, comm: 'sh', ret: 3, path: '/a\n' }], 'four blank lines at the end: the path ended with a newline');
  const quiet = createUpstreamReader('upstream-bpftrace');
  quiet.line('PID    COMM               FD ERR PATH');
  quiet.line('5      sh               10000   0 /b');
  for (const line of ['', '', '']) quiet.line(line);
  t.same(quiet.end(), [{ pid: 5, comm: 'sh', ret: 10000, path: '/b' }], 'a fd wider than "%4d"');
});

t.test('comm is 16 bytes however many characters: spaces, UTF-8, bytes that are not', async (t) => {
  const r = createUpstreamReader('upstream-bcc', { afterHeader: true });
  // comm "café 1 2 3": 11 bytes in 10 characters ("é" is 2), then 5 spaces of padding
  t.same(r.line('9      café 1 2 3        -1  13 00000002 /x'), []);
  // comm "a\xffb" (3 bytes) and 13 spaces: the session read \xff as one U+FFFD
  t.same(r.line('10     a\ufffdb                 3   0 00000000 /y'), [{ pid: 9, comm: 'café 1 2 3', flags: 2, ret: -13, path: '/x' }]);
  t.same(r.end(), [{ pid: 10, comm: 'a\ufffdb', flags: 0, ret: 3, path: '/y' }]);
});

t.test('lines before the first row that are no row are skipped; a line is a row only if FD and ERR agree', async (t) => {
  const r = createUpstreamReader('upstream-libbpf-tools');
  t.same(r.line('some warning on stdout'), []);
  t.same(r.line('PID    COMM              FD ERR FLAGS    PATH'), []);
  t.same(r.line('12     sh                 3   2 00000000 /not-a-row'), [], 'FD 3 with ERR 2: not a row, and nothing held');
  t.same(r.line('13     sh                -1   0 00000000 /not-a-row'), [], 'FD -1 with ERR 0');
  t.same(r.line('14     sh                 3   0 0000000 /not-a-row'), [], 'flags in 7 digits');
  t.same(r.line('15     sh                4    0 00000000 /not-a-row'), [], 'FD not right-aligned in 3');
  t.same(r.line('16     sh                 4   0 00000000 /row'), []);
  t.same(r.end(), [{ pid: 16, comm: 'sh', flags: 0, ret: 4, path: '/row' }]);
});

t.test('end() throws without a header, or when lines came and none was a row', async (t) => {
  const none = createUpstreamReader('upstream-libbpf-tools');
  none.line('16     sh                 4   0 00000000 /row');
  t.throws(() => none.end(), /libbpf-tools' opensnoop: no header line .*afterHeader/);
  const withoutFlags = createUpstreamReader('upstream-bcc');
  withoutFlags.line('PID    COMM               FD ERR PATH');
  withoutFlags.line('16     sh                  4   0 /row');
  t.throws(() => withoutFlags.end(), /opensnoop-bpfcc: no header line/, "opensnoop-bpfcc without -e: another header");
  const wrongRows = createUpstreamReader('upstream-bcc', { afterHeader: true });
  wrongRows.line('16     sh                  4   0 /row');
  t.throws(() => wrongRows.end(), /opensnoop-bpfcc: 1 line\(s\) and not one row/, 'rows without FLAGS are not rows of -e');
  const empty = createUpstreamReader('upstream-bpftrace', { afterHeader: true });
  t.same(empty.end(), [], 'after the header, no open at all is no error');
  t.throws(() => createUpstreamReader('opensnoop-table' as UpstreamOpensnoopName), /no upstream opensnoop named "opensnoop-table"/);
});

t.test('the headers are the ones the fixtures begin with', async (t) => {
  t.equal(fixture('upstream-bpftrace.txt').split('\n')[2], UPSTREAM_HEADERS['upstream-bpftrace']);
  t.equal(fixture('upstream-libbpf-tools.txt').split('\n')[0], UPSTREAM_HEADERS['upstream-libbpf-tools']);
  t.equal(fixture('upstream-bcc.txt').split('\n')[0], UPSTREAM_HEADERS['upstream-bcc']);
});
