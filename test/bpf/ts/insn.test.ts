// The instruction encoding and the builder: builder → bytes for every instruction class (cilium's
// asm/dsl_test.go style), the bytes checked against clang's own BPF assembler, the opcode constants
// against <linux/bpf.h>, labels, slots and every error the builder and assembler raise.

import t from 'tap';
import { execa } from 'execa';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as insn from '../../../bpf/ts/insn.js';
import {
  AsmError, LD_IMM64, Instruction, R0, R1, R2, R3, R6, R9, R10, asm, assemble, decode, encode, reg,
  type Insn,
} from '../../../bpf/ts/insn.js';

const hex = (insns: readonly Insn[]): string => encode(insns).toString('hex');

const onPath = (cmd: string): boolean =>
  (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir !== '' && existsSync(path.join(dir, cmd)));
const HEADER = '/usr/include/linux/bpf.h';

/** Builder → bytes. `bytes` is derived from the opcodes of <linux/bpf.h>; `llvm` is the same instruction
 *  in LLVM's BPF assembly, for the cross-check below (absent where LLVM 14's assembler has no syntax for
 *  it: mod, jset, st with an immediate, cpu v4, map loads). */
const TABLE: { name: string; insn: Instruction; bytes: string; llvm?: string }[] = [
  { name: 'add imm (the cilium example)', insn: asm.add(R1, 22), bytes: '0701000016000000', llvm: 'r1 += 22' },
  { name: 'add imm', insn: asm.add(R1, 3), bytes: '0701000003000000', llvm: 'r1 += 3' },
  { name: 'sub imm', insn: asm.sub(R1, 3), bytes: '1701000003000000', llvm: 'r1 -= 3' },
  { name: 'mul imm', insn: asm.mul(R1, 3), bytes: '2701000003000000', llvm: 'r1 *= 3' },
  { name: 'div imm', insn: asm.div(R1, 3), bytes: '3701000003000000', llvm: 'r1 /= 3' },
  { name: 'or imm', insn: asm.or(R1, 3), bytes: '4701000003000000', llvm: 'r1 |= 3' },
  { name: 'and imm', insn: asm.and(R1, 3), bytes: '5701000003000000', llvm: 'r1 &= 3' },
  { name: 'lsh imm', insn: asm.lsh(R1, 3), bytes: '6701000003000000', llvm: 'r1 <<= 3' },
  { name: 'rsh imm', insn: asm.rsh(R1, 3), bytes: '7701000003000000', llvm: 'r1 >>= 3' },
  { name: 'mod imm', insn: asm.mod(R1, 3), bytes: '9701000003000000' },
  { name: 'xor imm', insn: asm.xor(R1, 3), bytes: 'a701000003000000', llvm: 'r1 ^= 3' },
  { name: 'mov imm', insn: asm.mov(R1, 3), bytes: 'b701000003000000', llvm: 'r1 = 3' },
  { name: 'arsh imm', insn: asm.arsh(R1, 3), bytes: 'c701000003000000', llvm: 'r1 s>>= 3' },
  { name: 'add reg', insn: asm.add(R1, R2), bytes: '0f21000000000000', llvm: 'r1 += r2' },
  { name: 'sub reg', insn: asm.sub(R1, R2), bytes: '1f21000000000000', llvm: 'r1 -= r2' },
  { name: 'mul reg', insn: asm.mul(R1, R2), bytes: '2f21000000000000', llvm: 'r1 *= r2' },
  { name: 'div reg', insn: asm.div(R1, R2), bytes: '3f21000000000000', llvm: 'r1 /= r2' },
  { name: 'or reg', insn: asm.or(R1, R2), bytes: '4f21000000000000', llvm: 'r1 |= r2' },
  { name: 'and reg', insn: asm.and(R1, R2), bytes: '5f21000000000000', llvm: 'r1 &= r2' },
  { name: 'lsh reg', insn: asm.lsh(R1, R2), bytes: '6f21000000000000', llvm: 'r1 <<= r2' },
  { name: 'rsh reg', insn: asm.rsh(R1, R2), bytes: '7f21000000000000', llvm: 'r1 >>= r2' },
  { name: 'mod reg', insn: asm.mod(R1, R2), bytes: '9f21000000000000' },
  { name: 'xor reg', insn: asm.xor(R1, R2), bytes: 'af21000000000000', llvm: 'r1 ^= r2' },
  { name: 'mov reg', insn: asm.mov(R1, R2), bytes: 'bf21000000000000', llvm: 'r1 = r2' },
  { name: 'arsh reg', insn: asm.arsh(R1, R2), bytes: 'cf21000000000000', llvm: 'r1 s>>= r2' },
  { name: 'neg', insn: asm.neg(R1), bytes: '8701000000000000', llvm: 'r1 = -r1' },
  { name: 'mov negative imm', insn: asm.mov(R1, -1), bytes: 'b7010000ffffffff', llvm: 'r1 = -1' },
  { name: 'mov largest s32', insn: asm.mov(R9, 0x7fffffff), bytes: 'b7090000ffffff7f', llvm: 'r9 = 2147483647' },
  { name: 'add32 imm', insn: asm.add32(R1, 3), bytes: '0401000003000000', llvm: 'w1 += 3' },
  { name: 'sub32 imm', insn: asm.sub32(R1, 3), bytes: '1401000003000000', llvm: 'w1 -= 3' },
  { name: 'mul32 imm', insn: asm.mul32(R1, 3), bytes: '2401000003000000', llvm: 'w1 *= 3' },
  { name: 'div32 imm', insn: asm.div32(R1, 3), bytes: '3401000003000000', llvm: 'w1 /= 3' },
  { name: 'or32 imm', insn: asm.or32(R1, 3), bytes: '4401000003000000', llvm: 'w1 |= 3' },
  { name: 'and32 imm', insn: asm.and32(R1, 3), bytes: '5401000003000000', llvm: 'w1 &= 3' },
  { name: 'lsh32 imm', insn: asm.lsh32(R1, 3), bytes: '6401000003000000', llvm: 'w1 <<= 3' },
  { name: 'rsh32 imm', insn: asm.rsh32(R1, 3), bytes: '7401000003000000', llvm: 'w1 >>= 3' },
  { name: 'mod32 imm', insn: asm.mod32(R1, 3), bytes: '9401000003000000' },
  { name: 'xor32 imm', insn: asm.xor32(R1, 3), bytes: 'a401000003000000', llvm: 'w1 ^= 3' },
  { name: 'mov32 imm', insn: asm.mov32(R1, 3), bytes: 'b401000003000000', llvm: 'w1 = 3' },
  { name: 'arsh32 imm', insn: asm.arsh32(R1, 3), bytes: 'c401000003000000', llvm: 'w1 s>>= 3' },
  { name: 'add32 reg', insn: asm.add32(R1, R2), bytes: '0c21000000000000', llvm: 'w1 += w2' },
  { name: 'sub32 reg', insn: asm.sub32(R1, R2), bytes: '1c21000000000000', llvm: 'w1 -= w2' },
  { name: 'mul32 reg', insn: asm.mul32(R1, R2), bytes: '2c21000000000000', llvm: 'w1 *= w2' },
  { name: 'div32 reg', insn: asm.div32(R1, R2), bytes: '3c21000000000000', llvm: 'w1 /= w2' },
  { name: 'or32 reg', insn: asm.or32(R1, R2), bytes: '4c21000000000000', llvm: 'w1 |= w2' },
  { name: 'and32 reg', insn: asm.and32(R1, R2), bytes: '5c21000000000000', llvm: 'w1 &= w2' },
  { name: 'lsh32 reg', insn: asm.lsh32(R1, R2), bytes: '6c21000000000000', llvm: 'w1 <<= w2' },
  { name: 'rsh32 reg', insn: asm.rsh32(R1, R2), bytes: '7c21000000000000', llvm: 'w1 >>= w2' },
  { name: 'mod32 reg', insn: asm.mod32(R1, R2), bytes: '9c21000000000000' },
  { name: 'xor32 reg', insn: asm.xor32(R1, R2), bytes: 'ac21000000000000', llvm: 'w1 ^= w2' },
  { name: 'mov32 reg', insn: asm.mov32(R1, R2), bytes: 'bc21000000000000', llvm: 'w1 = w2' },
  { name: 'arsh32 reg', insn: asm.arsh32(R1, R2), bytes: 'cc21000000000000', llvm: 'w1 s>>= w2' },
  { name: 'neg32', insn: asm.neg32(R1), bytes: '8401000000000000', llvm: 'w1 = -w1' },
  { name: 'mov32 takes a u32 immediate', insn: asm.mov32(R1, 0xffffffff), bytes: 'b4010000ffffffff', llvm: 'w1 = -1' },
  { name: 'be16', insn: asm.be16(R3), bytes: 'dc03000010000000', llvm: 'r3 = be16 r3' },
  { name: 'be32', insn: asm.be32(R3), bytes: 'dc03000020000000', llvm: 'r3 = be32 r3' },
  { name: 'be64', insn: asm.be64(R3), bytes: 'dc03000040000000', llvm: 'r3 = be64 r3' },
  { name: 'le16', insn: asm.le16(R3), bytes: 'd403000010000000', llvm: 'r3 = le16 r3' },
  { name: 'le32', insn: asm.le32(R3), bytes: 'd403000020000000', llvm: 'r3 = le32 r3' },
  { name: 'le64', insn: asm.le64(R3), bytes: 'd403000040000000', llvm: 'r3 = le64 r3' },
  { name: 'bswap16 (cpu v4)', insn: asm.bswap16(R3), bytes: 'd703000010000000' },
  { name: 'bswap32 (cpu v4)', insn: asm.bswap32(R3), bytes: 'd703000020000000' },
  { name: 'bswap64 (cpu v4)', insn: asm.bswap64(R3), bytes: 'd703000040000000' },
  { name: 'ldx b', insn: asm.ldx('b', R1, R2, 4), bytes: '7121040000000000', llvm: 'r1 = *(u8 *)(r2 + 4)' },
  { name: 'ldx h', insn: asm.ldx('h', R1, R2, 4), bytes: '6921040000000000', llvm: 'r1 = *(u16 *)(r2 + 4)' },
  { name: 'ldx w', insn: asm.ldx('w', R1, R2, 4), bytes: '6121040000000000', llvm: 'r1 = *(u32 *)(r2 + 4)' },
  { name: 'ldx dw', insn: asm.ldx('dw', R1, R2, 4), bytes: '7921040000000000', llvm: 'r1 = *(u64 *)(r2 + 4)' },
  { name: 'ldx from the stack', insn: asm.ldx('dw', R1, R10, -8), bytes: '79a1f8ff00000000', llvm: 'r1 = *(u64 *)(r10 - 8)' },
  { name: 'stx b', insn: asm.stx('b', R10, -8, R1), bytes: '731af8ff00000000', llvm: '*(u8 *)(r10 - 8) = r1' },
  { name: 'stx h', insn: asm.stx('h', R10, -8, R1), bytes: '6b1af8ff00000000', llvm: '*(u16 *)(r10 - 8) = r1' },
  { name: 'stx w', insn: asm.stx('w', R10, -8, R1), bytes: '631af8ff00000000', llvm: '*(u32 *)(r10 - 8) = r1' },
  { name: 'stx dw', insn: asm.stx('dw', R10, -8, R1), bytes: '7b1af8ff00000000', llvm: '*(u64 *)(r10 - 8) = r1' },
  { name: 'st b', insn: asm.st('b', R10, -8, 7), bytes: '720af8ff07000000' },
  { name: 'st h', insn: asm.st('h', R10, -8, 7), bytes: '6a0af8ff07000000' },
  { name: 'st w', insn: asm.st('w', R10, -8, 7), bytes: '620af8ff07000000' },
  { name: 'st dw', insn: asm.st('dw', R10, -8, 7), bytes: '7a0af8ff07000000' },
  { name: 'st dw sign-extends its immediate', insn: asm.st('dw', R10, -8, -2), bytes: '7a0af8fffeffffff' },
  { name: 'st w takes a u32 immediate', insn: asm.st('w', R10, -4, 0xffffffff), bytes: '620afcffffffffff' },
  { name: 'atomic add dw', insn: asm.atomicAdd('dw', R10, -8, R1), bytes: 'db1af8ff00000000', llvm: 'lock *(u64 *)(r10 - 8) += r1' },
  { name: 'atomic add w', insn: asm.atomicAdd('w', R0, 0, R1), bytes: 'c310000000000000', llvm: 'lock *(u32 *)(r0 + 0) += r1' },
  { name: 'ld_imm64', insn: asm.ldImm64(R1, 0x1234), bytes: '18010000341200000000000000000000', llvm: 'r1 = 0x1234 ll' },
  { name: 'ld_imm64 of a 64-bit constant', insn: asm.ldImm64(R1, 0x123456789abcdef0n), bytes: '18010000f0debc9a0000000078563412', llvm: 'r1 = 0x123456789abcdef0 ll' },
  { name: 'ld_imm64 of -1', insn: asm.ldImm64(R1, -1), bytes: '18010000ffffffff00000000ffffffff', llvm: 'r1 = 0xffffffffffffffff ll' },
  { name: 'ld_imm64 of a map fd', insn: asm.ldMapFd(R1, 5), bytes: '18110000050000000000000000000000' },
  { name: 'ld_imm64 of a map value', insn: asm.ldMapValue(R1, 5, 8), bytes: '18210000050000000000000008000000' },
  { name: 'call by name', insn: asm.call('map_lookup_elem'), bytes: '8500000001000000', llvm: 'call 1' },
  { name: 'call by bpf_ name', insn: asm.call('bpf_ringbuf_output'), bytes: '8500000082000000', llvm: 'call 130' },
  { name: 'call by id', insn: asm.call(7), bytes: '8500000007000000', llvm: 'call 7' },
  { name: 'jeq imm', insn: asm.jeq(R1, 7, 3), bytes: '1501030007000000', llvm: 'if r1 == 7 goto +3' },
  { name: 'jne imm', insn: asm.jne(R1, 7, 3), bytes: '5501030007000000', llvm: 'if r1 != 7 goto +3' },
  { name: 'jgt imm', insn: asm.jgt(R1, 7, 3), bytes: '2501030007000000', llvm: 'if r1 > 7 goto +3' },
  { name: 'jge imm', insn: asm.jge(R1, 7, 3), bytes: '3501030007000000', llvm: 'if r1 >= 7 goto +3' },
  { name: 'jlt imm', insn: asm.jlt(R1, 7, 3), bytes: 'a501030007000000', llvm: 'if r1 < 7 goto +3' },
  { name: 'jle imm', insn: asm.jle(R1, 7, 3), bytes: 'b501030007000000', llvm: 'if r1 <= 7 goto +3' },
  { name: 'jset imm', insn: asm.jset(R1, 7, 3), bytes: '4501030007000000' },
  { name: 'jsgt imm', insn: asm.jsgt(R1, 7, 3), bytes: '6501030007000000', llvm: 'if r1 s> 7 goto +3' },
  { name: 'jsge imm', insn: asm.jsge(R1, 7, 3), bytes: '7501030007000000', llvm: 'if r1 s>= 7 goto +3' },
  { name: 'jslt imm', insn: asm.jslt(R1, 7, 3), bytes: 'c501030007000000', llvm: 'if r1 s< 7 goto +3' },
  { name: 'jsle imm', insn: asm.jsle(R1, 7, 3), bytes: 'd501030007000000', llvm: 'if r1 s<= 7 goto +3' },
  { name: 'jeq reg', insn: asm.jeq(R1, R2, -2), bytes: '1d21feff00000000', llvm: 'if r1 == r2 goto -2' },
  { name: 'jne reg', insn: asm.jne(R1, R2, -2), bytes: '5d21feff00000000', llvm: 'if r1 != r2 goto -2' },
  { name: 'jgt reg', insn: asm.jgt(R1, R2, -2), bytes: '2d21feff00000000', llvm: 'if r1 > r2 goto -2' },
  { name: 'jge reg', insn: asm.jge(R1, R2, -2), bytes: '3d21feff00000000', llvm: 'if r1 >= r2 goto -2' },
  { name: 'jlt reg', insn: asm.jlt(R1, R2, -2), bytes: 'ad21feff00000000', llvm: 'if r1 < r2 goto -2' },
  { name: 'jle reg', insn: asm.jle(R1, R2, -2), bytes: 'bd21feff00000000', llvm: 'if r1 <= r2 goto -2' },
  { name: 'jset reg', insn: asm.jset(R1, R2, -2), bytes: '4d21feff00000000' },
  { name: 'jsgt reg', insn: asm.jsgt(R1, R2, -2), bytes: '6d21feff00000000', llvm: 'if r1 s> r2 goto -2' },
  { name: 'jsge reg', insn: asm.jsge(R1, R2, -2), bytes: '7d21feff00000000', llvm: 'if r1 s>= r2 goto -2' },
  { name: 'jslt reg', insn: asm.jslt(R1, R2, -2), bytes: 'cd21feff00000000', llvm: 'if r1 s< r2 goto -2' },
  { name: 'jsle reg', insn: asm.jsle(R1, R2, -2), bytes: 'dd21feff00000000', llvm: 'if r1 s<= r2 goto -2' },
  { name: 'jeq32 imm', insn: asm.jeq32(R1, 7, 3), bytes: '1601030007000000', llvm: 'if w1 == 7 goto +3' },
  { name: 'jne32 imm', insn: asm.jne32(R1, 7, 3), bytes: '5601030007000000', llvm: 'if w1 != 7 goto +3' },
  { name: 'jgt32 imm', insn: asm.jgt32(R1, 7, 3), bytes: '2601030007000000', llvm: 'if w1 > 7 goto +3' },
  { name: 'jge32 imm', insn: asm.jge32(R1, 7, 3), bytes: '3601030007000000', llvm: 'if w1 >= 7 goto +3' },
  { name: 'jlt32 imm', insn: asm.jlt32(R1, 7, 3), bytes: 'a601030007000000', llvm: 'if w1 < 7 goto +3' },
  { name: 'jle32 imm', insn: asm.jle32(R1, 7, 3), bytes: 'b601030007000000', llvm: 'if w1 <= 7 goto +3' },
  { name: 'jset32 imm', insn: asm.jset32(R1, 7, 3), bytes: '4601030007000000' },
  { name: 'jsgt32 imm', insn: asm.jsgt32(R1, 7, 3), bytes: '6601030007000000', llvm: 'if w1 s> 7 goto +3' },
  { name: 'jsge32 imm', insn: asm.jsge32(R1, 7, 3), bytes: '7601030007000000', llvm: 'if w1 s>= 7 goto +3' },
  { name: 'jslt32 imm', insn: asm.jslt32(R1, 7, 3), bytes: 'c601030007000000', llvm: 'if w1 s< 7 goto +3' },
  { name: 'jsle32 imm', insn: asm.jsle32(R1, 7, 3), bytes: 'd601030007000000', llvm: 'if w1 s<= 7 goto +3' },
  { name: 'jeq32 reg', insn: asm.jeq32(R1, R2, -2), bytes: '1e21feff00000000', llvm: 'if w1 == w2 goto -2' },
  { name: 'jne32 reg', insn: asm.jne32(R1, R2, -2), bytes: '5e21feff00000000', llvm: 'if w1 != w2 goto -2' },
  { name: 'jgt32 reg', insn: asm.jgt32(R1, R2, -2), bytes: '2e21feff00000000', llvm: 'if w1 > w2 goto -2' },
  { name: 'jge32 reg', insn: asm.jge32(R1, R2, -2), bytes: '3e21feff00000000', llvm: 'if w1 >= w2 goto -2' },
  { name: 'jlt32 reg', insn: asm.jlt32(R1, R2, -2), bytes: 'ae21feff00000000', llvm: 'if w1 < w2 goto -2' },
  { name: 'jle32 reg', insn: asm.jle32(R1, R2, -2), bytes: 'be21feff00000000', llvm: 'if w1 <= w2 goto -2' },
  { name: 'jset32 reg', insn: asm.jset32(R1, R2, -2), bytes: '4e21feff00000000' },
  { name: 'jsgt32 reg', insn: asm.jsgt32(R1, R2, -2), bytes: '6e21feff00000000', llvm: 'if w1 s> w2 goto -2' },
  { name: 'jsge32 reg', insn: asm.jsge32(R1, R2, -2), bytes: '7e21feff00000000', llvm: 'if w1 s>= w2 goto -2' },
  { name: 'jslt32 reg', insn: asm.jslt32(R1, R2, -2), bytes: 'ce21feff00000000', llvm: 'if w1 s< w2 goto -2' },
  { name: 'jsle32 reg', insn: asm.jsle32(R1, R2, -2), bytes: 'de21feff00000000', llvm: 'if w1 s<= w2 goto -2' },
  { name: 'jeq32 takes a u32 immediate', insn: asm.jeq32(R1, 0xffffffff, 0), bytes: '16010000ffffffff' },
  { name: 'ja', insn: asm.ja(2), bytes: '0500020000000000', llvm: 'goto +2' },
  { name: 'exit', insn: asm.exit(), bytes: '9500000000000000', llvm: 'exit' },
  { name: 'raw bytes the builder would not make', insn: asm.raw({ code: 0xff, dst: 15, src: 15, off: -1, imm: -1 }), bytes: 'ffffffffffffffff' },
];

