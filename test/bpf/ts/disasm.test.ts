// The disassembler: bytes → the kernel verifier's text for every instruction class (kernel/bpf/disasm.c,
// print_bpf_insn), listings with bytes, labels and comments, and the comparison with real verifier logs
// captured on this machine's kernel.

import t from 'tap';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  compareWithVerifierLog, disasm, disasmLines, formatInsn, jumpTarget, parseVerifierLog, printInsn, verifierLine,
} from '../../../bpf/ts/disasm.js';
import {
  R0, R1, R2, R3, R6, R7, R8, R9, R10, asm, assemble, decode, encode, type Instruction,
} from '../../../bpf/ts/insn.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'verifier-6.18');

/** The one instruction in these bytes. */
function one(hex: string) {
  const insns = decode(Buffer.from(hex, 'hex'));
  if (insns.length !== 1) throw new Error(`${hex} is ${insns.length} instructions`);
  return insns[0];
}

/** Bytes → what print_bpf_insn prints. Texts written from disasm.c's format strings; those a kernel
 *  accepts were also seen in the real logs below. */
const TABLE: { name: string; bytes: string; text: string }[] = [
  { name: 'alu64 imm', bytes: '0701000016000000', text: '(07) r1 += 22' },
  { name: 'alu64 negative imm is decimal', bytes: 'b7000000ffffffff', text: '(b7) r0 = -1' },
  { name: 'alu64 reg', bytes: 'bf16000000000000', text: '(bf) r6 = r1' },
  { name: 'alu32 imm', bytes: 'b400000001000000', text: '(b4) w0 = 1' },
  { name: 'alu32 reg', bytes: 'cc98000000000000', text: '(cc) w8 s>>= w9' },
  { name: 'alu64 -=', bytes: '1702000003000000', text: '(17) r2 -= 3' },
  { name: 'alu64 *=', bytes: '2702000003000000', text: '(27) r2 *= 3' },
  { name: 'alu64 /=', bytes: '3702000003000000', text: '(37) r2 /= 3' },
  { name: 'alu64 |=', bytes: '4702000003000000', text: '(47) r2 |= 3' },
  { name: 'alu64 &=', bytes: '5702000003000000', text: '(57) r2 &= 3' },
  { name: 'alu64 <<=', bytes: '6702000003000000', text: '(67) r2 <<= 3' },
  { name: 'alu64 >>=', bytes: '7702000003000000', text: '(77) r2 >>= 3' },
  { name: 'alu64 %=', bytes: '9702000003000000', text: '(97) r2 %= 3' },
  { name: 'alu64 ^=', bytes: 'a702000003000000', text: '(a7) r2 ^= 3' },
  { name: 'alu64 s>>=', bytes: 'c702000003000000', text: '(c7) r2 s>>= 3' },
  { name: 'neg64', bytes: '8701000000000000', text: '(87) r1 = -r1' },
  { name: 'neg32', bytes: '8401000000000000', text: '(84) w1 = -w1' },
  { name: 'be16', bytes: 'dc01000010000000', text: '(dc) r1 = be16 r1' },
  { name: 'le64', bytes: 'd401000040000000', text: '(d4) r1 = le64 r1' },
  { name: 'bswap32 (cpu v4)', bytes: 'd701000020000000', text: '(d7) r1 = bswap32 r1' },
  { name: 'sdiv imm (cpu v4)', bytes: '3707010003000000', text: '(37) r7 s/= 3' },
  { name: 'smod reg (cpu v4)', bytes: '9f78010000000000', text: '(9f) r8 s%= r7' },
  { name: 'sdiv32 reg (cpu v4)', bytes: '3c98010000000000', text: '(3c) w8 s/= w9' },
  { name: 'movsx s8 (cpu v4)', bytes: 'bf78080000000000', text: '(bf) r8 = (s8)r7' },
  { name: 'movsx s32 (cpu v4)', bytes: 'bf78200000000000', text: '(bf) r8 = (s32)r7' },
  { name: 'movsx32 s16 (cpu v4)', bytes: 'bc98100000000000', text: '(bc) w8 = (s16)w9' },
  { name: 'mov with off 8 and an imm is a plain mov', bytes: 'b708080001000000', text: '(b7) r8 = 1' },
  { name: 'addr_space_cast', bytes: 'bf21010000000100', text: '(bf) r1 = addr_space_cast(r2, 1, 0)' },
  { name: 'ldx u8', bytes: '7121040000000000', text: '(71) r1 = *(u8 *)(r2 +4)' },
  { name: 'ldx u64 from the stack', bytes: '79a1f8ff00000000', text: '(79) r1 = *(u64 *)(r10 -8)' },
  { name: 'ldx offset 0 shows +0', bytes: '6167000000000000', text: '(61) r7 = *(u32 *)(r6 +0)' },
  { name: 'ldsx s16 (cpu v4)', bytes: '89a7f8ff00000000', text: '(89) r7 = *(s16 *)(r10 -8)' },
  { name: 'stx u32', bytes: '631afcff00000000', text: '(63) *(u32 *)(r10 -4) = r1' },
  { name: 'st u32 imm', bytes: '620afcff00000000', text: '(62) *(u32 *)(r10 -4) = 0' },
  { name: 'st u64 negative imm', bytes: '7a0af0fffeffffff', text: '(7a) *(u64 *)(r10 -16) = -2' },
  { name: 'atomic add', bytes: 'db10000000000000', text: '(db) lock *(u64 *)(r0 +0) += r1' },
  { name: 'atomic and 32', bytes: 'c38afcff50000000', text: '(c3) lock *(u32 *)(r10 -4) &= r8' },
  { name: 'atomic fetch add 64', bytes: 'db8af8ff01000000', text: '(db) r8 = atomic64_fetch_add((u64 *)(r10 -8), r8)' },
  { name: 'atomic fetch xor 32', bytes: 'c38af8ffa1000000', text: '(c3) r8 = atomic_fetch_xor((u32 *)(r10 -8), r8)' },
  { name: 'atomic xchg', bytes: 'db8af8ffe1000000', text: '(db) r8 = atomic64_xchg((u64 *)(r10 -8), r8)' },
  { name: 'atomic cmpxchg', bytes: 'db8af8fff1000000', text: '(db) r0 = atomic64_cmpxchg((u64 *)(r10 -8), r0, r8)' },
  { name: 'load_acquire', bytes: 'dba8f8ff00010000', text: '(db) r8 = load_acquire((u64 *)(r10 -8))' },
  { name: 'store_release', bytes: 'db8af8ff10010000', text: '(db) store_release((u64 *)(r10 -8), r8)' },
  { name: 'ld abs', bytes: '300000000c000000', text: '(30) r0 = *(u8 *)skb[12]' },
  { name: 'ld ind', bytes: '4870000002000000', text: '(48) r0 = *(u16 *)skb[r7 + 2]' },
  { name: 'ld_imm64 is hex', bytes: '18010000341200000000000000000000', text: '(18) r1 = 0x1234' },
  { name: 'ld_imm64 of all ones', bytes: '18010000ffffffff00000000ffffffff', text: '(18) r1 = 0xffffffffffffffff' },
  { name: 'ld_imm64 of a map fd prints the number', bytes: '18110000050000000000000000000000', text: '(18) r1 = 0x5' },
  { name: 'ld_imm64 of a map value', bytes: '18220000050000000000000008000000', text: '(18) r2 = 0x800000005' },
  { name: 'call a helper', bytes: '8500000001000000', text: '(85) call bpf_map_lookup_elem#1' },
  { name: 'call the last helper', bytes: '85000000d3000000', text: '(85) call bpf_cgrp_storage_delete#211' },
  { name: 'call an unknown helper id', bytes: '85000000e7030000', text: '(85) call unknown#999' },
  { name: 'call a bpf-to-bpf function', bytes: '8510000003000000', text: '(85) call pc+3' },
  { name: 'call a kfunc', bytes: '8520000039300000', text: '(85) call kernel-function#12345' },
  { name: 'goto', bytes: '0500fdff00000000', text: '(05) goto pc-3' },
  { name: 'gotol (cpu v4)', bytes: '0600000070110100', text: '(06) gotol pc+70000' },
  { name: 'may_goto', bytes: 'e500020000000000', text: '(e5) may_goto pc+2' },
  { name: 'gotox', bytes: '0d03000000000000', text: '(0d) gotox r3' },
  { name: 'exit', bytes: '9500000000000000', text: '(95) exit' },
  { name: 'jump imm is hex', bytes: '2501030016000000', text: '(25) if r1 > 0x16 goto pc+3' },
  { name: 'jump negative imm is its u32 in hex', bytes: '55010000ffffffff', text: '(55) if r1 != 0xffffffff goto pc+0' },
  { name: 'jump reg', bytes: '2d21030000000000', text: '(2d) if r1 > r2 goto pc+3' },
  { name: 'jmp32 imm', bytes: '5601feff00000000', text: '(56) if w1 != 0x0 goto pc-2' },
  { name: 'jmp32 reg', bytes: 'de21010000000000', text: '(de) if w1 s<= w2 goto pc+1' },
  { name: 'jset', bytes: '4501010004000000', text: '(45) if r1 & 0x4 goto pc+1' },
  { name: 'signed jump', bytes: 'c5010100fbffffff', text: '(c5) if r1 s< 0xfffffffb goto pc+1' },
  { name: 'exit in the jmp32 class is printed as a jump', bytes: '9600000000000000', text: '(96) if w0 exit 0x0 goto pc+0' },
  { name: 'an alu op the kernel has no name for prints (null)', bytes: 'e700000000000000', text: '(e7) r0 (null) 0' },
  { name: 'a jump op the kernel has no name for prints (null)', bytes: 'f500000000000000', text: '(f5) if r0 (null) 0x0 goto pc+0' },
  { name: 'an alu64 endian op is bswap', bytes: 'df01000010000000', text: '(df) r1 = bswap16 r1' },
  { name: 'an ldx mode that is not memory', bytes: '2100000000000000', text: 'BUG_ldx_21' },
  { name: 'an st mode that is not memory', bytes: '2200000000000000', text: 'BUG_st_22' },
  { name: 'an stx mode that is not memory', bytes: '2300000000000000', text: 'BUG_23' },
  { name: 'an atomic op the kernel does not know', bytes: 'db00000002000000', text: 'BUG_db' },
  { name: 'an ld that is neither abs, ind nor imm64', bytes: '6000000000000000', text: 'BUG_ld_60' },
  { name: 'an ld imm that is not 64-bit', bytes: '0000000000000000', text: 'BUG_ld_00' },
];

