// execsnoop, the fourth way: no compiler, no libbpf. The two programs are written instruction by
// instruction with the builder in bpf/ts/insn.ts, loaded with the bpf() syscall through koffi, attached
// to the execve tracepoints, and their events read from a ring buffer (or a perf event array on kernels
// before 5.8) that this process maps into its own memory.
//
// What libbpf does for the C version is done here by hand, in plain sight:
//  - the context offsets of argv and ret come from the tracepoints' format files in tracefs;
//  - the offsets of task_struct.real_parent and .tgid come from the kernel's BTF (CO-RE by hand, btf.ts);
//  - the maps are created first and their fds patched into the ld_imm64 instructions (assemble()).
//
// Logic, as in execsnoop.bpf.c: sys_enter_execve and sys_enter_execveat fill an event (pid, comm, the door,
// up to MAX_ARGS arguments of up to ARGSIZE bytes, each marked when cut or unreadable) in per-CPU scratch
// space and save it in a hash map keyed by the process id. sched:sched_process_exec sends every successful
// exec: it finds the saved event, reads again from the new program's stack any argument enter could not
// read, adds the parent's pid and, for an exec by fd, the name the kernel gave the program (/dev/fd/N);
// with no saved event (the 32-bit entry) it builds one from the new program's stack. sys_exit_execve(at)
// sends what is still saved: the failed execs.
//
// The course traces sys_enter_execve only. That misses execveat (its own tracepoints: glibc's fexecve()
// is execveat(fd, "", ..., AT_EMPTY_PATH)) and an execve through int $0x80 (x86 fires no syscall
// tracepoint for a compat syscall). sched_process_exec fires for every successful exec, whatever the door,
// on every kernel of the matrix; the syscall tracepoints stay for what only they know (the caller's comm,
// argv as passed, failures). Why a ts tool and not only libbpf: the same design, instruction by instruction.
//
// Run: node --import tsx bpf/execsnoop/execsnoop.ts — prints the same table as the libbpf version.

import { Btf } from '../ts/btf.js';
import { bytes, cstring, s32, struct, u32, type CodecValue } from '../ts/codec.js';
import { probeFeature } from '../ts/features.js';
import { asm, assemble, R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, type Instruction } from '../ts/insn.js';
import { createMap, createPerfEventArray, createRingBuffer, type BpfMap } from '../ts/map.js';
import { openPerfBuffer, openRingBuffer, type PerfBufferReader, type RingBufferReader } from '../ts/perf.js';
import { loadProgram, type Program } from '../ts/prog.js';
import { attachTracepoint, tracepointFormat, type Link } from '../ts/tracepoint.js';
import { formatArgBytes } from './format.js';
import { phase } from '../ts/phases.js';
import { isMain, runAsProgram, type Tool } from '../ts/tool.js';

import { ARGSIZE, MAX_ARGS, MAX_EXECS_IN_FLIGHT, TASK_COMM_LEN } from './limits.js';
export { ARGSIZE, MAX_ARGS, MAX_EXECS_IN_FLIGHT, TASK_COMM_LEN, UNREADABLE_MARK } from './limits.js';

/** struct event of execsnoop.h, as a codec: the offsets below come from it, so both sides agree. */
export const Event = struct({
  pid: u32,
  ppid: u32,
  ret: s32,
  args_count: u32,
  args_complete: u32,
  args_truncated: u32,
  args_unreadable: u32,
  args_dropped: u32,
  syscall: u32,
  at_flags: u32,
  comm: cstring(TASK_COMM_LEN),
  filename: cstring(ARGSIZE),
  args: bytes(MAX_ARGS * ARGSIZE),
});

/** execsnoop.h's SYSCALL_*: the door an exec came through. UNKNOWN: only sched_process_exec saw it (the 32-bit entry). */
export const SYSCALL = { unknown: 0, execve: 1, execveat: 2 } as const;
/** include/uapi/linux/fcntl.h: execveat(fd, "", ..., AT_EMPTY_PATH) runs fd itself. */
const AT_EMPTY_PATH = 0x1000;
export type RawEvent = CodecValue<typeof Event>;

