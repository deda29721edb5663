// opensnoop, the fourth way: no compiler, no libbpf. Its programs are written instruction by instruction
// with the builder in bpf/ts/insn.ts, loaded with the bpf() syscall through koffi, attached to the open
// syscalls' tracepoints, and their events read from a ring buffer (or a perf event array on kernels before
// 5.8) that this process maps into its own memory.
//
// What libbpf does for the C version is done here by hand, in plain sight:
//  - the context offsets of filename, flags, mode, how and ret come from the tracepoints' format files in
//    tracefs (no BTF needed: opensnoop reads nothing of the kernel's own structs);
//  - the maps are created first and their fds patched into the ld_imm64 instructions (assemble()).
//
// Logic, as in opensnoop.bpf.c: an open has three doors on x86_64 — open, openat and openat2 (5.6+: its
// flags and mode in a struct open_how the caller points to). Each door's sys_enter_* program fills an event
// (pid, tid, the door, flags, mode, comm, and the path, read with bpf_probe_read_user_str into PATH_BUF
// bytes: one more than the PATH_CAP shown, so the user side can tell "exactly PATH_CAP" from "longer") in
// per-CPU scratch space — with the path it is too big for the 512-byte stack — and saves it in a hash map
// keyed by the thread id: two threads of a process may be inside open() at once. One program serves the
// three sys_exit_* tracepoints (ret has the same offset in all three; kernelLayout checks): it looks the
// entry up, fills in ret, sends the event, and always deletes the entry, so a storm of opens leaves nothing
// behind.
//
// What enter could not read (the page holding the path or the open_how was not present yet: a BPF program
// cannot take a page fault) is read again at exit, where the kernel has just copied it itself. The saved
// entry keeps the two user pointers for that, after the event the ring carries. Events the buffer had no
// room for are counted in opensnoop_lost (with opens the full in-flight map could not save) and reported on
// stderr when the tool stops.
//
// flags is read as the int and mode as the umode_t the kernel's open() takes (32 and 16 bits of the 64-bit
// slot the format file gives each syscall argument); openat2's how->flags and how->mode are u64 and kept whole.
//
// Run: node --import tsx bpf/opensnoop/opensnoop.ts — prints limits.ts's HEADER once attached, then a row
// per open (format.ts); Ctrl-C ends.

import { s32, struct, u32, u64, cstring, bytes, type CodecValue } from '../ts/codec.js';
import { probeFeature } from '../ts/features.js';
import { asm, assemble, R0, R1, R2, R3, R4, R5, R6, R7, R8, R10, type Instruction } from '../ts/insn.js';
import { createMap, createPerfEventArray, createRingBuffer, possibleCpus, type BpfMap } from '../ts/map.js';
import { PAGE_SIZE } from '../ts/syscall.js';
import { openPerfBuffer, openRingBuffer, type PerfBufferReader, type RingBufferReader } from '../ts/perf.js';
import { phase } from '../ts/phases.js';
import { loadProgram, type Program } from '../ts/prog.js';
import { attachTracepoint, tracefsRoot, tracepointFormat, type Link } from '../ts/tracepoint.js';
import { isMain, runAsProgram, type Tool } from '../ts/tool.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { formatRow, shownPath, type OpenRow, type OpenSyscall } from './format.js';
import { HEADER, MAX_OPENS_IN_FLIGHT, PATH_BUF, PATH_CAP, TASK_COMM_LEN } from './limits.js';
export { HEADER, MAX_OPENS_IN_FLIGHT, PATH_BUF, PATH_CAP, TASK_COMM_LEN } from './limits.js';

/** struct event of opensnoop.h, as a codec: the offsets below come from it, so both sides agree. */
export const Event = struct({
  pid: u32,
  tid: u32,
  ret: s32,
  syscall: u32,
  flags: u64,
  mode: u64,
  // __u32 in opensnoop.h, holding bpf_probe_read_user_str()'s return: negative (-EFAULT) when unreadable
  path_len: s32,
  pad: u32,
  comm: cstring(TASK_COMM_LEN),
  path: bytes(PATH_BUF),
});
export type RawEvent = CodecValue<typeof Event>;