t.test('each instruction prints exactly as the kernel prints it', async (t) => {
  for (const row of TABLE) t.equal(printInsn(one(row.bytes)), row.text, row.name);
});

t.test('formatInsn drops the opcode, verifierLine adds the slot index', async (t) => {
  const movR0 = one('b700000002000000');
  t.equal(formatInsn(movR0), 'r0 = 2');
  t.equal(verifierLine(movR0, 0), '0: (b7) r0 = 2');
  t.equal(formatInsn(one('2100000000000000')), 'BUG_ldx_21', 'a BUG line has no opcode to drop');
});

t.test('symbolic map loads name the map as bpftool does, with the fd', async (t) => {
  const prog = assemble([asm.ldMapFd(R1, 5), asm.ldMapValue(R2, 5, 8), asm.ldImm64(R3, 1)]);
  t.same(
    prog.insns.map((i) => formatInsn(i, { pseudo: 'symbolic' })),
    ['r1 = map[fd:5]', 'r2 = map[fd:5][0]+8', 'r3 = 0x1'],
  );
  t.equal(formatInsn(one('18440000030000000000000000000000'), { pseudo: 'symbolic' }), 'r4 = subprog[+3]');
});

t.test('jumpTarget gives the slot a jump lands on', async (t) => {
  t.equal(jumpTarget(one('1501030000000000'), 10), 14, 'if … goto pc+3 from slot 10');
  t.equal(jumpTarget(one('0500fdff00000000'), 10), 8, 'goto pc-3');
  t.equal(jumpTarget(one('0600000070110100'), 0), 70001, 'gotol counts in imm');
  t.equal(jumpTarget(one('8510000003000000'), 0), 4, 'a bpf-to-bpf call');
  t.equal(jumpTarget(one('8500000001000000'), 0), undefined, 'a helper call goes nowhere in the program');
  t.equal(jumpTarget(one('9500000000000000'), 0), undefined, 'exit');
  t.equal(jumpTarget(one('b700000000000000'), 0), undefined, 'not a jump');
});