t.test('the builder makes the bytes of <linux/bpf.h> for every instruction class', async (t) => {
  for (const row of TABLE) t.equal(hex([row.insn]), row.bytes, row.name);
});

const noClang = !(onPath('clang') && onPath('llvm-objcopy')) &&
  'clang or llvm-objcopy is missing: install clang and llvm (apt-get install clang llvm) to cross-check the encodings';

t.test("the builder's bytes are the bytes clang's BPF assembler makes", { skip: noClang }, async (t) => {
  const rows = TABLE.filter((r) => r.llvm !== undefined);
  const dir = await mkdtemp(path.join(tmpdir(), 'insn-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const src = path.join(dir, 'table.s');
  const obj = path.join(dir, 'table.o');
  const text = path.join(dir, 'table.bin');
  await writeFile(src, ['\t.text', ...rows.map((r) => `\t${r.llvm}`), ''].join('\n'));
  const cc = await execa('clang', ['-target', 'bpf', '-c', src, '-o', obj], { reject: false, timeout: 30_000 });
  if (!t.equal(cc.exitCode, 0, `clang -target bpf assembles the table: ${cc.stderr}`)) return;
  const copy = await execa('llvm-objcopy', ['-O', 'binary', '--only-section=.text', obj, text], { reject: false, timeout: 30_000 });
  if (!t.equal(copy.exitCode, 0, `llvm-objcopy extracts .text: ${copy.stderr}`)) return;
  const bytes = (await readFile(text)).toString('hex');
  let at = 0;
  for (const row of rows) {
    t.equal(bytes.slice(at, at + row.bytes.length), row.bytes, `${row.name}: ${row.llvm}`);
    at += row.bytes.length;
  }
  t.equal(at, bytes.length, 'clang made exactly the table, nothing more');
});

const noHeader =
  (!existsSync(HEADER) && `${HEADER} is missing: install linux-libc-dev (apt-get install linux-libc-dev)`) ||
  (!onPath('cc') && 'no C compiler: install gcc (apt-get install gcc) to check the constants against the header');

t.test('every opcode constant has the value <linux/bpf.h> gives it', { skip: noHeader }, async (t) => {
  const names = Object.keys(insn).filter((k) => /^BPF_[A-Z0-9_]+$/.test(k) && typeof insn[k as keyof typeof insn] === 'number');
  // #ifdef: constants newer than this header (BPF_MEMSX, BPF_LOAD_ACQ, …) print nothing and are reported.
  const program = [
    '#include <stdio.h>',
    '#include <linux/bpf.h>',
    'int main(void) {',
    ...names.map((n) => `#ifdef ${n}\n  printf("${n} %d\\n", (int)(${n}));\n#endif`),
    '  return 0;',
    '}',
  ].join('\n');
  const dir = await mkdtemp(path.join(tmpdir(), 'insn-consts-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'c.c'), program);
  const cc = await execa('cc', ['-o', path.join(dir, 'c'), path.join(dir, 'c.c')], { reject: false, timeout: 60_000 });
  if (!t.equal(cc.exitCode, 0, `the constants compile against <linux/bpf.h>: ${cc.stderr}`)) return;
  const run = await execa(path.join(dir, 'c'), [], { reject: false, timeout: 10_000 });
  const seen = new Map(run.stdout.split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
  for (const [name, value] of seen) t.equal(insn[name as keyof typeof insn], Number(value), `${name} = ${value}`);
  const newer = names.filter((n) => !seen.has(n));
  t.ok(seen.size >= 60, `the header defines most of them (${seen.size} of ${names.length})`);
  t.comment(`newer than this header, or not in it: ${newer.join(', ') || 'none'}`);
});

t.test('decode(encode(x)) gives back x', async (t) => {
  const all = TABLE.map((r) => r.insn);
  const back = decode(encode(all));
  t.equal(back.length, all.length, 'one instruction per instruction, ld_imm64 included');
  back.forEach((got, i) => {
    const { code, dst, src, off, imm } = all[i];
    t.same(got, { code, dst, src, off, imm }, TABLE[i].name);
  });
  t.equal(hex(back), hex(all), 'and the bytes again');
});

t.test('an ld_imm64 is one instruction in two slots, its value a u64 bigint', async (t) => {
  const [ld] = decode(Buffer.from('18010000f0debc9a0000000078563412', 'hex'));
  t.same(ld, { code: LD_IMM64, dst: 1, src: 0, off: 0, imm: 0x123456789abcdef0n });
  t.equal(insn.slotsOf(ld), 2);
  t.equal(insn.imm64(asm.ldImm64(R1, -2)), 0xfffffffffffffffen, 'a negative constant is stored as its u64');
  t.equal(insn.imm32({ code: 0xb7, dst: 0, src: 0, off: 0, imm: 0xffffffff }), -1, 'imm32 reads the s32 the struct holds');
  const [map] = decode(encode([asm.ldMapValue(R2, 7, 16)]));
  t.same(map, { code: 0x18, dst: 2, src: insn.BPF_PSEUDO_MAP_VALUE, off: 0, imm: (16n << 32n) | 7n }, 'map value: fd low, offset high');
});

t.test('decode rejects bytes that are not instructions', async (t) => {
  t.throws(() => decode(Buffer.alloc(12)), { name: 'AsmError', message: 'decode instructions: 12 bytes is not a whole number of 8-byte instructions' });
  t.throws(() => decode(Buffer.from('1801000001000000', 'hex')), /ld_imm64 at slot 0 is missing its second half/);
  t.throws(() => decode(Buffer.from('18010000010000009500000000000000', 'hex')), /second half of the ld_imm64 at slot 0, must be zero except imm/);
  t.same(decode(new Uint8Array(0)), [], 'no bytes, no instructions');
  const view = new Uint8Array(Buffer.from('00009500000000000000', 'hex')).subarray(2);
  t.same(decode(view), [{ code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }], 'a view into a larger buffer decodes from its own offset');
});

t.test('encode rejects fields the struct cannot hold', async (t) => {
  const base = { code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 };
  t.throws(() => encode([{ ...base, code: 256 }]), { message: 'encode instructions: instruction 0 has code 256, outside 0…255' });
  t.throws(() => encode([{ ...base, dst: 16 }]), /has dst 16, outside 0…15/);
  t.throws(() => encode([{ ...base, src: -1 }]), /has src -1, outside 0…15/);
  t.throws(() => encode([{ ...base, off: 0x8000 }]), /has off 32768, outside -32768…32767/);
  t.throws(() => encode([{ ...base, imm: 2 ** 32 }]), /has imm 4294967296/);
  t.throws(() => encode([{ ...base, imm: 1n }]), /bigint imm but is not ld_imm64/);
  t.throws(() => encode([{ ...base, code: LD_IMM64, imm: 1n << 64n }]), /64-bit immediate 18446744073709551616 outside/);
  t.throws(() => encode([{ ...base, code: LD_IMM64, imm: 0.5 }]), /has imm 0.5, not a safe integer \(use a bigint\)/);
  t.equal(hex([{ ...base, code: LD_IMM64, dst: 1, imm: -1 }]), '18010000ffffffff00000000ffffffff', 'a number imm on an ld_imm64 is sign-extended');
});

t.test('registers are typed constants and nothing else passes as one', async (t) => {
  t.equal(reg(6), R6, 'reg(n) is the constant');
  t.equal(String(R10), 'r10');
  t.throws(() => reg(11), { name: 'AsmError', message: 'build instruction: bad register 11 (use R0…R10)' });
  t.throws(() => reg(-1), /bad register -1/);
  t.throws(() => reg(1.5), /bad register 1.5/);
  // A notebook without type checking can still pass a number where a register belongs.
  t.throws(() => asm.mov(1 as unknown as typeof R1, 2), { message: 'build instruction: bad register 1 (use R0…R10, not a number)' });
  t.throws(() => asm.ldx('w', R1, 10 as unknown as typeof R1, 0), /bad register 10/);
  t.throws(() => asm.mov(R1, '2' as unknown as number), /bad operand 2 \(a register R0…R10 or a number\)/);
});

t.test('immediates and offsets must fit their fields', async (t) => {
  t.throws(() => asm.mov(R1, 2 ** 31), {
    name: 'AsmError',
    message: 'build instruction: immediate 2147483648 does not fit in s32 (a 64-bit operation sign-extends its 32-bit immediate; use asm.ldImm64 for wider constants)',
  });
  t.throws(() => asm.add(R1, -(2 ** 31) - 1), /immediate -2147483649 does not fit in s32/);
  t.throws(() => asm.jeq(R1, 0xffffffff, 0), /does not fit in s32/, 'a 64-bit compare sign-extends too');
  t.throws(() => asm.mov32(R1, 2 ** 32), /immediate 4294967296 does not fit in 32 bits/);
  t.throws(() => asm.add(R1, 1.5), /immediate 1.5 does not fit/);
  t.throws(() => asm.st('dw', R10, -8, 0xffffffff), /does not fit in s32/, 'an 8-byte store sign-extends');
  t.throws(() => asm.ldx('w', R1, R10, -40000), { message: 'build instruction: offset -40000 does not fit in s16 (-32768…32767)' });
  t.throws(() => asm.ja(0x8000), /jump offset 32768 does not fit in s16/);
  t.throws(() => asm.ldImm64(R1, 2 ** 53), /is not a safe integer \(pass a bigint/);
  t.throws(() => asm.ldImm64(R1, 1n << 64n), /does not fit in 64 bits/);
  t.throws(() => asm.ldx('q' as 'w', R1, R2, 0), { message: "build instruction: bad size q (use 'b', 'h', 'w' or 'dw')" });
  t.throws(() => asm.atomicAdd('b' as 'w', R1, 0, R2), /bad size b for an atomic add/);
  t.throws(() => asm.call('no_such_helper' as 'map_lookup_elem'), {
    message: "build instruction: unknown helper 'no_such_helper' (names as in BPF_FUNC_<name>, e.g. 'map_lookup_elem')",
  });
  t.throws(() => asm.ldMapFd(R1, -1), /bad map -1/);
  t.throws(() => asm.jeq(R1, 0, ''), /bad jump target/);
});

t.test('assemble() resolves labels forward and backward, counting an ld_imm64 as two slots', async (t) => {
  const prog = assemble([
    asm.mov(R0, 0),
    asm.jeq(R1, 0, 'out'), // slot 1 → slot 6: off 4
    asm.ldImm64(R2, 1).label('top'), // slots 2–3
    asm.add(R2, 1), // slot 4
    asm.jlt(R2, 10, 'top'), // slot 5 → slot 2: off -4
    asm.exit().label('out'), // slot 6
  ]);
  t.equal(prog.insns[1].off, 4, 'forward over the two slots of the ld_imm64');
  t.equal(prog.insns[4].off, -4, 'backward onto the ld_imm64');
  t.same([...prog.labels], [['top', 2], ['out', 6]], 'labels map to slots');
  t.equal(prog.slots, 7);
  t.equal(prog.encode().length, 7 * 8);
  t.equal(prog.insns[5].labelName, 'out', 'the label travels with the instruction');
});

t.test('assemble() takes groups of instructions, and numeric offsets need no label', async (t) => {
  const zeroKey = [asm.st('w', R10, -4, 0), asm.mov(R2, R10), asm.add(R2, -4)];
  const prog = assemble([asm.mov(R0, 0), zeroKey, asm.ja(+0), asm.exit()]);
  t.equal(prog.insns.length, 6);
  t.equal(prog.insns[4].off, 0);
});

t.test('assemble() fills map names in, and a map may be given by its fd or an object with one', async (t) => {
  const byName = assemble([asm.ldMapFd(R1, 'events'), asm.ldMapValue(R2, 'config', 4), asm.exit()], {
    maps: { events: 9, config: { fd: 10 } },
  });
  t.equal(hex(byName.insns), '18110000090000000000000000000000' + '182200000a0000000000000004000000' + '9500000000000000');
  t.equal(hex([asm.ldMapFd(R1, { fd: 9 })]), '18110000090000000000000000000000');
  t.throws(() => assemble([asm.ldMapFd(R1, 'events'), asm.exit()]), {
    message: "assemble program: instruction 0 loads unknown map 'events' (pass it: assemble(prog, { maps: { events: fd } }))",
  });
  t.throws(() => assemble([asm.ldMapFd(R1, 'toString'), asm.exit()], { maps: {} }), /unknown map 'toString'/, 'no map is found on Object.prototype');
});

t.test('assemble() names the unknown or duplicate label', async (t) => {
  t.throws(() => assemble([asm.mov(R0, 0).label('start'), asm.jeq(R1, 0, 'out'), asm.exit()]), {
    name: 'AsmError',
    message: "assemble program: instruction 1 jumps to unknown label 'out' (labels: start)",
  });
  t.throws(() => assemble([asm.ja('nowhere')]), /unknown label 'nowhere' \(labels: none\)/);
  t.throws(() => assemble([asm.mov(R0, 0).label('out'), asm.ja('out'), asm.exit().label('out')]), {
    message: "assemble program: duplicate label 'out' on instructions 0 and 2",
  });
  t.throws(() => assemble([{ code: 0x95 } as unknown as Instruction]), /item 0 is not an instruction/);
});

t.test('a jump further than s16 slots is an error at assemble time', async (t) => {
  const filler = Array.from({ length: 0x8000 }, () => asm.mov(R0, 0));
  t.throws(() => assemble([asm.ja('end'), ...filler, asm.exit().label('end')]), {
    message: "assemble program: instruction 0 jumps 32768 slots to 'end', beyond s16 (split the program)",
  });
  const justFits = assemble([asm.ja('end'), ...filler.slice(1), asm.exit().label('end')]);
  t.equal(justFits.insns[0].off, 0x7fff);
});

t.test('labels and comments are copies: the original instruction is unchanged', async (t) => {
  const exit = asm.exit();
  const labelled = exit.label('out').comment('return r0');
  t.equal(exit.labelName, undefined);
  t.equal(labelled.labelName, 'out');
  t.equal(labelled.commentText, 'return r0');
  t.throws(() => labelled.label('done'), { message: "label instruction: already labelled 'out', cannot add 'done'" });
  t.throws(() => exit.label('two words'), /bad label "two words"/);
});

t.test('an unassembled jump or map load cannot be encoded', async (t) => {
  t.throws(() => encode([asm.jeq(R1, 0, 'out')]), {
    name: 'AsmError',
    message: "encode instructions: instruction 0 jumps to label 'out' (run assemble() first)",
  });
  t.throws(() => encode([asm.ldMapFd(R1, 'events')]), /loads map 'events' \(run assemble\(\) first\)/);
  t.ok(new AsmError('x') instanceof Error);
});

t.test('raw() builds any struct bpf_insn, for showing what the verifier rejects', async (t) => {
  t.equal(hex([asm.raw({ code: 0x95 })]), '9500000000000000');
  t.throws(() => asm.raw({ code: 0x100 }), /code 256/);
  t.equal(hex([asm.raw({ code: 0xb7, dst: R9.n, imm: 5 })]), 'b709000005000000');
  t.equal(R3.n, 3);
});
