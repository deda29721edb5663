// Lab 1's checks: one per part of the map API, partial credit by the share of cases the kernel agrees with.

import path from 'node:path';
import { defineLab, type Lab } from '../../harness/grade/lab.js';
import { fromTally, type Tally } from '../../harness/grade/driver-api.js';
import { runTsDriver } from '../../harness/grade/ts-driver.js';
import { projectRoot } from '../../harness/paths.js';

export type Report = Record<'create' | 'update' | 'lookup' | 'flags' | 'delete' | 'iterate' | 'churn', Tally | undefined>;

export const lab: Lab<Report> = defineLab<Report>({
  id: '1-maps',
  title: 'Map syscalls in TypeScript',
  files: ['maps.ts'],
  version: 1,
  timeLimitS: 180,
  memoryMb: 768,
  run: (ctx) => runTsDriver(lab, ctx, path.join(projectRoot, 'labs', '1-maps', 'driver.ts'), 'maps.ts'),
  checks: [
    { id: 'create', name: 'BPF_MAP_CREATE makes the array and the hash map asked for', points: 2, grade: (r) => fromTally(r.create, 2, 'both maps as asked') },
    { id: 'update', name: 'BPF_MAP_UPDATE_ELEM writes what the kernel then reads', points: 2, grade: (r) => fromTally(r.update, 2, 'updates land') },
    { id: 'lookup', name: 'BPF_MAP_LOOKUP_ELEM reads values and the kernel\'s errors', points: 2, grade: (r) => fromTally(r.lookup, 2, 'lookups agree with the kernel') },
    { id: 'flags', name: 'update flags (BPF_ANY, BPF_NOEXIST, BPF_EXIST) give the kernel\'s answers', points: 2, grade: (r) => fromTally(r.flags, 2, 'every flag as the kernel answers it') },
    { id: 'delete', name: 'BPF_MAP_DELETE_ELEM, including on an array', points: 1, grade: (r) => fromTally(r.delete, 1, 'deletes agree with the kernel') },
    { id: 'iterate', name: 'BPF_MAP_GET_NEXT_KEY visits every key once', points: 2, grade: (r) => fromTally(r.iterate, 2, 'every key once') },
    { id: 'churn', name: 'a walk over a map that lost half its keys', points: 1, hidden: true, grade: (r) => fromTally(r.churn, 1, 'the walk ends with the keys left') },
  ],
});
