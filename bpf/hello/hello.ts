// hello, the fourth way: the course's first program as raw instructions. On every sys_enter_execve the
// program builds its format string on the BPF stack and calls the helper bpf_trace_printk (helper 6), as
// the course's hello_kern.c compiles to; user space reads the lines back from tracefs's trace_pipe.
//
// Run: node --import tsx bpf/hello/hello.ts — Ctrl-C ends, as hello.c does.
//
// Output (stdout): once attached, "Saying hello on every execve... Hit Ctrl-C to end."; then each trace
// pipe line as the kernel wrote it, trimmed:
//   true-4242    [001] ...21  5120.331907: bpf_trace_printk: Hello, World! execve pid=4242
// The prefix is the trace buffer's: comm-tid [cpu] flags (irqs, need-resched, hard/soft irq, preempt
// depth) timestamp, then the event's name. The buffer records only the thread id: the comm is looked up
// when the line is read, in a small cache of recent ones, and shows "<...>" for a process gone by then.
//
// Why bpf_trace_printk is for debugging only — and why execsnoop sends its events through a perf buffer:
// - one trace buffer for the whole machine: every program's bpf_trace_printk, the kernel's trace_printk()
//   and every enabled trace event write into it, mixed; nothing says which line is whose, so lines of other
//   programs (and lines written before this one started) come out here too;
// - reading trace_pipe consumes: each line goes to one reader, so two readers would steal each other's
//   lines; the kernel now refuses a second open with EBUSY (since 6.5, backported: measured on 6.18 and on
//   Debian's 5.10.0-32 and 6.1.0-50), so while one hello runs no other can, nor `cat trace_pipe`;
// - the helper formats text in the kernel on every call, checking the format each time: slow next to
//   copying a struct into a perf or ring buffer. Its documentation says "for debugging", and kernels before
//   5.10 said it in dmesg ("**   trace_printk() being used. Allocating extra memory.   **", a notice box,
//   "NOT SAFE FOR PRODUCTION") when a program using it was loaded. Since 5.10 the helper writes an event of
//   its own, bpf_trace/bpf_trace_printk — hence the name in every line — and the notice is gone (measured
//   on 6.18);
// - at most 3 values: the helper's 5 arguments are the format, its size and 3 values (bpf_trace_vprintk,
//   5.16+, takes more from an array); only %d %i %u %x %ld %li %lu %lx %lld %lli %llu %llx %p %s, without
//   width or padding; anything else gives -EINVAL and prints nothing.
// Real tools copy a fixed struct into a perf buffer (execsnoop) or a ring buffer (5.8+), one per tool, read
// by that tool alone, and format text in user space.

