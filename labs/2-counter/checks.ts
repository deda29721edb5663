// Lab 2's checks: the verifier accepts the program, the total counts, the count per process is exact.

import path from 'node:path';
import { defineLab, type Lab } from '../../harness/grade/lab.js';
import { fromTally, type Tally } from '../../harness/grade/driver-api.js';
import { runTsDriver } from '../../harness/grade/ts-driver.js';
import { projectRoot } from '../../harness/paths.js';

export interface Report {
  error?: string;
  rejected?: { words: string; at: string };
  loaded?: boolean;
  total?: Tally;
  perProcess?: Tally;
  /** The instructions loaded, hex. */
  insns?: string;
  quiet?: Tally;
}

/** Checks past loading need the program loaded: say why they could not run. */
const needsLoad = (r: Report, then: () => { score: number; feedback: string }) =>
  r.error ? { score: 0, feedback: r.error } : r.rejected ? { score: 0, feedback: 'not run: the verifier rejected the program' } : then();

export const lab: Lab<Report> = defineLab<Report>({
  id: '2-counter',
  title: 'The counter in raw instructions',
  files: ['counter.ts'],
  version: 1,
  timeLimitS: 150,
  commandTimeoutS: 45,
  memoryMb: 768,
  program: (r) => r.insns,
  run: (ctx) => runTsDriver(lab, ctx, path.join(projectRoot, 'labs', '2-counter', 'driver.ts'), 'counter.ts'),
  checks: [
    {
      id: 'loads',
      name: 'the verifier accepts the program',
      points: 2,
      grade: (r) =>
        r.error
          ? { score: 0, feedback: r.error }
          : r.rejected
            ? { score: 0, feedback: `the verifier rejected it: "${r.rejected.words}" at ${r.rejected.at}` }
            : { score: 2, feedback: 'loaded' },
    },
    { id: 'total', name: 'the array map `total` counts every execve', points: 2, grade: (r) => needsLoad(r, () => fromTally(r.total, 2, 'the total counts every exec')) },
    { id: 'per-process', name: 'the hash map `per_pid` counts execve per process', points: 5, grade: (r) => needsLoad(r, () => fromTally(r.perProcess, 5, 'every process counted exactly')) },
    { id: 'quiet', name: 'no entry for a process that did not exec', points: 1, hidden: true, grade: (r) => needsLoad(r, () => fromTally(r.quiet, 1, 'no stray entry')) },
  ],
});
