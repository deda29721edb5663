// A rejected program, explained: the verifier's words next to the instruction they point at. The verifier
// prints each instruction as it walks it (`3: (85) call unknown#9999`) and stops at the first one it
// refuses, so the instruction it points at is the last one it printed; a complaint about the program's
// shape (no exit at the end, a jump out of range) comes before any walk and points at no instruction.

import { disasmLines, parseVerifierLog, type DisasmInput } from './disasm.js';
import { VerifierError } from './errors.js';

export interface Rejection {
  /** The verifier's complaint (the last log line before its statistics). */
  words: string;
  /** The slot it points at, or undefined for a complaint about the whole program. */
  slot: number | undefined;
  /** The program's listing with the complaint written beside the instruction it points at. */
  listing: string;
  log: string;
}

export function explainRejection(program: DisasmInput, err: unknown): Rejection {
  if (!(err instanceof VerifierError)) throw err;
  const words = err.reason ?? '(no reason in the log)';
  const walked = parseVerifierLog(err.log);
  const slot = walked.length > 0 ? walked[walked.length - 1]!.slot : undefined;
  const lines = disasmLines(program);
  const width = Math.max(...lines.map((l) => l.verifierLine.length));
  const listing = lines
    .map((l) => (l.slot === slot ? `${l.verifierLine.padEnd(width)}   <-- verifier: ${words}` : l.verifierLine))
    .join('\n');
  return { words, slot, listing: slot === undefined ? `${listing}\n(the whole program) <-- verifier: ${words}` : listing, log: err.log };
}
