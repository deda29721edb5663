// Lab 6's hidden check: only the grader imports this module (labs/index.ts); a handout never holds it.

import { fromView, type TracerHiddenPart } from '../../harness/grade/tracer-lab.js';

export const hidden: TracerHiddenPart = {
  // a failed exec from a thread, printed with its error (and, counted by no-leak, not left behind): the
  // workload runs it before the storm, so the storm's map count sees what it left
  cases: ['from-thread-failed'],
  views: { 'thread-failed': { cases: ['from-thread-failed'] } },
  checks: [{ id: 'thread-failed', name: 'a failed exec from a thread is printed with its error', points: 1, hidden: true, grade: fromView('thread-failed', 1, 'the failed thread exec seen') }],
};
