// Small BPF programs as raw struct bpf_insn bytes, for the bpf() layer's kernel tests. They are written
// by hand (opcode, regs, off, imm — little-endian) so these tests do not depend on the instruction
// builder they help to check; each line says what the instruction does, as the verifier would print it.

/** Bytes from hex, one instruction (8 bytes) or one ld_imm64 (16 bytes) per string. */
export function insns(...lines: string[]): Buffer {
  const out = Buffer.from(lines.join('').replace(/\s+/g, ''), 'hex');
  if (out.length % 8 !== 0) throw new Error(`insns: ${out.length} bytes is not a whole number of instructions`);
  return out;
}

/** `rN = map[fd]`: ld_imm64 with src = BPF_PSEUDO_MAP_FD (1), the map's fd in the first imm. */
export function ldMapFd(reg: number, fd: number): string {
  const b = Buffer.alloc(16);
  b.writeUInt8(0x18, 0);
  b.writeUInt8((1 << 4) | reg, 1);
  b.writeInt32LE(fd, 4);
  return b.toString('hex');
}

/** r0 = 2; exit — a socket filter whose test run returns 2. */
export const RETURN_2 = insns('b700000002000000', '9500000000000000');

/** exit with r0 never written: the verifier says "R0 !read_ok". */
export const EXIT_WITHOUT_R0 = insns('9500000000000000');

/** opcode 0xff does not exist: the verifier says "unknown opcode ff". */
export const UNKNOWN_OPCODE = insns('ff00000000000000', '9500000000000000');

/** The 12 bytes both output programs send: u64 0x11223344 then u32 0x55667788, little-endian. */
export const SAMPLE = Buffer.from('4433221100000000' + '88776655', 'hex');

// Builds SAMPLE on the stack at r10-16 … r10-4.
const STORE_SAMPLE = [
  '7a0af0ff44332211', // *(u64 *)(r10 -16) = 0x11223344
  '620af8ff88776655', // *(u32 *)(r10 -8) = 0x55667788
];

/**
 * A socket filter that sends SAMPLE with bpf_perf_event_output(ctx, map, BPF_F_CURRENT_CPU, data, 12)
 * (helper 25) to a perf event array.
 */
export function perfOutput(mapFd: number): Buffer {
  return insns(
    'bf16000000000000', // r6 = r1
    ...STORE_SAMPLE,
    'bfa4000000000000', // r4 = r10
    '07040000f0ffffff', // r4 += -16
    'bf61000000000000', // r1 = r6
    ldMapFd(2, mapFd), // r2 = map
    'b4030000ffffffff', // w3 = 0xffffffff (BPF_F_CURRENT_CPU; a 32-bit move keeps the upper half 0)
    'b70500000c000000', // r5 = 12
    '8500000019000000', // call bpf_perf_event_output#25
    'b700000000000000', // r0 = 0
    '9500000000000000', // exit
  );
}

/** A socket filter that sends SAMPLE with bpf_ringbuf_output(map, data, 12, 0) (helper 130). */
export function ringbufOutput(mapFd: number): Buffer {
  return insns(
    ...STORE_SAMPLE,
    ldMapFd(1, mapFd), // r1 = map
    'bfa2000000000000', // r2 = r10
    '07020000f0ffffff', // r2 += -16
    'b70300000c000000', // r3 = 12
    'b704000000000000', // r4 = 0
    '8500000082000000', // call bpf_ringbuf_output#130
    'b700000000000000', // r0 = 0
    '9500000000000000', // exit
  );
}

/**
 * A tracepoint program that adds 1 to element 0 of an array map of u64 — every time the event fires,
 * on any CPU.
 */
export function countInArray(mapFd: number): Buffer {
  return insns(
    '620afcff00000000', // *(u32 *)(r10 -4) = 0
    'bfa2000000000000', // r2 = r10
    '07020000fcffffff', // r2 += -4
    ldMapFd(1, mapFd), // r1 = map
    '8500000001000000', // call bpf_map_lookup_elem#1
    '1500020000000000', // if r0 == 0x0 goto pc+2
    'b701000001000000', // r1 = 1
    'db10000000000000', // lock *(u64 *)(r0 +0) += r1
    'b700000000000000', // r0 = 0
    '9500000000000000', // exit
  );
}

/**
 * A tracepoint program that counts events per process in a hash map u32 tgid → u64: look the tgid up,
 * add 1 atomically if it is there, insert 1 with BPF_NOEXIST if not.
 */
export function countPerTgid(mapFd: number): Buffer {
  return insns(
    '850000000e000000', // call bpf_get_current_pid_tgid#14
    '7700000020000000', // r0 >>= 32 (the tgid)
    '630afcff00000000', // *(u32 *)(r10 -4) = r0
    ldMapFd(1, mapFd), // r1 = map
    'bfa2000000000000', // r2 = r10
    '07020000fcffffff', // r2 += -4
    '8500000001000000', // call bpf_map_lookup_elem#1
    '1500040000000000', // if r0 == 0x0 goto pc+4
    'b701000001000000', // r1 = 1
    'db10000000000000', // lock *(u64 *)(r0 +0) += r1
    'b700000000000000', // r0 = 0
    '9500000000000000', // exit
    '7a0af0ff01000000', // *(u64 *)(r10 -16) = 1
    ldMapFd(1, mapFd), // r1 = map
    'bfa2000000000000', // r2 = r10
    '07020000fcffffff', // r2 += -4
    'bfa3000000000000', // r3 = r10
    '07030000f0ffffff', // r3 += -16
    'b704000001000000', // r4 = 1 (BPF_NOEXIST)
    '8500000002000000', // call bpf_map_update_elem#2
    'b700000000000000', // r0 = 0
    '9500000000000000', // exit
  );
}

/** A tracepoint program that sends bpf_get_current_pid_tgid() (8 bytes) to a perf event array. */
export function perfOutputPidTgid(mapFd: number): Buffer {
  return insns(
    'bf16000000000000', // r6 = r1
    '850000000e000000', // call bpf_get_current_pid_tgid#14
    '7b0af8ff00000000', // *(u64 *)(r10 -8) = r0
    'bfa4000000000000', // r4 = r10
    '07040000f8ffffff', // r4 += -8
    'bf61000000000000', // r1 = r6
    ldMapFd(2, mapFd), // r2 = map
    'b4030000ffffffff', // w3 = 0xffffffff (BPF_F_CURRENT_CPU)
    'b705000008000000', // r5 = 8
    '8500000019000000', // call bpf_perf_event_output#25
    'b700000000000000', // r0 = 0
    '9500000000000000', // exit
  );
}