/**
 * What the in-flight map holds per thread: the event (what the ring carries, its first Event.size bytes),
 * then the user pointers exit reads again when enter could not (how: 0 once read, or for the other doors).
 */
export const Saved = struct({ event: Event, filename: u64, how: u64 });

/** opensnoop.h's SYSCALL_*: the door an open came through. */
export const SYSCALL = { open: 1, openat: 2, openat2: 3 } as const satisfies Record<OpenSyscall, number>;
export const DOORS = Object.keys(SYSCALL) as OpenSyscall[];

/** Where sys_enter_open and sys_enter_openat keep their arguments (tracefs format). */
export interface PlainEnter { filename: number; flags: number; mode: number }
/** Where sys_enter_openat2 keeps its arguments: flags and mode are behind `how`. */
export interface HowEnter { filename: number; how: number }

/** Everything about the running kernel the programs need baked in. */
export interface Layout {
  /** Each door's enter context; openat2 only on kernels that have it (5.6+). */
  enter: { open: PlainEnter; openat: PlainEnter; openat2?: HowEnter };
  /** Offset of `ret` in sys_exit_open, _openat and _openat2 (the same: one program serves all three). */
  ret: number;
  /** How events reach user space. */
  output: 'ringbuf' | 'perf';
}

const BPF_ANY = 0;
/**
 * The ring buffer's size (a power of 2 pages): ~25,000 events of 320 bytes (+ 8 of header), so that a burst of
 * 20,000 opens fits whole even while Node, sharing 2 cores with the openers, reads nothing. 4 MiB (~12,700)
 * held the 20,000 of 8 threads on the host; 200,000 in 1.4 s lost 84,000 (counted: opensnoop_lost).
 */
export const RINGBUF_BYTES = 8 * 1024 * 1024;
/** What the perf rings of all CPUs may take together. */
export const PERF_TOTAL_BYTES = 32 * 1024 * 1024;
/**
 * Before 5.8, a perf ring per CPU, in pages: a burst lands mostly on one CPU (the 20,000 opens of 8 threads, 2
 * CPUs: 4 MiB each lost 6,500 on CPU 0), so each ring gets the ring buffer's size, while they take at most
 * PERF_TOTAL_BYTES together (8 pages at least).
 */
export const perfPages = (cpus: number): number =>
  2 ** Math.max(3, Math.floor(Math.log2(Math.min(RINGBUF_BYTES, PERF_TOTAL_BYTES / cpus) / PAGE_SIZE)));
/** Slots of the lost-events counter: the ring was full; the in-flight map was full (the open is not saved). */
export const LOST = { output: 0, saved: 1 } as const;

const off = Event.offsets;
const FILENAME_PTR = Saved.offsets.filename;
const HOW_PTR = Saved.offsets.how;
/** Stack slots: the 4-byte map key at fp-4 (0 for the scratch array, then the tid); a lost counter's key at fp-8. */
const KEY = -4;
const LOST_KEY = -8;

const exists = (category: string, name: string): boolean => existsSync(join(tracefsRoot(), 'events', category, name, 'format'));

/** Reads the layout from this kernel's tracefs. */
export function kernelLayout(output?: Layout['output']): Layout {
  const at = (name: string) => tracepointFormat('syscalls', name);
  const plain = (name: string) => {
    const f = at(name);
    return { filename: f.field('filename').offset, flags: f.field('flags').offset, mode: f.field('mode').offset };
  };
  const doors = DOORS.filter((d) => d !== 'openat2' || exists('syscalls', 'sys_enter_openat2'));
  const rets = doors.map((d) => [d, at(`sys_exit_${d}`).field('ret').offset] as const);
  const ret = rets[0]![1];
  for (const [d, o] of rets) {
    if (o !== ret) throw new Error(`opensnoop layout: ret at ${o} in sys_exit_${d} but ${ret} in sys_exit_open (one exit program serves all)`);
  }
  const layout: Layout = {
    enter: { open: plain('sys_enter_open'), openat: plain('sys_enter_openat') },
    ret,
    output: output ?? (probeFeature('ringbuf').status === 'supported' ? 'ringbuf' : 'perf'),
  };
  if (doors.includes('openat2')) {
    const f = at('sys_enter_openat2');
    layout.enter.openat2 = { filename: f.field('filename').offset, how: f.field('how').offset };
  }
  return layout;
}

