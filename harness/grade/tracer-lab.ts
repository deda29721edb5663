// The tracer labs (3–6), grader side: bundle tracer-driver.ts, hand it the lab's config, run it in the
// sandbox and read its report. Checks are built from the report's views (one tally per check) and the
// failures that cost them all (no compile, a verifier rejection, no attach).

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { importPackage } from '../../lib/import-package.js';
import { projectRoot } from '../paths.js';
import { StudentFailure, type Outcome, type RunContext } from './lab.js';
import { abnormalEnd } from './sandbox.js';
import { commandLimits } from './run.js';
import { fromTally, REPORT_PREFIX } from './driver-api.js';
import type { Lab } from './lab.js';
import type { TracerConfig, TracerReport } from './tracer-driver.js';
import { slowdownFor } from '../requirements.js';

const DRIVER = path.join(projectRoot, 'harness', 'grade', 'tracer-driver.ts');

async function bundle(outFile: string): Promise<void> {
  const esbuild = await importPackage<typeof import('esbuild')>('esbuild');
  await esbuild.build({
    entryPoints: [DRIVER],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    outfile: outFile,
    external: ['koffi'],
    logLevel: 'silent',
    // paths.ts finds the project from its own module's place: the bundle lives in the scratch folder
    define: { 'import.meta.url': JSON.stringify(pathToFileURL(path.join(projectRoot, 'harness', 'paths.ts')).href) },
    // CommonJS packages bundled into ESM call require()
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(" + JSON.stringify(pathToFileURL(DRIVER).href) + ');' },
  });
}

export type TracerLabConfig = Omit<TracerConfig, 'slowdown'>;

/** Build, start, exercise and grade the student's tracer; failures before it attached are StudentFailures. */
export async function runTracerDriver(lab: Lab<TracerReport>, ctx: RunContext, config: TracerLabConfig): Promise<TracerReport> {
  const dir = path.join(ctx.dir, '.grade');
  await mkdir(dir, { recursive: true });
  const out = path.join(dir, 'tracer-driver.mjs');
  await bundle(out);
  // the guest's environment says how it is emulated (vm/qemu.ts sets LAB_ACCEL)
  const slowdown = process.env.LAB_IN_VM === '1' ? slowdownFor({ accel: process.env.LAB_ACCEL === 'kvm' ? 'kvm' : 'tcg' }) : 1;
  const file = path.join(dir, 'config.json');
  await writeFile(file, JSON.stringify({ ...config, slowdown }));
  const r = await ctx.run(process.execPath, [out, file]);
  const abnormal = abnormalEnd(r, commandLimits(lab as Lab<unknown>));
  if (abnormal) throw new StudentFailure(abnormal);
  const line = r.stdout.split('\n').reverse().find((l) => l.startsWith(REPORT_PREFIX));
  if (!line) throw new Error(`tracer driver: no report (exit ${r.exitCode ?? r.signal}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const report = JSON.parse(line.slice(REPORT_PREFIX.length)) as TracerReport;
  if (report.error) throw new StudentFailure(report.error, report.detail);
  return report;
}

/** The first check of a tracer lab: it built, the verifier took it, it attached. */
export function attaches(r: TracerReport, points: number): Outcome {
  if (r.rejected) {
    const where = [r.rejected.at && `at ${r.rejected.at}`, r.rejected.source && `(source: ${r.rejected.source})`].filter(Boolean).join(' ');
    return { score: 0, feedback: `the verifier rejected it: "${r.rejected.words}"${where ? ` ${where}` : ''}` };
  }
  return { score: points, feedback: r.trouble ? `attached; but ${r.trouble}` : 'built, loaded and attached' };
}

/** A check graded from one view: proportional to the cases right. */
export const fromView = (id: string, points: number, okText: string) => (r: TracerReport): Outcome =>
  r.rejected ? { score: 0, feedback: 'not run: the verifier rejected the program' } : fromTally(r.views?.[id], points, okText);
