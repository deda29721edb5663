// The TypeScript labs' student code, bundled on the host into the grading kit (esbuild): the student's
// file with a few lines of the lab's that call it and print what it returned. A syntax error is the
// submission's "does not compile", with esbuild's file:line:col, found before any VM boots. The bundle may
// hold the student's own files, Node's modules and the project's bpf() library (ebpf-lab/bpf/ts/…) —
// nothing else of the project: no solution can be bundled in its place.

import path from 'node:path';
import { importPackage } from '../../lib/import-package.js';
import { projectRoot } from '../engine/paths.js';
import { StudentFailure } from './lab.js';

const LIBRARY = path.join(projectRoot, 'bpf', 'ts') + path.sep;

/**
 * Bundle `entry` (TypeScript source that imports the student's file as `STUDENT`) into `outFile`.
 * `studentDir` is the submission's folder: the student's relative imports stay inside it.
 */
export async function bundleStudent(entry: string, studentFile: string, outFile: string): Promise<void> {
  const esbuild = await importPackage<typeof import('esbuild')>('esbuild');
  const studentDir = path.dirname(studentFile) + path.sep;
  try {
    await esbuild.build({
      stdin: { contents: entry.replace(/\bSTUDENT\b/g, JSON.stringify(studentFile)), resolveDir: studentDir, loader: 'ts', sourcefile: 'lab-entry.ts' },
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      outfile: outFile,
      external: ['koffi'],
      logLevel: 'silent',
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
      plugins: [
        {
          name: 'student-imports',
          setup(build) {
            build.onResolve({ filter: /^ebpf-lab(\/|$)/ }, (args) => {
              const asked = path.join(projectRoot, args.path.slice('ebpf-lab'.length)).replace(/\.js$/, '.ts');
              return asked.startsWith(LIBRARY) ? { path: asked } : { errors: [{ text: `${args.path}: a submission may import only the bpf() library (ebpf-lab/bpf/ts/…)` }] };
            });
            build.onResolve({ filter: /^\.\.?\// }, (args) => {
              const asked = path.resolve(args.resolveDir, args.path);
              const inside = asked.startsWith(studentDir) || asked.startsWith(LIBRARY);
              return inside ? undefined : { errors: [{ text: `${args.path}: outside the submission's folder` }] };
            });
            build.onResolve({ filter: /^\// }, (args) => (args.path === studentFile ? undefined : { errors: [{ text: `${args.path}: an absolute import` }] }));
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
}
