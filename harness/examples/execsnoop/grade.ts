// Grading an execsnoop variant: what it reported against the exec workload's truth. A field that differs
// is either an expected difference the variant declared (with its reason) or a failure. Pure functions:
// no processes, no kernel — so every rule here has a unit test.

import { addMember, emptyGrade, recordCase, type CaseMember, type Grade } from '../../engine/example.js';
import type { ExecTruth, WorkloadRun } from '../exec-workload.js';
import { DOCUMENTED_KERNEL, type KernelFacts } from '../../engine/variant.js';
import { WHY_EXECVE_32, WHY_FAILED_32 } from '../exec-workload.js';
import { UNREADABLE, unescapeArg, type ExecEvent } from './parse.js';
import type { ExecsnoopExpectations } from './variants.js';

/** The event a variant should print for an exec, given what it declares about itself. */
export interface ExpectedView {
  pid: number;
  comm?: string;
  ppid?: number;
  ret?: number;
  args: string[];
  truncated: boolean;
  unreadable: boolean;
  escaped: boolean;
  /** For a tool that says which door (syscall: 'shown'). */
  syscall?: ExecEvent['syscall'];
  filename?: string;
}

const ellipsis = '...';

/** Whether the tool gets a second read of the arguments enter could not read: after a success, from a whole argv. */
const rereads = (t: ExecTruth, e: ExecsnoopExpectations): boolean =>
  (e.unreadableArgs === 'reread-else-marked' || e.unreadableArgs === 'reread-else-empty') &&
  t.ret === 0 &&
  (e.maxArgs === null || t.argv.length <= e.maxArgs);

/** The argv indices a tool cannot read at enter; the filename it shows in place of argv[0] reads fine. */
function unreadableShown(t: ExecTruth, e: ExecsnoopExpectations): number[] {
  const at = (t.unreadableAtEnter ?? []).filter((i) => !(i === 0 && e.firstArg === 'filename'));
  return rereads(t, e) ? [] : at;
}

/** The pid a tool shows for an exec: the process id, or the thread id for a tool that reports the task's. */
export const shownPid = (t: Pick<ExecTruth, 'pid' | 'tid'>, e: Pick<ExecsnoopExpectations, 'threadExec'>): number => (e.threadExec === 'tid' ? t.tid : t.pid);

/** Applies a variant's declared limits to the truth: what a correct implementation of *it* prints. */
export function expectedView(t: ExecTruth, e: ExecsnoopExpectations, k: KernelFacts = DOCUMENTED_KERNEL): ExpectedView {
  // bytes that are not UTF-8: a tool that escapes them shows the truth's form; one that prints them raw is
  // read as text, each such byte a U+FFFD, unmarked
  let args = t.escaped && e.bytes === 'replaced' ? t.argv.map((a) => Buffer.from(unescapeArg(a)).toString('utf8')) : [...t.argv];
  if (e.firstArg === 'filename') args[0] = t.filename;
  const unreadable = unreadableShown(t, e);
  if (unreadable.length > 0) {
    if (e.unreadableArgs === 'lost-from-first') args = args.slice(0, Math.min(...unreadable));
    else args = args.map((a, i) => (unreadable.includes(i) ? (e.unreadableArgs === 'reread-else-marked' ? UNREADABLE : '') : a));
  }
  if (t.argvAtStackTop && e.stackTopArgs === 'shown-empty') args = args.map(() => '');
  if (emptyArgsLost(e, k)) args = args.filter((a) => a !== '');
  if (e.stopsAtEmptyArg && args.includes('')) args = args.slice(0, args.indexOf(''));
  let marked = false; // does the tool show that something is missing?
  if (e.maxArgs !== null && args.length >= e.maxArgs) {
    const dropped = args.length > e.maxArgs;
    args = args.slice(0, e.maxArgs);
    marked = e.droppedMark === 'at-cap' || (dropped && e.droppedMark === 'when-dropped');
  }
  if (e.maxArgLen !== null) {
    const cap = e.maxArgLen;
    args = args.map((a) => {
      if (Buffer.byteLength(a) <= cap) return a;
      const kept = Buffer.from(a).subarray(0, cap).toString();
      if (!e.cutMark) return kept;
      marked = true;
      return kept + ellipsis;
    });
  }
  // an exec through the 32-bit entry is seen at sched_process_exec only, where comm is already the new one
  const commAtEnter = t.syscall === 'execve-32' ? t.commAfter : t.commBefore;
  const comm = e.comm === 'enter' ? commAtEnter : e.comm === 'exit' ? (t.ret === 0 ? t.commAfter : t.commBefore) : undefined;
  return {
    pid: shownPid(t, e),
    comm,
    ppid: e.ppid ? t.ppid : undefined,
    ret: e.ret ? t.ret : undefined,
    args,
    truncated: marked,
    unreadable: unreadable.length > 0 && e.unreadableArgs === 'reread-else-marked' && args.includes(UNREADABLE),
    escaped: t.escaped === true && e.bytes === 'escaped',
    ...(e.syscall === 'shown'
      ? { syscall: t.syscall === 'execve-32' ? 'unknown' : t.syscall, ...(t.fd !== undefined && t.ret === 0 ? { filename: t.filename } : {}) }
      : {}),
  };
}