/** The counter of the cilium/ebpf kprobe example, by hand: a listing a notebook would show. */
const counter = (): Instruction[] => [
  asm.mov(R6, 0).comment('key = 0'),
  asm.stx('w', R10, -4, R6),
  asm.ldMapFd(R1, 'counts'),
  asm.mov(R2, R10),
  asm.add(R2, -4).comment('r2 = &key'),
  asm.call('map_lookup_elem'),
  asm.jeq(R0, 0, 'out').comment('no value: the verifier insists we check'),
  asm.mov(R1, 1),
  asm.atomicAdd('dw', R0, 0, R1).comment('*value += 1, atomically'),
  asm.mov(R0, 0).label('out'),
  asm.exit(),
];

t.test('a listing shows labels, jump targets and comments in a column', async (t) => {
  const prog = assemble(counter(), { maps: { counts: 4 } });
  t.equal(
    disasm(prog),
    [
      '0: (b7) r6 = 0                        ; key = 0',
      '1: (63) *(u32 *)(r10 -4) = r6',
      '2: (18) r1 = 0x4',
      '4: (bf) r2 = r10',
      '5: (07) r2 += -4                      ; r2 = &key',
      '6: (85) call bpf_map_lookup_elem#1',
      '7: (15) if r0 == 0x0 goto pc+2 <out>  ; no value: the verifier insists we check',
      '8: (b7) r1 = 1',
      '9: (db) lock *(u64 *)(r0 +0) += r1    ; *value += 1, atomically',
      'out:',
      '10: (b7) r0 = 0',
      '11: (95) exit',
    ].join('\n'),
  );
});