/** lost[slot] += 1, atomically (other CPUs may be counting too). */
const countLost = (slot: number, why: string): Instruction[] => [
  asm.st('w', R10, LOST_KEY, slot).comment(`count it: lost[${slot}], ${why}`),
  asm.ldMapFd(R1, 'lost'),
  asm.mov(R2, R10),
  asm.add(R2, LOST_KEY),
  asm.call('map_lookup_elem'),
  asm.jeq(R0, 0, `lost${slot}_done`),
  asm.mov(R1, 1),
  asm.atomicAdd('dw', R0, 0, R1),
  asm.mov(R0, 0).label(`lost${slot}_done`),
];

/** event->path = the user string at r3, event->path_len = what bpf_probe_read_user_str returned. */
const readPath = (comment: string): Instruction[] => [
  asm.mov(R1, R8).comment(comment),
  asm.add(R1, off.path),
  asm.mov(R2, PATH_BUF),
  asm.call('probe_read_user_str'),
  asm.stx('w', R8, off.path_len, R0).comment(`event->path_len: bytes with the NUL, ${PATH_BUF} when longer than ${PATH_CAP}, < 0 unreadable`),
];

/** event->flags and ->mode = the caller's struct open_how at r3: u64 flags, u64 mode (then u64 resolve), in one read. */
const readHow = (comment: string): Instruction[] => [
  asm.mov(R1, R8).comment(comment),
  asm.add(R1, off.flags),
  asm.mov(R2, 16).comment('flags and mode lie side by side in both structs; a failed read leaves them 0'),
  asm.call('probe_read_user'),
];

/** sys_enter_DOOR: fill the event in per-CPU scratch space, save it under the thread id. */
export function enterProgram(l: Layout, door: OpenSyscall): Instruction[] {
  const e: PlainEnter | HowEnter | undefined = l.enter[door];
  if (!e) throw new Error(`opensnoop: no sys_enter_${door} on this kernel`);
  const args: Instruction[] =
    'how' in e
      ? [
          asm.ldx('dw', R3, R6, e.how).comment(`r3 = ctx->how (offset ${e.how}): flags and mode are in the caller's struct open_how`),
          asm.stx('dw', R8, HOW_PTR, R3).comment('kept for exit, should the read fail here'),
          ...readHow('event->flags, ->mode = how->flags, how->mode'),
          asm.jne(R0, 0, 'save'),
          asm.st('dw', R8, HOW_PTR, 0).comment('read: nothing for exit to do again'),
        ]
      : [
          asm.ldx('w', R1, R6, e.flags).comment(`event->flags = (int)ctx->flags (offset ${e.flags})`),
          asm.stx('dw', R8, off.flags, R1),
          asm.ldx('h', R1, R6, e.mode).comment(`event->mode = (umode_t)ctx->mode (offset ${e.mode})`),
          asm.stx('dw', R8, off.mode, R1),
          asm.st('dw', R8, HOW_PTR, 0).comment('no open_how'),
        ];
  return [
    asm.mov(R6, R1).comment('r6 = ctx (struct trace_event_raw_sys_enter)'),
    asm.call('get_current_pid_tgid'),
    asm.mov(R7, R0).comment('r7 = tgid << 32 | tid'),
    asm.st('w', R10, KEY, 0).comment('key 0 of the scratch array'),
    asm.ldMapFd(R1, 'scratch'),
    asm.mov(R2, R10),
    asm.add(R2, KEY),
    asm.call('map_lookup_elem'),
    asm.jeq(R0, 0, 'out'),
    asm.mov(R8, R0).comment(`r8 = event: ${Saved.size} bytes, too many for the 512-byte stack`),
    asm.stx('w', R8, off.tid, R7).comment('event->tid: the low 32 bits'),
    asm.mov(R1, R7),
    asm.rsh(R1, 32),
    asm.stx('w', R8, off.pid, R1).comment('event->pid = tgid: the process id as user space sees it'),
    asm.st('w', R8, off.ret, 0),
    asm.st('w', R8, off.syscall, SYSCALL[door]).comment(`event->syscall: ${door}`),
    asm.st('w', R8, off.pad, 0),
    asm.mov(R1, R8),
    asm.add(R1, off.comm),
    asm.mov(R2, TASK_COMM_LEN),
    asm.call('get_current_comm'),
    asm.ldx('dw', R3, R6, e.filename).comment(`r3 = ctx->filename (offset ${e.filename} in the tracepoint's format)`),
    asm.stx('dw', R8, FILENAME_PTR, R3).comment('kept for exit, should the read fail here'),
    ...readPath('event->path: the user string, up to PATH_BUF bytes with its NUL'),
    ...args,
    asm.stx('w', R10, KEY, R7).label('save').comment('key: the thread id (the low 32 bits of r7); threads of a process open at once'),
    asm.ldMapFd(R1, 'opens'),
    asm.mov(R2, R10),
    asm.add(R2, KEY),
    asm.mov(R3, R8),
    asm.mov(R4, BPF_ANY),
    asm.call('map_update_elem'),
    asm.jeq(R0, 0, 'out'),
    ...countLost(LOST.saved, `${MAX_OPENS_IN_FLIGHT} opens in flight already`),
    asm.mov(R0, 0).label('out'),
    asm.exit(),
  ];
}

