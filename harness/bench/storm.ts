// The bench's exec storm and the kernel's own count of it. The storm is exec_helper's `spawn` mode (vfork +
// execv of a static true(1), one child at a time, as fast as exec goes); the count comes from a counter
// program of our own on sys_exit_execve, attached beside the tracer, that counts successful execs whose new
// comm is the storm binary's run-unique name. Written with the ts tool's bpf() layer: no compiler here either.

import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { u32, u64 } from '../../bpf/ts/codec.js';
import { asm, assemble, R0, R1, R2, R6, R10 } from '../../bpf/ts/insn.js';
import { createMap, type BpfMap } from '../../bpf/ts/map.js';
import { loadProgram, type Program } from '../../bpf/ts/prog.js';
import { attachTracepoint, tracepointFormat, type Link } from '../../bpf/ts/tracepoint.js';
import { HELPER } from '../examples/exec-workload.js';

const TASK_COMM_LEN = 16;

/** The storm's binary: a copy of the static helper under a run-unique name, which becomes the comm it execs as. */
export interface StormBinary {
  /** "true-1a2b3c": at most 15 bytes, so the comm is exactly this name. */
  name: string;
  file: string;
  dir: string;
  remove(): Promise<void>;
}

export async function stormBinary(): Promise<StormBinary> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ebpf-lab-bench-'));
  const name = `true-${randomBytes(3).toString('hex')}`;
  const file = path.join(dir, name);
  await copyFile(HELPER, file);
  return { name, file, dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface StormResult {
  /** Execs asked for, and those that succeeded. */
  n: number;
  ok: number;
  ns: number;
  /** The pid of each child, in order: its index is the last argument it exec'd with. */
  pids: number[];
}

/** Runs N execs of the storm binary: argv is [file, name, I]. */
export async function runStorm(bin: StormBinary, n: number, signal?: AbortSignal): Promise<StormResult> {
  const r = await execa(HELPER, ['spawn', String(n), bin.file, bin.file, bin.name], { reject: false, stdin: 'ignore', cancelSignal: signal, timeout: 600_000 });
  signal?.throwIfAborted();
  const line = String(r.stdout).split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`exec storm: ${HELPER} spawn ${n} printed no result (exit ${r.exitCode}): ${String(r.stderr).trim()}`);
  return JSON.parse(line) as StormResult;
}

/** The comm as the kernel stores it: TASK_COMM_LEN bytes, NUL-padded, read as two little-endian u64s. */
export function commWords(name: string): [bigint, bigint] {
  const b = Buffer.alloc(TASK_COMM_LEN);
  b.write(name.slice(0, TASK_COMM_LEN - 1), 'latin1');
  return [b.readBigUInt64LE(0), b.readBigUInt64LE(8)];
}

/** sys_exit_execve: count it when ret is 0 and the new comm is `name`. */
export function stormCounterProgram(name: string, retOffset: number) {
  const [lo, hi] = commWords(name);
  return [
    asm.mov(R6, R1),
    asm.ldx('dw', R1, R6, retOffset).comment(`ctx->ret (offset ${retOffset})`),
    asm.jne(R1, 0, 'out').comment('a failed exec is not one of the storm'),
    // 6.1's bpf_get_current_comm() copies up to the NUL only (strscpy; newer kernels pad): the bytes after it
    // keep whatever the stack held, so the slot is zeroed first or a few execs in a hundred compare unequal
    asm.st('dw', R10, -16, 0).comment('zero the 16 bytes the comm lands in'),
    asm.st('dw', R10, -8, 0),
    asm.mov(R1, R10),
    asm.add(R1, -16),
    asm.mov(R2, TASK_COMM_LEN),
    asm.call('get_current_comm').comment("the new program's name, up to its NUL"),
    asm.ldx('dw', R1, R10, -16),
    asm.ldImm64(R2, lo),
    asm.jne(R1, R2, 'out'),
    asm.ldx('dw', R1, R10, -8),
    asm.ldImm64(R2, hi),
    asm.jne(R1, R2, 'out'),
    asm.st('w', R10, -20, 0),
    asm.ldMapFd(R1, 'count'),
    asm.mov(R2, R10),
    asm.add(R2, -20),
    asm.call('map_lookup_elem'),
    asm.jeq(R0, 0, 'out'),
    asm.mov(R1, 1),
    asm.atomicAdd('dw', R0, 0, R1),
    asm.mov(R0, 0).label('out'),
    asm.exit(),
  ];
}

/** The kernel's count of the storm's execs. */
export class StormCounter {
  private constructor(
    private readonly map: BpfMap<number, bigint>,
    private readonly program: Program,
    private readonly link: Link,
  ) {}

  static open(name: string): StormCounter {
    const map = createMap({ name: 'bench_count', type: 'array', key: u32, value: u64, maxEntries: 1 });
    try {
      const ret = tracepointFormat('syscalls', 'sys_exit_execve').field('ret').offset;
      const program = loadProgram({ name: 'bench_count', type: 'tracepoint', insns: assemble(stormCounterProgram(name, ret), { maps: { count: map } }) });
      try {
        return new StormCounter(map, program, attachTracepoint(program, 'syscalls', 'sys_exit_execve'));
      } catch (err) {
        program.close();
        throw err;
      }
    } catch (err) {
      map.close();
      throw err;
    }
  }

  count(): number {
    return Number(this.map.lookup(0));
  }

  /** Starts the next storm from 0. */
  reset(): void {
    this.map.update(0, 0n);
  }

  /** The counter's own program id, so its cost is not charged to a tracer. */
  programId(): number {
    return this.program.info().id;
  }

  close(): void {
    this.link.close();
    this.program.close();
    this.map.close();
  }
}
