// Lab 3's hidden check: only the grader imports this module (labs/index.ts); a handout never holds it.

import { fromView, type TracerHiddenPart } from '../../harness/grade/tracer-lab.js';

export const hidden: TracerHiddenPart = {
  cases: ['fork-from-thread'],
  views: { 'ppid-thread': { expect: { ppid: true, ret: false }, cases: ['fork-from-thread'] } },
  checks: [{ id: 'ppid-thread', name: 'the parent pid when the parent is a thread', points: 1, hidden: true, grade: fromView('ppid-thread', 1, 'the parent process, not its thread') }],
};
