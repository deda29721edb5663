// The disassembler: the kernel verifier's own text for each instruction (kernel/bpf/disasm.c,
// print_bpf_insn), to the character — `r0 = 2`, `if w1 != 0x0 goto pc-2`, `call bpf_map_lookup_elem#1` —
// so a listing can be compared line by line with a real verifier log (`0: (b7) r0 = 2`).
//
// Beyond the kernel's text, a listing can show each instruction's bytes, its teaching comment, label lines
// and label names after jump targets; each of these is an option, and the kernel's text is never altered.

import { helperName } from './helpers.js';
import {
  AsmError,
  BPF_ABS, BPF_ADD, BPF_ADDR_SPACE_CAST, BPF_ALU, BPF_ALU64, BPF_AND, BPF_ARSH, BPF_ATOMIC, BPF_B, BPF_CALL,
  BPF_CLASS, BPF_CMPXCHG, BPF_DIV, BPF_DW, BPF_END, BPF_EXIT, BPF_FETCH, BPF_H, BPF_IMM, BPF_IND, BPF_JA,
  BPF_JCOND, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JLE, BPF_JLT, BPF_JMP, BPF_JMP32, BPF_JNE, BPF_JSET, BPF_JSGE,
  BPF_JSGT, BPF_JSLE, BPF_JSLT, BPF_LD, BPF_LDX, BPF_LOAD_ACQ, BPF_LSH, BPF_MAY_GOTO, BPF_MEM, BPF_MEMSX,
  BPF_MOD, BPF_MODE, BPF_MOV, BPF_MUL, BPF_NEG, BPF_OP, BPF_OR, BPF_PSEUDO_BTF_ID, BPF_PSEUDO_CALL,
  BPF_PSEUDO_FUNC, BPF_PSEUDO_KFUNC_CALL, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_IDX, BPF_PSEUDO_MAP_IDX_VALUE,
  BPF_PSEUDO_MAP_VALUE, BPF_RSH, BPF_SIZE, BPF_SRC, BPF_ST, BPF_STORE_REL, BPF_STX, BPF_SUB, BPF_TO_BE, BPF_W,
  BPF_X, BPF_XCHG, BPF_XOR, INSN_SIZE, Instruction, decode, encode, imm32, imm64, isLdImm64, slotsOf,
  type AnnotatedInsn, type Insn,
} from './insn.js';

// ---------------------------------------------------------------------------------------------------------
// The kernel's strings (disasm.c). A missing entry prints as "(null)", as the kernel's printf does.
// ---------------------------------------------------------------------------------------------------------

const CLASS_STRING = ['ld', 'ldx', 'st', 'stx', 'alu', 'jmp', 'jmp32', 'alu64'];

const ALU_STRING = new Map([
  [BPF_ADD, '+='], [BPF_SUB, '-='], [BPF_MUL, '*='], [BPF_DIV, '/='], [BPF_OR, '|='], [BPF_AND, '&='],
  [BPF_LSH, '<<='], [BPF_RSH, '>>='], [BPF_NEG, 'neg'], [BPF_MOD, '%='], [BPF_XOR, '^='], [BPF_MOV, '='],
  [BPF_ARSH, 's>>='], [BPF_END, 'endian'],
]);
/** Signed division and modulo (cpu v4): BPF_DIV/BPF_MOD with off = 1. */
const ALU_SIGNED_STRING = new Map([[BPF_DIV, 's/='], [BPF_MOD, 's%=']]);
/** Sign-extending move (cpu v4): BPF_MOV | BPF_X with off = 8, 16 or 32. */
const MOVSX_STRING = new Map([[8, '(s8)'], [16, '(s16)'], [32, '(s32)']]);
const ATOMIC_ALU_STRING = new Map([[BPF_ADD, 'add'], [BPF_AND, 'and'], [BPF_OR, 'or'], [BPF_XOR, 'xor']]);
const LDST_STRING = new Map([[BPF_W, 'u32'], [BPF_H, 'u16'], [BPF_B, 'u8'], [BPF_DW, 'u64']]);
const LDSX_STRING = new Map([[BPF_W, 's32'], [BPF_H, 's16'], [BPF_B, 's8']]);
const JMP_STRING = new Map([
  [BPF_JA, 'jmp'], [BPF_JEQ, '=='], [BPF_JGT, '>'], [BPF_JLT, '<'], [BPF_JGE, '>='], [BPF_JLE, '<='],
  [BPF_JSET, '&'], [BPF_JNE, '!='], [BPF_JSGT, 's>'], [BPF_JSLT, 's<'], [BPF_JSGE, 's>='], [BPF_JSLE, 's<='],
  [BPF_CALL, 'call'], [BPF_EXIT, 'exit'],
]);
/** ld_imm64 sources whose value is a kernel pointer once loaded (the kernel hides it without CAP_PERFMON). */
const POINTER_SOURCES = new Set([
  BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE, BPF_PSEUDO_MAP_IDX, BPF_PSEUDO_MAP_IDX_VALUE, BPF_PSEUDO_BTF_ID,
]);