t.test('a listing can show the bytes beside each instruction, an ld_imm64 on two lines', async (t) => {
  const prog = assemble(counter().slice(0, 6), { maps: { counts: 4 } });
  t.equal(
    disasm(prog, { bytes: true, pseudo: 'symbolic' }),
    [
      '0: b7 06 00 00 00 00 00 00  (b7) r6 = 0                      ; key = 0',
      '1: 63 6a fc ff 00 00 00 00  (63) *(u32 *)(r10 -4) = r6',
      '2: 18 11 00 00 04 00 00 00  (18) r1 = map[fd:4]',
      '   00 00 00 00 00 00 00 00',
      '4: bf a2 00 00 00 00 00 00  (bf) r2 = r10',
      '5: 07 02 00 00 fc ff ff ff  (07) r2 += -4                    ; r2 = &key',
      '6: 85 00 00 00 01 00 00 00  (85) call bpf_map_lookup_elem#1',
    ].join('\n'),
  );
  t.equal(
    disasm(prog, { style: 'plain', comments: false }),
    ['r6 = 0', '*(u32 *)(r10 -4) = r6', 'r1 = 0x4', 'r2 = r10', 'r2 += -4', 'call bpf_map_lookup_elem#1'].join('\n'),
  );
});

t.test('without labels and comments each line is the verifier log line', async (t) => {
  const prog = assemble(counter(), { maps: { counts: 4 } });
  const lines = disasm(prog, { labels: false, comments: false }).split('\n');
  t.same(lines, disasmLines(prog).map((l) => l.verifierLine));
  t.equal(lines[6], '7: (15) if r0 == 0x0 goto pc+2');
});

