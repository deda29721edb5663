// counter, the fourth way: the same two maps and the same logic as counter.bpf.c, as raw instructions.
// A total in a one-entry array map (the cilium/ebpf kprobe example's counter) and a count per process
// (tgid) in a hash map, both bumped on every sys_enter_execve. User space reads the maps when asked.
//
// Run: node --import tsx bpf/counter/counter.ts — Ctrl-C prints the counts, as counter.c does.

import { u32, u64 } from '../ts/codec.js';
import { asm, assemble, R0, R1, R2, R3, R4, R6, R10, type Instruction } from '../ts/insn.js';
import { createMap, type BpfMap } from '../ts/map.js';
import { loadProgram, type Program } from '../ts/prog.js';
import { attachTracepoint, type Link } from '../ts/tracepoint.js';
import { formatCounts } from './format.js';
import { isMain, runAsProgram, type Tool } from '../ts/tool.js';
export { formatCounts } from './format.js';

const BPF_NOEXIST = 1;

/** r0 = &map[key at fp-4], or jump to `miss` when there is none. */
const lookup = (map: string, miss: string): Instruction[] => [
  asm.ldMapFd(R1, map),
  asm.mov(R2, R10),
  asm.add(R2, -4),
  asm.call('map_lookup_elem'),
  asm.jeq(R0, 0, miss),
];

/** Atomically adds 1 to the u64 r0 points to (lock xadd: other CPUs may be counting too). */
const increment = (): Instruction[] => [asm.mov(R1, 1), asm.atomicAdd('dw', R0, 0, R1)];

export function counterProgram(): Instruction[] {
  return [
    asm.st('w', R10, -4, 0).comment('key 0: the total'),
    ...lookup('total', 'per_pid'),
    ...increment(),
    asm.call('get_current_pid_tgid').label('per_pid'),
    asm.rsh(R0, 32),
    asm.stx('w', R10, -4, R0).comment('key: the process id (tgid)'),
    ...lookup('per_pid', 'first'),
    ...increment(),
    asm.ja('out'),
    asm.st('dw', R10, -16, 1).label('first').comment('first exec of this process: insert 1'),
    asm.ldMapFd(R1, 'per_pid'),
    asm.mov(R2, R10),
    asm.add(R2, -4),
    asm.mov(R3, R10),
    asm.add(R3, -16),
    asm.mov(R4, BPF_NOEXIST),
    asm.call('map_update_elem'),
    asm.jeq(R0, 0, 'out').comment('another thread of the process inserted it first: add to that'),
    ...lookup('per_pid', 'out'),
    ...increment(),
    asm.mov(R0, 0).label('out'),
    asm.exit(),
  ];
}

export class ExecCounter {
  private constructor(
    private readonly totalMap: BpfMap<number, bigint>,
    private readonly perPidMap: BpfMap<number, bigint>,
    private readonly program: Program,
    private readonly link: Link,
  ) {}

  static open(): ExecCounter {
    const owned: { close(): void }[] = [];
    try {
      const total = createMap({ name: 'counter_total', type: 'array', key: u32, value: u64, maxEntries: 1 });
      owned.push(total);
      const perPid = createMap({ name: 'counter_per_pid', type: 'hash', key: u32, value: u64, maxEntries: 10240 });
      owned.push(perPid);
      const program = loadProgram({
        name: 'counter_execve',
        type: 'tracepoint',
        insns: assemble(counterProgram(), { maps: { total, per_pid: perPid } }),
      });
      owned.push(program);
      const link = attachTracepoint(program, 'syscalls', 'sys_enter_execve');
      return new ExecCounter(total, perPid, program, link);
    } catch (err) {
      for (const o of owned.reverse()) o.close();
      throw err;
    }
  }

  total(): number {
    return Number(this.totalMap.lookup(0));
  }

  /** Every process seen so far → its execve calls, walking the hash map with GET_NEXT_KEY. */
  perPid(): Map<number, number> {
    const out = new Map<number, number>();
    for (const [pid, n] of this.perPidMap.entries()) out.set(pid, Number(n));
    return out;
  }

  /** Stops counting: the maps stay readable, and what they hold is final. */
  detach(): void {
    this.link.close();
  }

  close(): void {
    this.link.close();
    this.program.close();
    this.perPidMap.close();
    this.totalMap.close();
  }
}

/** The tool: a ready line once attached; when stopped, the counts, as counter.c prints them. */
export const run: Tool = (out) => {
  const counter = ExecCounter.open();
  out.line('Counting execve calls... Hit Ctrl-C to end.');
  return {
    stop: () => {
      counter.detach(); // first, so the counts printed are final: total equals the sum per process
      for (const line of formatCounts(counter.total(), counter.perPid()).trimEnd().split('\n')) out.line(line);
      counter.close();
    },
  };
};

if (isMain(import.meta.url)) runAsProgram('counter', run, 'Ctrl-C prints the counts');
