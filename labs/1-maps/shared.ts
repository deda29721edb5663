// Lab 1: what its collector (collect.ts, where the student's code runs) and its judge (checks.ts, on the
// host) agree on: the line protocol of the student's process, and the evidence.

/** The line the student's process answers on (anything else it prints is its own). */
export const RPC_LINE = 'LAB-RPC ';

/** One answer: a value (a number, a Buffer as { hex }, a list, an object) or what was thrown. */
export type Answer = { value: unknown } | { threw: string };

export type MapsGroup = 'create' | 'update' | 'lookup' | 'flags' | 'delete' | 'iterate' | 'churn';

/** One case: the student's answer (or what the kernel read after the student's call) and the kernel's. */
export interface MapsCase {
  group: MapsGroup;
  name: string;
  got: Answer;
  want: Answer;
}

export interface MapsEvidence {
  cases: { cases: MapsCase[]; stderr?: string[] };
}