const emptyArgsLost = (e: ExecsnoopExpectations, k: KernelFacts): boolean => e.emptyArgs === 'lost-where-str-read-is-0' && !k.strReadCountsNul;

/** Why a case is expected to produce no event at all, or undefined when an event is due. */
export function expectedAbsence(t: ExecTruth, e: ExecsnoopExpectations): string | undefined {
  if (t.syscall === 'execve-32' && t.ret !== 0) return e.why.execve32 !== undefined && e.execve32 === 'missed' ? e.why.execve32 : WHY_FAILED_32;
  if (t.syscall === 'execve-32' && e.execve32 === 'missed') return e.why.execve32 ?? WHY_EXECVE_32;
  if (t.syscall === 'execveat' && e.execveat === 'missed') return e.why.execveat ?? 'execve tracepoints do not fire for execveat';
  if (t.ret !== 0 && e.failedExec === 'missed') return e.why.failedExec ?? 'failed execs are not reported';
  if (t.tid !== t.pid && e.threadExec === 'missed') return e.why.threadExec ?? 'execs from a non-main thread are missed';
  return undefined;
}

const show = (v: unknown): string => JSON.stringify(v);

/** Field-by-field differences between an event and the view expected of it; empty when they agree. */
export function fieldDifferences(ev: ExecEvent, want: ExpectedView, e: ExecsnoopExpectations): string[] {
  const out: string[] = [];
  if (ev.pid !== want.pid) out.push(`pid ${ev.pid} ≠ ${want.pid}`);
  if (want.comm !== undefined && ev.comm !== want.comm) out.push(`comm ${show(ev.comm)} ≠ ${show(want.comm)}`);
  if (want.ppid !== undefined && ev.ppid !== want.ppid) out.push(`ppid ${ev.ppid} ≠ ${want.ppid}`);
  if (want.ret !== undefined && ev.ret !== want.ret) out.push(`ret ${ev.ret} ≠ ${want.ret}`);
  if (e.argBoundaries) {
    if (show(ev.args) !== show(want.args)) out.push(`args ${show(ev.args)} ≠ ${show(want.args)}`);
  } else {
    // the tool prints arguments joined by spaces: only the joined text can be compared
    const got = ev.args.join(' ').trimEnd();
    const exp = want.args.join(' ').trimEnd();
    if (got !== exp) out.push(`args ${show(got)} ≠ ${show(exp)}`);
  }
  if (ev.truncated !== want.truncated) out.push(`truncated ${ev.truncated} ≠ ${want.truncated}`);
  if (ev.unreadable !== want.unreadable) out.push(`unreadable ${ev.unreadable} ≠ ${want.unreadable}`);
  if (ev.escaped !== want.escaped) out.push(`escaped ${ev.escaped} ≠ ${want.escaped}`);
  if (e.syscall === 'shown') {
    if (ev.syscall !== want.syscall) out.push(`syscall ${ev.syscall} ≠ ${want.syscall}`);
    if (ev.filename !== want.filename) out.push(`filename ${show(ev.filename)} ≠ ${show(want.filename)}`);
  }
  return out;
}