/** Everything about the running kernel the programs need baked in. */
export interface Layout {
  /** Offset of `argv` in sys_enter_execve's context (tracefs format). */
  argv: number;
  /** Offsets of `argv` and `flags` in sys_enter_execveat's context. */
  argvAt: number;
  flagsAt: number;
  /** Offset of `ret` in sys_exit_execve's context, and in sys_exit_execveat's (the same: one program serves both). */
  ret: number;
  /** Offset of the __data_loc `filename` in sched_process_exec's context. */
  filename: number;
  /** task_struct and mm_struct field offsets from BTF. */
  realParent: number;
  tgid: number;
  mm: number;
  startStack: number;
  /** How events reach user space. */
  output: 'ringbuf' | 'perf';
}

const BPF_ANY = 0;
/** The ring buffer's size (a power of 2 pages). */
export const RINGBUF_BYTES = 4 * 1024 * 1024;
const off = Event.offsets;
/** Stack slots below the 4-byte map key at fp-4. */
const PTR = -16; // a pointer or u64 read from memory
const ARG = -24; // the argument's address, kept for the cut check
const BYTE = -32; // the byte after a full slot

/** Reads the layout from this kernel: tracefs for the contexts, BTF for task_struct and mm_struct. */
export function kernelLayout(output?: Layout['output']): Layout {
  const btf = Btf.fromKernel();
  btf.findStructs(['task_struct', 'mm_struct']);
  const execveat = tracepointFormat('syscalls', 'sys_enter_execveat');
  const ret = tracepointFormat('syscalls', 'sys_exit_execve').field('ret').offset;
  const retAt = tracepointFormat('syscalls', 'sys_exit_execveat').field('ret').offset;
  if (ret !== retAt) throw new Error(`execsnoop layout: ret at ${ret} in sys_exit_execve but ${retAt} in sys_exit_execveat (one exit program serves both)`);
  return {
    argv: tracepointFormat('syscalls', 'sys_enter_execve').field('argv').offset,
    argvAt: execveat.field('argv').offset,
    flagsAt: execveat.field('flags').offset,
    ret,
    filename: tracepointFormat('sched', 'sched_process_exec').field('filename').offset,
    realParent: btf.fieldOf('task_struct', 'real_parent').offset,
    tgid: btf.fieldOf('task_struct', 'tgid').offset,
    mm: btf.fieldOf('task_struct', 'mm').offset,
    startStack: btf.fieldOf('mm_struct', 'start_stack').offset,
    output: output ?? (probeFeature('ringbuf').status === 'supported' ? 'ringbuf' : 'perf'),
  };
}

/** event->FIELD |= bit, or &= ~bit. */
const setBit = (field: 'args_truncated' | 'args_unreadable', bit: number, on = true): Instruction[] => [
  asm.ldx('w', R1, R8, off[field]),
  on ? asm.or(R1, bit) : asm.and(R1, ~bit),
  asm.stx('w', R8, off[field], R1),
];

/**
 * Copies the user string whose address is in r3 into slot i, then marks it: unreadable when the read
 * faults (a BPF program cannot take a page fault), cut when the slot is full and the byte it replaced with
 * NUL was not one. `p` keeps labels apart where the enter and the exit program both use it.
 */
function readString(i: number, p: string): Instruction[] {
  const slot = off.args + i * ARGSIZE;
  const done = `${p}${i}_done`;
  return [
    asm.stx('dw', R10, ARG, R3).comment(`copy the string into event->args[${i} * ARGSIZE]`),
    asm.mov(R1, R8),
    asm.add(R1, slot),
    asm.mov(R2, ARGSIZE),
    asm.call('probe_read_user_str'),
    asm.jsge(R0, 0, `${p}${i}_read`),
    asm.st('b', R8, slot, 0).comment('a fault: the page is not there yet; mark it, never show it as ""'),
    ...setBit('args_unreadable', 1 << i),
    asm.ja(done),
    ...setBit('args_unreadable', 1 << i, false).map((x, k) => (k === 0 ? x.label(`${p}${i}_read`) : x)),
    asm.jne(R0, ARGSIZE, done).comment('a full slot: cut, unless the byte it replaced with NUL was one'),
    asm.mov(R1, R10),
    asm.add(R1, BYTE),
    asm.mov(R2, 1),
    asm.ldx('dw', R3, R10, ARG),
    asm.add(R3, ARGSIZE - 1),
    asm.call('probe_read_user'),
    asm.jne(R0, 0, done),
    asm.ldx('b', R1, R10, BYTE),
    asm.jeq(R1, 0, done).comment(`exactly ${ARGSIZE - 1} bytes: it fit`),
    ...setBit('args_truncated', 1 << i),
    asm.mov(R0, 0).label(done).comment(`argument ${i} done`),
  ];
}

