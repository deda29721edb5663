// struct bpf_insn in TypeScript: the opcode constants of <linux/bpf.h>, the 8-byte encoding the bpf()
// syscall takes, and a typed builder whose programs assemble (labels resolved, maps filled in) into it.
//
//   import { asm, assemble, R0, R1, R10 } from './insn.js';
//   const prog = assemble([
//     asm.mov(R0, 0).comment('return 0 unless the key is found'),
//     asm.stx('w', R10, -4, R0).comment('key = 0, on the stack'),
//     asm.ldMapFd(R1, 'counts'),
//     ...
//     asm.exit().label('out'),
//   ], { maps: { counts: counts.fd } });
//   prog.encode(); // → Buffer for BPF_PROG_LOAD
//
// The disassembler is in ./disasm.ts, the helper ids in ./helpers.ts.

import { helperId, type HelperRef } from './helpers.js';

// ---------------------------------------------------------------------------------------------------------
// Opcode constants, named and valued as in <linux/bpf_common.h> and <linux/bpf.h>.
// An opcode byte is class | size | mode (loads and stores) or class | op | source (ALU and jumps).
// ---------------------------------------------------------------------------------------------------------

/** Instruction classes: the low 3 bits of the opcode. */
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_JMP32 = 0x06;
export const BPF_ALU64 = 0x07;

/** Access sizes of loads and stores (bits 3–4). */
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;
export const BPF_DW = 0x18;

/** Modes of loads and stores (bits 5–7). */
export const BPF_IMM = 0x00;
export const BPF_ABS = 0x20;
export const BPF_IND = 0x40;
export const BPF_MEM = 0x60;
/** Sign-extending load (cpu v4, kernel ≥ 6.6). */
export const BPF_MEMSX = 0x80;
export const BPF_ATOMIC = 0xc0;
/** The old name of BPF_ATOMIC with imm = BPF_ADD ("lock xadd"). */
export const BPF_XADD = 0xc0;

/** ALU operations (bits 4–7). */
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;
export const BPF_MOV = 0xb0;
export const BPF_ARSH = 0xc0;
export const BPF_END = 0xd0;

/** Operand source (bit 3): the immediate (K) or the source register (X). */
export const BPF_K = 0x00;
export const BPF_X = 0x08;
/** For BPF_END, the same bit picks the byte order. */
export const BPF_TO_LE = 0x00;
export const BPF_TO_BE = 0x08;

/** Jump operations (bits 4–7). */
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;
export const BPF_JNE = 0x50;
export const BPF_JSGT = 0x60;
export const BPF_JSGE = 0x70;
export const BPF_CALL = 0x80;
export const BPF_EXIT = 0x90;
export const BPF_JLT = 0xa0;
export const BPF_JLE = 0xb0;
export const BPF_JSLT = 0xc0;
export const BPF_JSLE = 0xd0;
export const BPF_JCOND = 0xe0;

/** Atomic operations: the imm of a BPF_STX | BPF_ATOMIC instruction (an ALU op, maybe | BPF_FETCH). */
export const BPF_FETCH = 0x01;
export const BPF_XCHG = 0xe0 | BPF_FETCH;
export const BPF_CMPXCHG = 0xf0 | BPF_FETCH;
export const BPF_LOAD_ACQ = 0x100;
export const BPF_STORE_REL = 0x110;

/** src_reg of an ld_imm64: what the 64-bit immediate means. 0 is a plain constant. */
export const BPF_PSEUDO_MAP_FD = 1;
export const BPF_PSEUDO_MAP_VALUE = 2;
export const BPF_PSEUDO_BTF_ID = 3;
export const BPF_PSEUDO_FUNC = 4;
export const BPF_PSEUDO_MAP_IDX = 5;
export const BPF_PSEUDO_MAP_IDX_VALUE = 6;

/** src_reg of a call: 0 is a helper id, these are a bpf-to-bpf call and a kernel function (kfunc). */
export const BPF_PSEUDO_CALL = 1;
export const BPF_PSEUDO_KFUNC_CALL = 2;

/** src_reg of BPF_JMP | BPF_JCOND. */
export const BPF_MAY_GOTO = 0;
/** off of BPF_ALU64 | BPF_MOV | BPF_X that makes it an address-space cast. */
export const BPF_ADDR_SPACE_CAST = 1;

