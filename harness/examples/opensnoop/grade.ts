// Grading an opensnoop's events against the open workload's truth. Only the helper's processes are looked at
// (everything else on the machine opens files too). Each case's opens are found by what the tool shows of
// them: the process, the thread where the tool prints it, and the path as the tool would show it (cut, and
// escaped or raw); each case opens a path of its own, so that is enough. Then every open must be seen exactly
// once, with the right return value, and with the door, flags, mode and comm where the tool prints them.

import { CUT_MARK } from '../../../bpf/opensnoop/limits.js';
import { escapePath, unescapePath, type OpenSyscall } from '../../../bpf/opensnoop/format.js';
import { addMember, emptyGrade, recordCase, type CaseMember, type Grade } from '../../engine/example.js';
import type { KernelFacts } from '../../engine/variant.js';
import type { OpenEvent } from './events.js';
import type { OpenRun, OpenTruth } from './workload.js';

/** How an opensnoop is expected to differ from the truth. */
export interface OpensnoopExpectations {
  /** Which doors it traces; a missed one's opens are expected to be absent. */
  doors: Record<OpenSyscall, 'seen' | 'missed'>;
  /** Bytes of a path shown; a longer one is cut. null: no cap. */
  pathCap: number | null;
  /** A cut path ends in "...". */
  cutMark: boolean;
  /**
   * 'escaped': \\ and \xHH as format.ts writes them; 'escaped-bare-backslash': the same, but a backslash is written
   * as itself (bpftrace's %r); 'raw': the bytes as read (not UTF-8 → U+FFFD, a newline kept).
   */
  pathBytes: 'escaped' | 'escaped-bare-backslash' | 'raw';
  /**
   * 'complete': every open of the storm is reported. 'may-lose': the tool's buffer can overflow in a burst, so
   * fewer may arrive; more never may, and every one that does must be right.
   */
  burst: 'complete' | 'may-lose';
  /** One sentence per expectation above that is not the ideal, saying why. */
  why: Partial<Record<'doors' | 'pathCap' | 'cutMark' | 'pathBytes' | 'burst' | 'flags' | 'mode' | 'tid', string>>;
}

/** The path as a tool with these expectations prints it. */
export function expectedPath(t: Pick<OpenTruth, 'path'>, e: OpensnoopExpectations): string {
  const bytes = unescapePath(t.path);
  const cut = e.pathCap !== null && bytes.length > e.pathCap;
  const kept = cut ? bytes.subarray(0, e.pathCap!) : bytes;
  const shown = e.pathBytes === 'raw' ? kept.toString('utf8') : escapePath(kept);
  return (e.pathBytes === 'escaped-bare-backslash' ? shown.replaceAll('\\\\', '\\') : shown) + (cut && e.cutMark ? CUT_MARK : '');
}

const oct = (n: number) => `0${n.toString(8)}`;
const describe = (t: OpenTruth) => `${t.syscall}(${JSON.stringify(t.path)}) by ${t.pid}/${t.tid}`;

/** Differences in the fields the tool prints, beyond being found: [kind, text]. */
function fieldProblems(t: OpenTruth, ev: OpenEvent): [string, string][] {
  const out: [string, string][] = [];
  if (ev.ret !== t.ret) out.push(['ret', `returned ${t.ret}, shown ${ev.ret}`]);
  if (ev.syscall !== undefined && ev.syscall !== t.syscall) out.push(['syscall', `made with ${t.syscall}, shown as ${ev.syscall}`]);
  if (ev.flags !== undefined && ev.flags !== t.flags) out.push(['flags', `flags ${oct(t.flags)}, shown ${oct(ev.flags)}`]);
  if (ev.mode !== undefined && ev.mode !== t.mode) out.push(['mode', `mode ${oct(t.mode)}, shown ${oct(ev.mode)}`]);
  if (ev.comm !== undefined && ev.comm !== t.comm) out.push(['comm', `comm ${t.comm}, shown ${ev.comm}`]);
  return out;
}