/** Enter: reads argv[i] (r9 = argv); stops at the NULL that ends it (jumps to 'save'). */
function readArg(i: number): Instruction[] {
  return [
    asm.mov(R1, R10).comment(`argument ${i}: read the pointer argv[${i}] onto the stack`),
    asm.add(R1, PTR),
    asm.mov(R2, 8),
    asm.mov(R3, R9),
    asm.add(R3, i * 8),
    asm.call('probe_read_user'),
    asm.jeq(R0, 0, `arg${i}_ptr`),
    ...setBit('args_unreadable', 1 << i).map((x, k) => (k === 0 ? x.comment('argv itself unreadable: one mark, and the list ends') : x)),
    asm.st('w', R8, off.args_count, i + 1),
    asm.ja('save'),
    asm.ldx('dw', R3, R10, PTR).label(`arg${i}_ptr`),
    asm.jne(R3, 0, `arg${i}_str`),
    asm.st('w', R8, off.args_complete, 1).comment(`argv[${i}] == NULL: that was the last argument`),
    asm.ja('save'),
    ...readString(i, 'arg').map((x, k) => (k === 0 ? x.label(`arg${i}_str`) : x)),
    asm.st('w', R8, off.args_count, i + 1),
  ];
}

/** sys_enter_execve (the course's one probe), or sys_enter_execveat: fill the event in per-CPU scratch space, save it under the process id. */
export function enterProgram(l: Layout, door: 'execve' | 'execveat' = 'execve'): Instruction[] {
  const argv = door === 'execve' ? l.argv : l.argvAt;
  return [
    asm.mov(R6, R1).comment('r6 = ctx (struct trace_event_raw_sys_enter)'),
    asm.call('get_current_pid_tgid'),
    asm.mov(R7, R0),
    asm.rsh(R7, 32).comment('r7 = tgid, the key: the course keys by tid (the low 32 bits), and then misses every exec from a thread'),
    asm.st('w', R10, -4, 0).comment('key 0 of the scratch array'),
    asm.ldMapFd(R1, 'scratch'),
    asm.mov(R2, R10),
    asm.add(R2, -4),
    asm.call('map_lookup_elem'),
    asm.jeq(R0, 0, 'out'),
    asm.mov(R8, R0).comment(`r8 = event: ${Event.size} bytes, too many for the 512-byte stack`),
    asm.stx('w', R8, off.pid, R7).comment('event->pid = tgid'),
    asm.st('w', R8, off.ppid, 0),
    asm.st('w', R8, off.ret, 0),
    ...clearEvent(door),
    ...(door === 'execveat'
      ? [asm.ldx('w', R1, R6, l.flagsAt).comment(`event->at_flags = ctx->flags (offset ${l.flagsAt}): AT_EMPTY_PATH is an exec by fd`), asm.stx('w', R8, off.at_flags, R1)]
      : []),
    asm.mov(R1, R8).comment("event->comm: the caller's name, before exec replaces it"),
    asm.add(R1, off.comm),
    asm.mov(R2, TASK_COMM_LEN),
    asm.call('get_current_comm'),
    asm.ldx('dw', R9, R6, argv).comment(`r9 = ctx->argv (offset ${argv} in the tracepoint's format)`),
    ...Array.from({ length: MAX_ARGS }, (_, i) => readArg(i)).flat(),
    asm.mov(R1, R10).comment(`more than ${MAX_ARGS} arguments? look at argv[${MAX_ARGS}]`),
    asm.add(R1, PTR),
    asm.mov(R2, 8),
    asm.mov(R3, R9),
    asm.add(R3, MAX_ARGS * 8),
    asm.call('probe_read_user'),
    asm.jne(R0, 0, 'save'),
    asm.ldx('dw', R3, R10, PTR),
    asm.jeq(R3, 0, 'complete'),
    asm.st('w', R8, off.args_dropped, 1),
    asm.ja('save'),
    asm.st('w', R8, off.args_complete, 1).label('complete'),
    asm.stx('w', R10, -4, R7).label('save').comment('key: the process id, the same at enter and exit whichever thread execs'),
    asm.ldMapFd(R1, 'execs'),
    asm.mov(R2, R10),
    asm.add(R2, -4),
    asm.mov(R3, R8),
    asm.mov(R4, BPF_ANY),
    asm.call('map_update_elem'),
    asm.mov(R0, 0).label('out'),
    asm.exit(),
  ];
}