/** The opcode of the 16-byte "load 64-bit immediate" (BPF_LD | BPF_IMM | BPF_DW; no name of its own in the UAPI). */
export const LD_IMM64 = BPF_LD | BPF_IMM | BPF_DW;

/** Field extractors, as the macros of <linux/bpf_common.h>. */
export const BPF_CLASS = (code: number): number => code & 0x07;
export const BPF_SIZE = (code: number): number => code & 0x18;
export const BPF_MODE = (code: number): number => code & 0xe0;
export const BPF_OP = (code: number): number => code & 0xf0;
export const BPF_SRC = (code: number): number => code & 0x08;

/** Bytes per instruction slot; an ld_imm64 takes two. */
export const INSN_SIZE = 8;

// ---------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------

/** A program that cannot be built, assembled, encoded or decoded. Message: "verb noun: cause (hint)". */
export class AsmError extends Error {
  override name = 'AsmError';
}

function s16(verb: string, what: string, v: number): number {
  if (!Number.isInteger(v) || v < -0x8000 || v > 0x7fff) {
    throw new AsmError(`${verb}: ${what} ${v} does not fit in s16 (-32768…32767)`);
  }
  return v;
}

/**
 * A 32-bit immediate. Where the CPU sign-extends it to 64 bits (64-bit ALU and jumps, 8-byte stores) only
 * s32 values mean what they say; where the operation is 32 bits wide, 0…0xffffffff is accepted too.
 * Returns the value as the s32 that struct bpf_insn stores.
 */
function imm32Arg(verb: string, v: number, widensTo64: boolean): number {
  if (typeof v !== 'number') throw new AsmError(`${verb}: bad operand ${String(v)} (a register R0…R10 or a number)`);
  const max = widensTo64 ? 0x7fffffff : 0xffffffff;
  if (!Number.isInteger(v) || v < -0x80000000 || v > max) {
    const hint = widensTo64
      ? 'a 64-bit operation sign-extends its 32-bit immediate; use asm.ldImm64 for wider constants'
      : 'a 32-bit operation takes -2147483648…4294967295';
    throw new AsmError(`${verb}: immediate ${v} does not fit in ${widensTo64 ? 's32' : '32 bits'} (${hint})`);
  }
  return v | 0;
}

// ---------------------------------------------------------------------------------------------------------
// Registers: typed constants, so that asm.mov(R1, 2) and asm.mov(R1, R2) are told apart by type.
// ---------------------------------------------------------------------------------------------------------

/** One of the eleven registers. r0: return value; r1–r5: arguments; r6–r9: callee-saved; r10: frame pointer. */
export class Reg {
  static readonly #all: Reg[] = [];
  static {
    for (let n = 0; n <= 10; n++) Reg.#all.push(new Reg(n));
  }

  private constructor(readonly n: number) {}

  /** Register number n (0…10). */
  static of(n: number): Reg {
    const r = Number.isInteger(n) ? Reg.#all[n] : undefined;
    if (!r) throw new AsmError(`build instruction: bad register ${String(n)} (use R0…R10)`);
    return r;
  }

  toString(): string {
    return `r${this.n}`;
  }
}

export const R0 = Reg.of(0);
export const R1 = Reg.of(1);
export const R2 = Reg.of(2);
export const R3 = Reg.of(3);
export const R4 = Reg.of(4);
export const R5 = Reg.of(5);
export const R6 = Reg.of(6);
export const R7 = Reg.of(7);
export const R8 = Reg.of(8);
export const R9 = Reg.of(9);
/** The read-only frame pointer: the stack is the 512 bytes below it. */
export const R10 = Reg.of(10);

/** Register number n, for code that computes it: reg(6) === R6. */
export const reg = (n: number): Reg => Reg.of(n);

function regArg(r: unknown): number {
  if (r instanceof Reg) return r.n;
  throw new AsmError(`build instruction: bad register ${String(r)} (use R0…R10, not a number)`);
}

// ---------------------------------------------------------------------------------------------------------
// The raw instruction and its encoding
// ---------------------------------------------------------------------------------------------------------

