// The labs the grader knows, by folder name, each with its hidden checks; `./lab grade 1` finds 1-maps
// too. A handout bundles labs/visible.ts instead: the same labs without what hidden.ts holds.

import { labNamed, type Lab } from '../harness/grade/lab.js';
import { makeLab as maps } from './1-maps/checks.js';
import { hidden as mapsHidden } from './1-maps/hidden.js';
import { makeLab as counter } from './2-counter/checks.js';
import { hidden as counterHidden } from './2-counter/hidden.js';
import { makeLab as bpftrace } from './3-bpftrace/checks.js';
import { hidden as bpftraceHidden } from './3-bpftrace/hidden.js';
import { makeLab as ppid } from './4-ppid/checks.js';
import { hidden as ppidHidden } from './4-ppid/hidden.js';
import { makeLab as longArgs } from './5-long-args/checks.js';
import { hidden as longArgsHidden } from './5-long-args/hidden.js';
import { makeLab as findTheBug } from './6-find-the-bug/checks.js';
import { hidden as findTheBugHidden } from './6-find-the-bug/hidden.js';

export const LABS: Lab<any>[] = [maps(mapsHidden), counter(counterHidden), bpftrace(bpftraceHidden), ppid(ppidHidden), longArgs(longArgsHidden), findTheBug(findTheBugHidden)];

export const findLab = (name: string, labs: Lab<any>[] = LABS): Lab<any> => labNamed(labs, name);
