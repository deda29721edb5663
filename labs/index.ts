// The labs the grader knows, by folder name; `./lab grade 1` finds 1-maps too.

import { UsageError } from '../lib/errors.js';
import type { Lab } from '../harness/grade/lab.js';
import { lab as maps } from './1-maps/checks.js';
import { lab as counter } from './2-counter/checks.js';
import { lab as bpftrace } from './3-bpftrace/checks.js';
import { lab as ppid } from './4-ppid/checks.js';
import { lab as longArgs } from './5-long-args/checks.js';
import { lab as findTheBug } from './6-find-the-bug/checks.js';

export const LABS: Lab<any>[] = [maps, counter, bpftrace, ppid, longArgs, findTheBug];

export function findLab(name: string): Lab<any> {
  const lab = LABS.find((l) => l.id === name || l.id.split('-')[0] === name);
  if (!lab) throw new UsageError(`grade: no lab "${name}" (labs: ${LABS.map((l) => l.id).join(', ')})`);
  return lab;
}