/**
 * One struct bpf_insn: `code:u8, dst_reg:4, src_reg:4, off:s16, imm:s32`, little-endian, 8 bytes.
 * The ld_imm64 instruction (code 0x18) is 16 bytes: its second slot is all zero except imm, the upper 32 bits.
 * Here it is one Insn whose imm is a bigint holding the whole 64-bit value (unsigned, as the kernel prints it).
 */
export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number | bigint;
}

/** An instruction with the teaching annotations a program carries: a label and a comment. */
export interface AnnotatedInsn extends Insn {
  labelName?: string;
  commentText?: string;
}

/** True for the 16-byte load of a 64-bit immediate. */
export const isLdImm64 = (insn: Insn): boolean => insn.code === LD_IMM64;

/** How many 8-byte slots an instruction takes: 2 for ld_imm64, else 1. Jump offsets count slots. */
export const slotsOf = (insn: Insn): 1 | 2 => (isLdImm64(insn) ? 2 : 1);

/** The 32-bit immediate of an ordinary instruction, as the s32 the struct stores. */
export const imm32 = (insn: Insn): number =>
  typeof insn.imm === 'bigint' ? Number(BigInt.asIntN(32, insn.imm)) : insn.imm | 0;

/** The 64-bit immediate of an ld_imm64, as the u64 the kernel prints. */
export const imm64 = (insn: Insn): bigint => BigInt.asUintN(64, BigInt(insn.imm));

function checkField(i: number, what: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new AsmError(`encode instructions: instruction ${i} has ${what} ${v}, outside ${min}…${max}`);
  }
}

/** The bytes of a program, as BPF_PROG_LOAD's `insns` takes them (insn_cnt = length / 8). */
export function encode(insns: Iterable<Insn>): Buffer {
  const list = [...insns];
  const buf = Buffer.alloc(list.reduce((n, insn) => n + slotsOf(insn), 0) * INSN_SIZE);
  let at = 0;
  list.forEach((insn, i) => {
    if (insn instanceof Instruction && insn.pending) {
      throw new AsmError(`encode instructions: instruction ${i} ${insn.pending} (run assemble() first)`);
    }
    checkField(i, 'code', insn.code, 0, 0xff);
    checkField(i, 'dst', insn.dst, 0, 15);
    checkField(i, 'src', insn.src, 0, 15);
    checkField(i, 'off', insn.off, -0x8000, 0x7fff);
    buf.writeUInt8(insn.code, at);
    buf.writeUInt8(insn.dst | (insn.src << 4), at + 1);
    buf.writeInt16LE(insn.off, at + 2);
    if (isLdImm64(insn)) {
      if (typeof insn.imm === 'number' && !Number.isSafeInteger(insn.imm)) {
        throw new AsmError(`encode instructions: instruction ${i} has imm ${insn.imm}, not a safe integer (use a bigint)`);
      }
      const v = BigInt(insn.imm);
      if (v < -(1n << 63n) || v >= 1n << 64n) {
        throw new AsmError(`encode instructions: instruction ${i} has a 64-bit immediate ${v} outside -2^63…2^64-1`);
      }
      const u = BigInt.asUintN(64, v);
      buf.writeUInt32LE(Number(u & 0xffffffffn), at + 4);
      // Second slot: code, registers and offset zero; imm holds the upper half.
      buf.writeUInt32LE(Number(u >> 32n), at + 12);
      at += 2 * INSN_SIZE;
    } else {
      if (typeof insn.imm === 'bigint') {
        throw new AsmError(`encode instructions: instruction ${i} has a bigint imm but is not ld_imm64 (use a number)`);
      }
      checkField(i, 'imm', insn.imm, -0x80000000, 0xffffffff);
      buf.writeInt32LE(insn.imm | 0, at + 4);
      at += INSN_SIZE;
    }
  });
  return buf;
}

