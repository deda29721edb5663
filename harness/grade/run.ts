// Grading one submission: the limits its commands run under, and the host's side of every grading —
// judging the evidence the agent sent (from a VM, vm.ts, or from this machine, gradeHere).

import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { diesWithUs } from '../../lib/process.js';
import { parseEvidence } from './evidence.js';
import { buildKit, type Kit } from './kit.js';
import { failAll, gradeReport, oneLine, StudentFailure, type CheckResult, type Lab } from './lab.js';

/** Every check scores 0: the submission lacks files the lab's README lists. */
export function missingFiles(lab: Lab<unknown>, missing: string[]): CheckResult[] {
  return failAll(lab, `missing ${missing.join(', ')}: the lab's README lists the files to hand in (${lab.files.join(', ')})`);
}

/** "reason | first detail lines": feedback for a failure that costs every check. */
export function failureFeedback(f: StudentFailure): string {
  return oneLine([f.reason, ...f.detail.slice(0, 4)].join('\n'));
}

/** The evidence a run of the agent printed, judged on the host: the lab's checks, or every check's failure. */
export function judgeEvidence(lab: Lab<unknown>, stdout: string, ctx: { submission: string; settings: unknown; cutShort?: string }): HereResult {
  const evidence = parseEvidence(stdout, lab.evidence);
  // the stream broke off or the agent failed: the grader's trouble (or the jail's), status error
  if (evidence.problems.length > 0) return { results: failAll(lab, oneLine(`the grader received evidence it cannot trust: ${evidence.problems[0]}`), 'error') };
  if (evidence.agentError) return { results: failAll(lab, oneLine(`the grader failed: ${evidence.agentError.split('\n')[0]}`), 'error') };
  const cutShort = evidence.ended ? undefined : (ctx.cutShort ?? 'the grader stopped before it finished');
  const readFile = (name: string) => {
    const file = path.join(ctx.submission, name);
    return path.dirname(file) === path.resolve(ctx.submission) && existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  };
  try {
    const report = lab.judge(evidence.items, { settings: ctx.settings, readFile, ...(cutShort ? { cutShort } : {}) });
    return { results: gradeReport(lab, report), program: lab.program?.(report) };
  } catch (err) {
    if (!(err instanceof StudentFailure)) throw err;
    return { results: failAll(lab, failureFeedback(err)) };
  }
}

export interface HereResult {
  results: CheckResult[];
  /** The program it loaded (hex), when the lab records one. */
  program?: string;
}

/**
 * Grade `submission` on this machine (--target host: an instructor's own reference): the same kit, agent
 * and jail as in a grading VM, without the VM.
 */
export async function gradeHere(lab: Lab<unknown>, submission: string, signal?: AbortSignal): Promise<HereResult> {
  const missing = lab.files.filter((f) => !existsSync(path.join(submission, f)));
  if (missing.length > 0) return { results: missingFiles(lab, missing) };
  let kit: Kit;
  try {
    kit = await buildKit(lab, submission, { slowdown: 1 });
  } catch (err) {
    if (!(err instanceof StudentFailure)) throw err;
    return { results: failAll(lab, failureFeedback(err)) };
  }
  try {
    const timeLimitS = lab.timeLimitS ?? 240;
    // the agent and, through the jail's death signals, everything it started die with this process or on Ctrl-C
    const r = await execa(...diesWithUs(process.execPath, [path.join(kit.dir, 'agent.mjs')]), { cwd: kit.dir, reject: false, timeout: timeLimitS * 1000, maxBuffer: 8 << 20, stdin: 'ignore', cancelSignal: signal, forceKillAfterDelay: 3000 });
    signal?.throwIfAborted();
    const cutShort = r.timedOut ? `did not finish within ${timeLimitS} s (stopped)` : r.exitCode !== 0 ? `the grader stopped (exit ${r.exitCode ?? r.signal}): ${String(r.stderr).trim().split('\n').slice(-2).join(' | ')}` : undefined;
    return judgeEvidence(lab, String(r.stdout), { submission, settings: kit.settings, ...(cutShort ? { cutShort } : {}) });
  } finally {
    await kit.remove();
  }
}
