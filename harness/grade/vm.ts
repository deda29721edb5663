// One submission, one fresh VM: the guest's root is the host's, read-only over 9p under a tmpfs, and no
// host folder is writable; the guest runs `./lab grade LAB DIR --target host --only STUDENT`, which copies
// the submission into a scratch folder in the guest (run.ts), and each check's result comes back on the
// guest's stdout as a line tagged with a nonce. Whatever the submission leaves loaded, pinned or running
// dies with the VM. A guest that stops early (a panic, a timeout) keeps the results already sent; the
// remaining checks score 0 with what the console says (vm/console.ts: the first lines of an oops or a
// panic). A crash of the emulator's kind (vm/console.ts, emulationSuspect) is graded again, at most twice,
// and the row says so: it is not the student's; the same crash on every run is.

import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Writable } from 'node:stream';
import { failAll, oneLine, type CheckResult, type Lab } from './lab.js';
import { projectRoot } from '../paths.js';

export interface GradedSubmission {
  student: string;
  results: CheckResult[];
  /** The program it loaded (hex), for --similar. */
  program?: string;
  /** Guest boot (QEMU start → command), ms; -1 when unknown. */
  bootMs: number;
  totalMs: number;
  /** Why the submission was graded again: each earlier run's guest died of the emulator's fault. */
  regraded?: string[];
}

export const RESULT_TAG = 'LAB-GRADE';

/** A stream that keeps the first `max` bytes and drops the rest (the guest cannot flood us). */
export class Capped extends Writable {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    if (this.size < this.max) this.chunks.push(chunk.subarray(0, this.max - this.size));
    this.size += chunk.length;
    done();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** The results the guest sent, in order; lines without the nonce (the student's own output) are ignored. */
export function parseResults(stdout: string, nonce: string): { results: CheckResult[]; done: boolean; program?: string } {
  const results: CheckResult[] = [];
  let done = false;
  let program: string | undefined;
  const prefix = `${RESULT_TAG} ${nonce} `;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const body = line.slice(prefix.length);
    if (body === 'done') done = true;
    else if (body.startsWith('program ')) program = body.slice(8);
    else results.push(JSON.parse(body) as CheckResult);
  }
  return program ? { results, done, program } : { results, done };
}

/** Grading runs again after a crash of the emulator's kind at most this many times. */
export const EMULATOR_REGRADES = 2;

export interface VmGradeOptions {
  kernel: string;
  signal?: AbortSignal;
}

export async function gradeInVm(lab: Lab<unknown>, submission: string, student: string, opts: VmGradeOptions): Promise<GradedSubmission> {
  const { runInVm } = await import('../../vm/qemu.js');
  const { GuestCrash } = await import('../../vm/console.js');
  const started = Date.now();
  const nonce = randomBytes(12).toString('hex');
  const stdout = new Capped(1 << 20);
  const stderr = new Capped(64 << 10);
  const timeLimitS = lab.timeLimitS ?? 240;
  const finish = (results: CheckResult[], reason: string, bootMs: number, status: 'fail' | 'error' = 'fail'): GradedSubmission => {
    const have = new Set(results.map((r) => r.check));
    const rest = failAll(lab, oneLine(reason), status, have);
    const byId = new Map([...results, ...rest].map((r) => [r.check, r]));
    return { student, results: lab.checks.map((c) => byId.get(c.id)!), bootMs, totalMs: Date.now() - started };
  };
  try {
    const r = await runInVm({
      kernel: opts.kernel,
      // --only=NAME: a folder named like an option ("-x") stays a value
      command: [path.join(projectRoot, 'lab'), 'grade', lab.id, path.dirname(submission), '--target', 'host', `--only=${path.basename(submission)}`],
      cwd: projectRoot,
      env: { LAB_GRADE_NONCE: nonce },
      timeoutMs: timeLimitS * 1000,
      memoryMb: lab.memoryMb ?? 1024,
      headers: false,
      // only a fault of the emulator's kind is run again; a submission that locks the guest up gets its result
      crashRetries: EMULATOR_REGRADES,
      stdout,
      stderr,
      signal: opts.signal,
    });
    const regraded = r.retries.map((x) => `graded again: the guest's kernel died of the emulator's fault (${x.kind}: ${x.excerpt[0]})`);
    const { results, done, program } = parseResults(stdout.text(), nonce);
    if (done && results.length === lab.checks.length) return { student, results, program, bootMs: r.bootMs, totalMs: Date.now() - started, ...(regraded.length ? { regraded } : {}) };
    if (r.timedOut) return finish(results, `did not finish within ${timeLimitS} s (the VM was stopped)`, r.bootMs);
    const tail = stderr.text().trim().split('\n').slice(-3).join(' | ');
    // Nothing the student's code can do explains it: the grader's own failure, status error.
    return finish(results, `the grader in the VM stopped (exit ${r.exitCode}) before every check ran: ${tail || 'no message'}`, r.bootMs, 'error');
  } catch (err) {
    if (!(err instanceof GuestCrash)) throw err;
    // runInVm saw the kernel break on the console (or the guest stop) once the command ran: the student's
    // result, with the lines that say what happened (the register dump and the frames say little to a student)
    const { results } = parseResults(stdout.text(), nonce);
    const words = err.excerpt.filter((l) => !/^(CPU:|RIP:|Comm:|\s)/.test(l)).slice(0, 3);
    const reason = err.kind === 'stopped' ? `the guest stopped: ${words.join(' | ')}` : `the guest kernel broke (${err.kind}): ${words.join(' | ')}`;
    const g = finish(results, err.retries.length ? `${reason} (on every one of ${err.retries.length + 1} runs)` : reason, -1);
    return err.retries.length ? { ...g, regraded: err.retries.map((x) => `graded again: ${x.kind}: ${x.excerpt[0]}`) } : g;
  }
}