/**
 * Exit, after a successful exec: the kernel has just copied argv onto the new program's stack, where
 * mm->start_stack points at argc, then the argv pointers; those pages are present, so what faulted at enter
 * reads here. A script's interpreter puts words in front, so the old argv[i] is the new argv[i + shift],
 * shift = new argc - old argc (argv[0] of a script is gone: it cannot be read again).
 */
function rereadArgs(l: Layout, end: string): Instruction[] {
  const readKernel = (offset: number, comment: string) => readKernelPtr(offset, comment, end);
  const again = (i: number): Instruction[] => [
    asm.ldx('w', R1, R8, off.args_count).label(`again${i}`),
    asm.jle(R1, i, end).comment(`argument ${i} again, if enter could not read it`),
    asm.ldx('w', R1, R8, off.args_unreadable),
    asm.and(R1, 1 << i),
    asm.jeq(R1, 0, `again${i + 1}`),
    ...(i === 0 ? [asm.jne(R7, 0, `again${i + 1}`).comment("a script's argv[0] is gone")] : []),
    asm.mov(R1, R10),
    asm.add(R1, PTR),
    asm.mov(R2, 8),
    asm.mov(R3, R9),
    asm.add(R3, i * 8),
    asm.call('probe_read_user'),
    asm.jne(R0, 0, `again${i + 1}`),
    asm.ldx('dw', R3, R10, PTR),
    asm.jeq(R3, 0, `again${i + 1}`),
    ...readString(i, 'again_str'),
  ];
  return [
    asm.ldx('w', R1, R8, off.ret).comment('read again only after a success, with something unreadable, from a known argc'),
    asm.jne(R1, 0, end),
    asm.ldx('w', R1, R8, off.args_unreadable),
    asm.jeq(R1, 0, end),
    asm.ldx('w', R1, R8, off.args_complete),
    asm.jeq(R1, 0, end),
    asm.call('get_current_task'),
    ...readKernel(l.mm, `r0 = task->mm (offset ${l.mm})`),
    ...readKernel(l.startStack, `r0 = mm->start_stack (offset ${l.startStack}): argc, then argv`),
    asm.mov(R9, R0),
    asm.mov(R1, R10),
    asm.add(R1, PTR),
    asm.mov(R2, 8),
    asm.mov(R3, R9),
    asm.call('probe_read_user'),
    asm.jne(R0, 0, end),
    asm.ldx('dw', R7, R10, PTR).comment('r7 = the new argc'),
    asm.ldx('w', R1, R8, off.args_count),
    asm.jlt(R7, R1, end),
    asm.sub(R7, R1).comment('r7 = shift: words an interpreter put in front'),
    asm.mov(R1, R7),
    asm.lsh(R1, 3),
    asm.add(R9, R1),
    asm.add(R9, 8).comment('r9 = &new_argv[shift]: the old argv[0] lines up here'),
    ...Array.from({ length: MAX_ARGS }, (_, i) => again(i)).flat(),
    asm.mov(R0, 0).label(`again${MAX_ARGS}`),
  ];
}