import { closeSync, constants, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { asm, assemble, R0, R1, R2, R3, R10, type Instruction, type Reg } from '../ts/insn.js';
import { loadProgram, type Program } from '../ts/prog.js';
import { sys, type Watch } from '../ts/syscall.js';
import { attachTracepoint, tracefsRoot, type Link } from '../ts/tracepoint.js';
import { isMain, runAsProgram, type Tool } from '../ts/tool.js';

/** What the program prints, as hello.bpf.c's bpf_printk and hello_bcc.c's bpf_trace_printk do. */
export const FORMAT = 'Hello, World! execve pid=%d';
/** The line every version prints once its probe is attached. */
export const READY = 'Saying hello on every execve... Hit Ctrl-C to end.';
/** How `bpftool prog list` shows the loaded program. */
export const PROGRAM_NAME = 'hello_ts';

/** Reads of the pipe per wake-up, and at the end (64 KiB each). */
const READS_PER_WAKEUP = 16;
const FINAL_READS = 256;

/** A NUL-terminated string put on the stack, 8 bytes at a time, ending just below the frame pointer. */
export interface StackString {
  insns: Instruction[];
  /** Where it starts, from r10 (negative, a multiple of 8). */
  offset: number;
  /** Its bytes with the NUL: what a helper's size argument counts. */
  size: number;
}

/**
 * The string as clang stores a local char array: each 8 bytes as one 64-bit constant (ld_imm64, 16 bytes of
 * instruction) in `scratch`, then one 8-byte store to the stack. A BPF program has no string constants of
 * its own without a map (libbpf's .rodata is one): what the helper reads must be built at run time. The
 * bytes after the NUL are zero, so the stack the verifier sees is initialised.
 */
export function stackString(text: string, scratch: Reg = R1): StackString {
  const bytes = Buffer.from(`${text}\0`);
  const padded = Buffer.alloc(Math.ceil(bytes.length / 8) * 8);
  bytes.copy(padded);
  const offset = -padded.length;
  const insns: Instruction[] = [];
  for (let at = 0; at < padded.length; at += 8) {
    const chunk = padded.subarray(at, at + 8);
    // Little-endian: the first character is the lowest byte of the constant.
    const shown = JSON.stringify(chunk.toString('latin1')).replace(/\\u0000/g, '\\0');
    insns.push(
      asm.ldImm64(scratch, chunk.readBigUInt64LE()).comment(`${shown}, little-endian`),
      asm.stx('dw', R10, offset + at, scratch),
    );
  }
  return { insns, offset, size: bytes.length };
}

/** The program: bpf_trace_printk(format, sizeof(format), pid) on the stack-built format. */
export function helloProgram(format: string = FORMAT): Instruction[] {
  const fmt = stackString(format);
  return [
    ...fmt.insns,
    asm.call('get_current_pid_tgid').comment('r0 = tgid << 32 | tid; before r1-r3 are set, as a call clobbers r1-r5 (not the stack)'),
    asm.mov(R3, R0),
    asm.rsh(R3, 32).comment('arg 3, the first value: the process id (tgid)'),
    asm.mov(R1, R10),
    asm.add(R1, fmt.offset).comment('arg 1: the format, on the stack'),
    asm.mov(R2, fmt.size).comment('arg 2: its size with the NUL (the verifier checks it is initialised)'),
    asm.call('trace_printk').comment('writes one line into the trace buffer; r0 = bytes written or -errno'),
    asm.mov(R0, 0),
    asm.exit(),
  ];
}

/** Splits chunks of text into lines; the part after the last newline waits for the next chunk. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private rest = '';

  /** The whole lines in `chunk` (and what was held before it), without their newlines. */
  push(chunk: Buffer): string[] {
    const lines = (this.rest + this.decoder.write(chunk)).split('\n');
    this.rest = lines.pop()!;
    return lines;
  }

  /** What is left: a last line without a newline, if any. */
  end(): string[] {
    const last = this.rest + this.decoder.end();
    this.rest = '';
    return last ? [last] : [];
  }
}

export interface HelloOptions {
  /** Each trace pipe line, trimmed (empty lines are skipped). */
  onLine: (line: string) => void;
  /** A read of the pipe failed in the background (default: thrown, an uncaught exception). */
  onError?: (err: Error) => void;
  /** tracefs's root: found (or mounted) by tracefsRoot() unless given. */
  tracefs?: string;
}

/**
 * hello, loaded and attached, with the trace pipe read in the background. The pipe is opened O_NONBLOCK
 * and joins Node's own epoll set (sys().watch, as the perf buffer reader's rings do): when it turns
 * readable, reads take every line until EAGAIN says it is empty, and while it is quiet nothing runs. A
 * blocking read would sleep in the kernel instead: readSync on the main thread, and no signal handler runs
 * until a line comes; fs.read in one of libuv's threads, and process.exit() waits for that thread (measured
 * on 6.18: with the pipe quiet, a SIGINT handler calling process.exit(0) still hung 10 s later).
 */
export class HelloWorld {
  private readonly splitter = new LineSplitter();
  private readonly buf = Buffer.alloc(64 * 1024);
  private watch: Watch | undefined;
  private closed = false;

