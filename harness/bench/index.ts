// ./lab bench as a library (notebook 5 builds on this; keep it stable): runBench() measures the variants on
// a target and returns the report, benchCharts() draws it as PNG images.
//
//   const report = await runBench({ target: 'host', storm: 300, repeats: 2, variants: ['execsnoop/libbpf'] });
//   for (const c of await benchCharts(report)) tslab.display.png(c.png);
//
// On a VM target the same bench runs inside the guest (`./lab bench --target host` there) and its JSON comes
// back as a file, as compare does (targets.ts); the VM's boot time and accelerator are added to the report.

import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import path from 'node:path';
import { execa } from 'execa';
import { UsageError, EnvironmentError } from '../../lib/errors.js';
import { exampleOf, findVariant, VARIANTS } from '../examples/index.js';
import { buildDir, projectRoot } from '../engine/paths.js';
import { targetFor } from '../engine/targets.js';
import { variantName, type Variant } from '../engine/variant.js';
import { benchHere } from './run.js';
import type { BenchReport } from './types.js';

export { benchCharts, chartSpecs, type Chart } from './charts.js';
export { formatBench, benchRows, benchCsv } from './report.js';
export type { BenchReport, VariantBench, Footprint } from './types.js';
export type { Spread, StormAccount, ProgCost } from './measure.js';

export interface BenchOptions {
  target: 'host' | 'qemu';
  /** For qemu: a Debian kernel ("6.1"); default 6.1. */
  kernel?: string;
  /** Execs in the storm (default 5,000). */
  storm?: number;
  /** Starts per variant for the startup figures (default 5). */
  repeats?: number;
  /** Variant names ("execsnoop/libbpf"); default: every execsnoop and counter variant. */
  variants?: string[];
  log?: (line: string) => void;
  /** Also time the libbpf build (clang, bpftool gen skeleton, cc) on this machine. Default: true for ./lab bench. */
  build?: boolean;
  signal?: AbortSignal;
}

export const DEFAULT_STORM = 5000;
export const DEFAULT_REPEATS = 5;

/**
 * The variants a bench runs: those named, or every one whose example says what a storm looks like in its
 * output (Example.bench: not hello's, whose trace pipe has one reader and no per-exec record to count).
 */
export function benchVariants(names?: string[]): Variant[] {
  if (!names || names.length === 0) return VARIANTS.filter((v) => exampleOf(v).bench !== undefined);
  return names.map((n) => {
    const v = findVariant(n);
    if (!v) throw new UsageError(`no variant ${n} (variants: ${VARIANTS.map(variantName).join(', ')})`);
    return v;
  });
}

/** Times the libbpf build of execsnoop into a scratch directory: the object, the skeleton, the binary. */
export async function timeLibbpfBuild(): Promise<BenchReport['build']> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ebpf-lab-build-'));
  try {
    await copyFile(path.join(buildDir, 'vmlinux.h'), path.join(dir, 'vmlinux.h')); // made once per machine, not per build
    const step = async (file: string) => {
      const t = performance.now();
      const r = await execa('make', ['-C', 'bpf', `OUTPUT=${dir}`, path.join(dir, file)], { cwd: projectRoot, reject: false, all: true });
      if (r.exitCode !== 0) throw new EnvironmentError(`time the libbpf build: make ${file} failed: ${String(r.all).split('\n').slice(-3).join(' ')}`);
      return Math.round(performance.now() - t);
    };
    return { objectMs: await step('execsnoop.bpf.o'), skeletonMs: await step('execsnoop.skel.h'), binaryMs: await step('execsnoop') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const storm = o.storm ?? DEFAULT_STORM;
  const repeats = o.repeats ?? DEFAULT_REPEATS;
  if (!Number.isInteger(storm) || storm < 1) throw new UsageError(`storm must be a whole number ≥ 1, not ${storm}`);
  if (!Number.isInteger(repeats) || repeats < 1) throw new UsageError(`repeats must be a whole number ≥ 1, not ${repeats}`);
  const variants = benchVariants(o.variants);
  const log = o.log ?? (() => {});
  const build = o.build && process.env.LAB_IN_VM !== '1' ? await timeLibbpfBuild() : undefined;
  if (o.target === 'host') {
    const report = await benchHere({ storm, repeats, variants, log, signal: o.signal });
    return build ? { ...report, build } : report;
  }
  if (o.target !== 'qemu') throw new UsageError(`target must be host or qemu, not "${String(o.target)}"`);
  const kernel = o.kernel ?? '6.1';
  const target = targetFor('qemu', kernel);
  await target.prepare(log);
  const inner = (out: string) => [
    './lab', 'bench', '--target', 'host', '--no-charts', '--json', path.join(out, 'bench.json'),
    '--storm', String(storm), '--repeats', String(repeats), ...variants.flatMap((v) => ['--variant', variantName(v)]),
  ];
  // the guest's progress lines arrive on its stderr: hand them to log line by line
  let pending = '';
  const sink = new Writable({
    write(chunk, _enc, done) {
      pending += String(chunk);
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      lines.forEach((l) => log(l));
      done();
    },
  });
  // its table (stdout) is not passed on: the report comes back as JSON and the caller prints its own
  const run = await target.run(inner, { stderr: sink, signal: o.signal });
  const text = run.files.get('bench.json');
  if (!text) throw new EnvironmentError(`bench on ${target.label}: it wrote no report (exit ${run.exitCode}); console log: ${run.log}`);
  const report = JSON.parse(text) as BenchReport;
  report.target = { ...report.target, ...run.info };
  return build ? { ...report, build } : report;
}
