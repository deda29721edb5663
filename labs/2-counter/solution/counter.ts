// Lab 2, reference solution: count execve calls in raw BPF instructions, a total in the one-entry array
// map `total` and a count per process (its tgid) in the hash map `per_pid`, on every sys_enter_execve.

import { asm, R0, R1, R2, R3, R4, R10, type Instruction } from 'ebpf-lab/bpf/ts/insn.js';

const BPF_NOEXIST = 1;

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
    asm.call('get_current_pid_tgid').label('per_pid'),
    asm.rsh(R0, 32).comment('the upper half is the tgid: the process, not the thread'),
    asm.stx('w', R10, -4, R0),
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
    asm.jeq(R0, 0, 'out').comment('another thread inserted it first: add to that'),
    ...lookup('per_pid', 'out'),
    ...increment(),
    asm.mov(R0, 0).label('out'),
    asm.exit(),
  ];
}
