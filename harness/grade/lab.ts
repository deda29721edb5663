// What a lab is, as data: the files a submission hands in, the limits it runs under, one run of the
// student's code (a driver that exercises it and reports what it saw), and checks that turn that report
// into points. Checks are pure functions of the report, so they are unit-tested without a kernel.

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

export interface RunContext {
  /** The submission's own scratch copy: the only place it may write. */
  dir: string;
  /** The student id (the folder's name). */
  student: string;
  /** Runs one command of the student's under the sandbox's limits (see sandbox.ts). */
  run: (file: string, args: string[], opts?: { timeoutMs?: number; env?: Record<string, string> }) => Promise<import('./sandbox.js').SandboxResult>;
}

export interface Lab<R = unknown> {
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
  /** Runs the student's code once and reports what it saw; throws StudentFailure for its own failures. */
  run(ctx: RunContext): Promise<R>;
  checks: Check<R>[];
  /** The program the submission loaded (its instructions, hex), for --similar; labs that load none omit it. */
  program?: (report: R) => string | undefined;
}

export const defineLab = <R>(lab: Lab<R>): Lab<R> => lab;

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
