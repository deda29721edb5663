// Lab 6's checks: the course's libbpf execsnoop, fixed. Built and run as lab 4's; the workload's thread
// execs and its storm of 600 of them (harness/examples/exec-workload.ts, exec_helper) must all be printed, and after the
// storm the `execs` map, counted with bpftool while the tracer still runs, must hold nothing.

import type { Lab } from '../../harness/grade/lab.js';
import { attaches, defineTracerLab, fromView, type TracerReport, type TracerHiddenPart } from '../../harness/grade/tracer-lab.js';
import { libbpfConfig } from '../tracer.js';

const config = libbpfConfig({
  cases: ['plain', 'three-args', 'failed-enoent', 'from-thread', 'thread-storm', 'after-storm'],
  views: {
    events: { cases: ['plain', 'three-args', 'failed-enoent'] },
    thread: { cases: ['from-thread'] },
    storm: { cases: ['thread-storm', 'after-storm'] },
  },
  countMap: 'execs',
});

/** The lab and its visible checks; the grader adds the hidden ones (hidden.ts). */
export const makeLab = (hidden?: TracerHiddenPart): Lab<TracerReport> => defineTracerLab(config, {
  id: '6-find-the-bug',
  title: 'Find the bug: execs from threads, and a map that fills up',
  files: ['execsnoop.bpf.c', 'execsnoop.c', 'execsnoop.h'],
  version: 2,
  timeLimitS: 300,
  commandTimeoutS: 200,
  memoryMb: 1024,
  checks: [
    { id: 'attaches', name: 'it builds, the verifier accepts it, it attaches', points: 1, grade: (r) => attaches(r, 1) },
    { id: 'events', name: 'execs from main threads are printed as before', points: 2, grade: fromView('events', 2, 'every exec seen, fields right') },
    { id: 'thread', name: 'an exec from a non-main thread is printed, with the process id', points: 3, grade: fromView('thread', 3, 'the thread exec seen') },
    { id: 'storm', name: 'every exec of a 600-exec storm from threads is printed, and one after it', points: 2, grade: fromView('storm', 2, 'every exec of the storm seen') },
    {
      id: 'no-leak',
      name: 'the map `execs` holds no entry once the execs are over',
      points: 1,
      grade: (r) =>
        r.rejected
          ? { score: 0, feedback: 'not run: the verifier rejected the program' }
          : r.leftInMap === 0
            ? { score: 1, feedback: 'empty after the storm' }
            : r.leftInMap === undefined || r.leftInMap < 0
              ? { score: 0, feedback: 'no map named execs found while the tracer ran (keep its name)' }
              : { score: 0, feedback: `${r.leftInMap} entries left in execs after the workload: each is an exec whose exit never found it` },
    },
  ],
}, hidden);
