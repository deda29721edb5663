// One submission, one fresh VM: the guest's root is the host's, read-only over 9p under a tmpfs, and no
// host folder is writable; the guest runs `./lab grade LAB DIR --target host --only STUDENT`, which copies
// the submission into a scratch folder in the guest (run.ts), and each check's result comes back on the
// guest's stdout as a line tagged with a nonce. Whatever the submission leaves loaded, pinned or running
// dies with the VM. A guest that stops early (a panic, a timeout) keeps the results already sent; the
// remaining checks score 0 with what the console says (the first lines of an oops or a panic).

import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
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

/** The console's lines that say the kernel broke (oops, panic, soft lockup, BUG), up to `max` of them. */
export function kernelTrouble(consoleText: string, max = 4): string[] | undefined {
  const lines = consoleText.split('\n').map((l) => l.replace(/^\[\s*[\d.]+\]\s*/, '').trim());
  const first = lines.findIndex((l) => /Oops|Kernel panic|soft lockup|BUG:|general protection fault|sysrq: Trigger a crash/.test(l));
  if (first < 0) return undefined;
  // The register dump and the stack frames say little to a student: the lines that say what happened.
  const noise = /^(lab-init|CPU:|Hardware name:|Call Trace|RIP:|Code:|RSP:|RAX:|RDX:|RBP:|R\d+:|FS:|CS:|CR2:|\? |<\/?TASK>$|<\/?IRQ>$|[\w.]+\+0x[0-9a-f]+\/0x[0-9a-f]+)/;
  return lines.slice(first).filter((l) => l && !noise.test(l)).slice(0, max);
}

export interface VmGradeOptions {
  kernel: string;
  signal?: AbortSignal;
}

export async function gradeInVm(lab: Lab<unknown>, submission: string, student: string, opts: VmGradeOptions): Promise<GradedSubmission> {
  const { runInVm, GuestStopped } = await import('../../vm/qemu.js');
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
      command: [path.join(projectRoot, 'lab'), 'grade', lab.id, path.dirname(submission), '--target', 'host', '--only', student],
      cwd: projectRoot,
      env: { LAB_GRADE_NONCE: nonce },
      timeoutMs: timeLimitS * 1000,
      memoryMb: lab.memoryMb ?? 1024,
      headers: false,
      // a submission may lock the guest up on purpose: that is its result, not QEMU's to retry
      crashRetries: 0,
      stdout,
      stderr,
      signal: opts.signal,
    });
    const { results, done, program } = parseResults(stdout.text(), nonce);
    const trouble = kernelTrouble(await readFile(r.consoleLog, 'utf8').catch(() => ''));
    if (done && results.length === lab.checks.length) return { student, results, program, bootMs: r.bootMs, totalMs: Date.now() - started };
    if (trouble) return finish(results, `the guest kernel broke: ${trouble.join(' | ')}`, r.bootMs);
    if (r.timedOut) return finish(results, `did not finish within ${timeLimitS} s (the VM was stopped)`, r.bootMs);
    const tail = stderr.text().trim().split('\n').slice(-3).join(' | ');
    // Nothing the student's code can do explains it: the grader's own failure, status error.
    return finish(results, `the grader in the VM stopped (exit ${r.exitCode}) before every check ran: ${tail || 'no message'}`, r.bootMs, 'error');
  } catch (err) {
    if (err instanceof GuestCrash) {
      // runInVm saw the kernel break on the console and stopped QEMU: the student's result
      const { results } = parseResults(stdout.text(), nonce);
      const trouble = kernelTrouble(await readFile(err.consoleLog, 'utf8').catch(() => '')) ?? err.excerpt;
      return finish(results, `the guest kernel broke (${err.kind}): ${trouble.join(' | ')}`, -1);
    }
    if (!(err instanceof GuestStopped) || !err.commandStarted) throw err;
    const { results } = parseResults(stdout.text(), nonce);
    const trouble = kernelTrouble(await readFile(err.consoleLog, 'utf8').catch(() => ''));
    return finish(results, trouble ? `the guest kernel broke: ${trouble.join(' | ')}` : `the guest stopped: ${err.message.replace(/ \(console log: [^)]*\)$/, '')}`, -1);
  }
}
