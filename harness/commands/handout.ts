// `./lab handout LAB... | --all [--out DIR]`: what an instructor gives a class. A folder (and DIR.tar.gz)
// a student works in on their own Linux machine: each lab's README, its starter (labs/sources.ts), a
// Makefile that builds a C lab as the grader does, and ./check — the lab's visible checks through the
// grader's own kit, agent, jail and judge (handout-check.ts, bundled with labs/visible.ts). It holds no
// solution, no hidden check and none of the project's sources that answer a lab: the grader's code goes in
// bundled (check.mjs, one agent per lab), the bpf() library only as far as the starters import it.

import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseOptions } from '../../lib/args.js';
import { UsageError } from '../../lib/errors.js';
import { importPackage } from '../../lib/import-package.js';
import { LIBBPF_BUILD } from '../../labs/tracer.js';
import { writeLabFiles } from '../../labs/sources.js';
import { VISIBLE_LABS } from '../../labs/visible.js';
import { projectRoot } from '../engine/paths.js';
import { EXEC_HELPER_CC } from '../../labs/check.js';
import { agentBundle, bundleEsm, PREBUILT_AGENTS } from '../grade/kit.js';
import { labNamed, type Lab } from '../grade/lab.js';
import { BUILD_DIR, EVENT_DUMP } from '../grade/tracer-collect.js';

export const USAGE = `usage: ./lab handout LAB... | --all [--out DIR] [--solutions]
  a folder a student works in on their own Linux machine (and DIR.tar.gz): each lab's README, its starter
  files, a Makefile for the C labs, and ./check (the lab's visible checks, run by the grader itself on the
  student's folder: sudo ./check FOLDER on this kernel, or --kernel K in a VM). No solution, no hidden
  check. Labs: ${VISIBLE_LABS.map((l) => l.id).join(', ')} (or their numbers).
  --out: default build/handout. --solutions: the instructor's copy, each lab's reference solution in
  LAB/solution/ (never hand that one out).`;

/** The handout's grader, beside the labs: its root markers make it the project root the bundles find (harness/engine/paths.ts). */
const GRADER = '.grader';
const TS_PACKAGES = ['esbuild', `@esbuild/${process.platform}-${process.arch}`];
const KOFFI = ['koffi', `@koromix/koffi-${process.platform}-${process.arch}`];

/** `entry` bundled into `outfile`; koffi (native) and esbuild (what a TypeScript lab's prepare() runs) stay packages in .grader/node_modules. */
async function bundle(entry: string, outfile: string): Promise<void> {
  await writeFile(outfile, await bundleEsm(entry, path.basename(outfile), ['koffi', 'esbuild']));
}

/**
 * The bpf() library's files a lab's starter imports, with what they import (esbuild's view), relative to
 * the project. From the import lines: a starter's stubs use none of them yet, and TypeScript drops an unused import.
 */