const str = (table: ReadonlyMap<number, string>, key: number): string => table.get(key) ?? '(null)';
/** printf's %02x */
const hex2 = (n: number): string => n.toString(16).padStart(2, '0');
/** printf's %+d */
const signed = (n: number): string => (n >= 0 ? `+${n}` : `${n}`);

// ---------------------------------------------------------------------------------------------------------
// One instruction
// ---------------------------------------------------------------------------------------------------------

export interface FormatOptions {
  /**
   * How an ld_imm64 of a map shows: 'raw' prints the number as the kernel does (`r1 = 0x5`; in a verifier
   * log the kernel shows the map's address there, having swapped the fd for it), 'symbolic' names it like
   * bpftool does (`r1 = map[fd:5]`, `r1 = map[fd:5][0]+8`). Default 'raw'.
   */
  pseudo?: 'raw' | 'symbolic';
}

/**
 * Exactly what the kernel's print_bpf_insn prints for one instruction: `(b7) r0 = 2`, or a `BUG_…` line
 * for an opcode it has no text for. The verifier log prefixes it with the slot index: see verifierLine().
 */
export function printInsn(insn: Insn, opts: FormatOptions = {}): string {
  const { code, dst, src, off } = insn;
  const cls = BPF_CLASS(code);
  const op = BPF_OP(code);
  const imm = imm32(insn);
  const c = `(${hex2(code)})`;
  const size = str(LDST_STRING, BPF_SIZE(code));

  if (cls === BPF_ALU || cls === BPF_ALU64) {
    const r = cls === BPF_ALU ? 'w' : 'r';
    if (op === BPF_END) {
      if (cls === BPF_ALU64) return `${c} r${dst} = bswap${imm} r${dst}`;
      return `${c} r${dst} = ${BPF_SRC(code) === BPF_TO_BE ? 'be' : 'le'}${imm} r${dst}`;
    }
    if (op === BPF_NEG) return `${c} ${r}${dst} = -${r}${dst}`;
    if (code === (BPF_ALU64 | BPF_MOV | BPF_X) && off === BPF_ADDR_SPACE_CAST) {
      return `${c} r${dst} = addr_space_cast(r${src}, ${imm >>> 16}, ${imm & 0xffff})`;
    }
    if (code === (BPF_ALU64 | BPF_MOV | BPF_X) && off === -1) {
      return `${c} r${dst} = &(void __percpu *)(r${src})`; // the kernel's own rewrite, seen in xlated dumps
    }
    const opText = (op === BPF_DIV || op === BPF_MOD) && off === 1 ? str(ALU_SIGNED_STRING, op) : str(ALU_STRING, op);
    if (BPF_SRC(code) === BPF_X) {
      const sx = op === BPF_MOV ? (MOVSX_STRING.get(off) ?? '') : '';
      return `${c} ${r}${dst} ${opText} ${sx}${r}${src}`;
    }
    return `${c} ${r}${dst} ${opText} ${imm}`;
  }

  if (cls === BPF_STX) {
    const mem = `(${size} *)(r${dst} ${signed(off)})`;
    const w = BPF_SIZE(code) === BPF_DW ? '64' : '';
    if (BPF_MODE(code) === BPF_MEM) return `${c} *${mem} = r${src}`;
    if (BPF_MODE(code) === BPF_ATOMIC) {
      if (ATOMIC_ALU_STRING.has(imm)) return `${c} lock *${mem} ${str(ALU_STRING, imm)} r${src}`;
      if (imm & BPF_FETCH && ATOMIC_ALU_STRING.has(imm & ~BPF_FETCH)) {
        return `${c} r${src} = atomic${w}_fetch_${str(ATOMIC_ALU_STRING, imm & ~BPF_FETCH)}(${mem}, r${src})`;
      }
      if (imm === BPF_CMPXCHG) return `${c} r0 = atomic${w}_cmpxchg(${mem}, r0, r${src})`;
      if (imm === BPF_XCHG) return `${c} r${src} = atomic${w}_xchg(${mem}, r${src})`;
      if (imm === BPF_LOAD_ACQ) return `${c} r${dst} = load_acquire((${size} *)(r${src} ${signed(off)}))`;
      if (imm === BPF_STORE_REL) return `${c} store_release(${mem}, r${src})`;
    }
    return `BUG_${hex2(code)}`;
  }

  if (cls === BPF_ST) {
    if (BPF_MODE(code) === BPF_MEM) return `${c} *(${size} *)(r${dst} ${signed(off)}) = ${imm}`;
    if (BPF_MODE(code) === 0xc0) return `${c} nospec`; // BPF_NOSPEC: the kernel's own, not in the UAPI
    return `BUG_st_${hex2(code)}`;
  }

  if (cls === BPF_LDX) {
    const mode = BPF_MODE(code);
    if (mode !== BPF_MEM && mode !== BPF_MEMSX) return `BUG_ldx_${hex2(code)}`;
    const type = mode === BPF_MEM ? size : str(LDSX_STRING, BPF_SIZE(code));
    return `${c} r${dst} = *(${type} *)(r${src} ${signed(off)})`;
  }

  if (cls === BPF_LD) {
    const mode = BPF_MODE(code);
    if (mode === BPF_ABS) return `${c} r0 = *(${size} *)skb[${imm}]`;
    if (mode === BPF_IND) return `${c} r0 = *(${size} *)skb[r${src} + ${imm}]`;
    if (mode === BPF_IMM && BPF_SIZE(code) === BPF_DW) return `${c} r${dst} = ${ldImm64Value(insn, opts)}`;
    return `BUG_ld_${hex2(code)}`;
  }

  if (cls === BPF_JMP || cls === BPF_JMP32) {
    if (op === BPF_CALL) {
      if (src === BPF_PSEUDO_CALL) return `${c} call pc${signed(imm)}`;
      return `${c} call ${callName(insn)}#${imm}`;
    }
    if (code === (BPF_JMP | BPF_JA)) return `${c} goto pc${signed(off)}`;
    if (code === (BPF_JMP | BPF_JA | BPF_X)) return `${c} gotox r${dst}`;
    if (code === (BPF_JMP | BPF_JCOND) && src === BPF_MAY_GOTO) return `${c} may_goto pc${signed(off)}`;
    if (code === (BPF_JMP32 | BPF_JA)) return `${c} gotol pc${signed(imm)}`;
    if (code === (BPF_JMP | BPF_EXIT)) return `${c} exit`;
    const r = cls === BPF_JMP32 ? 'w' : 'r';
    const rhs = BPF_SRC(code) === BPF_X ? `${r}${src}` : `0x${(imm >>> 0).toString(16)}`;
    return `${c} if ${r}${dst} ${str(JMP_STRING, op)} ${rhs} goto pc${signed(off)}`;
  }

  return `${c} ${CLASS_STRING[cls]}`; // unreachable: the eight classes are all handled above
}

