// Lab 5's checks: the libbpf execsnoop with more and longer arguments. Built and run as lab 4's; the
// output is held to the caps the submission's execsnoop.h defines (MAX_ARGS, ARGSIZE): what fits is shown
// whole and unmarked, what does not is cut with "...". The workload's longest argv is 40 entries and its
// longest argument 300 bytes: both must now be shown whole.

import type { Lab } from '../../harness/grade/lab.js';
import { attaches, defineTracerLab, fromView, type TracerReport, type TracerHiddenPart } from '../../harness/grade/tracer-lab.js';
import { ARGSIZE, MAX_ARGS } from '../../harness/examples/execsnoop/parse.js';
import { libbpfConfig } from '../tracer.js';

/** The edges of the project's caps: at the new caps they fit, and must carry no mark. */
const EDGES = [`arg-${ARGSIZE - 1}-bytes`, `arg-${ARGSIZE}-bytes`, `${MAX_ARGS}-args`, `${MAX_ARGS + 1}-args`];

const config = libbpfConfig({
  cases: ['plain', 'three-args', 'many-args', 'long-arg', ...EDGES, 'untouched-argv'],
  capsFrom: 'execsnoop.h',
  views: {
    events: { cases: ['plain', 'three-args', 'untouched-argv'] },
    more: { expect: { maxArgs: null }, cases: ['many-args'] },
    longer: { expect: { maxArgLen: null }, cases: ['long-arg'] },
    marks: { cases: ['many-args', 'long-arg', ...EDGES] },
  },
});

/** The lab and its visible checks; the grader adds the hidden ones (hidden.ts). */
export const makeLab = (hidden?: TracerHiddenPart): Lab<TracerReport> => defineTracerLab(config, {
  id: '5-long-args',
  title: 'Long arguments: more of them, longer, and a mark where cut',
  files: ['execsnoop.bpf.c', 'execsnoop.c', 'execsnoop.h'],
  version: 2,
  timeLimitS: 240,
  commandTimeoutS: 150,
  memoryMb: 1024,
  checks: [
    { id: 'attaches', name: 'it builds, the verifier accepts it, it attaches', points: 1, grade: (r) => attaches(r, 1) },
    { id: 'events', name: 'execs are printed as before (an argument unreadable at enter, read again at exit)', points: 1, grade: fromView('events', 1, 'every exec seen, fields right') },
    { id: 'more', name: 'an argv of 40 entries is shown whole', points: 3, grade: fromView('more', 3, 'all 40 arguments shown') },
    { id: 'longer', name: 'an argument of 300 bytes is shown whole', points: 2, grade: fromView('longer', 2, 'the 300-byte argument shown whole') },
    { id: 'marks', name: 'at your caps (MAX_ARGS, ARGSIZE in execsnoop.h): what fits unmarked, what is cut marked "..."', points: 2, grade: fromView('marks', 2, 'every argument as your caps say, marks right') },
  ],
}, hidden);
