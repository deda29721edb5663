// Lab 2's hidden checks: only the grader imports this module (labs/index.ts); a handout never holds it.

import { fromTally } from '../../harness/grade/tally.js';
import type { HiddenPart } from '../../harness/grade/lab.js';
import { needsLoad, type Report } from './checks.js';

export const hidden: HiddenPart<Report> = {
  checks: [
    { id: 'varied', name: 'per process, whatever the process: many execs, a thread\'s, short-lived children', points: 2, hidden: true, grade: (r) => needsLoad(r, () => fromTally(r.varied, 2, 'every process counted exactly')) },
    { id: 'quiet', name: 'no entry for a process that did not exec', points: 1, hidden: true, grade: (r) => needsLoad(r, () => fromTally(r.quiet, 1, 'no stray entry')) },
  ],
};
