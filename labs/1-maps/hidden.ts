// Lab 1's hidden checks: only the grader imports this module (labs/index.ts); a handout never holds it.

import { fromTally } from '../../harness/grade/tally.js';
import type { HiddenPart } from '../../harness/grade/lab.js';
import type { Report } from './checks.js';

export const hidden: HiddenPart<Report> = {
  checks: [{ id: 'churn', name: 'a walk over a map that lost half its keys', points: 1, hidden: true, grade: (r) => fromTally(r.churn, 1, 'the walk ends with the keys left') }],
};
