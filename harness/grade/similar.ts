// --similar: submissions whose loaded programs are the same, instruction for instruction, once what
// differs between runs and between copies is taken out: map fds (an ld_imm64's immediate) and constants
// (every immediate but a call's helper id). Registers, opcodes, offsets and jumps stay: that is the
// program's shape. The project's disassembler gives the listing compared and shown.

import { disasm } from '../../bpf/ts/disasm.js';

const CALL = 0x85;

/** The program's listing with immediates zeroed (helper ids kept). */
export function normalizedListing(program: Buffer): string {
  const b = Buffer.from(program);
  for (let at = 0; at + 8 <= b.length; at += 8) if (b[at] !== CALL) b.writeInt32LE(0, at + 4);
  return disasm(b, { comments: false, labels: false });
}

export interface SimilarGroup {
  students: string[];
  instructions: number;
}

/** Groups of two or more students whose normalized programs are identical, largest first. */
export function similarGroups(programs: { student: string; program?: string }[]): SimilarGroup[] {
  const by = new Map<string, string[]>();
  for (const p of programs) {
    if (!p.program) continue;
    const listing = normalizedListing(Buffer.from(p.program, 'hex'));
    by.set(listing, [...(by.get(listing) ?? []), p.student]);
  }
  return [...by.entries()]
    .filter(([, s]) => s.length > 1)
    .map(([listing, students]) => ({ students: students.sort(), instructions: listing.split('\n').length }))
    .sort((a, b) => b.students.length - a.students.length || a.students[0]!.localeCompare(b.students[0]!));
}