/** Why any tool may lose part of a burst on a kernel whose syscall tracepoint programs can be preempted. */
export const WHY_RECURSION_MISSES =
  "a program on a syscall tracepoint can be preempted here, and the same program started meanwhile on that CPU by " +
  "another thread is skipped by BPF's recursion check (the program's recursion_misses count them): no tool sees those opens";

export function gradeOpensnoop(run: OpenRun, events: readonly OpenEvent[], e: OpensnoopExpectations, facts: Pick<KernelFacts, 'syscallProgsPreemptible'> = {}): Grade {
  const grade = emptyGrade();
  const pids = new Set(run.opens.map((t) => t.pid));
  const showsTid = events.some((ev) => ev.tid !== undefined);
  const keyOf = (pid: number, tid: number | undefined, shown: string) => `${pid}/${showsTid ? tid : ''}/${shown}`;
  const seen = new Map<string, OpenEvent[]>();
  for (const ev of events) {
    if (!pids.has(ev.pid)) continue;
    const k = keyOf(ev.pid, ev.tid, ev.path);
    seen.set(k, [...(seen.get(k) ?? []), ev]);
  }
  // opens a tool cannot tell apart (the storm's threads, for a tool that shows no tid) are counted together
  const groups = new Map<string, OpenTruth[]>();
  for (const t of run.opens) {
    const k = keyOf(t.pid, t.tid, expectedPath(t, e));
    groups.set(k, [...(groups.get(k) ?? []), t]);
  }
  const cases = new Map<string, CaseMember[]>();
  for (const [k, truths] of groups) {
    const t = truths[0]!;
    const want = truths.reduce((n, x) => n + x.count, 0);
    const got = seen.get(k) ?? [];
    const what = truths.length > 1 || want > 1 ? `${want} opens like ${describe(t)}` : describe(t);
    const m: CaseMember = { verdict: 'matched', expected: [], problems: [] };
    if (e.doors[t.syscall] === 'missed') {
      if (got.length === 0) {
        m.verdict = 'expected-missing';
        m.expected.push(['doors', `${t.syscall} not traced: ${e.why.doors ?? 'the tool does not attach to it'}`]);
      } else {
        m.verdict = 'differs';
        m.problems.push(['doors', `${t.syscall} declared untraced, but ${got.length} event(s) for ${what}`]);
      }
    } else if (got.length === 0 && t.afterBurst && e.burst === 'may-lose') {
      // its buffer may still be full of the burst it could not print
      m.verdict = 'expected-missing';
      m.expected.push(['burst', `lost right after a burst: ${e.why.burst ?? 'the buffer overflowed'}`]);
    } else if (got.length === 0) {
      m.verdict = 'missed';
      m.problems.push(['missed', `no event for ${what}`]);
    } else {
      if (got.length > want) m.problems.push(['duplicate', `${got.length} events for ${what}`]);
      else if (got.length < want) {
        if (e.burst === 'may-lose' && t.burst) m.expected.push(['burst', `some of a burst lost: ${e.why.burst ?? 'the buffer overflowed'}`]);
        else if (facts.syscallProgsPreemptible && t.burst) m.expected.push(['recursion', `some of a burst lost: ${WHY_RECURSION_MISSES}`]);
        else m.problems.push(['missed', `${got.length} of ${what} seen`]);
      }
      const wrong = got.map((ev) => fieldProblems(t, ev)).find((p) => p.length > 0);
      if (wrong) m.problems.push(...wrong);
      if (m.problems.length) m.verdict = 'differs';
    }
    const cut = e.pathCap !== null && unescapePath(t.path).length > e.pathCap;
    if (cut && m.verdict === 'matched') m.expected.push(['pathCap', `path cut to ${e.pathCap} bytes${e.why.pathCap ? `: ${e.why.pathCap}` : ''}`]);
    const escapes = e.pathBytes === 'raw' ? /\\x/ : /\\\\/; // what this tool prints otherwise than ours
    if (e.pathBytes !== 'escaped' && escapes.test(t.path) && m.verdict === 'matched') m.expected.push(['pathBytes', e.why.pathBytes ?? 'path printed otherwise']);
    addMember(cases, t.id, m);
  }
  for (const [id, members] of cases) recordCase(grade, id, members, 'groups of opens');
  return grade;
}
