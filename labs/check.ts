// `./check [FOLDER] [--kernel K]` in a student's handout (`./lab handout`, handout.ts): the lab's visible
// checks on FOLDER, through the grader's own kit, agent, jail and judge — on this machine's kernel, or
// in a VM booted on Debian kernel K. Bundled into the handout as .grader/check.mjs with labs/visible.ts
// only: the hidden checks and the solutions are not in it to be found.

import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseOptions } from '../lib/args.js';
import { EnvironmentError, UsageError } from '../lib/errors.js';
import { Interrupted, interruptible } from '../lib/process.js';
import { VISIBLE_LABS } from './visible.js';
import { buildDir, projectRoot } from '../harness/engine/paths.js';
import { labNamed, type CheckResult, type Lab } from '../harness/grade/lab.js';
import { total } from '../harness/grade/outputs.js';
import { gradeHere, missingFiles } from '../harness/grade/run.js';

const usage = (lab: string) => `usage: ./check [FOLDER] [--kernel K]
  run lab ${lab}'s visible checks on FOLDER (default: this folder), as the grader runs them: your code
  jailed, the workload, the same judge. On this machine's kernel (as root: sudo ./check), or with
  --kernel K (5.10, 6.1, 6.12, 7.2) in a QEMU guest booted on that Debian kernel. The grader also has
  hidden checks: a full score here is the visible part of your grade.`;

/** How the workload's helper is built, as bpf/Makefile builds it: static (copies of it exec in a VM, where loading libc over 9p is slow), not PIE. */
export const EXEC_HELPER_CC = ['cc', '-O2', '-Wall', '-static', '-no-pie', '-pthread'];

/** What the kit takes from build/bpf, made on this machine the first time: the workload's helper, vmlinux.h. */
async function prepareBuild(): Promise<void> {
  await mkdir(buildDir, { recursive: true });
  const helper = path.join(buildDir, 'exec_helper');
  if (!existsSync(helper)) {
    const r = await execa(EXEC_HELPER_CC[0]!, [...EXEC_HELPER_CC.slice(1), '-o', helper, path.join(projectRoot, 'src', 'exec_helper.c')], { reject: false });
    if (r.exitCode !== 0) throw new EnvironmentError(`build the workload's helper (cc): ${String(r.stderr).trim() || r.shortMessage} (install a C compiler: apt install build-essential)`);
  }
  const header = path.join(buildDir, 'vmlinux.h');
  if (!existsSync(header)) {
    const r = await execa('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'c'], { reject: false, maxBuffer: 256 << 20 });
    // labs 1-3 need no vmlinux.h: only a libbpf lab's build fails without it, and says so
    if (r.exitCode === 0) await writeFile(header, String(r.stdout));
  }
}

function show(lab: Lab<unknown>, results: CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  const lines = results.map((r) => `${r.status === 'pass' ? 'ok  ' : r.status === 'error' ? 'ERR ' : 'FAIL'} ${r.name.padEnd(width)}  ${r.points}/${r.max}${r.feedback ? `  ${r.feedback}` : ''}`);
  const t = total(results);
  return `${lines.join('\n')}\n${lab.id}: ${t.points} of ${t.max} (the visible checks)\n`;
}

export async function checkMain(argv: string[]): Promise<number> {
  const [labId, ...args] = argv;
  const lab = labNamed(VISIBLE_LABS, labId ?? '') as Lab<unknown>;
  const { values, positionals } = parseOptions({ args, options: { kernel: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true }, usage(lab.id));
  if (values.help) {
    process.stdout.write(`${usage(lab.id)}\n`);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`check: one folder, not ${positionals.length}\n${usage(lab.id)}`);
  const folder = path.resolve(positionals[0] ?? '.');
  if (!existsSync(folder)) throw new UsageError(`check: no folder ${folder}`);
  const missing = lab.files.filter((f) => !existsSync(path.join(folder, f)));
  if (missing.length > 0) {
    process.stdout.write(show(lab, missingFiles(lab, missing)));
    return 1;
  }
  if (process.getuid?.() !== 0) throw new EnvironmentError('check: run it as root (sudo ./check …): it loads BPF programs and jails your code in namespaces and cgroups of its own');
  await prepareBuild();
  const results = await interruptible(async (signal) => {
    if (!values.kernel) return (await gradeHere(lab, folder, signal)).results;
    const { ensureKernel } = await import('../vm/kernels.js');
    await ensureKernel(values.kernel, { headers: true, onProgress: (line: string) => process.stderr.write(`check: ${line}\n`) });
    const { gradeInVm } = await import('../harness/grade/vm.js');
    return (await gradeInVm(lab, folder, path.basename(folder), { kernel: values.kernel, signal })).results;
  });
  process.stdout.write(show(lab, results));
  return results.some((r) => r.status === 'error') ? 1 : 0;
}

/** The bundle's main: the errors that are the student's or the machine's are one line, exit 2 (130 on Ctrl-C). */
export function runCheck(argv: string[]): void {
  checkMain(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof UsageError || err instanceof EnvironmentError || err instanceof Interrupted) {
        process.stderr.write(`${err.message}\n`);
        process.exitCode = err instanceof Interrupted ? err.exitCode : 2;
        return;
      }
      process.stderr.write(`check: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 2;
    },
  );
}