/** The instructions in a program's bytes. decode(encode(x)) gives back x (ld_imm64 values as unsigned bigint). */
export function decode(bytes: Uint8Array): Insn[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length % INSN_SIZE !== 0) {
    throw new AsmError(`decode instructions: ${buf.length} bytes is not a whole number of 8-byte instructions`);
  }
  const slots = buf.length / INSN_SIZE;
  const out: Insn[] = [];
  for (let slot = 0; slot < slots; slot++) {
    const at = slot * INSN_SIZE;
    const code = buf.readUInt8(at);
    const regs = buf.readUInt8(at + 1);
    const insn: Insn = { code, dst: regs & 0x0f, src: regs >> 4, off: buf.readInt16LE(at + 2), imm: buf.readInt32LE(at + 4) };
    if (code === LD_IMM64) {
      if (slot + 1 >= slots) {
        throw new AsmError(`decode instructions: ld_imm64 at slot ${slot} is missing its second half (it is 16 bytes)`);
      }
      const next = at + INSN_SIZE;
      if (buf.readUInt8(next) !== 0 || buf.readUInt8(next + 1) !== 0 || buf.readInt16LE(next + 2) !== 0) {
        throw new AsmError(
          `decode instructions: slot ${slot + 1}, the second half of the ld_imm64 at slot ${slot}, ` +
            'must be zero except imm (the kernel rejects it too: "invalid bpf_ld_imm64 insn")',
        );
      }
      insn.imm = (BigInt(buf.readUInt32LE(next + 4)) << 32n) | BigInt(buf.readUInt32LE(at + 4));
      slot++;
    }
    out.push(insn);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// The builder
// ---------------------------------------------------------------------------------------------------------

/** Access size of a load or store: byte, half word (2), word (4), double word (8). */
export type Size = 'b' | 'h' | 'w' | 'dw';
const SIZES: Record<Size, number> = { b: BPF_B, h: BPF_H, w: BPF_W, dw: BPF_DW };

function sizeArg(size: unknown): number {
  if (typeof size === 'string' && Object.hasOwn(SIZES, size)) return SIZES[size as Size];
  throw new AsmError(`build instruction: bad size ${String(size)} (use 'b', 'h', 'w' or 'dw')`);
}

/** Where a jump goes: a label name, resolved by assemble(), or an offset in slots (`goto pc+3` is 3). */
export type Target = string | number;

/** A map for ld_imm64: its fd, an object with an fd (a loaded map), or a name that assemble() looks up. */
export type MapRef = number | string | { readonly fd: number };

interface InstructionFields extends AnnotatedInsn {
  /** A jump whose offset waits for this label. */
  jumpTo?: string;
  /** An ld_imm64 whose low 32 bits wait for this map's fd. */
  mapName?: string;
}

/**
 * One instruction made by the builder. Immutable: `.label()` and `.comment()` return a copy.
 * A jump to a label or a load of a named map is pending until assemble() resolves it.
 */
export class Instruction implements AnnotatedInsn {
  readonly code: number;
  readonly dst: number;
  readonly src: number;
  readonly off: number;
  readonly imm: number | bigint;
  readonly labelName?: string;
  readonly commentText?: string;
  readonly jumpTo?: string;
  readonly mapName?: string;

  constructor(f: InstructionFields) {
    this.code = f.code;
    this.dst = f.dst;
    this.src = f.src;
    this.off = f.off;
    this.imm = f.imm;
    if (f.labelName !== undefined) this.labelName = f.labelName;
    if (f.commentText !== undefined) this.commentText = f.commentText;
    if (f.jumpTo !== undefined) this.jumpTo = f.jumpTo;
    if (f.mapName !== undefined) this.mapName = f.mapName;
  }

  /** Name this instruction so jumps can target it: `asm.exit().label('out')`. One label per instruction. */
  label(name: string): Instruction {
    if (typeof name !== 'string' || !/^\S+$/.test(name)) {
      throw new AsmError(`label instruction: bad label ${JSON.stringify(name)} (a non-empty name without spaces)`);
    }
    if (this.labelName !== undefined) {
      throw new AsmError(`label instruction: already labelled '${this.labelName}', cannot add '${name}'`);
    }
    return copyWith(this, { labelName: name });
  }

  /** A teaching comment, shown beside the instruction in the disassembly. */
  comment(text: string): Instruction {
    return copyWith(this, { commentText: String(text) });
  }

  /** What still needs assemble(), as a phrase; undefined when the instruction is complete. */
  get pending(): string | undefined {
    if (this.jumpTo !== undefined) return `jumps to label '${this.jumpTo}'`;
    if (this.mapName !== undefined) return `loads map '${this.mapName}'`;
    return undefined;
  }
}

const make = (code: number, dst = 0, src = 0, off = 0, imm: number | bigint = 0, mapName?: string) =>
  new Instruction(mapName === undefined ? { code, dst, src, off, imm } : { code, dst, src, off, imm, mapName });

/**
 * A copy with some fields changed, field by field: spreading instances (`{ ...insn, jumpTo }`) in code that runs
 * once per start, not yet optimized, took a third of the ~12 ms the execsnoop's two programs take to build.
 */
function copyWith(i: Instruction, f: Partial<InstructionFields>): Instruction {
  const fields: InstructionFields = { code: i.code, dst: i.dst, src: i.src, off: f.off ?? i.off, imm: i.imm };
  const labelName = f.labelName ?? i.labelName;
  const commentText = f.commentText ?? i.commentText;
  const jumpTo = f.jumpTo ?? i.jumpTo;
  if (labelName !== undefined) fields.labelName = labelName;
  if (commentText !== undefined) fields.commentText = commentText;
  if (jumpTo !== undefined) fields.jumpTo = jumpTo;
  if (i.mapName !== undefined) fields.mapName = i.mapName;
  return new Instruction(fields);
}

/** dst op= src (register) or dst op= imm, for class BPF_ALU64 (64-bit) or BPF_ALU (32-bit, zero-extends). */
function alu(cls: number, op: number) {
  return (dst: Reg, src: Reg | number): Instruction =>
    src instanceof Reg
      ? make(cls | op | BPF_X, regArg(dst), src.n)
      : make(cls | op | BPF_K, regArg(dst), 0, 0, imm32Arg('build instruction', src, cls === BPF_ALU64));
}

/** if dst op src goto target, for class BPF_JMP (compares 64 bits) or BPF_JMP32 (compares the low 32). */
function jump(cls: number, op: number) {
  return (dst: Reg, src: Reg | number, target: Target): Instruction => {
    const base =
      src instanceof Reg
        ? make(cls | op | BPF_X, regArg(dst), src.n)
        : make(cls | op | BPF_K, regArg(dst), 0, 0, imm32Arg('build instruction', src, cls === BPF_JMP));
    return withTarget(base, target);
  };
}

function withTarget(insn: Instruction, target: Target): Instruction {
  if (typeof target === 'number') return copyWith(insn, { off: s16('build instruction', 'jump offset', target) });
  if (typeof target === 'string' && target !== '') return copyWith(insn, { jumpTo: target });
  throw new AsmError(`build instruction: bad jump target ${String(target)} (a label name or an offset in slots)`);
}

function endian(cls: number, order: number, bits: 16 | 32 | 64) {
  return (dst: Reg): Instruction => make(cls | BPF_END | order, regArg(dst), 0, 0, bits);
}

function mapLoad(dst: Reg, map: MapRef, pseudo: number, valueOffset: number): Instruction {
  const d = regArg(dst);
  const high = BigInt(imm32Arg('build instruction', valueOffset, false) >>> 0) << 32n;
  if (typeof map === 'string' && map !== '') return make(LD_IMM64, d, pseudo, 0, high, map);
  const fd = typeof map === 'number' ? map : typeof map === 'object' && map !== null ? map.fd : NaN;
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) {
    throw new AsmError(`build instruction: bad map ${String(map)} (an fd, an object with an fd, or a map name)`);
  }
  return make(LD_IMM64, d, pseudo, 0, high | BigInt(fd));
}