/** The expected differences that shaped a case's view: [kind, sentence]. */
function declaredDifferences(t: ExecTruth, want: ExpectedView, e: ExecsnoopExpectations, k: KernelFacts): [string, string][] {
  const notes: [keyof ExecsnoopExpectations['why'], string][] = [];
  const why = (k: keyof ExecsnoopExpectations['why'], fallback: string) => e.why[k] ?? fallback;
  const shown = e.firstArg === 'filename' ? [t.filename, ...t.argv.slice(1)] : t.argv;
  const empty = e.stopsAtEmptyArg ? shown.indexOf('') : -1;
  if (e.firstArg === 'filename' && t.argv[0] !== t.filename) notes.push(['firstArg', `first argument is the filename: ${why('firstArg', 'the tool shows the path passed to exec, not argv[0]')}`]);
  if (empty >= 0) notes.push(['stopsAtEmptyArg', `${shown.length - empty} arguments lost from the first empty one: ${why('stopsAtEmptyArg', 'the tool stops at an empty argument')}`]);
  const kept = empty >= 0 ? shown.slice(0, empty) : shown;
  if (e.maxArgs !== null && kept.length > e.maxArgs) notes.push(['maxArgs', `${kept.length - e.maxArgs} arguments dropped${e.droppedMark === 'none' ? ' without a mark' : ''}: ${why('maxArgs', `keeps ${e.maxArgs}`)}`]);
  else if (e.maxArgs !== null && kept.length === e.maxArgs && e.droppedMark === 'at-cap') notes.push(['droppedMark', `marked "..." with nothing dropped: ${why('droppedMark', `it marks any argv of ${e.maxArgs} entries`)}`]);
  if (e.maxArgLen !== null && kept.slice(0, e.maxArgs ?? undefined).some((a) => Buffer.byteLength(a) > e.maxArgLen!)) {
    notes.push(['maxArgLen', `argument cut to ${e.maxArgLen} bytes${e.cutMark ? '' : ' without a mark'}: ${why('maxArgLen', 'per-argument cap')}`]);
  }
  const unreadable = unreadableShown(t, e);
  if (unreadable.length > 0) {
    const how = {
      'reread-else-marked': `${unreadable.length} arguments marked ${UNREADABLE}`,
      'reread-else-empty': `${unreadable.length} unreadable arguments shown as ""`,
      'shown-empty': `${unreadable.length} unreadable arguments shown as ""`,
      'lost-from-first': `${shown.length - Math.min(...unreadable)} arguments lost from the first unreadable one`,
    }[e.unreadableArgs];
    notes.push(['unreadableArgs', `${how}: ${why('unreadableArgs', 'the tool cannot read them at sys_enter_execve')}`]);
  }
  if (emptyArgsLost(e, k) && t.argv.includes('')) notes.push(['emptyArgs', `empty argument lost: ${why('emptyArgs', 'bpf_probe_read_user_str returns 0 for an empty string on this kernel')}`]);
  if (!e.argBoundaries && t.argv.some((a) => a === '' || /\s/.test(a))) notes.push(['argBoundaries', `argument boundaries lost: ${why('argBoundaries', 'arguments are printed joined by spaces')}`]);
  if (e.comm === 'enter' && t.commBefore !== t.commAfter && t.ret === 0) notes.push(['comm', `comm is ${show(want.comm)}, the caller's: ${why('comm', 'read before exec')}`]);
  if (e.threadExec === 'tid' && t.tid !== t.pid) notes.push(['threadExec', `pid shown is the thread id: ${why('threadExec', 'the tool reports the tid')}`]);
  if (t.argvAtStackTop && e.stackTopArgs === 'shown-empty') notes.push(['stackTopArgs', `arguments shown as "": ${why('stackTopArgs', 'a fixed-size read faults at the top of the stack')}`]);
  if (t.escaped && e.bytes === 'replaced') notes.push(['bytes', `bytes that are not UTF-8 shown as U+FFFD, unmarked: ${why('bytes', 'the tool prints them raw')}`]);
  if (t.syscall === 'execve-32' && e.syscall === 'shown') notes.push(['syscall', `syscall shown as unknown: ${why('syscall', 'nothing at sched_process_exec tells the 32-bit entry apart')}`]);
  if (t.syscall === 'execve-32' && e.comm === 'enter' && t.commBefore !== t.commAfter) notes.push(['comm', `comm is ${show(want.comm)}, the new program's: ${why('execve32', 'no tracepoint fires before the exec')}`]);
  return notes;
}