/** Sends the event at r8 (r6 = ctx); counts it lost when the buffer is full. */
function sendEvent(l: Layout): Instruction[] {
  const send =
    l.output === 'ringbuf'
      ? [
          asm.ldMapFd(R1, 'events').comment('bpf_ringbuf_output(&events, event, sizeof(struct event), 0)'),
          asm.mov(R2, R8),
          asm.mov(R3, Event.size),
          asm.mov(R4, 0),
          asm.call('ringbuf_output'),
        ]
      : [
          asm.mov(R1, R6).comment('bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, event, sizeof(struct event))'),
          asm.ldMapFd(R2, 'events'),
          asm.mov32(R3, 0xffffffff),
          asm.mov(R4, R8),
          asm.mov(R5, Event.size),
          asm.call('perf_event_output'),
        ];
  return [...send, asm.jeq(R0, 0, 'sent'), ...countLost(LOST.output, 'the buffer was full'), asm.mov(R0, 0).label('sent')];
}

/** sys_exit_open, _openat and _openat2: complete the saved event with ret, send it, forget it. */
export function exitProgram(l: Layout): Instruction[] {
  return [
    asm.mov(R6, R1).comment('r6 = ctx (struct trace_event_raw_sys_exit)'),
    asm.call('get_current_pid_tgid'),
    asm.stx('w', R10, KEY, R0).comment('key: the thread id, as at enter'),
    asm.ldMapFd(R1, 'opens'),
    asm.mov(R2, R10),
    asm.add(R2, KEY),
    asm.call('map_lookup_elem'),
    asm.jeq(R0, 0, 'out').comment('nothing saved: we attached mid-open, or the map was full'),
    asm.mov(R8, R0).comment('r8 = the event enter saved'),
    asm.ldx('dw', R1, R6, l.ret).comment(`event->ret = ctx->ret (offset ${l.ret}): the new fd, or -errno`),
    asm.stx('w', R8, off.ret, R1),
    asm.ldx('w', R1, R8, off.path_len),
    asm.lsh(R1, 32),
    asm.arsh(R1, 32).comment('path_len as the signed number it is'),
    asm.jsge(R1, 0, 'how'),
    asm.ldx('dw', R3, R8, FILENAME_PTR).comment('unreadable at enter: the kernel has copied it since, so its page is there now'),
    ...readPath('event->path, read again'),
    asm.ldx('dw', R3, R8, HOW_PTR).label('how'),
    asm.jeq(R3, 0, 'send').comment('0: no open_how, or read at enter'),
    ...readHow('openat2, how unreadable at enter: read it again'),
    asm.mov(R0, 0).label('send'),
    ...sendEvent(l),
    asm.ldMapFd(R1, 'opens').comment('always: sent or not, the open is over and nothing of it stays in the map'),
    asm.mov(R2, R10),
    asm.add(R2, KEY),
    asm.call('map_delete_elem'),
    asm.mov(R0, 0).label('out'),
    asm.exit(),
  ];
}