  private constructor(
    private readonly pipeFd: number,
    private readonly program: Program,
    private readonly link: Link,
    private readonly onLine: (line: string) => void,
    onError: ((err: Error) => void) | undefined,
  ) {
    this.watch = sys().watch(pipeFd, () => {
      try {
        this.drain(READS_PER_WAKEUP);
      } catch (err) {
        this.stopWatching();
        if (!onError) throw err;
        onError(err as Error);
      }
    });
  }

  static open(opts: HelloOptions): HelloWorld {
    // First the pipe: a tool that cannot read its lines should not start writing them.
    const path = join(opts.tracefs ?? tracefsRoot(), 'trace_pipe');
    const pipeFd = openTracePipe(path);
    let program: Program | undefined;
    let link: Link | undefined;
    try {
      program = loadProgram({ name: PROGRAM_NAME, type: 'tracepoint', insns: assemble(helloProgram()) });
      link = attachTracepoint(program, 'syscalls', 'sys_enter_execve', opts.tracefs ? { tracefs: opts.tracefs } : {});
      return new HelloWorld(pipeFd, program, link, opts.onLine, opts.onError);
    } catch (err) {
      link?.close();
      program?.close();
      closeSync(pipeFd);
      throw err;
    }
  }

  /**
   * Hands the whole lines the pipe holds now to onLine: until it is empty, or after `maxReads` reads of up
   * to 64 KiB — the trace buffer is everyone's, and a flood from another program must not keep the event
   * loop (and a Ctrl-C) waiting. epoll calls back while lines are left.
   */
  drain(maxReads = FINAL_READS): void {
    if (this.closed) return;
    for (let reads = 0; reads < maxReads; reads++) {
      let n: number;
      try {
        n = readSync(this.pipeFd, this.buf, 0, this.buf.length, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EINTR') return; // empty for now
        throw new Error(`read trace_pipe: ${code ?? (err as Error).message}`);
      }
      if (n === 0) return;
      this.emit(this.splitter.push(this.buf.subarray(0, n)));
    }
  }

  /** Stops saying hello: detaches the program, then hands out what it wrote before it stopped. */
  detach(): void {
    this.link.close();
    this.drain();
  }

  /** Detaches, hands out what is left, and closes the pipe and the program. Idempotent. */
  close(): void {
    if (this.closed) return;
    try {
      this.detach();
      this.emit(this.splitter.end());
    } finally {
      this.closed = true;
      this.stopWatching(); // before the fd closes: epoll must not watch a number that may be reused
      this.link.close();
      this.program.close();
      closeSync(this.pipeFd);
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private stopWatching(): void {
    this.watch?.close();
    this.watch = undefined;
  }

  private emit(lines: string[]): void {
    for (const raw of lines) {
      const line = raw.trim();
      if (line) this.onLine(line);
    }
  }
}

/** open(trace_pipe, O_RDONLY | O_NONBLOCK), with an error that says what to do. */
function openTracePipe(path: string): number {
  try {
    return openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    const hint =
      code === 'ENOENT'
        ? 'is tracefs mounted? mount -t tracefs tracefs /sys/kernel/tracing'
        : code === 'EACCES' || code === 'EPERM'
          ? 'run as root'
          : code === 'EBUSY'
            ? 'another process is reading the trace pipe, and the kernel allows one reader at a time'
            : 'tracefs refused it';
    throw new Error(`open ${path}: ${code} (${hint})`);
  }
}

/** The tool: its ready line once attached, then each line the program writes to the trace pipe. */
export const run: Tool = (out) => {
  const hello = HelloWorld.open({ onLine: (line) => out.line(line), onError: (err) => out.fail(err) });
  out.line(READY);
  return { stop: () => hello.close() }; // detach, then hand out what the program wrote before it stopped
};

if (isMain(import.meta.url)) runAsProgram('hello', run, 'no options; Ctrl-C ends');