function ldImm64Value(insn: Insn, opts: FormatOptions): string {
  const value = imm64(insn);
  if (opts.pseudo === 'symbolic') {
    const low = Number(value & 0xffffffffn);
    const high = Number(value >> 32n);
    if (insn.src === BPF_PSEUDO_MAP_FD) return `map[fd:${low}]`;
    if (insn.src === BPF_PSEUDO_MAP_VALUE) return `map[fd:${low}][0]+${high}`;
    if (insn.src === BPF_PSEUDO_FUNC) return `subprog[${signed(imm32(insn))}]`;
  }
  return `0x${value.toString(16)}`;
}

function callName(insn: Insn): string {
  const imm = imm32(insn);
  const name = insn.src === 0 ? helperName(imm) : undefined;
  if (name !== undefined) return `bpf_${name}`;
  // The verifier prints a kfunc's BTF name here; without BTF the kernel's own fallback is this.
  return insn.src === BPF_PSEUDO_KFUNC_CALL ? 'kernel-function' : 'unknown';
}

/** The kernel's text without the opcode: `r0 = 2`. */
export function formatInsn(insn: Insn, opts: FormatOptions = {}): string {
  return printInsn(insn, opts).replace(/^\([0-9a-f]{2}\) /, '');
}

/** One instruction as a verifier log line shows it: `0: (b7) r0 = 2`. `slot` counts ld_imm64 as two. */
export function verifierLine(insn: Insn, slot: number, opts: FormatOptions = {}): string {
  return `${slot}: ${printInsn(insn, opts)}`;
}

/**
 * The slot a jump, `goto`, `may_goto`, `gotol` or bpf-to-bpf call at `slot` goes to, or undefined for
 * any other instruction. Offsets count from the next slot: `goto pc+0` is a no-op.
 */