/** Sends the event at r8, then deletes the process's entry (key at fp-4): whatever happened, the exec is over. */
const sendAndForget = (l: Layout): Instruction[] => [
  ...sendEvent(l),
  asm.ldMapFd(R1, 'execs').comment('the exec is over: nothing of it stays in the map'),
  asm.mov(R2, R10),
  asm.add(R2, -4),
  asm.call('map_delete_elem'),
  asm.mov(R0, 0).label('out'),
  asm.exit(),
];

/** r6 = ctx; the process id as the key at fp-4; r0 = its saved event (or 0): the start of the exec and exit programs. */
const lookupSaved = (ctx: string, why: string): Instruction[] => [
  asm.mov(R6, R1).comment(`r6 = ctx (struct ${ctx})`),
  asm.call('get_current_pid_tgid'),
  asm.rsh(R0, 32),
  asm.stx('w', R10, -4, R0).comment(`key: the process id (${why})`),
  asm.ldMapFd(R1, 'execs'),
  asm.mov(R2, R10),
  asm.add(R2, -4),
  asm.call('map_lookup_elem'),
];

/** Clears the event's counts and marks at r8 and sets its door. */
const clearEvent = (door: keyof typeof SYSCALL): Instruction[] => [
  asm.st('w', R8, off.args_count, 0),
  asm.st('w', R8, off.args_complete, 0),
  asm.st('w', R8, off.args_truncated, 0),
  asm.st('w', R8, off.args_unreadable, 0),
  asm.st('w', R8, off.args_dropped, 0),
  asm.st('w', R8, off.syscall, SYSCALL[door]).comment(`event->syscall: ${door}`),
  asm.st('w', R8, off.at_flags, 0),
];

/** Sends the event at r8 (r6 = ctx), labelled 'send'. */
function sendEvent(l: Layout): Instruction[] {
  return l.output === 'ringbuf'
      ? [
          asm.ldMapFd(R1, 'events').label('send').comment('bpf_ringbuf_output(&events, event, size, 0)'),
          asm.mov(R2, R8),
          asm.mov(R3, Event.size),
          asm.mov(R4, 0),
          asm.call('ringbuf_output'),
        ]
      : [
          asm.mov(R1, R6).label('send').comment('bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, event, size)'),
          asm.ldMapFd(R2, 'events'),
          asm.mov32(R3, 0xffffffff),
          asm.mov(R4, R8),
          asm.mov(R5, Event.size),
          asm.call('perf_event_output'),
        ];
}

/** event->ppid = current->real_parent->tgid. */
function readParent(l: Layout): Instruction[] {
  return [
    asm.call('get_current_task'),
    asm.mov(R3, R0).comment(`r3 = &task->real_parent (offset ${l.realParent} in this kernel's BTF)`),
    asm.add(R3, l.realParent),
    asm.mov(R1, R10),
    asm.add(R1, PTR),
    asm.mov(R2, 8),
    asm.call('probe_read_kernel'),
    asm.ldx('dw', R3, R10, PTR).comment(`r3 = &parent->tgid (offset ${l.tgid})`),
    asm.add(R3, l.tgid),
    asm.mov(R1, R8),
    asm.add(R1, off.ppid),
    asm.mov(R2, 4),
    asm.call('probe_read_kernel'),
  ];
}

/** r0 = *(u64 *)(r0 + offset) read from kernel memory; to `fail` when the read faults or gives NULL. */
const readKernelPtr = (offset: number, comment: string, fail: string): Instruction[] => [
  asm.mov(R3, R0).comment(comment),
  asm.add(R3, offset),
  asm.mov(R1, R10),
  asm.add(R1, PTR),
  asm.mov(R2, 8),
  asm.call('probe_read_kernel'),
  asm.jne(R0, 0, fail),
  asm.ldx('dw', R0, R10, PTR),
  asm.jeq(R0, 0, fail),
];

/**
 * No enter saw this exec (the 32-bit entry): argv only on the new program's stack — mm->start_stack points
 * at argc, then the argv pointers. Reads up to MAX_ARGS of them into the event at r8; ends at 'stack_done'.
 */
