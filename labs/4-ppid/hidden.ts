// Lab 4's hidden check: only the grader imports this module (labs/index.ts); a handout never holds it.

import { fromView, type TracerHiddenPart } from '../../harness/grade/tracer-lab.js';

export const hidden: TracerHiddenPart = {
  cases: ['fork-from-thread'],
  views: {
    // a parent that is itself a thread: its pid is a thread id, the parent pid is its process's (tgid)
    'ppid-thread': { expect: { ppid: true }, cases: ['fork-from-thread'] },
  },
  checks: [{ id: 'ppid-thread', name: 'the parent pid when the parent is a thread', points: 2, hidden: true, grade: fromView('ppid-thread', 2, 'the parent process, not its thread') }],
};