export function jumpTarget(insn: Insn, slot: number): number | undefined {
  const cls = BPF_CLASS(insn.code);
  if (cls !== BPF_JMP && cls !== BPF_JMP32) return undefined;
  const op = BPF_OP(insn.code);
  if (op === BPF_EXIT) return undefined;
  if (op === BPF_CALL) return insn.src === BPF_PSEUDO_CALL ? slot + 1 + imm32(insn) : undefined;
  if (insn.code === (BPF_JMP32 | BPF_JA)) return slot + 1 + imm32(insn);
  if (insn.code === (BPF_JMP | BPF_JA | BPF_X)) return undefined; // goes where a register says
  return slot + 1 + insn.off;
}

// ---------------------------------------------------------------------------------------------------------
// Listings
// ---------------------------------------------------------------------------------------------------------

/** A program to disassemble: its bytes, its instructions, or an assembled program. */
export type DisasmInput = Uint8Array | readonly AnnotatedInsn[] | { readonly insns: readonly AnnotatedInsn[] };

export interface DisasmOptions extends FormatOptions {
  /** 'verifier' (default): `0: (b7) r0 = 2`, as in a verifier log; 'plain': `r0 = 2`. */
  style?: 'verifier' | 'plain';
  /** Show each instruction's bytes after its index (an ld_imm64's second half on a line of its own). Default false. */
  bytes?: boolean;
  /** Show teaching comments after `;`. Default true. */
  comments?: boolean;
  /** Show `name:` lines before labelled instructions and ` <name>` after jumps to them. Default true. */
  labels?: boolean;
}

/** One disassembled instruction, for a notebook to lay out as it likes. */
export interface DisasmLine {
  /** Slot index, as the verifier log numbers instructions (an ld_imm64 takes two). */
  slot: number;
  insn: AnnotatedInsn;
  /** The kernel's text: `r0 = 2`. */
  text: string;
  /** The verifier log's line: `0: (b7) r0 = 2`. */
  verifierLine: string;
  /** The bytes in hex, 8 per slot: `b7 00 00 00 02 00 00 00`. */
  bytes: string[];
  /** The label of the slot this instruction jumps to, when it has one. */
  targetLabel?: string;
}

function toInsns(input: DisasmInput): readonly AnnotatedInsn[] {
  if (input instanceof Uint8Array) return decode(input);
  const insns = 'insns' in input ? input.insns : input;
  insns.forEach((insn, i) => {
    if (insn instanceof Instruction && insn.pending) {
      throw new AsmError(`disassemble program: instruction ${i} ${insn.pending} (assemble() the program first)`);
    }
  });
  return insns;
}

const hexBytes = (buf: Buffer): string[] => [...buf].map(hex2);

/** The program's instructions with their kernel text, verifier line, bytes and jump-target labels. */
export function disasmLines(input: DisasmInput, opts: FormatOptions = {}): DisasmLine[] {
  const insns = toInsns(input);
  const labelAt = new Map<number, string>();
  let slot = 0;
  for (const insn of insns) {
    if (insn.labelName !== undefined) labelAt.set(slot, insn.labelName);
    slot += slotsOf(insn);
  }
  slot = 0;
  return insns.map((insn) => {
    const bytes = hexBytes(encode([insn]));
    const target = jumpTarget(insn, slot);
    const line: DisasmLine = {
      slot,
      insn,
      text: formatInsn(insn, opts),
      verifierLine: verifierLine(insn, slot, opts),
      bytes: [bytes.slice(0, INSN_SIZE).join(' '), ...(isLdImm64(insn) ? [bytes.slice(INSN_SIZE).join(' ')] : [])],
    };
    const targetLabel = target === undefined ? undefined : labelAt.get(target);
    if (targetLabel !== undefined) line.targetLabel = targetLabel;
    slot += slotsOf(insn);
    return line;
  });
}

/** Comments start after the widest instruction, but no further right than this (plus the bytes column). */
const COMMENT_COLUMN_MAX = 48;

/**
 * A listing of the program, one instruction per line. With `{ labels: false, comments: false }` and the
 * other options at their defaults, each line is exactly the verifier log's line for that instruction.
 *
 *   0: (b7) r0 = 0                ; return 0 unless found
 *   ...
 *   out:
 *   12: (95) exit
 */