t.test('disasm takes bytes, instructions or an assembled program, but not unresolved labels', async (t) => {
  const prog = assemble([asm.mov(R0, 2), asm.exit()]);
  const expected = '0: (b7) r0 = 2\n1: (95) exit';
  t.equal(disasm(prog), expected);
  t.equal(disasm(prog.encode()), expected);
  t.equal(disasm(prog.insns), expected);
  t.equal(disasm([asm.mov(R0, 2), asm.exit()]), expected, 'complete builder instructions need no assembling');
  t.throws(() => disasm([asm.ja('out'), asm.exit().label('out')]), {
    name: 'AsmError',
    message: "disassemble program: instruction 0 jumps to label 'out' (assemble() the program first)",
  });
});

t.test('parseVerifierLog keeps one line per slot and drops register states', async (t) => {
  const log = [
    'func#0 @0',
    'Live regs before insn:',
    '      0: .1........ (bf) r6 = r1',
    '      1: ......6... (b7) r0 = 0',
    '      2: 0......... (95) exit',
    '      3: 0......... (95) exit',
    '0: R1=ctx() R10=fp0',
    '0: (bf) r6 = r1                       ; R1=ctx() R6=ctx()',
    '1: (b7) r0 = 0                        ; R0=0',
    '2: (95) exit',
    '',
    'from 0 to 2: R0=0 R10=fp0',
    '2: (95) exit',
    'processed 4 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0',
  ].join('\n');
  t.same(parseVerifierLog(log), [
    { slot: 0, code: 0xbf, printed: '(bf) r6 = r1' },
    { slot: 1, code: 0xb7, printed: '(b7) r0 = 0' },
    { slot: 2, code: 0x95, printed: '(95) exit' },
    { slot: 3, code: 0x95, printed: '(95) exit' },
  ], 'slot 3 comes from the live-registers listing: no path reached it');
  t.same(parseVerifierLog('0: R1=ctx(id=0,off=0,imm=0) R10=fp0\n0: (b7) r0 = 2\n1: R0_w=inv2 R10=fp0\n1: (95) exit\n'), [
    { slot: 0, code: 0xb7, printed: '(b7) r0 = 2' },
    { slot: 1, code: 0x95, printed: '(95) exit' },
  ], 'the 5.10 form, state on lines of its own');
});

t.test('compareWithVerifierLog shows a difference and an unreached slot', async (t) => {
  const prog = assemble([asm.ldMapFd(R1, 3), asm.mov(R0, 2), asm.exit()]);
  const rows = compareWithVerifierLog(prog, '0: (18) r1 = 0xffff888100870800\n2: (b7) r0 = 3\n');
  t.same(rows, [
    { slot: 0, ours: '(18) r1 = 0x3', kernel: '(18) r1 = 0xffff888100870800', same: true },
    { slot: 2, ours: '(b7) r0 = 2', kernel: '(b7) r0 = 3', same: false },
    { slot: 3, ours: '(95) exit', same: false },
  ]);
});

// Real verifier logs: each program below was encoded with this builder, loaded as a socket filter with
// log_level 2 through bpf(BPF_PROG_LOAD) by a small C loader (its map loads patched to a fresh array map's
// fd), on the development machine's kernel 6.18.44. The kernel test of the bpf() layer repeats this live.

const ALU_OPS = ['add', 'sub', 'mul', 'div', 'or', 'and', 'lsh', 'rsh', 'mod', 'xor', 'arsh'] as const;
const JUMPS = ['jeq', 'jne', 'jgt', 'jge', 'jlt', 'jle', 'jset', 'jsgt', 'jsge', 'jslt', 'jsle'] as const;

