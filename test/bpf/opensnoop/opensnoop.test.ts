import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import {
  Event, PATH_BUF, PATH_CAP, RINGBUF_BYTES, SYSCALL, Saved, decodeEvent, enterProgram, exitProgram, formatEvent, perfPages, type Layout, type RawEvent,
} from '../../../bpf/opensnoop/opensnoop.js';
import { parseRow } from '../../../bpf/opensnoop/format.js';
import { assemble } from '../../../bpf/ts/insn.js';
import { disasm } from '../../../bpf/ts/disasm.js';
import { projectRoot } from '../../../harness/engine/paths.js';

// this host's 6.18 offsets, shifted where the format files allow it, so that each read is told apart
const layout: Layout = {
  enter: { open: { filename: 16, flags: 24, mode: 32 }, openat: { filename: 24, flags: 32, mode: 40 }, openat2: { filename: 24, how: 32 } },
  ret: 16,
  output: 'ringbuf',
};
const maps = { scratch: 3, opens: 4, lost: 5, events: 6 };
const listing = (insns: Parameters<typeof assemble>[0]) => disasm(assemble(insns, { maps }), { labels: false, comments: false });

t.test('the event layout is opensnoop.h’s struct event, field by field', async (t) => {
  const h = readFileSync(path.join(projectRoot, 'bpf', 'opensnoop', 'opensnoop.h'), 'utf8');
  const body = /struct event \{([\s\S]*?)\};/.exec(h)![1]!.replace(/\/\*[\s\S]*?\*\//g, '');
  const macros: Record<string, number> = Object.fromEntries([...h.matchAll(/#define (\w+) (\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
  macros.PATH_BUF = macros.PATH_CAP! + Number(/#define PATH_BUF \(PATH_CAP \+ (\d+)\)/.exec(h)![1]);
  const sizes: Record<string, number> = { __u32: 4, __s32: 4, __u64: 8, char: 1 };
  let offset = 0;
  const fields: [string, number, number][] = [];
  for (const m of body.matchAll(/(\w+) (\w+)(?:\[(\w+)\])?;/g)) {
    const size = sizes[m[1]!]!;
    const n = m[3] === undefined ? 1 : (macros[m[3]] ?? Number(m[3]));
    offset = Math.ceil(offset / size) * size;
    fields.push([m[2]!, offset, size * n]);
    offset += size * n;
  }
  t.same(fields.map(([name, at]) => [name, at]), Object.entries(Event.offsets), 'the same fields at the same offsets');
  t.equal(Event.size, Math.ceil(offset / 8) * 8, `${Event.size} bytes`);
  t.equal(PATH_BUF, macros.PATH_BUF, 'PATH_BUF');
  t.same(SYSCALL, { open: macros.SYSCALL_OPEN, openat: macros.SYSCALL_OPENAT, openat2: macros.SYSCALL_OPENAT2 });
  t.equal(Saved.offsets.filename, Event.size, 'the in-flight entry: the event first, then the user pointers');
});

t.test('each enter reads its arguments at the format file’s offsets, into per-CPU scratch, saved under the tid', async (t) => {
  const open = listing(enterProgram(layout, 'open'));
  t.match(open, /r3 = \*\(u64 \*\)\(r6 \+16\)/, 'open: filename');
  t.match(open, /r1 = \*\(u32 \*\)\(r6 \+24\)/, 'open: flags, the int');
  t.match(open, /r1 = \*\(u16 \*\)\(r6 \+32\)/, 'open: mode, the umode_t');
  t.match(open, new RegExp(`\\*\\(u32 \\*\\)\\(r8 \\+12\\) = ${SYSCALL.open}`), 'the door saved');
  t.match(open, new RegExp(`r2 = ${PATH_BUF}\\n\\d+: \\(85\\) call bpf_probe_read_user_str#114`), `the path read into ${PATH_BUF} bytes`);
  t.match(open, /call bpf_get_current_comm#16/);
  t.match(open, /\*\(u32 \*\)\(r10 -4\) = r7[\s\S]*call bpf_map_update_elem#2/, 'the key: the low 32 bits of pid_tgid, the tid');
  const at = listing(enterProgram(layout, 'openat'));
  t.match(at, /r3 = \*\(u64 \*\)\(r6 \+24\)/, 'openat: filename after dfd');
  t.match(at, /r1 = \*\(u32 \*\)\(r6 \+32\)/);
  t.match(at, /r1 = \*\(u16 \*\)\(r6 \+40\)/);
  const at2 = listing(enterProgram(layout, 'openat2'));
  t.match(at2, /r3 = \*\(u64 \*\)\(r6 \+32\)/, 'openat2: the how pointer');
  t.match(at2, /r1 \+= 16\n\d+: \(b7\) r2 = 16\n\d+: \(85\) call bpf_probe_read_user#112/, 'how->flags and how->mode read into event->flags and ->mode');
  t.notMatch(at2, /\(69\)/, 'no mode from the context');
  t.throws(() => enterProgram({ ...layout, enter: { open: layout.enter.open, openat: layout.enter.openat } }, 'openat2'), /no sys_enter_openat2/);
});

t.test('the exit fills ret, reads again what enter could not, sends, and always deletes the entry', async (t) => {
  const exit = listing(exitProgram(layout));
  t.match(exit, /r1 = \*\(u64 \*\)\(r6 \+16\)\n\d+: \(63\) \*\(u32 \*\)\(r8 \+8\) = r1/, 'ret from its offset into event->ret');
  t.match(exit, /call bpf_ringbuf_output#130/);
  t.match(exit, /call bpf_probe_read_user_str#114/, 'the path again when unreadable at enter');
  t.match(exit, /call bpf_probe_read_user#112/, 'how again');
  const insns = exitProgram(layout);
  t.equal(insns.filter((i) => i.jumpTo === 'out').length, 1, 'only a failed lookup skips the delete');
  const del = insns.findIndex((i) => i.commentText?.startsWith('always'));
  t.ok(insns.slice(del).some((i) => i.imm === 3 && i.code === 0x85), 'map_delete_elem after the output');
  t.notOk(insns.slice(0, del).some((i) => i.jumpTo !== undefined && insns.findIndex((j) => j.labelName === i.jumpTo) > del && i.jumpTo !== 'out'), 'no jump over it');
  const perf = listing(exitProgram({ ...layout, output: 'perf' }));
  t.match(perf, /call bpf_perf_event_output#25/);
  t.match(perf, /w3 = -1/, 'BPF_F_CURRENT_CPU');
});

const raw = (over: Partial<RawEvent> & { text?: Buffer }): Buffer => {
  const path = Buffer.alloc(PATH_BUF);
  const text = over.text ?? Buffer.from('/etc/hostname');
  text.copy(path, 0, 0, Math.min(text.length, PATH_BUF - 1));
  const { text: _, ...rest } = over;
  return Event.encode({
    pid: 4242, tid: 4243, ret: 3, syscall: SYSCALL.openat2, flags: 0o100101n, mode: 0o640n, path_len: Math.min(text.length + 1, PATH_BUF), pad: 0,
    comm: 'open_helper', path, ...rest,
  });
};

t.test('a row as format.ts prints it: the README example, escapes, and the cut at PATH_CAP', async (t) => {
  t.equal(
    formatEvent(decodeEvent(raw({ text: Buffer.from('/tmp/x') }))),
    '4242    4243    open_helper      openat2 00100101 0640     3 /tmp/x',
  );
  const odd = decodeEvent(raw({ text: Buffer.from('/tmp/a\nb\xff\\', 'latin1'), syscall: SYSCALL.open, ret: -2 }));
  t.equal(formatEvent(odd).split(' ').at(-1), '/tmp/a\\x0ab\\xff\\\\');
  t.match(parseRow(formatEvent(odd)), { syscall: 'open', ret: -2, pid: 4242, tid: 4243 });
  const exact = decodeEvent(raw({ text: Buffer.from('x'.repeat(PATH_CAP)) }));
  t.equal(exact.path.length, PATH_CAP);
  t.equal(parseRow(formatEvent(exact))!.path, 'x'.repeat(PATH_CAP), `exactly ${PATH_CAP} bytes (path_len ${PATH_CAP + 1}): whole, no mark`);
  const longer = decodeEvent(raw({ text: Buffer.from('y'.repeat(PATH_CAP + 1)) }));
  t.equal(parseRow(formatEvent(longer))!.path, 'y'.repeat(PATH_CAP) + '...', `path_len ${PATH_BUF}: longer, cut and marked`);
  const longest = decodeEvent(raw({ text: Buffer.from('z'.repeat(4000)) }));
  t.equal(parseRow(formatEvent(longest))!.path, 'z'.repeat(PATH_CAP) + '...');
});

t.test('an empty path (path_len 0 on 5.10–6.12, 1 elsewhere) and an unreadable one (< 0) both show as nothing', async (t) => {
  for (const path_len of [0, 1]) {
    const e = decodeEvent(raw({ text: Buffer.alloc(0), path_len }));
    t.same([e.path.length, e.unreadable], [0, false]);
  }
  const bad = decodeEvent(raw({ text: Buffer.from('stale bytes'), path_len: -14 }));
  t.same([bad.path.length, bad.unreadable], [0, true]);
  t.match(formatEvent(bad), / 0640     3 $/);
  t.throws(() => decodeEvent(raw({ syscall: 9 })), /syscall 9/);
});

t.test('the perf rings before 5.8: the ring buffer’s size each, 32 MiB at most together', async (t) => {
  t.equal(perfPages(2) * 4096, RINGBUF_BYTES);
  t.equal(perfPages(4) * 4096, RINGBUF_BYTES);
  t.equal(perfPages(64) * 4096, 512 * 1024);
  t.equal(perfPages(100_000), 8);
});
