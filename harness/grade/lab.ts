// What a lab is, as data: the files a submission hands in, the limits it runs under, a collector that
// runs the student's code (jailed) where it is graded — a VM, or this machine for a reference — and sends
// back evidence only, and on the host a judge that turns the evidence into a report, and checks that turn
// the report into points. Nothing that scores runs beside the student's code. Judges and checks are pure
// functions, so they are unit-tested without a kernel.

import { UsageError } from '../../lib/errors.js';

/** The student's code failed in a way that is its own result (no compile, verifier, crash, timeout…). */
export class StudentFailure extends Error {
  override name = 'StudentFailure';
  constructor(
    /** One line, shown as every affected check's feedback. */
    readonly reason: string,
    /** Lines quoted under it (a compiler's first errors, the verifier's words and instruction). */
    readonly detail: string[] = [],
  ) {
    super(reason);
  }
}

export interface Outcome {
  /** 0 … the check's points; fractions allowed (partial credit). */
  score: number;
  /** One line. */
  feedback: string;
}

export interface Check<R> {
  /** Stable id: the CSV's check column and Gradescope's test name (with `name`). */
  id: string;
  /** What it checks, one line for students. */
  name: string;
  points: number;
  /** Runs and counts, but its name and feedback stay out of what students receive. */
  hidden?: boolean;
  grade(report: R): Outcome;
}

/** What a lab's collector gets where the student's code runs (harness/grade/agent.ts). */
export interface CollectContext<S = unknown> {
  /** The student's files, copied into a scratch folder: the only place the student's code may write. */
  dir: string;
  /** The grading kit's folder: what the host built for this run (a TypeScript lab's bundle of the student's code). */
  kit: string;
  /** The lab's settings for this run (Lab.settings), as the host made them. */
  settings: S;
  /** Timeouts are multiplied by it (10 under TCG). */
  slowdown: number;
  /** The limits each command of the student's runs under. */
  limits: import('./sandbox.js').SandboxLimits;
  /** Runs one command of the student's, jailed, under the sandbox's limits (sandbox.ts, jail.ts). */
  run: (file: string, args: string[], opts?: { timeoutMs?: number; env?: Record<string, string> }) => Promise<import('./sandbox.js').SandboxResult>;
  /** The argv of a command the collector starts itself (a tracer in a session), jailed the same way and in a cgroup with the same limits. */
  jailed: (argv: string[], env?: Record<string, string>) => string[];
  /** Sends one piece of evidence to the host, now. */
  emit: (kind: string, value: unknown) => void;
}

/** What a judge gets beside the evidence. */
export interface JudgeContext<S = unknown> {
  settings: S;
  /** Reads a file of the submission (on the host: the handed-in folder, not what the guest did with it). */
  readFile: (name: string) => string | undefined;
  /** Why the evidence stops short (the guest died, the time ran out), when it does. */
  cutShort?: string;
}

export interface Lab<R = unknown, E = any, S = any> {
  /** The folder name under labs/: "1-maps". */
  id: string;
  title: string;
  /** Files a submission must hold (what the README says to hand in). */
  files: string[];
  /** Bumped whenever a check changes what it awards: recorded in the manifest. */
  version: number;
  /** Wall time for the whole submission, boot included; the VM is killed after it. Default 240 s. */
  timeLimitS?: number;
  /** Time limit of each command of the student's inside that (a hang costs this much). Default half of timeLimitS, at most 120 s. */
  commandTimeoutS?: number;
  /** Guest RAM in MiB. Default 1024. */
  memoryMb?: number;
  /** Processes the student's code may have at once (a pids cgroup in the guest). Default 256. */
  pidsMax?: number;
  /** Capabilities the student's code keeps in its jail (jail.ts); default BPF_CAPS. Say why in the lab's README when more. */
  caps?: string[];
  /** The guest side: a module exporting `collect(ctx: CollectContext)`, bundled into the grading kit. */
  collector: string;
  /** The kinds of evidence the collector sends, in the order it sends them. */
  evidence: readonly string[];
  /** This run's settings for the collector and the judge, from a seed the host draws for each submission (varied workloads). */
  settings?: (seed: string) => S;
  /** Builds into the kit what the collector needs from the submission (a TypeScript lab: the student's code, bundled); throws StudentFailure when it cannot (does not compile). */
  prepare?: (submission: string, kit: string) => Promise<void>;
  /** The host side: evidence → report; throws StudentFailure for what costs every check. */
  judge(evidence: Partial<E>, ctx: JudgeContext<S>): R;
  checks: Check<R>[];
  /** The program the submission loaded (its instructions, hex), for --similar; labs that load none omit it. */
  program?: (report: R) => string | undefined;
}

