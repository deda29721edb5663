// One submission, one fresh VM booted on the host's programs and the grading kit only (kit.ts): the agent
// there runs the student's code jailed and sends evidence on the guest's stdout, and the host judges it
// (run.ts). Whatever the submission leaves loaded, pinned or running dies with the VM. A guest that stops
// early (a panic, a timeout) is judged on the evidence that came, with what the console says (vm/console.ts:
// the first lines of an oops or a panic). A crash of the emulator's kind (vm/console.ts, emulationSuspect)
// is graded again, at most twice, and the row says so: it is not the student's; the same crash on every
// run is.

import { Writable } from 'node:stream';
import { slowdownFor } from '../engine/requirements.js';
import { buildKit, type Kit } from './kit.js';
import { failAll, StudentFailure, type CheckResult, type Lab } from './lab.js';
import { failureFeedback, judgeEvidence } from './run.js';

/** Where the kit is in the guest. */
const KIT_IN_GUEST = '/lab';

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

/** Grading runs again after a crash of the emulator's kind at most this many times. */
export const EMULATOR_REGRADES = 2;

export interface VmGradeOptions {
  kernel: string;
  signal?: AbortSignal;
}

export async function gradeInVm(lab: Lab<unknown>, submission: string, student: string, opts: VmGradeOptions): Promise<GradedSubmission> {
  const { runInVm } = await import('../../vm/qemu.js');
  const { GuestCrash } = await import('../../vm/console.js');
  const { programsOnlyRoot } = await import('../../vm/guest-root.js');
  const started = Date.now();
  const timeLimitS = lab.timeLimitS ?? 240;
  const accel = process.env.LAB_ACCEL === 'kvm' ? 'kvm' : (await (await import('../../vm/qemu.js')).probeAccel({ kernel: opts.kernel })).accel;
  let kit: Kit;
  try {
    kit = await buildKit(lab, submission, { slowdown: slowdownFor({ accel }) });
  } catch (err) {
    if (!(err instanceof StudentFailure)) throw err;
    return { student, results: failAll(lab, failureFeedback(err)), bootMs: -1, totalMs: Date.now() - started };
  }
  const stdout = new Capped(8 << 20);
  const stderr = new Capped(64 << 10);
  const judged = (cutShort: string | undefined, bootMs: number, regraded?: string[]): GradedSubmission => {
    const { results, program } = judgeEvidence(lab, stdout.text(), { submission, settings: kit.settings, ...(cutShort ? { cutShort } : {}) });
    return { student, results, ...(program ? { program } : {}), bootMs, totalMs: Date.now() - started, ...(regraded?.length ? { regraded } : {}) };
  };
  try {
    const r = await runInVm({
      kernel: opts.kernel,
      // the guest's root: the host's programs and the kit, nothing else of the host (vm/guest-root.ts)
      root: [...(await programsOnlyRoot(kit.dir)), { host: kit.dir, guest: KIT_IN_GUEST }],
      command: ['node', `${KIT_IN_GUEST}/agent.mjs`],
      cwd: KIT_IN_GUEST,
      accel,
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
    const tail = stderr.text().trim().split('\n').slice(-3).join(' | ');
    const cutShort = r.timedOut ? `did not finish within ${timeLimitS} s (the VM was stopped)` : `the grader in the VM stopped (exit ${r.exitCode}): ${tail || 'no message'}`;
    return judged(cutShort, r.bootMs, regraded);
  } catch (err) {
    if (!(err instanceof GuestCrash)) throw err;
    // runInVm saw the kernel break on the console (or the guest stop) once the command ran: what the evidence
    // so far proves, and the lines that say what happened (the register dump and the frames say little to a student)
    const words = err.excerpt.filter((l) => !/^(CPU:|RIP:|Comm:|\s)/.test(l)).slice(0, 3);
    const reason = err.kind === 'stopped' ? `the guest stopped: ${words.join(' | ')}` : `the guest kernel broke (${err.kind}): ${words.join(' | ')}`;
    const regraded = err.retries.map((x) => `graded again: ${x.kind}: ${x.excerpt[0]}`);
    return judged(err.retries.length ? `${reason} (on every one of ${err.retries.length + 1} runs)` : reason, -1, regraded);
  } finally {
    await kit.remove();
  }
}
