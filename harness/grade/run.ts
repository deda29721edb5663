// Grading one submission where this process runs: inside the grading VM (the normal case, started by
// vm.ts) or on the host when asked for with --target host. The student's code runs in the sandbox;
// each check's result is handed to `emit` as soon as it is known, so a guest that dies later keeps them.

import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../paths.js';
import { failAll, gradeReport, oneLine, StudentFailure, type CheckResult, type Lab, type RunContext } from './lab.js';
import { runSandboxed, type SandboxLimits } from './sandbox.js';

/** The limits of one command of a student's, from the lab's (the whole submission has the VM's). */
export function commandLimits(lab: Lab<unknown>): SandboxLimits {
  return {
    timeoutMs: (lab.commandTimeoutS ?? Math.min(120, Math.round((lab.timeLimitS ?? 240) / 2))) * 1000,
    maxOutput: 256 * 1024,
    pidsMax: lab.pidsMax ?? 256,
    // Leave the grader and the kernel room: the student gets most of the guest, not all of it.
    memoryMb: Math.max(256, Math.round((lab.memoryMb ?? 1024) * 0.6)),
  };
}

/** Every check scores 0: the submission lacks files the lab's README lists. */
export function missingFiles(lab: Lab<unknown>, missing: string[]): CheckResult[] {
  return failAll(lab, `missing ${missing.join(', ')}: the lab's README lists the files to hand in (${lab.files.join(', ')})`);
}

/** "reason | first detail lines": feedback for a failure that costs every check. */
export function failureFeedback(f: StudentFailure): string {
  return oneLine([f.reason, ...f.detail.slice(0, 4)].join('\n'));
}

/**
 * In a grading VM, before the student's code runs: an empty read-only tmpfs over the class folder (the
 * other students' work) and over every lab's reference solution. The guest's root is the host's, readable;
 * this keeps what a submission should not read out of plain sight (root in the guest could still unmount).
 */
async function hideInGuest(classDir: string): Promise<void> {
  const labsDir = path.join(projectRoot, 'labs');
  const solutions = (await readdir(labsDir, { withFileTypes: true }).catch(() => []))
    .filter((e) => e.isDirectory() && existsSync(path.join(labsDir, e.name, 'solution')))
    .map((e) => path.join(labsDir, e.name, 'solution'));
  for (const dir of [classDir, ...solutions]) {
    const r = await execa('mount', ['-t', 'tmpfs', '-o', 'ro,size=4k,mode=0555', 'lab-hidden', dir], { reject: false });
    if (r.exitCode !== 0) throw new Error(`hide ${dir} in the grading VM: ${r.stderr || r.shortMessage}`);
  }
}

/**
 * Grade `submission` (a folder, left untouched): its files are copied into a scratch folder of its own,
 * the only place its code is meant to write, with the project's node_modules linked beside it.
 */
export interface HereResult {
  results: CheckResult[];
  /** The program it loaded (hex), when the lab records one. */
  program?: string;
}

export async function gradeHere(lab: Lab<unknown>, submission: string, student: string, emit: (r: CheckResult) => void = () => {}): Promise<HereResult> {
  const scratch = await mkdtemp(path.join(tmpdir(), 'ebpf-lab-grade-'));
  try {
    const dir = path.join(scratch, student);
    await cp(submission, dir, { recursive: true, verbatimSymlinks: true });
    await symlink(path.join(projectRoot, 'node_modules'), path.join(scratch, 'node_modules'));
    if (process.env.LAB_IN_VM === '1' && process.env.LAB_GRADE_NONCE) await hideInGuest(path.dirname(submission));
    const graded = await gradeScratch(lab, dir, student);
    for (const r of graded.results) emit(r);
    return graded;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function gradeScratch(lab: Lab<unknown>, dir: string, student: string): Promise<HereResult> {
  const missing = lab.files.filter((f) => !existsSync(path.join(dir, f)));
  if (missing.length > 0) return { results: missingFiles(lab, missing) };
  const limits = commandLimits(lab);
  const ctx: RunContext = {
    dir,
    student,
    run: (file, args, opts = {}) => runSandboxed(file, args, { cwd: dir, env: opts.env, limits: { ...limits, timeoutMs: opts.timeoutMs ?? limits.timeoutMs } }),
  };
  try {
    const report = await lab.run(ctx);
    return { results: gradeReport(lab, report), program: lab.program?.(report) };
  } catch (err) {
    if (!(err instanceof StudentFailure)) throw err;
    return { results: failAll(lab, failureFeedback(err)) };
  }
}