/** Every builder instruction in one program that verifies; a fresh load after each jump keeps the number
 *  of verifier states (and the log) small. */
function aluMemJmp(): Instruction[] {
  const fresh = asm.ldx('w', R7, R6, 0); // skb->len: a value the verifier cannot predict
  return [
    asm.mov(R6, R1),
    fresh,
    asm.mov(R0, 0),
    asm.mov32(R8, 1),
    asm.mov32(R9, R7),
    ...ALU_OPS.map((op) => asm[op](R7, 3)),
    ...ALU_OPS.map((op) => asm[`${op}32`](R9, 3)),
    ...ALU_OPS.map((op) => asm[op](R8, R7)),
    ...ALU_OPS.map((op) => asm[`${op}32`](R8, R9)),
    asm.mov(R7, -1), asm.mov32(R7, -1), asm.neg(R7), asm.neg32(R7),
    asm.be16(R7), asm.be32(R7), asm.be64(R7), asm.le16(R7), asm.le32(R7), asm.le64(R7),
    asm.ldx('b', R7, R6, 0), asm.ldx('h', R7, R6, 0), asm.ldx('w', R7, R6, 0),
    asm.st('w', R10, -4, 0), asm.st('b', R10, -5, -1), asm.st('h', R10, -8, 7), asm.st('dw', R10, -16, -2),
    asm.stx('dw', R10, -24, R7), asm.stx('w', R10, -28, R7), asm.stx('h', R10, -30, R7), asm.stx('b', R10, -31, R7),
    asm.ldx('dw', R8, R10, -24),
    asm.atomicAdd('dw', R10, -24, R8), asm.atomicAdd('w', R10, -28, R8),
    ...JUMPS.flatMap((j) => [asm[j](R7, 5, 0), fresh]),
    ...JUMPS.flatMap((j) => [asm[j](R7, R8, 0), fresh]),
    ...JUMPS.flatMap((j) => [asm[`${j}32`](R7, -5, 0), fresh]),
    ...JUMPS.flatMap((j) => [asm[`${j}32`](R7, R8, 0), fresh]),
    asm.ja(0),
    asm.ldImm64(R1, 0x123456789abcdef0n),
    asm.ldImm64(R1, -1),
    asm.call('get_prandom_u32'),
    asm.ldMapFd(R1, 'm'),
    asm.mov(R2, R10), asm.add(R2, -4),
    asm.call('map_lookup_elem'),
    asm.jeq(R0, 0, 'out'),
    asm.atomicAdd('dw', R0, 0, R7),
    asm.ldMapValue(R2, 'm', 0),
    asm.ldx('dw', R1, R2, 0),
    asm.mov(R0, 0).label('out'),
    asm.exit(),
  ];
}

