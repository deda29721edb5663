// The TypeScript labs' run: a lab's driver (labs/N/driver.ts) imports the student's file as the module
// `student`, exercises it against the kernel and prints one JSON report. esbuild bundles the two (a
// syntax error is the submission's "does not compile", with esbuild's file:line:col), node runs the
// bundle in the sandbox, and the report comes back on its stdout's last line.

import path from 'node:path';
import { importPackage } from '../../lib/import-package.js';
import { projectRoot } from '../paths.js';
import { StudentFailure, type RunContext } from './lab.js';
import { abnormalEnd } from './sandbox.js';
import { commandLimits } from './run.js';
import type { Lab } from './lab.js';

import { REPORT_PREFIX } from './driver-api.js';

/**
 * Bundle `driver` with the submission: the driver imports the reference solution (`./solution/FILE`) for
 * its types, and that import is pointed at the student's file. The bundle's inputs are checked, so a
 * redirect that missed can never grade the reference instead.
 */
export async function bundleDriver(driver: string, studentFile: string, outFile: string): Promise<void> {
  const esbuild = await importPackage<typeof import('esbuild')>('esbuild');
  const solution = path.join(path.dirname(driver), 'solution', path.basename(studentFile));
  let result: Awaited<ReturnType<typeof esbuild.build>>;
  try {
    result = await esbuild.build({
      entryPoints: [driver],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      outfile: outFile,
      metafile: true,
      // koffi is native: loaded from the project's node_modules (linked beside the scratch folder)
      external: ['koffi'],
      alias: { 'ebpf-lab': projectRoot },
      logLevel: 'silent',
      plugins: [
        {
          name: 'submission',
          setup(build) {
            build.onResolve({ filter: /\/solution\// }, (args) => {
              const asked = path.resolve(args.resolveDir, args.path).replace(/\.js$/, '.ts');
              return asked === solution ? { path: studentFile } : { errors: [{ text: `the driver may import only ${solution}` }] };
            });
          },
        },
      ],
    });
  } catch (err) {
    const errors = (err as { errors?: { text: string; location?: { file: string; line: number; column: number; lineText: string } | null }[] }).errors ?? [];
    if (errors.length === 0) throw err;
    const detail = errors.slice(0, 3).map((e) => (e.location ? `${path.basename(e.location.file)}:${e.location.line}:${e.location.column}: ${e.text} (${e.location.lineText.trim()})` : e.text));
    throw new StudentFailure(`does not compile (esbuild: ${errors.length} error${errors.length > 1 ? 's' : ''})`, detail);
  }
  const inputs = Object.keys(result.metafile!.inputs).map((i) => path.resolve(i));
  if (!inputs.includes(studentFile) || inputs.includes(solution)) throw new Error(`bundle ${driver}: the submission's ${path.basename(studentFile)} was not the one bundled`);
}

/** Bundle driver + the student's file, run it sandboxed, return its report. */
export async function runTsDriver<R>(lab: Lab<R>, ctx: RunContext, driver: string, studentFile: string): Promise<R> {
  const out = path.join(ctx.dir, '.grade', 'driver.mjs');
  await bundleDriver(driver, path.join(ctx.dir, studentFile), out);
  const r = await ctx.run(process.execPath, [out]);
  const limits = commandLimits(lab as Lab<unknown>);
  const abnormal = abnormalEnd(r, limits);
  if (abnormal) throw new StudentFailure(abnormal);
  const line = r.stdout.split('\n').reverse().find((l) => l.startsWith(REPORT_PREFIX));
  if (!line) {
    // Node prints the source line and a caret first, then the error: quote the error's own line.
    const lines = r.stderr.trim().split('\n').filter(Boolean);
    const error = lines.find((l) => /^\w*(Error|Exception)\b/.test(l));
    throw new StudentFailure(`the program stopped (exit ${r.exitCode ?? r.signal}) before the driver could report`, error ? [error] : lines.slice(-3));
  }
  return JSON.parse(line.slice(REPORT_PREFIX.length)) as R;
}