/** One open as this tool reports it. */
export interface OpensnoopEvent {
  pid: number;
  tid: number;
  comm: string;
  syscall: OpenSyscall;
  flags: bigint;
  mode: bigint;
  /** The new fd, or -errno. */
  ret: number;
  /**
   * The path's bytes as read: at most PATH_BUF - 1 (PATH_CAP + 1, which means "longer than PATH_CAP"); empty
   * when unreadable.
   */
  path: Buffer;
  /** bpf_probe_read_user_str could not read it, at enter nor at exit. */
  unreadable: boolean;
}

const DOOR_OF = Object.fromEntries(Object.entries(SYSCALL).map(([k, v]) => [v, k])) as Record<number, OpenSyscall>;

export function decodeEvent(sample: Buffer): OpensnoopEvent {
  const e = Event.decode(sample);
  const syscall = DOOR_OF[e.syscall];
  if (!syscall) throw new Error(`opensnoop: an event with syscall ${e.syscall}, not one of ${Object.values(SYSCALL).join(', ')}`);
  // path_len counts the NUL; an empty string gives 0 on some kernels (5.10–6.12), 1 on others: end at the NUL
  const read = e.path.subarray(0, Math.max(0, Math.min(e.path_len, PATH_BUF)));
  const nul = read.indexOf(0);
  return {
    pid: e.pid, tid: e.tid, comm: e.comm, syscall, flags: e.flags, mode: e.mode, ret: e.ret,
    path: Buffer.from(nul < 0 ? read : read.subarray(0, nul)),
    unreadable: e.path_len < 0,
  };
}

/** The row, as format.ts spells it for every opensnoop of the project. */
export const toRow = (e: OpensnoopEvent): OpenRow => ({
  pid: e.pid, tid: e.tid, comm: e.comm, syscall: e.syscall, flags: Number(e.flags), mode: Number(e.mode), ret: e.ret, path: shownPath(e.path),
});

export const formatEvent = (e: OpensnoopEvent): string => formatRow(toRow(e));

/** The loaded and attached tool; close() detaches and frees everything. */
export class Opensnoop {
  private constructor(
    readonly layout: Layout,
    private readonly maps: BpfMap<any, any>[],
    private readonly programs: Program[],
    private readonly links: Link[],
    private readonly reader: PerfBufferReader | RingBufferReader,
    private readonly opensMap: BpfMap<number, unknown>,
    private readonly lostMap: BpfMap<number, bigint>,
  ) {}

