// Lab 4's checks: the student's libbpf execsnoop (kernel side, user side, the shared header) is built in
// the grading VM as bpf/Makefile builds ours, runs against the exec workload, and its output is graded as
// our libbpf execsnoop's is (examples/execsnoop): once without the parent pid, once with it.

import type { HiddenPart, Lab } from '../../harness/grade/lab.js';
import { attaches, defineTracerLab, fromView, type TracerReport } from '../../harness/grade/tracer-lab.js';
import { libbpfConfig } from '../tracer.js';

const config = libbpfConfig({
  // no exec from a thread: the course's execsnoop misses those (lab 6)
  cases: ['plain', 'three-args', 'failed-enoent', 'shebang'],
  views: {
    events: { expect: { ppid: false }, cases: ['plain', 'three-args', 'failed-enoent', 'shebang'] },
    ppid: { expect: { ppid: true }, cases: ['plain', 'three-args', 'failed-enoent', 'shebang'] },
  },
});

/** The lab and its visible checks; the grader adds the hidden ones (hidden.ts). */
export const makeLab = (hidden?: HiddenPart<TracerReport>): Lab<TracerReport> => defineTracerLab(config, {
  id: '4-ppid',
  title: 'libbpf: the parent pid, kernel side and user side',
  files: ['execsnoop.bpf.c', 'execsnoop.c', 'execsnoop.h'],
  version: 2,
  timeLimitS: 240,
  commandTimeoutS: 150,
  memoryMb: 1024,
  checks: [
    { id: 'attaches', name: 'it builds, the verifier accepts it, it attaches', points: 1, grade: (r) => attaches(r, 1) },
    { id: 'events', name: 'every exec is printed: pid, comm, return value, arguments', points: 3, grade: fromView('events', 3, 'every exec seen, fields right') },
    { id: 'ppid', name: 'the PPID column holds the parent pid', points: 4, grade: fromView('ppid', 4, 'the parent pid of every exec') },
  ],
}, hidden);
