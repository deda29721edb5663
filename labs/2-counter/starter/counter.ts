// Lab 2: count execve calls in raw BPF instructions, a total in the one-entry array map `total` and a
// count per process (its tgid) in the hash map `per_pid`, on every sys_enter_execve.
// The total is done; the count per process is yours: fill in every Assignment#N (see README.md).

import { asm, R0, R1, R2, R10, type Instruction } from 'ebpf-lab/bpf/ts/insn.js';

/** r0 = &map[key at fp-4], or jump to `miss` when there is none. */
const lookup = (map: string, miss: string): Instruction[] => [
  asm.ldMapFd(R1, map),
  asm.mov(R2, R10),
  asm.add(R2, -4),
  asm.call('map_lookup_elem'),
  asm.jeq(R0, 0, miss),
];

/** Atomically adds 1 to the u64 r0 points to: other CPUs may be counting too. */
const increment = (): Instruction[] => [asm.mov(R1, 1), asm.atomicAdd('dw', R0, 0, R1)];

export function counterProgram(): Instruction[] {
  return [
    asm.st('w', R10, -4, 0).comment('key 0: the total'),
    ...lookup('total', 'per_pid'),
    ...increment(),
    // Assignment#1: the key: bpf_get_current_pid_tgid() and keep the process id (which half is it?)
    // Assignment#2: found in per_pid: add 1 to it
    // Assignment#3: not found: this process's first exec. Insert a count of 1, and lose no count when two of
    // its threads get here at the same moment (map_update_elem's flags: README, the builder's reference)
    asm.mov(R0, 0).label('per_pid'),
    asm.exit(),
  ];
}