  /** Loads, attaches and starts delivering events to onEvent. Throws with the verifier's words on rejection. */
  static open(opts: { onEvent: (e: OpensnoopEvent) => void; output?: Layout['output'] }): Opensnoop {
    phase('start');
    const layout = kernelLayout(opts.output);
    phase('tracefs');
    const owned: { close(): void }[] = [];
    try {
      const scratch = createMap({ name: 'opensnoop_heap', type: 'percpu_array', key: u32, value: Saved, maxEntries: 1 });
      owned.push(scratch);
      const opens = createMap({ name: 'opensnoop_opens', type: 'hash', key: u32, value: Saved, maxEntries: MAX_OPENS_IN_FLIGHT });
      owned.push(opens);
      const lost = createMap({ name: 'opensnoop_lost', type: 'array', key: u32, value: u64, maxEntries: Object.keys(LOST).length });
      owned.push(lost);
      const events = layout.output === 'ringbuf' ? createRingBuffer('opensnoop_rb', RINGBUF_BYTES) : createPerfEventArray('opensnoop_pb');
      owned.push(events);
      const maps = { scratch, opens, lost, events };
      const doors = DOORS.filter((d) => layout.enter[d]);
      const names: Record<OpenSyscall, string> = { open: 'opensnoop_open', openat: 'opensnoop_at', openat2: 'opensnoop_at2' };
      const enters = doors.map((d) => {
        const p = loadProgram({ name: names[d], type: 'tracepoint', insns: assemble(enterProgram(layout, d), { maps }) });
        owned.push(p);
        return [d, p] as const;
      });
      const exit = loadProgram({ name: 'opensnoop_exit', type: 'tracepoint', insns: assemble(exitProgram(layout), { maps }) });
      owned.push(exit);
      phase('load');
      const onSample = (s: Buffer) => opts.onEvent(decodeEvent(s));
      const onLost = (n: number, cpu?: number) => process.stderr.write(`read perf buffer: lost ${n} events on CPU ${cpu}\n`);
      const reader =
        layout.output === 'ringbuf'
          ? openRingBuffer(events as BpfMap<never, never>, { onSample })
          : openPerfBuffer(events as BpfMap<number, number>, { onSample, onLost, pages: perfPages(possibleCpus()) });
      owned.push(reader);
      // attach last: every event from here on has a reader waiting for it
      // the exit before the enters: an open saved at enter always finds what sends and deletes it
      const links: Link[] = [];
      for (const [prog, name] of [...doors.map((d) => [exit, `sys_exit_${d}`] as const), ...enters.map(([d, p]) => [p, `sys_enter_${d}`] as const)]) {
        const link = attachTracepoint(prog, 'syscalls', name);
        links.push(link);
        owned.push(link);
      }
      phase('attach');
      return new Opensnoop(layout, [scratch, opens, lost, events], [...enters.map(([, p]) => p), exit], links, reader, opens, lost);
    } catch (err) {
      for (const o of owned.reverse()) o.close();
      throw err;
    }
  }

  /** Threads inside an open right now, as the kernel side sees them (the entries of opensnoop_opens). */
  inFlight(): number[] {
    return [...this.opensMap.keys()];
  }

  /** Events the kernel side could not deliver: the buffer was full (output), the in-flight map was full (saved). */
  lost(): { output: number; saved: number } {
    return { output: Number(this.lostMap.lookup(LOST.output)), saved: Number(this.lostMap.lookup(LOST.saved)) };
  }

  /** Detach, the enters first: an open under way still meets its exit. No new events after this. */
  detach(): void {
    for (const l of [...this.links].reverse()) l.close();
  }

  /** Detach, drain what is buffered, then free everything. */
  close(): void {
    this.detach();
    this.reader.poll();
    this.reader.close();
    for (const p of this.programs) p.close();
    for (const m of this.maps) m.close();
  }
}

/** The tool: the header once every program is attached (its ready line), then a row per open. */
export const run: Tool = (out) => {
  const tool = Opensnoop.open({ onEvent: (e) => out.line(formatEvent(e)) });
  out.line(HEADER);
  return {
    stop: () => {
      let lost = { output: 0, saved: 0 };
      try {
        tool.detach(); // first, so the counts read are final
        lost = tool.lost();
      } finally {
        tool.close();
      }
      if (lost.output) process.stderr.write(`opensnoop: lost ${lost.output} events: the ${tool.layout.output === 'ringbuf' ? 'ring' : 'perf'} buffer was full\n`);
      if (lost.saved) process.stderr.write(`opensnoop: lost ${lost.saved} opens: ${MAX_OPENS_IN_FLIGHT} were in flight already\n`);
    },
  };
};

if (isMain(import.meta.url)) runAsProgram('opensnoop', run, 'no options; Ctrl-C ends');