function stackArgs(l: Layout): Instruction[] {
  const one = (i: number): Instruction[] => [
    asm.jle(R7, i, 'stack_done').label(`stack${i}`).comment(`argument ${i} from the stack, if argc says there is one`),
    asm.mov(R1, R10),
    asm.add(R1, PTR),
    asm.mov(R2, 8),
    asm.mov(R3, R9),
    asm.add(R3, (i + 1) * 8),
    asm.call('probe_read_user'),
    asm.jne(R0, 0, 'stack_done'),
    asm.ldx('dw', R3, R10, PTR),
    asm.jeq(R3, 0, 'stack_done'),
    ...readString(i, 'stack_str'),
    asm.st('w', R8, off.args_count, i + 1),
  ];
  return [
    asm.call('get_current_task'),
    ...readKernelPtr(l.mm, `r0 = task->mm (offset ${l.mm})`, 'stack_done'),
    ...readKernelPtr(l.startStack, `r0 = mm->start_stack (offset ${l.startStack}): argc, then argv`, 'stack_done'),
    asm.mov(R9, R0),
    asm.mov(R1, R10),
    asm.add(R1, PTR),
    asm.mov(R2, 8),
    asm.mov(R3, R9),
    asm.call('probe_read_user'),
    asm.jne(R0, 0, 'stack_done'),
    asm.ldx('dw', R7, R10, PTR).comment('r7 = argc'),
    asm.mov(R1, 1),
    asm.jle(R7, MAX_ARGS, 'stack_all').comment(`more than ${MAX_ARGS}: the rest is dropped`),
    asm.st('w', R8, off.args_dropped, 1),
    asm.mov(R1, 0),
    asm.stx('w', R8, off.args_complete, R1).label('stack_all'),
    ...Array.from({ length: MAX_ARGS }, (_, i) => one(i)).flat(),
    asm.mov(R0, 0).label('stack_done'),
  ];
}

/**
 * sched:sched_process_exec: every successful exec, whatever the door. The event saved at enter (execve or
 * execveat), or one built here from the new program's stack (the 32-bit entry: no enter fired, and comm is
 * already the new program's); then ppid, /dev/fd/N for an exec by fd, send, forget.
 */
export function execProgram(l: Layout): Instruction[] {
  return [
    ...lookupSaved('trace_event_raw_sched_process_exec', "after de_thread(), the caller has it whichever thread it was"),
    asm.jeq(R0, 0, 'no_enter'),
    asm.mov(R8, R0).comment('r8 = the event enter saved'),
    ...rereadArgs(l, 'found'),
    asm.ja('found'),
    asm.st('w', R10, -8, 0).label('no_enter').comment('no enter: the 32-bit entry (or an exec under way at attach); key 0 of the scratch array'),
    asm.ldMapFd(R1, 'scratch'),
    asm.mov(R2, R10),
    asm.add(R2, -8),
    asm.call('map_lookup_elem'),
    asm.jeq(R0, 0, 'out'),
    asm.mov(R8, R0),
    asm.ldx('w', R1, R10, -4),
    asm.stx('w', R8, off.pid, R1).comment('event->pid = tgid'),
    // nothing here tells int $0x80 apart: set_personality_64bit() rewrote orig_ax
    ...clearEvent('unknown'),
    asm.mov(R1, R8).comment("event->comm: already the new program's"),
    asm.add(R1, off.comm),
    asm.mov(R2, TASK_COMM_LEN),
    asm.call('get_current_comm'),
    ...stackArgs(l),
    asm.st('w', R8, off.ret, 0).label('found'),
    ...readParent(l),
    asm.st('b', R8, off.filename, 0),
    asm.ldx('w', R1, R8, off.at_flags),
    asm.and(R1, AT_EMPTY_PATH),
    asm.jeq(R1, 0, 'send').comment('an exec by fd has no path: the kernel names it /dev/fd/N'),
    asm.ldx('w', R3, R6, l.filename).comment(`ctx->filename is __data_loc (offset ${l.filename}): its offset in the low 16 bits`),
    asm.and(R3, 0xffff),
    asm.add(R3, R6),
    asm.mov(R1, R8),
    asm.add(R1, off.filename),
    asm.mov(R2, ARGSIZE),
    asm.call('probe_read_kernel_str'),
    ...sendAndForget(l),
  ];
}

