// Lab 1, on the host: the student's code bundled into the kit as a process that answers one call per
// line, and the judge: each case is the student's answer against the kernel's (both sent by the
// collector); one check per part of the map API, partial credit by the share of cases that agree.

import { isDeepStrictEqual } from 'node:util';
import path from 'node:path';
import { fromTally, tally, type Tally } from '../../harness/grade/tally.js';
import { defineLab, StudentFailure, withHidden, type HiddenPart, type Lab } from '../../harness/grade/lab.js';
import { bundleStudent } from '../../harness/grade/ts-student.js';
import { projectRoot } from '../../harness/engine/paths.js';
import { RPC_LINE, type Answer, type MapsEvidence, type MapsGroup } from './shared.js';

export type Report = Record<MapsGroup, Tally | undefined>;

const GROUPS: MapsGroup[] = ['create', 'update', 'lookup', 'flags', 'delete', 'iterate', 'churn'];

/** The student's functions behind a line protocol: {fn, args} in, RPC_LINE {value | threw} out. */
const ENTRY = `import * as student from STUDENT;
import { createInterface } from 'node:readline';
const decode = (a) => (a && typeof a === 'object' && 'hex' in a ? Buffer.from(a.hex, 'hex') : a);
const encode = (v) => (Buffer.isBuffer(v) ? { hex: v.toString('hex') } : Array.isArray(v) ? v.map(encode) : v);
createInterface({ input: process.stdin }).on('line', (line) => {
  let out;
  try {
    const { fn, args } = JSON.parse(line);
    const f = student[fn];
    out = typeof f === 'function' ? { value: encode(f(...args.map(decode))) } : { threw: 'no function ' + fn };
  } catch (err) {
    out = { threw: String(err && err.message ? err.message : err).split('\\n')[0] };
  }
  process.stdout.write(${JSON.stringify(RPC_LINE)} + JSON.stringify(out === undefined || out.value === undefined ? { value: null } : out) + '\\n');
});
`;

const errno = (n: number) => ({ [-1]: 'EPERM', [-2]: 'ENOENT', [-7]: 'E2BIG', [-9]: 'EBADF', [-14]: 'EFAULT', [-17]: 'EEXIST', [-22]: 'EINVAL', [-38]: 'ENOSYS' })[n] ?? String(n);
const show = (a: Answer): string => {
  if ('threw' in a) return `threw ${a.threw}`;
  const v = a.value;
  if (typeof v === 'number') return v < 0 ? `-${errno(v)}` : String(v);
  if (v && typeof v === 'object' && 'hex' in v) return `0x${(v as { hex: string }).hex}`;
  return JSON.stringify(v);
};

export function judge(e: Partial<MapsEvidence>, cutShort?: string): Report {
  if (!e.cases) throw new StudentFailure(cutShort ?? 'the program was not exercised', []);
  const { cases, stderr } = e.cases;
  if (cases.length === 0) throw new StudentFailure('the program answered no call', stderr ?? []);
  return Object.fromEntries(
    GROUPS.map((g) => {
      const mine = cases.filter((c) => c.group === g);
      return [g, mine.length ? tally(mine.map((c) => ({ name: c.name, ok: isDeepStrictEqual(c.got, c.want), detail: `got ${show(c.got)}, the kernel says ${show(c.want)}` }))) : undefined];
    }),
  ) as Report;
}

/** The lab and its visible checks; the grader adds the hidden ones (hidden.ts). */
export const makeLab = (hidden?: HiddenPart<Report>): Lab<Report, MapsEvidence> => (hidden ? withHidden(visible, hidden) : visible);

const visible: Lab<Report, MapsEvidence> = defineLab<Report, MapsEvidence>({
  id: '1-maps',
  title: 'Map syscalls in TypeScript',
  files: ['maps.ts'],
  version: 2,
  timeLimitS: 180,
  memoryMb: 768,
  collector: path.join(projectRoot, 'labs', '1-maps', 'collect.ts'),
  evidence: ['cases'],
  prepare: (submission, kit) => bundleStudent(ENTRY, path.join(submission, 'maps.ts'), path.join(kit, 'student.mjs')),
  judge: (e, ctx) => judge(e, ctx.cutShort),
  checks: [
    { id: 'create', name: 'BPF_MAP_CREATE makes the array and the hash map asked for', points: 2, grade: (r) => fromTally(r.create, 2, 'both maps as asked') },
    { id: 'update', name: 'BPF_MAP_UPDATE_ELEM writes what the kernel then reads', points: 2, grade: (r) => fromTally(r.update, 2, 'updates land') },
    { id: 'lookup', name: 'BPF_MAP_LOOKUP_ELEM reads values and the kernel\'s errors', points: 2, grade: (r) => fromTally(r.lookup, 2, 'lookups agree with the kernel') },
    { id: 'flags', name: 'update flags (BPF_ANY, BPF_NOEXIST, BPF_EXIST) give the kernel\'s answers', points: 2, grade: (r) => fromTally(r.flags, 2, 'every flag as the kernel answers it') },
    { id: 'delete', name: 'BPF_MAP_DELETE_ELEM, including on an array', points: 1, grade: (r) => fromTally(r.delete, 1, 'deletes agree with the kernel') },
    { id: 'iterate', name: 'BPF_MAP_GET_NEXT_KEY visits every key once', points: 2, grade: (r) => fromTally(r.iterate, 2, 'every key once') },
  ],
});