/** What the builder does not make, as raw instructions: cpu v4 (kernel ≥ 6.6), atomics, legacy packet loads. */
function cpuv4AtomicsLdAbs(): Instruction[] {
  const raw = asm.raw;
  const atomic = (size: 'w' | 'dw', off: number, imm: number) =>
    raw({ code: size === 'dw' ? 0xdb : 0xc3, dst: 10, src: 8, off, imm });
  return [
    asm.mov(R6, R1),
    asm.ldx('w', R7, R6, 0),
    asm.mov32(R9, R7),
    raw({ code: 0x37, dst: 7, off: 1, imm: 3 }), // sdiv
    raw({ code: 0x97, dst: 7, off: 1, imm: 3 }), // smod
    asm.mov(R8, R7),
    raw({ code: 0x3f, dst: 8, src: 7, off: 1 }),
    raw({ code: 0x9f, dst: 8, src: 7, off: 1 }),
    raw({ code: 0x3c, dst: 8, src: 9, off: 1 }),
    raw({ code: 0x94, dst: 8, off: 1, imm: 3 }),
    raw({ code: 0xbf, dst: 8, src: 7, off: 8 }), // movsx
    raw({ code: 0xbf, dst: 8, src: 7, off: 16 }),
    raw({ code: 0xbf, dst: 8, src: 7, off: 32 }),
    raw({ code: 0xbc, dst: 8, src: 9, off: 8 }),
    raw({ code: 0xbc, dst: 8, src: 9, off: 16 }),
    asm.bswap16(R7), asm.bswap32(R7), asm.bswap64(R7),
    asm.stx('dw', R10, -8, R7),
    asm.stx('dw', R10, -16, R7),
    raw({ code: 0x91, dst: 7, src: 10, off: -8 }), // ldsx
    raw({ code: 0x89, dst: 7, src: 10, off: -8 }),
    raw({ code: 0x81, dst: 7, src: 10, off: -8 }),
    raw({ code: 0x06, imm: 0 }), // gotol
    asm.mov(R8, 1),
    atomic('dw', -8, 0x50), atomic('dw', -8, 0x40), atomic('dw', -8, 0xa0), // and, or, xor
    atomic('dw', -8, 0x01), atomic('dw', -8, 0x51), atomic('dw', -8, 0x41), atomic('dw', -8, 0xa1), // fetch_*
    atomic('w', -16, 0x01),
    atomic('dw', -8, 0xe1), // xchg
    asm.mov(R0, 0),
    atomic('dw', -8, 0xf1), // cmpxchg
    raw({ code: 0xdb, dst: 8, src: 10, off: -8, imm: 0x100 }), // load_acquire
    atomic('dw', -8, 0x110), // store_release
    raw({ code: 0x30, imm: 12 }), raw({ code: 0x28, imm: 12 }), raw({ code: 0x20, imm: 12 }), // ld abs
    asm.ldx('w', R7, R6, 0),
    raw({ code: 0x48, src: 7, imm: 2 }), // ld ind
    asm.mov(R0, 0),
    asm.exit(),
  ];
}

const subprogMayGoto = (): Instruction[] => [
  asm.raw({ code: 0x85, src: 1, imm: 3 }), // call pc+3
  asm.raw({ code: 0xe5 }), // may_goto pc+0
  asm.mov(R0, 0),
  asm.exit(),
  asm.mov(R0, 1),
  asm.exit(),
];

const REAL_LOGS: { file: string; prog: () => Instruction[]; slots: number }[] = [
  { file: 'alu-mem-jmp.log', prog: aluMemJmp, slots: 179 },
  { file: 'cpuv4-atomics-ldabs.log', prog: cpuv4AtomicsLdAbs, slots: 45 },
  { file: 'subprog-may-goto.log', prog: subprogMayGoto, slots: 6 },
  { file: 'unknown-helper.log', prog: () => [asm.call(999), asm.exit()], slots: 2 },
];

for (const { file, prog, slots } of REAL_LOGS) {
  t.test(`the text matches a real verifier log line by line: ${file}`, async (t) => {
    const log = await readFile(path.join(fixtures, file), 'utf8');
    const assembled = assemble(prog(), { maps: { m: 3 } });
    t.equal(assembled.slots, slots, 'the program the log was captured from');
    const rows = compareWithVerifierLog(assembled, log);
    t.equal(parseVerifierLog(log).length, assembled.insns.length, 'the log shows every instruction');
    for (const row of rows) t.ok(row.same, `${row.slot}: ours ${row.ours} | kernel ${row.kernel ?? '(not in the log)'}`);
  });
}

t.test('the unknown-helper log shows the line and the verifier’s verdict', async (t) => {
  const log = await readFile(path.join(fixtures, 'unknown-helper.log'), 'utf8');
  t.match(log, /^0: \(85\) call unknown#999$/m);
  t.match(log, /^invalid func unknown#999$/m);
  t.equal(verifierLine(one(encode([asm.call(999)]).toString('hex')), 0), '0: (85) call unknown#999');
});