async function libraryOf(lab: Lab<unknown>, starterDir: string): Promise<string[]> {
  const named = new Set<string>();
  for (const f of lab.files.filter((f) => f.endsWith('.ts'))) {
    const text = await readFile(path.join(starterDir, f), 'utf8');
    for (const m of text.matchAll(/from\s+['"]ebpf-lab\/(bpf\/ts\/[\w./-]+)\.js['"]/g)) named.add(path.join(projectRoot, `${m[1]}.ts`));
  }
  if (named.size === 0) return [];
  const esbuild = await importPackage<typeof import('esbuild')>('esbuild');
  const r = await esbuild.build({ entryPoints: [...named], bundle: true, write: false, metafile: true, platform: 'node', format: 'esm', outdir: '/nonexistent', external: ['koffi'], logLevel: 'silent', absWorkingDir: projectRoot });
  return Object.keys(r.metafile.inputs).filter((f) => f.startsWith('bpf/ts/'));
}

/** A C lab's Makefile: the grader's own build commands (labs/tracer.ts), so `make` builds what the grader builds. */
export function libbpfMakefile(): string {
  const recipe = LIBBPF_BUILD.map((argv) => {
    // the grader's vmlinux.h is in its build folder; the student's is here, where -I. already looks
    const cmd = argv[0] === 'sh' ? argv[2]! : argv.filter((a) => a !== `-I${BUILD_DIR}`).join(' ');
    return `\t${cmd}`;
  });
  return `# Builds .grade/execsnoop with the grader's own commands (made by ./lab handout from labs/tracer.ts).
# vmlinux.h: every type of the running kernel, from its BTF (CO-RE: libbpf relocates to the kernel it loads on).

.grade/execsnoop: execsnoop.bpf.c execsnoop.c execsnoop.h vmlinux.h
\tmkdir -p .grade
${recipe.join('\n')}

vmlinux.h:
\tbpftool btf dump file /sys/kernel/btf/vmlinux format c > $@

# the workload's helper: exec_helper thread PROG ARG... execs from a second thread
exec_helper: ../${GRADER}/src/exec_helper.c
\t${EXEC_HELPER_CC.join(' ')} -o $@ $<

clean:
\trm -rf .grade exec_helper

.PHONY: clean
`;
}

const CHECK_SCRIPT = (lab: string) => `#!/bin/sh
# ./check [FOLDER] [--kernel K]: this lab's visible checks on FOLDER (default: here), run by the grader.
exec node "$(dirname "$0")/../${GRADER}/check.mjs" ${lab} "$@"
`;

const TOP_README = (labs: Lab<unknown>[]) => `# eBPF labs

One folder per lab: its README (what you will learn, the assignments, how it is graded), the starter files
with \`Assignment#N\` markers, and \`./check\`, which runs the lab's visible checks on a folder of yours the
way the grader will: your code jailed, a workload whose every exec the grader knows, the same judge.

${labs.map((l) => `- [${l.id}](${l.id}/): ${l.title}`).join('\n')}

## What you need
A Linux machine (5.10 or newer, with BTF: \`ls /sys/kernel/btf/vmlinux\`), root, and Debian's (or your
distribution's) packages:

\`\`\`
apt install nodejs clang llvm libbpf-dev bpftool bpftrace make gcc
\`\`\`

Node.js 20 or newer. \`./check --kernel 6.1\` boots a Debian kernel in QEMU instead (\`apt install qemu-system-x86\`;
the kernel is downloaded once into ~/.cache/ebpf-lab).

## Try your work
Work in a copy of the starter files (\`cp -r 4-ppid mine\` … or edit them in place), then from the lab's folder:

\`\`\`
sudo ./check FOLDER
\`\`\`

It prints each visible check with its points and what was wrong. The grader also has hidden checks, like
the visible ones: a full score here is the visible part of your grade.
`;

export async function makeHandout(labs: Lab<unknown>[], out: string, opts: { solutions?: boolean; log?: (line: string) => void } = {}): Promise<string> {
  await rm(out, { recursive: true, force: true });
  const grader = path.join(out, GRADER);
  await mkdir(path.join(grader, PREBUILT_AGENTS), { recursive: true });
  // what harness/engine/paths.ts looks for: the handout's grader is its own project root
  await writeFile(path.join(grader, 'lab'), '# the grader of an ebpf-lab handout (./lab handout), not the project\n');
  await writeFile(path.join(grader, 'package.json'), '{ "name": "ebpf-lab-handout-grader", "private": true, "type": "module" }\n');
  await bundle(`import { runCheck } from ${JSON.stringify(path.join(projectRoot, 'labs', 'check.ts'))};\nrunCheck(process.argv.slice(2));\n`, path.join(grader, 'check.mjs'));
  await mkdir(path.join(grader, 'harness', 'grade'), { recursive: true });
  // the jail, and the grader's event dump (lab 4's kernel side graded apart: tracer-lab.ts's eventField)
  for (const f of ['jail.sh', EVENT_DUMP]) await cp(path.join(projectRoot, 'harness', 'grade', f), path.join(grader, 'harness', 'grade', f));
  await mkdir(path.join(grader, 'src'), { recursive: true });
  await cp(path.join(projectRoot, 'harness', 'examples', 'exec_helper.c'), path.join(grader, 'src', 'exec_helper.c'));
  const typescript = labs.some((l) => l.files.some((f) => f.endsWith('.ts')));
  for (const pkg of [...KOFFI, ...(typescript ? TS_PACKAGES : [])]) await cp(path.join(projectRoot, 'node_modules', pkg), path.join(grader, 'node_modules', pkg), { recursive: true });

  for (const lab of labs) {
    const dir = path.join(out, lab.id);
    await writeLabFiles(lab, 'starter', dir);
    await writeFile(path.join(grader, PREBUILT_AGENTS, `${lab.id}.mjs`), await agentBundle(lab));
    for (const f of await libraryOf(lab, dir)) {
      await mkdir(path.dirname(path.join(grader, f)), { recursive: true });
      await cp(path.join(projectRoot, f), path.join(grader, f));
    }
    let readme = await readFile(path.join(projectRoot, 'labs', lab.id, 'README.md'), 'utf8');
    if (lab.id === '2-counter') {
      const { builderReference } = await import('../../labs/2-counter/builder-reference.js');
      readme += `\n${builderReference()}`;
    }
    await writeFile(path.join(dir, 'README.md'), readme);
    if (lab.files.includes('execsnoop.bpf.c')) await writeFile(path.join(dir, 'Makefile'), libbpfMakefile());
    await writeFile(path.join(dir, 'check'), CHECK_SCRIPT(lab.id));
    await chmod(path.join(dir, 'check'), 0o755);
    if (opts.solutions) await writeLabFiles(lab, 'solution', path.join(dir, 'solution'));
    opts.log?.(`${lab.id}: ${lab.files.join(', ')}${opts.solutions ? ' (and solution/)' : ''}`);
  }
  await writeFile(path.join(out, 'README.md'), TOP_README(labs));
  const tarball = `${out}.tar.gz`;
  await execa('tar', ['-czf', tarball, '-C', path.dirname(out), path.basename(out)]);
  return tarball;
}

export async function handoutCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions({ args: argv, options: { all: { type: 'boolean' }, out: { type: 'string', default: path.join(projectRoot, 'build', 'handout') }, solutions: { type: 'boolean' } }, allowPositionals: true }, USAGE);
  if (values.all === (positionals.length > 0)) throw new UsageError(`handout: name the labs, or --all\n${USAGE}`);
  const labs = values.all
    ? VISIBLE_LABS
    : positionals.map((name) => labNamed(VISIBLE_LABS, name));
  const out = path.resolve(values.out);
  // never wipe a folder that is not an earlier handout
  if (existsSync(out) && !existsSync(path.join(out, GRADER)) && (await readdir(out)).length > 0) throw new UsageError(`handout: ${out} exists and is not a handout: give an empty or new folder`);
  const tarball = await makeHandout(labs as Lab<unknown>[], out, { solutions: values.solutions, log: (l) => process.stderr.write(`lab handout: ${l}\n`) });
  if (values.solutions) process.stderr.write('lab handout: --solutions: this copy holds the reference solutions: for instructors only\n');
  process.stdout.write(`${out}\n${tarball}\n`);
  return 0;
}