/**
 * The instruction builder. Each function returns one Instruction; a program is an array of them.
 * 64-bit operations have plain names (add, jeq); their 32-bit forms end in 32 (add32 works on w registers
 * and zeroes the upper half; jeq32 compares the low 32 bits).
 */
export const asm = {
  // ALU, 64-bit (BPF_ALU64): dst op= src | imm
  /** dst += src */
  add: alu(BPF_ALU64, BPF_ADD),
  /** dst -= src */
  sub: alu(BPF_ALU64, BPF_SUB),
  /** dst *= src */
  mul: alu(BPF_ALU64, BPF_MUL),
  /** dst /= src, unsigned; dividing by zero gives 0 */
  div: alu(BPF_ALU64, BPF_DIV),
  /** dst |= src */
  or: alu(BPF_ALU64, BPF_OR),
  /** dst &= src */
  and: alu(BPF_ALU64, BPF_AND),
  /** dst <<= src */
  lsh: alu(BPF_ALU64, BPF_LSH),
  /** dst >>= src, logical */
  rsh: alu(BPF_ALU64, BPF_RSH),
  /** dst %= src, unsigned; modulo zero leaves dst unchanged */
  mod: alu(BPF_ALU64, BPF_MOD),
  /** dst ^= src */
  xor: alu(BPF_ALU64, BPF_XOR),
  /** dst = src */
  mov: alu(BPF_ALU64, BPF_MOV),
  /** dst s>>= src, arithmetic (keeps the sign) */
  arsh: alu(BPF_ALU64, BPF_ARSH),
  /** dst = -dst */
  neg: (dst: Reg): Instruction => make(BPF_ALU64 | BPF_NEG, regArg(dst)),

  // ALU, 32-bit (BPF_ALU): the same on the low halves, written wN in the disassembly
  add32: alu(BPF_ALU, BPF_ADD),
  sub32: alu(BPF_ALU, BPF_SUB),
  mul32: alu(BPF_ALU, BPF_MUL),
  div32: alu(BPF_ALU, BPF_DIV),
  or32: alu(BPF_ALU, BPF_OR),
  and32: alu(BPF_ALU, BPF_AND),
  lsh32: alu(BPF_ALU, BPF_LSH),
  rsh32: alu(BPF_ALU, BPF_RSH),
  mod32: alu(BPF_ALU, BPF_MOD),
  xor32: alu(BPF_ALU, BPF_XOR),
  mov32: alu(BPF_ALU, BPF_MOV),
  arsh32: alu(BPF_ALU, BPF_ARSH),
  neg32: (dst: Reg): Instruction => make(BPF_ALU | BPF_NEG, regArg(dst)),

  // Byte order (BPF_ALU | BPF_END): convert dst between host (little-endian here) and big/little endian
  /** dst = htobe16(dst): network byte order, as for a port number */
  be16: endian(BPF_ALU, BPF_TO_BE, 16),
  be32: endian(BPF_ALU, BPF_TO_BE, 32),
  be64: endian(BPF_ALU, BPF_TO_BE, 64),
  /** dst = htole16(dst): on a little-endian CPU this only truncates to 16 bits */
  le16: endian(BPF_ALU, BPF_TO_LE, 16),
  le32: endian(BPF_ALU, BPF_TO_LE, 32),
  le64: endian(BPF_ALU, BPF_TO_LE, 64),
  /** Unconditional byte swap (BPF_ALU64 | BPF_END, cpu v4: kernel ≥ 6.6) */
  bswap16: endian(BPF_ALU64, BPF_TO_LE, 16),
  bswap32: endian(BPF_ALU64, BPF_TO_LE, 32),
  bswap64: endian(BPF_ALU64, BPF_TO_LE, 64),

  // Memory
  /** dst = *(size *)(src + off) */
  ldx: (size: Size, dst: Reg, src: Reg, off: number): Instruction =>
    make(BPF_LDX | BPF_MEM | sizeArg(size), regArg(dst), regArg(src), s16('build instruction', 'offset', off)),
  /** *(size *)(dst + off) = src */
  stx: (size: Size, dst: Reg, off: number, src: Reg): Instruction =>
    make(BPF_STX | BPF_MEM | sizeArg(size), regArg(dst), regArg(src), s16('build instruction', 'offset', off)),
  /** *(size *)(dst + off) = imm; an 8-byte store sign-extends imm */
  st: (size: Size, dst: Reg, off: number, imm: number): Instruction => {
    const code = BPF_ST | BPF_MEM | sizeArg(size);
    return make(code, regArg(dst), 0, s16('build instruction', 'offset', off), imm32Arg('build instruction', imm, size === 'dw'));
  },
  /** lock *(size *)(dst + off) += src: an atomic add, as a counter in a shared map value needs */
  atomicAdd: (size: 'w' | 'dw', dst: Reg, off: number, src: Reg): Instruction => {
    if (size !== 'w' && size !== 'dw') throw new AsmError(`build instruction: bad size ${String(size)} for an atomic add (use 'w' or 'dw')`);
    return make(BPF_STX | BPF_ATOMIC | sizeArg(size), regArg(dst), regArg(src), s16('build instruction', 'offset', off), BPF_ADD);
  },

  // 64-bit immediates (16 bytes, two slots)
  /** dst = value, any 64-bit constant (a number must be a safe integer; negative values wrap to u64) */
  ldImm64: (dst: Reg, value: number | bigint): Instruction => {
    let v: bigint;
    if (typeof value === 'bigint') v = value;
    else if (Number.isSafeInteger(value)) v = BigInt(value);
    else throw new AsmError(`build instruction: ${value} is not a safe integer (pass a bigint: ${String(value)}n)`);
    if (v < -(1n << 63n) || v >= 1n << 64n) {
      throw new AsmError(`build instruction: ${v} does not fit in 64 bits (-2^63…2^64-1)`);
    }
    return make(LD_IMM64, regArg(dst), 0, 0, BigInt.asUintN(64, v));
  },
  /** dst = &map (BPF_PSEUDO_MAP_FD): the kernel swaps the fd for a pointer to the map when it loads the program */
  ldMapFd: (dst: Reg, map: MapRef): Instruction => mapLoad(dst, map, BPF_PSEUDO_MAP_FD, 0),
  /** dst = &map's value + offset (BPF_PSEUDO_MAP_VALUE): direct access to an array map's single value */
  ldMapValue: (dst: Reg, map: MapRef, offset = 0): Instruction => mapLoad(dst, map, BPF_PSEUDO_MAP_VALUE, offset),

  // Calls and jumps
  /** r0 = helper(r1, …, r5): by name ('map_lookup_elem' or 'bpf_map_lookup_elem') or id. Clobbers r1–r5. */
  call: (helper: HelperRef): Instruction => {
    let id: number;
    try {
      id = helperId(helper);
    } catch (e) {
      throw new AsmError(`build instruction: ${(e as Error).message.replace(/^find helper: /, '')}`);
    }
    return make(BPF_JMP | BPF_CALL, 0, 0, 0, id);
  },
  /** goto target */
  ja: (target: Target): Instruction => withTarget(make(BPF_JMP | BPF_JA), target),
  /** return r0 to the kernel */
  exit: (): Instruction => make(BPF_JMP | BPF_EXIT),

  /** if dst == src goto target */
  jeq: jump(BPF_JMP, BPF_JEQ),
  /** if dst != src goto target */
  jne: jump(BPF_JMP, BPF_JNE),
  /** if dst > src goto target (unsigned) */
  jgt: jump(BPF_JMP, BPF_JGT),
  /** if dst >= src goto target (unsigned) */
  jge: jump(BPF_JMP, BPF_JGE),
  /** if dst < src goto target (unsigned) */
  jlt: jump(BPF_JMP, BPF_JLT),
  /** if dst <= src goto target (unsigned) */
  jle: jump(BPF_JMP, BPF_JLE),
  /** if dst & src goto target */
  jset: jump(BPF_JMP, BPF_JSET),
  /** if dst s> src goto target (signed) */
  jsgt: jump(BPF_JMP, BPF_JSGT),
  /** if dst s>= src goto target (signed) */
  jsge: jump(BPF_JMP, BPF_JSGE),
  /** if dst s< src goto target (signed) */
  jslt: jump(BPF_JMP, BPF_JSLT),
  /** if dst s<= src goto target (signed) */
  jsle: jump(BPF_JMP, BPF_JSLE),

  // The same comparisons on the low 32 bits (BPF_JMP32, kernel ≥ 5.1)
  jeq32: jump(BPF_JMP32, BPF_JEQ),
  jne32: jump(BPF_JMP32, BPF_JNE),
  jgt32: jump(BPF_JMP32, BPF_JGT),
  jge32: jump(BPF_JMP32, BPF_JGE),
  jlt32: jump(BPF_JMP32, BPF_JLT),
  jle32: jump(BPF_JMP32, BPF_JLE),
  jset32: jump(BPF_JMP32, BPF_JSET),
  jsgt32: jump(BPF_JMP32, BPF_JSGT),
  jsge32: jump(BPF_JMP32, BPF_JSGE),
  jslt32: jump(BPF_JMP32, BPF_JSLT),
  jsle32: jump(BPF_JMP32, BPF_JSLE),

  // Any bytes
  /**
   * Any instruction, field by field, unchecked beyond what the struct can hold — for showing what the
   * verifier says about bytes the builder would not make (`asm.raw({ code: 0xff })` → "unknown opcode ff").
   */
  raw: (f: Partial<Insn> & { code: number }): Instruction => {
    const insn = make(f.code, f.dst ?? 0, f.src ?? 0, f.off ?? 0, f.imm ?? 0);
    encode([insn]); // range checks only
    return insn;
  },
};