export function disasm(input: DisasmInput, opts: DisasmOptions = {}): string {
  const { style = 'verifier', bytes = false, comments = true, labels = true } = opts;
  const lines = disasmLines(input, opts);
  // With bytes shown the listing is for reading, not for comparing: align the index so the bytes line up.
  const indexWidth = bytes ? String(lines.at(-1)?.slot ?? 0).length : 0;
  const rows = lines.map((l) => {
    const prefix = style === 'verifier' ? `${String(l.slot).padStart(indexWidth)}: ` : '';
    const body = (style === 'verifier' ? printInsn(l.insn, opts) : l.text) + (labels && l.targetLabel ? ` <${l.targetLabel}>` : '');
    const main = bytes ? `${prefix}${l.bytes[0]}  ${body}` : `${prefix}${body}`;
    const extra = bytes && l.bytes[1] ? [' '.repeat(prefix.length) + l.bytes[1]] : [];
    return { l, main, extra };
  });
  const cap = COMMENT_COLUMN_MAX + (bytes ? 2 + 3 * INSN_SIZE : 0);
  const width = Math.min(cap, Math.max(0, ...rows.map((r) => r.main.length)));
  const out: string[] = [];
  for (const { l, main, extra } of rows) {
    if (labels && l.insn.labelName !== undefined) out.push(`${l.insn.labelName}:`);
    out.push(comments && l.insn.commentText ? `${main.padEnd(width)}  ; ${l.insn.commentText}` : main);
    out.push(...extra);
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// Comparing with a real verifier log
// ---------------------------------------------------------------------------------------------------------

/** One instruction line of a verifier log. */
export interface VerifierLogInsn {
  slot: number;
  /** The opcode in the `(b7)` column, or undefined on a `BUG_…` line. */
  code?: number;
  /** What print_bpf_insn printed: `(b7) r0 = 2`, without the register state a log level 2 appends. */
  printed: string;
}

/**
 * The instruction lines of a verifier log (`0: (b7) r0 = 2`), one per slot in slot order. The verifier
 * prints an instruction each time a path reaches it, always with the same text; register states
 * (`0: R1=ctx() R10=fp0`, or `; R0_w=2` after the instruction), `from 3 to 5:` lines, source lines and
 * the summary are skipped. Newer kernels (6.13+) also list every instruction under "Live regs before
 * insn:" (`      0: .1........ (bf) r6 = r1`); those lines fill in slots no path reached.
 */
export function parseVerifierLog(log: string): VerifierLogInsn[] {
  const reached = new Map<number, VerifierLogInsn>();
  const listed = new Map<number, VerifierLogInsn>();
  for (const line of log.split('\n')) {
    const m =
      /^(\d+): (\(([0-9a-f]{2})\) [^;]*?|BUG_\w+)\s*(?:;.*)?$/.exec(line) ??
      /^ +(\d+): [.0-9]+ (\(([0-9a-f]{2})\) .*?|BUG_\w+)\s*$/.exec(line);
    if (!m) continue;
    const into = line.startsWith(' ') ? listed : reached;
    const slot = Number(m[1]);
    if (into.has(slot)) continue;
    const entry: VerifierLogInsn = { slot, printed: m[2] };
    if (m[3] !== undefined) entry.code = parseInt(m[3], 16);
    into.set(slot, entry);
  }
  for (const [slot, entry] of listed) if (!reached.has(slot)) reached.set(slot, entry);
  return [...reached.values()].sort((a, b) => a.slot - b.slot);
}

/** One instruction of a program beside the verifier log's line for it. */
export interface LogComparison {
  slot: number;
  /** Our text, as print_bpf_insn prints it: `(b7) r0 = 2`. */
  ours: string;
  /** The log's text for this slot, or undefined when the verifier did not reach it (or the log was cut). */
  kernel?: string;
  /**
   * True when they agree. An ld_imm64 of a map agrees with any `rN = 0x…` of the same register: the
   * kernel has replaced the fd by the map's address before it prints.
   */
  same: boolean;
}

/** Our disassembly beside the verifier's, slot by slot: the check that the two texts match. */
export function compareWithVerifierLog(input: DisasmInput, log: string): LogComparison[] {
  const kernel = new Map(parseVerifierLog(log).map((e) => [e.slot, e.printed]));
  let slot = 0;
  return toInsns(input).map((insn) => {
    const ours = printInsn(insn);
    const theirs = kernel.get(slot);
    const pointer = isLdImm64(insn) && POINTER_SOURCES.has(insn.src);
    const same =
      theirs !== undefined &&
      (pointer ? new RegExp(`^\\(18\\) r${insn.dst} = 0x[0-9a-f]+$`).test(theirs) : theirs === ours);
    const row: LogComparison = { slot, ours, same };
    if (theirs !== undefined) row.kernel = theirs;
    slot += slotsOf(insn);
    return row;
  });
}