/**
 * sys_exit_execve and sys_exit_execveat: what is still saved is a failed exec (a successful one was sent by
 * execProgram), or a success sched_process_exec was not yet attached for: complete it, send it, forget it.
 */
export function exitProgram(l: Layout): Instruction[] {
  return [
    ...lookupSaved('trace_event_raw_sys_exit', 'an exec from a thread has the same one here'),
    asm.jeq(R0, 0, 'out').comment('nothing saved: sched_process_exec sent this exec, or we attached mid-exec'),
    asm.mov(R8, R0),
    asm.ldx('dw', R1, R6, l.ret).comment(`ctx->ret (offset ${l.ret})`),
    asm.stx('w', R8, off.ret, R1),
    ...readParent(l),
    ...rereadArgs(l, 'send'),
    ...sendAndForget(l),
  ];
}

/** One exec as this tool reports it. */
export interface ExecsnoopEvent {
  pid: number;
  ppid: number;
  ret: number;
  comm: string;
  /** A cut argument ends in "..."; an unreadable one is "" and its index is in `unreadable`. Read as UTF-8. */
  args: string[];
  /** The same arguments as the bytes they are (a cut one with "..."): what the table prints, exactly. */
  argBytes: Buffer[];
  /** Indices of the arguments the kernel side could not read. */
  unreadable: number[];
  /** argv had more than MAX_ARGS entries. */
  dropped: boolean;
  /** The door: execve, execveat, or unknown (only sched_process_exec saw it: the 32-bit entry). */
  syscall: keyof typeof SYSCALL;
  /** An exec by fd (execveat with AT_EMPTY_PATH): the name the kernel gave the program, /dev/fd/N. */
  filename?: string;
}

const DOORS = Object.fromEntries(Object.entries(SYSCALL).map(([k, v]) => [v, k])) as Record<number, keyof typeof SYSCALL>;

export function decodeEvent(sample: Buffer): ExecsnoopEvent {
  const e = Event.decode(sample);
  const argBytes: Buffer[] = [];
  const unreadable: number[] = [];
  for (let i = 0; i < Math.min(e.args_count, MAX_ARGS); i++) {
    const slot = e.args.subarray(i * ARGSIZE, (i + 1) * ARGSIZE);
    const end = slot.indexOf(0);
    const arg = Buffer.from(slot.subarray(0, end < 0 ? ARGSIZE : end));
    if ((e.args_unreadable >>> i) & 1) unreadable.push(i);
    argBytes.push((e.args_truncated >>> i) & 1 ? Buffer.concat([arg, Buffer.from('...')]) : arg);
  }
  const syscall = DOORS[e.syscall] ?? 'unknown';
  return {
    pid: e.pid, ppid: e.ppid, ret: e.ret, comm: e.comm, args: argBytes.map((a) => a.toString('utf8')), argBytes, unreadable,
    dropped: e.args_dropped !== 0, syscall,
    ...(syscall === 'execveat' && e.filename !== '' ? { filename: e.filename } : {}),
  };
}

/** The SYSCALL column, as execsnoop.c prints it. */
const doorColumn = (e: ExecsnoopEvent): string =>
  e.syscall === 'execveat' && e.filename ? `execveat:${e.filename.padEnd(8)}` : (e.syscall === 'unknown' ? '?' : e.syscall).padEnd(8);

/** The table line, exactly as execsnoop.c prints it. */
export function formatEvent(e: ExecsnoopEvent): string {
  const head = `${e.comm.padEnd(16)} ${String(e.pid).padEnd(7)} ${String(e.ppid).padEnd(7)} ${String(e.ret).padStart(3)} ${doorColumn(e)} `;
  return head + formatArgBytes(e.argBytes, e.unreadable) + (e.dropped ? ' ...' : '');
}

export const HEADER = 'PCOMM            PID     PPID    RET SYSCALL  ARGS';