// ---------------------------------------------------------------------------------------------------------
// Assembling: labels to offsets, map names to fds
// ---------------------------------------------------------------------------------------------------------

export interface AssembleOptions {
  /** Map names used by ldMapFd/ldMapValue → the map (its fd, or an object with an fd). */
  maps?: Readonly<Record<string, number | { readonly fd: number }>>;
}

/** A program's instructions, possibly in groups (snippets built by functions): one level of nesting. */
export type ProgramSource = readonly (Instruction | readonly Instruction[])[];

/** An assembled program: complete instructions with their labels and comments, ready to encode. */
export class AssembledProgram {
  readonly #bytes: Buffer;

  constructor(
    readonly insns: readonly AnnotatedInsn[],
    /** Label → slot index (the index the verifier log shows). */
    readonly labels: ReadonlyMap<string, number>,
    /** The encoding, when the caller has it already (assemble() encodes to check every field). */
    bytes?: Buffer,
  ) {
    this.#bytes = bytes ?? encode(insns);
  }

  /** Number of 8-byte slots: PROG_LOAD's insn_cnt. */
  get slots(): number {
    return this.insns.reduce((n, insn) => n + slotsOf(insn), 0);
  }

  /** The bytes for BPF_PROG_LOAD (a copy: encoded once, ~4 ms of a ts tool's start for its two programs). */
  encode(): Buffer {
    return Buffer.from(this.#bytes);
  }
}

/**
 * Resolves labels (jump offsets count slots, so an ld_imm64 counts twice) and map names, and checks every
 * field. Throws AsmError for an unknown or duplicate label, an unknown map or a jump out of s16 range.
 */
export function assemble(prog: ProgramSource, opts: AssembleOptions = {}): AssembledProgram {
  const list = prog.flat();
  const slotOf: number[] = [];
  const labels = new Map<string, number>();
  const labelAt = new Map<string, number>(); // label → instruction index, for the duplicate message
  let slot = 0;
  list.forEach((insn, i) => {
    if (!(insn instanceof Instruction)) {
      throw new AsmError(`assemble program: item ${i} is not an instruction (build it with asm.*)`);
    }
    slotOf.push(slot);
    const name = insn.labelName;
    if (name !== undefined) {
      const first = labelAt.get(name);
      if (first !== undefined) {
        throw new AsmError(`assemble program: duplicate label '${name}' on instructions ${first} and ${i}`);
      }
      labelAt.set(name, i);
      labels.set(name, slot);
    }
    slot += slotsOf(insn);
  });

  const out = list.map((insn, i): AnnotatedInsn => {
    const { code, dst, src, labelName, commentText } = insn;
    let { off, imm } = insn;
    if (insn.jumpTo !== undefined) {
      const target = labels.get(insn.jumpTo);
      if (target === undefined) {
        const known = labels.size ? [...labels.keys()].join(', ') : 'none';
        throw new AsmError(`assemble program: instruction ${i} jumps to unknown label '${insn.jumpTo}' (labels: ${known})`);
      }
      off = target - (slotOf[i] + 1);
      if (off < -0x8000 || off > 0x7fff) {
        throw new AsmError(`assemble program: instruction ${i} jumps ${off} slots to '${insn.jumpTo}', beyond s16 (split the program)`);
      }
    }
    if (insn.mapName !== undefined) {
      const map = opts.maps && Object.hasOwn(opts.maps, insn.mapName) ? opts.maps[insn.mapName] : undefined;
      const fd = typeof map === 'number' ? map : map?.fd;
      if (fd === undefined || !Number.isInteger(fd) || fd < 0) {
        throw new AsmError(
          `assemble program: instruction ${i} loads unknown map '${insn.mapName}' (pass it: assemble(prog, { maps: { ${insn.mapName}: fd } }))`,
        );
      }
      imm = imm64(insn) | BigInt(fd);
    }
    const done: AnnotatedInsn = { code, dst, src, off, imm };
    if (labelName !== undefined) done.labelName = labelName;
    if (commentText !== undefined) done.commentText = commentText;
    return done;
  });
  return new AssembledProgram(out, labels, encode(out)); // encoding checks every field
}
