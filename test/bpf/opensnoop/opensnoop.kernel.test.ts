import { mkdtempSync, rmSync } from 'node:fs';
import t from 'tap';
import { execa } from 'execa';
import { Opensnoop, PATH_CAP, formatEvent, type OpensnoopEvent } from '../../../bpf/opensnoop/opensnoop.js';
import { formatRow, shownPath, type OpenSyscall } from '../../../bpf/opensnoop/format.js';
import { goneFromKernel, loadedNames, requireFeature, requireRoot } from '../../lib/kernel.js';

// Opens whose truth the script knows, through each door, from the main thread and from another one; it prints
// one JSON line per open: {tid, door, flags, mode, ret, path (hex)}. argv: a fresh directory.
const OPENS = String.raw`
import ctypes, json, os, sys, threading
libc = ctypes.CDLL(None, use_errno=True); libc.syscall.restype = ctypes.c_long
d = sys.argv[1].encode()
out = []
def rec(door, flags, mode, r, path):
    out.append(dict(tid=threading.get_native_id(), door=door, flags=flags, mode=mode, ret=r if r >= 0 else -ctypes.get_errno(), path=path.hex()))
    if r >= 0: os.close(r)
def openat(path, flags, mode=0):
    rec('openat', flags, mode, libc.syscall(ctypes.c_long(257), ctypes.c_int(-100), ctypes.c_char_p(path), ctypes.c_long(flags), ctypes.c_long(mode)), path)
def legacy(path, flags, mode=0):
    rec('open', flags, mode, libc.syscall(ctypes.c_long(2), ctypes.c_char_p(path), ctypes.c_long(flags), ctypes.c_long(mode)), path)
class How(ctypes.Structure):
    _fields_ = [('flags', ctypes.c_uint64), ('mode', ctypes.c_uint64), ('resolve', ctypes.c_uint64)]
def openat2(path, flags, mode=0):
    how = How(flags, mode, 0)
    rec('openat2', flags, mode, libc.syscall(ctypes.c_long(437), ctypes.c_int(-100), ctypes.c_char_p(path), ctypes.byref(how), ctypes.c_size_t(24)), path)
openat(b'/etc/hostname', os.O_RDONLY | os.O_CLOEXEC)
openat(d + b'/missing', os.O_RDONLY)
openat(d + b'/created', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
openat(d + b'/nl\nff\xff\\', os.O_RDWR | os.O_CREAT, 0o600)
openat(d + b'/' + b'a' * (${PATH_CAP} - len(d) - 1), os.O_RDONLY | os.O_CREAT, 0o644)
openat(d + b'/' + b'b' * (${PATH_CAP} - len(d)), os.O_RDONLY | os.O_CREAT, 0o644)
openat(b'', os.O_RDONLY)
openat2(d + b'/o2', os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o640)
openat2(d + b'/o2-missing', os.O_RDONLY)
legacy(d + b'/legacy', os.O_CREAT | os.O_RDWR, 0o640)
legacy(d + b'/no/legacy', os.O_RDONLY)
th = threading.Thread(target=openat, args=(d + b'/from-a-thread', os.O_WRONLY | os.O_CREAT, 0o600)); th.start(); th.join()
for r in out: print(json.dumps(r))
`;

// THREADS threads open EACH missing files apiece; prints the pid
const STORM = String.raw`
import os, sys, threading
d, threads, each = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def work(t):
    for i in range(each):
        try: os.close(os.open('%s/storm/%d-%d' % (d, t, i), os.O_RDONLY))
        except FileNotFoundError: pass
ts = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
for x in ts: x.start()
for x in ts: x.join()
`;

interface Truth { tid: number; door: OpenSyscall; flags: number; mode: number; ret: number; path: string }

/** Waits until `n` events of pid that `which` accepts arrived (or 5 s); returns them. */
async function eventsOf(events: OpensnoopEvent[], pid: number, n: number, which = (_: OpensnoopEvent) => true): Promise<OpensnoopEvent[]> {
  const mine = () => events.filter((e) => e.pid === pid && which(e));
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && mine().length < n) await new Promise((r) => setTimeout(r, 20));
  return mine();
}