/** The loaded and attached tool; close() detaches and frees everything. */
export class Execsnoop {
  private constructor(
    readonly layout: Layout,
    private readonly maps: BpfMap<any, any>[],
    private readonly programs: Program[],
    private readonly links: Link[],
    private readonly reader: PerfBufferReader | RingBufferReader,
  ) {}

  /** Loads, attaches and starts delivering events to onEvent. Throws with the verifier's words on rejection. */
  static open(opts: { onEvent: (e: ExecsnoopEvent) => void; output?: Layout['output'] }): Execsnoop {
    phase('start');
    const layout = kernelLayout(opts.output);
    phase('btf+tracefs');
    const owned: { close(): void }[] = [];
    try {
      const scratch = createMap({ name: 'execsnoop_heap', type: 'percpu_array', key: u32, value: Event, maxEntries: 1 });
      owned.push(scratch);
      const execs = createMap({ name: 'execsnoop_execs', type: 'hash', key: u32, value: Event, maxEntries: MAX_EXECS_IN_FLIGHT });
      owned.push(execs);
      // 4 MiB: ~1,400 events of 2.8 KiB. 256 KiB (~90) lost half of 2,000 execs from 40 processes at once
      // (the storm test) while Node, sharing 2 cores with them, read it
      const events = layout.output === 'ringbuf' ? createRingBuffer('execsnoop_rb', RINGBUF_BYTES) : createPerfEventArray('execsnoop_pb');
      owned.push(events);
      const maps = { scratch, execs, events };
      const enter = loadProgram({ name: 'execsnoop_enter', type: 'tracepoint', insns: assemble(enterProgram(layout), { maps }) });
      owned.push(enter);
      const enterAt = loadProgram({ name: 'execsnoop_entat', type: 'tracepoint', insns: assemble(enterProgram(layout, 'execveat'), { maps }) });
      owned.push(enterAt);
      const exec = loadProgram({ name: 'execsnoop_exec', type: 'tracepoint', insns: assemble(execProgram(layout), { maps }) });
      owned.push(exec);
      const exit = loadProgram({ name: 'execsnoop_exit', type: 'tracepoint', insns: assemble(exitProgram(layout), { maps }) });
      owned.push(exit);
      phase('load');
      const onSample = (s: Buffer) => opts.onEvent(decodeEvent(s));
      const onLost = (n: number, cpu?: number) => process.stderr.write(`read perf buffer: lost ${n} events on CPU ${cpu}\n`);
      const reader =
        layout.output === 'ringbuf'
          ? openRingBuffer(events as BpfMap<never, never>, { onSample })
          : openPerfBuffer(events as BpfMap<number, number>, { onSample, onLost });
      owned.push(reader);
      // attach last: every event from here on has a reader waiting for it
      // exits and sched_process_exec before the enters: an exec saved at enter always finds what sends it
      const links: Link[] = [];
      for (const [prog, category, name] of [
        [exit, 'syscalls', 'sys_exit_execve'],
        [exit, 'syscalls', 'sys_exit_execveat'],
        [exec, 'sched', 'sched_process_exec'],
        [enter, 'syscalls', 'sys_enter_execve'],
        [enterAt, 'syscalls', 'sys_enter_execveat'],
      ] as const) {
        const link = attachTracepoint(prog, category, name);
        links.push(link);
        owned.push(link);
      }
      phase('attach');
      return new Execsnoop(layout, [scratch, execs, events], [enter, enterAt, exec, exit], links, reader);
    } catch (err) {
      for (const o of owned.reverse()) o.close();
      throw err;
    }
  }

  /** Detach first (no new events), drain what is buffered, then free everything. */
  close(): void {
    for (const l of this.links) l.close();
    this.reader.poll();
    this.reader.close();
    for (const p of this.programs) p.close();
    for (const m of this.maps) m.close();
  }
}

/** The tool: the table's header once attached (its ready line), then a line per exec. */
export const run: Tool = (out) => {
  const tool = Execsnoop.open({ onEvent: (e) => out.line(formatEvent(e)) });
  out.line(HEADER);
  return { stop: () => tool.close() };
};

if (isMain(import.meta.url)) runAsProgram('execsnoop', run, 'no options; Ctrl-C ends');