export const defineLab = <R, E = any, S = any>(lab: Lab<R, E, S>): Lab<R, E, S> => lab;

/**
 * A lab's hidden checks, kept in a module of their own (labs/N/hidden.ts) that only the grader imports
 * (labs/index.ts): a student's handout bundles the lab without them (labs/visible.ts), so it cannot hold
 * them. A tracer lab's hidden part also brings the workload cases and views it grades (TracerHiddenPart).
 */
export interface HiddenPart<R> {
  checks: (Check<R> & { hidden: true })[];
}

/** The lab named `name` (its folder name, or its number: "1" finds 1-maps) among `labs`; bad usage otherwise. */
export function labNamed<L extends { id: string }>(labs: readonly L[], name: string): L {
  const lab = labs.find((l) => l.id === name || l.id.split('-')[0] === name);
  if (!lab) throw new UsageError(`no lab "${name}" (labs: ${labs.map((l) => l.id).join(', ')})`);
  return lab;
}

/** The lab with its hidden checks added after the visible ones. */
export function withHidden<R, E, S>(lab: Lab<R, E, S>, hidden: HiddenPart<R>): Lab<R, E, S> {
  return { ...lab, checks: [...lab.checks, ...hidden.checks] };
}

export type Status = 'pass' | 'partial' | 'fail' | 'error';

/** One check's result for one student. */
export interface CheckResult {
  check: string;
  name: string;
  points: number;
  max: number;
  status: Status;
  feedback: string;
  hidden: boolean;
}

export function statusOf(score: number, max: number): Status {
  return score >= max ? 'pass' : score > 0 ? 'partial' : 'fail';
}

/** Clamp a check's score to [0, max], rounded to hundredths (the CSV must be stable). */
export function clampScore(score: number, max: number): number {
  if (!Number.isFinite(score)) return 0;
  return Math.round(Math.min(max, Math.max(0, score)) * 100) / 100;
}

/** Every check scores 0 with the same reason: what a compile error, a crash or a timeout does. */
export function failAll<R>(lab: Lab<R>, feedback: string, status: Status = 'fail', skip: Set<string> = new Set()): CheckResult[] {
  return lab.checks
    .filter((c) => !skip.has(c.id))
    .map((c) => ({ check: c.id, name: c.name, points: 0, max: c.points, status, feedback, hidden: Boolean(c.hidden) }));
}

/** Grade every check from one report; a check that throws is the grader's error, not the student's. */
export function gradeReport<R>(lab: Lab<R>, report: R): CheckResult[] {
  return lab.checks.map((c) => {
    try {
      const o = c.grade(report);
      const points = clampScore(o.score, c.points);
      return { check: c.id, name: c.name, points, max: c.points, status: statusOf(points, c.points), feedback: oneLine(o.feedback), hidden: Boolean(c.hidden) };
    } catch (err) {
      return { check: c.id, name: c.name, points: 0, max: c.points, status: 'error', feedback: oneLine(`grader error: ${(err as Error).message}`), hidden: Boolean(c.hidden) };
    }
  });
}

/** Feedback is one line (CSV cells and Gradescope names stay readable); long text is cut with a mark. */
export function oneLine(text: string, max = 400): string {
  const flat = text.replace(/\s*\n\s*/g, ' | ').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