for (const output of ['ringbuf', 'perf'] as const) {
  t.test(`through a ${output === 'ringbuf' ? 'ring buffer' : 'perf event array'}: each open, through each door, with its pid, tid, flags, mode, fd or -errno and path`, async (t) => {
    if (!requireRoot(t) || !requireFeature(t, 'tracefs')) return;
    if (output === 'ringbuf' && !requireFeature(t, 'ringbuf')) return;
    const dir = mkdtempSync('/tmp/opensnoop-');
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const events: OpensnoopEvent[] = [];
    const tool = Opensnoop.open({ output, onEvent: (e) => events.push(e) });
    t.teardown(() => tool.close());
    t.equal(tool.layout.output, output);

    const child = execa('/usr/bin/python3', ['-c', OPENS, dir], { timeout: 20_000 });
    const truths = (await child).stdout.split('\n').map((l) => JSON.parse(l) as Truth);
    const pid = child.pid!;
    const paths = new Set(truths.map((w) => w.path));
    const rows = (await eventsOf(events, pid, truths.length, (e) => paths.has(e.path.toString('hex')) || e.path.length > PATH_CAP)).map(formatEvent);
    for (const w of truths) {
      const want = formatRow({ pid, tid: w.tid, comm: 'python3', syscall: w.door, flags: w.flags, mode: w.mode, ret: w.ret, path: shownPath(Buffer.from(w.path, 'hex')) });
      t.equal(rows.filter((r) => r === want).length, 1, want);
    }
    t.ok(truths.some((w) => w.tid !== pid), 'one open came from another thread');
    t.ok(rows.some((r) => r.endsWith(` ${dir}/${'a'.repeat(PATH_CAP - dir.length - 1)}`)), `${PATH_CAP} bytes: whole`);
    t.ok(rows.some((r) => r.endsWith(` ${dir}/${'b'.repeat(PATH_CAP - dir.length - 1)}...`)), `${PATH_CAP + 1} bytes: cut to ${PATH_CAP}, marked`);

    // more opens than the in-flight map holds, from 8 threads: each arrives once, and nothing stays in flight
    const storm = execa('/usr/bin/python3', ['-c', STORM, dir, '8', '1500'], { timeout: 60_000 });
    await storm;
    const stormed = await eventsOf(events, storm.pid!, 12_000, (e) => e.path.includes('/storm/'));
    t.equal(stormed.length, 12_000, 'every open of the storm');
    t.equal(new Set(stormed.map((e) => e.path.toString())).size, 12_000, 'each once');
    t.same(tool.lost(), { output: 0, saved: 0 }, 'nothing lost');
    await new Promise((r) => setTimeout(r, 100));
    t.same(tool.inFlight().filter((tid) => stormed.some((e) => e.tid === tid)), [], 'no entry of the storm left in the map');
  });
}

t.test('closing the tool removes its programs and maps from the kernel', async (t) => {
  if (!requireRoot(t) || !requireFeature(t, 'tracefs')) return;
  const tool = Opensnoop.open({ onEvent: () => {} });
  const progs = await loadedNames('prog');
  const names = ['opensnoop_open', 'opensnoop_at', ...(tool.layout.enter.openat2 ? ['opensnoop_at2'] : []), 'opensnoop_exit'];
  t.same(names.filter((p) => !progs.includes(p)), [], 'every program loaded while open');
  tool.close();
  // the kernel frees a closed program, and then its maps, a moment later
  for (const p of names) t.ok(await goneFromKernel('prog', p), `${p} gone`);
  for (const m of ['opensnoop_heap', 'opensnoop_opens', 'opensnoop_lost', tool.layout.output === 'ringbuf' ? 'opensnoop_rb' : 'opensnoop_pb']) {
    t.ok(await goneFromKernel('map', m), `${m} gone`);
  }
});
