// Lab 2, on the host: the run's settings (how many execs, from the seed), the student's code bundled into
// the kit, and the judge and checks: the verifier accepts the program, the total counts, the count per
// process is exact — for the processes the README describes, and (hidden) for ones no visible case has:
// a process that execs many more times, a thread's exec, short-lived children.

import { createHash } from 'node:crypto';
import path from 'node:path';
import { fromTally, tally, type Tally } from '../../harness/grade/tally.js';
import { defineLab, StudentFailure, withHidden, type HiddenPart, type Lab } from '../../harness/grade/lab.js';
import { bundleStudent } from '../../harness/grade/ts-student.js';
import { projectRoot } from '../../harness/engine/paths.js';
import { PROGRAM_LINE, type CounterEvidence, type CounterSettings } from './shared.js';

export interface Report {
  rejected?: { words: string; at: string };
  /** The instructions loaded, hex. */
  insns?: string;
  total?: Tally;
  perProcess?: Tally;
  varied?: Tally;
  quiet?: Tally;
  /** Why the checks past loading could not run. */
  notRun?: string;
}

/** How many execs a run makes, from its seed: always more than any visible case in one process. */
export function counterSettings(seed: string): CounterSettings {
  const h = createHash('sha256').update(seed).digest();
  return { workload: { singles: 3 + (h[0]! % 4), many: 9 + (h[1]! % 8), stormChildren: 4 + (h[2]! % 5) } };
}

/** The student's counterProgram(), called in the jail; its instructions printed as plain fields. */
const ENTRY = `import { counterProgram } from STUDENT;
const list = counterProgram().flat();
process.stdout.write(${JSON.stringify(PROGRAM_LINE)} + JSON.stringify(list, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\\n');
`;

const procName = (kind: string, execs: number) =>
  ({ single: 'a process that exec\'d once', 'chain-4': 'the process that exec\'d 4 times', 'chain-many': `a process that exec'd ${execs} times`, thread: 'a process whose second thread exec\'d (2 execs)', 'storm-launcher': 'a process that forked children', 'storm-child': 'a short-lived child that exec\'d once, from a thread' })[kind] ?? kind;

export function judge(e: Partial<CounterEvidence>, cutShort?: string): Report {
  if (!e.program) throw new StudentFailure(cutShort ?? 'the program was not run');
  if (e.program.error) throw new StudentFailure(e.program.error, e.program.detail ?? []);
  if (e.program.foreignHelpers) throw new StudentFailure(`the program calls helper ${e.program.foreignHelpers.join(', ')}, which this lab does not allow (a counter needs map_lookup_elem, map_update_elem and get_current_pid_tgid): not loaded`);
  const insns = e.program.insns;
  if (!e.load) throw new StudentFailure(cutShort ?? 'the program was not loaded');
  if (e.load.rejected) return { rejected: e.load.rejected, ...(insns ? { insns } : {}) };
  if (!e.counts) return { ...(insns ? { insns } : {}), notRun: cutShort ?? 'the execs did not run' };
  const c = e.counts;
  const made = c.procs.reduce((n, p) => n + p.execs, 0);
  const visible = c.procs.filter((p) => p.kind === 'single' || p.kind === 'chain-4');
  const varied = c.procs.filter((p) => p.kind !== 'single' && p.kind !== 'chain-4');
  const exact = (p: (typeof c.procs)[number]) => ({ name: procName(p.kind, p.execs), ok: p.counted === p.execs, detail: `counted ${p.counted} of its ${p.execs}` });
  // one subcase per kind of process, however many of it this run made: the same submission scores the same
  const kinds = (list: typeof c.procs) =>
    [...new Set(list.map((p) => p.kind))].map((kind) => {
      const of = list.filter((p) => p.kind === kind || (kind === 'storm-child' && p.kind === 'storm-launcher'));
      const wrong = of.find((p) => p.counted !== p.execs);
      return { name: of.length > 1 ? `${procName(kind, of[0]!.execs)} (${of.length} of them)` : procName(kind, of[0]!.execs), ok: !wrong, ...(wrong ? { detail: exact(wrong).detail } : {}) };
    });
  return {
    ...(insns ? { insns } : {}),
    total: tally([
      { name: `the total grew by at least the ${made} execs made`, ok: c.totalDelta >= made, detail: `it grew by ${c.totalDelta}` },
      { name: 'the total counts execs, not more', ok: c.totalDelta <= made + 50, detail: `it grew by ${c.totalDelta} for ${made} execs` },
    ]),
    perProcess: tally(visible.map(exact)),
    varied: tally(kinds(varied.filter((p) => p.kind !== 'storm-launcher'))),
    quiet: tally([{ name: 'no entry for the grader, which did not exec while counting', ok: c.agent === 0, detail: 'it has one' }]),
  };
}

/** Checks past loading need the program loaded: say why they could not run. */
export const needsLoad = (r: Report, then: () => { score: number; feedback: string }) =>
  r.rejected ? { score: 0, feedback: 'not run: the verifier rejected the program' } : r.notRun ? { score: 0, feedback: `not run: ${r.notRun}` } : then();

/** The lab and its visible checks; the grader adds the hidden ones (hidden.ts). */
export const makeLab = (hidden?: HiddenPart<Report>): Lab<Report, CounterEvidence, CounterSettings> => (hidden ? withHidden(visible, hidden) : visible);

const visible: Lab<Report, CounterEvidence, CounterSettings> = defineLab<Report, CounterEvidence, CounterSettings>({
  id: '2-counter',
  title: 'The counter in raw instructions',
  files: ['counter.ts'],
  version: 2,
  timeLimitS: 150,
  commandTimeoutS: 45,
  memoryMb: 768,
  program: (r) => r.insns,
  collector: path.join(projectRoot, 'labs', '2-counter', 'collect.ts'),
  evidence: ['program', 'load', 'counts'],
  settings: counterSettings,
  prepare: (submission, kit) => bundleStudent(ENTRY, path.join(submission, 'counter.ts'), path.join(kit, 'student.mjs')),
  judge: (e, ctx) => judge(e, ctx.cutShort),
  checks: [
    {
      id: 'loads',
      name: 'the verifier accepts the program',
      points: 2,
      grade: (r) => (r.rejected ? { score: 0, feedback: `the verifier rejected it: "${r.rejected.words}" at ${r.rejected.at}` } : { score: 2, feedback: 'loaded' }),
    },
    { id: 'total', name: 'the array map `total` counts every execve', points: 2, grade: (r) => needsLoad(r, () => fromTally(r.total, 2, 'the total counts every exec')) },
    { id: 'per-process', name: 'the hash map `per_pid` counts execve per process (processes that exec once, one that execs 4 times)', points: 3, grade: (r) => needsLoad(r, () => fromTally(r.perProcess, 3, 'every process counted exactly')) },
  ],
});
