// The labs as a student's handout has them: every visible check, no hidden one (labs/N/hidden.ts is not
// imported here, so a bundle of this module cannot hold them). labs/index.ts is the grader's.

import type { Lab } from '../harness/grade/lab.js';
import { makeLab as maps } from './1-maps/checks.js';
import { makeLab as counter } from './2-counter/checks.js';
import { makeLab as bpftrace } from './3-bpftrace/checks.js';
import { makeLab as ppid } from './4-ppid/checks.js';
import { makeLab as longArgs } from './5-long-args/checks.js';
import { makeLab as findTheBug } from './6-find-the-bug/checks.js';

export const VISIBLE_LABS: Lab<any>[] = [maps(), counter(), bpftrace(), ppid(), longArgs(), findTheBug()];