/** Picks the event that best fits a truth among the unclaimed ones of the same process. */
function bestCandidate(pool: ExecEvent[], want: ExpectedView, e: ExecsnoopExpectations): { ev: ExecEvent; diffs: string[] } | undefined {
  let best: { ev: ExecEvent; diffs: string[] } | undefined;
  for (const ev of pool) {
    if (ev.pid !== want.pid) continue;
    const diffs = fieldDifferences(ev, want, e);
    if (!best || diffs.length < best.diffs.length) best = { ev, diffs };
  }
  return best;
}

/**
 * Grades an execsnoop variant. Events from processes the workload did not start are noise and ignored;
 * launcher execs are matched (so they do not count as extra) but not graded.
 */
export function gradeExecsnoop(run: WorkloadRun, events: readonly ExecEvent[], e: ExecsnoopExpectations, k: KernelFacts = DOCUMENTED_KERNEL): Grade {
  const ours = new Set(run.execs.flatMap((t) => [t.pid, t.tid]));
  const pool = events.filter((ev) => ours.has(ev.pid));
  const claim = (ev: ExecEvent) => pool.splice(pool.indexOf(ev), 1);
  const grade = emptyGrade();
  // cases first, so a launcher never steals a case's event; launchers then claim what they explain
  const ordered = [...run.execs.filter((t) => !t.launcher), ...run.execs.filter((t) => t.launcher)];
  const cases = new Map<string, CaseMember[]>();
  for (const t of ordered) {
    const want = expectedView(t, e, k);
    const absence = expectedAbsence(t, e);
    const found = absence === undefined || t.launcher ? bestCandidate(pool, want, e) : exactCandidate(pool, want, e);
    if (t.launcher) {
      if (found) claim(found.ev); // not graded: it only explains the event
      continue;
    }
    const m: CaseMember = { verdict: 'matched', expected: [], problems: [] };
    if (absence !== undefined) {
      if (found) {
        claim(found.ev);
        m.verdict = 'differs';
        m.problems.push(['seen', `seen although the variant declares it missed (${absence})`]);
      } else {
        m.verdict = 'expected-missing';
        m.expected.push(['missed', `not reported, as expected: ${absence}`]);
      }
    } else if (t.burst && e.burst === 'may-lose' && (!found || found.diffs.length > 0)) {
      if (found) claim(found.ev); // its event, cut short
      m.verdict = 'expected-missing';
      m.expected.push(['burst', `lost or cut short in the burst: ${e.why.burst ?? 'its buffer overflowed'}`]);
    } else if (found && found.ev.args.join('') === '' && want.args.join('') !== '' && e.argsAfterReturn === 'printed-without' &&
      fieldDifferences({ ...found.ev, args: want.args }, want, e).length === 0) {
      // its own event, everything right but the arguments, which arrived after the line was printed
      claim(found.ev);
      m.expected.push(...declaredDifferences(t, want, e, k), ['argsAfterReturn', `printed with no arguments: ${e.why.argsAfterReturn ?? 'they arrived after its return'}`]);
    } else if (!found) {
      m.verdict = 'missed';
      m.problems.push(['missed', `no event for pid ${want.pid}`]);
    } else {
      claim(found.ev);
      m.expected.push(...declaredDifferences(t, want, e, k));
      if (found.diffs.length > 0) {
        m.verdict = 'differs';
        m.problems.push(...found.diffs.map((d): [string, string] => ['field', d]));
      }
    }
    addMember(cases, t.id, m);
  }
  for (const [id, members] of cases) recordCase(grade, id, members);
  // whatever a workload process printed that no exec explains (a duplicate, a garbled line) is a failure
  for (const ev of pool) {
    const text = `extra event for workload pid ${ev.pid}: ${show({ comm: ev.comm, ret: ev.ret, args: ev.args })}`;
    grade.differences.push({ case: '', level: 'failure', kind: 'extra', text });
  }
  return grade;
}

/** For a case expected to be absent, only an event that really is this exec counts as "seen". */
function exactCandidate(pool: ExecEvent[], want: ExpectedView, e: ExecsnoopExpectations) {
  const c = bestCandidate(pool, want, e);
  return c && c.diffs.length === 0 ? c : undefined;
}
