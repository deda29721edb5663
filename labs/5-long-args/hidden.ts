// Lab 5's hidden check: only the grader imports this module (labs/index.ts); a handout never holds it.

import { fromView, type TracerHiddenPart } from '../../harness/grade/tracer-lab.js';

export const hidden: TracerHiddenPart = {
  // 40 arguments of 300 bytes at once: a buffer sized for one long argument, or a few, falls short
  cases: ['many-long-args'],
  views: { 'many-long': { expect: { maxArgs: null, maxArgLen: null }, cases: ['many-long-args'] } },
  checks: [{ id: 'many-long', name: '40 arguments of 300 bytes, all shown whole', points: 1, hidden: true, grade: fromView('many-long', 1, 'all 40 arguments whole') }],
};
