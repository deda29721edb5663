// `./lab compare`: every selected variant against the workload on one target, one table, JSON and CSV.
// On another target the same command runs inside it (`--target host` there), so the VM is only "run
// this on that kernel"; its JSON comes back as a file the target brings back (targets.ts).

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseOptions } from '../../lib/args.js';
import { interruptible } from '../../lib/process.js';
import { EnvironmentError, UsageError } from '../../lib/errors.js';
import { applyKnown } from '../engine/known.js';
import { exitCodeFor, formatFailureDetails, formatTables, toCsv, toJson } from '../engine/report.js';
import { runSession } from '../engine/session.js';
import { ensureSetup } from '../engine/setup.js';
import { checkVariant, hostTarget, kernelFacts, slowdownFor } from '../engine/requirements.js';
import { projectRoot } from '../engine/paths.js';
import { targetFor, type Target } from '../engine/targets.js';
import { EXAMPLES, exampleOf, findVariant, VARIANTS } from '../examples/index.js';
import { variantName } from '../engine/variant.js';
import type { CompareReport } from '../engine/types.js';
import type { Variant } from '../engine/variant.js';

/** The default target (issue 4): Debian stable's kernel in a VM, where every variant, BCC included, can run. */
export const DEFAULT_KERNEL = '6.1';

export interface CompareOptions {
  target: 'host' | 'qemu' | 'vagrant';
  kernel: string;
  examples: string[];
  tools: string[];
  /** EXAMPLE/TOOL names: only these (the matrix reruns a kernel's failing cells this way). */
  variants?: string[];
  json?: string;
  csv?: string;
  serial: boolean;
  verbose: boolean;
}

export function parseCompareArgs(argv: string[]): CompareOptions {
  const { values } = parseOptions({
    args: argv,
    options: {
      target: { type: 'string' },
      kernel: { type: 'string' },
      example: { type: 'string', multiple: true },
      tool: { type: 'string', multiple: true },
      variant: { type: 'string', multiple: true },
      json: { type: 'string' },
      csv: { type: 'string' },
      serial: { type: 'boolean', default: false },
      verbose: { type: 'boolean', short: 'v', default: false },
    },
  });
  if (values.target === 'vagrant' && values.kernel !== undefined) {
    throw new UsageError(`--kernel ${values.kernel} does not apply to --target vagrant: the Vagrant VM runs its box's own kernel (the project's box: Debian 12's 6.1); use --target qemu --kernel ${values.kernel} to choose a kernel`);
  }
  const kernel = values.kernel ?? (values.target === 'host' ? 'host' : DEFAULT_KERNEL);
  const target = (values.target ?? (kernel === 'host' ? 'host' : 'qemu')) as CompareOptions['target'];
  if (!['host', 'qemu', 'vagrant'].includes(target)) throw new UsageError(`--target must be host, qemu or vagrant, not "${target}"`);
  if (target === 'host' && kernel !== 'host') throw new UsageError(`--kernel ${kernel} needs a VM target: use --target qemu (or leave --target out)`);
  const split = (xs: string[] | undefined) => (xs ?? []).flatMap((x) => x.split(',')).filter(Boolean);
  const examples = split(values.example);
  const tools = split(values.tool);
  const knownExamples = EXAMPLES.map((e) => e.name);
  const knownTools = new Set(VARIANTS.map((v) => v.tool));
  for (const e of examples) if (!knownExamples.includes(e)) throw new UsageError(`unknown example "${e}" (examples: ${knownExamples.join(', ')})`);
  for (const t of tools) if (!knownTools.has(t)) throw new UsageError(`unknown tool "${t}" (tools: ${[...knownTools].join(', ')})`);
  const variants = split(values.variant);
  for (const v of variants) if (!findVariant(v)) throw new UsageError(`unknown variant "${v}" (variants: ${VARIANTS.map(variantName).join(', ')})`);
  return { target, kernel, examples, tools, variants, json: values.json, csv: values.csv, serial: values.serial!, verbose: values.verbose! };
}

export function selectVariants(o: Pick<CompareOptions, 'examples' | 'tools' | 'variants'>): Variant[] {
  return VARIANTS.filter(
    (v) => (o.examples.length === 0 || o.examples.includes(v.example)) && (o.tools.length === 0 || o.tools.includes(v.tool)) && (!o.variants?.length || o.variants.includes(variantName(v))),
  );
}

async function writeOutputs(report: CompareReport, o: CompareOptions): Promise<void> {
  if (o.json) await writeFile(o.json, toJson(report));
  if (o.csv) await writeFile(o.csv, toCsv(report));
}

/** Runs the variants right here (the host, or the guest when called inside a VM). */
export async function compareHere(
  o: CompareOptions,
  signal?: AbortSignal,
  log: (line: string) => void = (l) => process.stderr.write(`lab compare: ${l}\n`),
): Promise<CompareReport> {
  const variants = selectVariants(o);
  if (variants.length === 0) throw new UsageError('no variant matches --example/--tool');
  const target = await hostTarget();
  log(`${variants.length} variants on ${target.kind} ${target.kernel}${o.serial ? ', one at a time' : ', started together'}`);
  const results = await runSession(variants, {
    root: projectRoot,
    exampleOf,
    check: checkVariant,
    slowdown: slowdownFor(target),
    serial: o.serial,
    onProgress: log,
    facts: kernelFacts(),
    signal,
    onLine: o.verbose ? (v, s, l) => process.stderr.write(`[${v} ${s}] ${l}\n`) : undefined,
  });
  return { schema: 1, target, variants: applyKnown(results, target.kernel) };
}

/**
 * Runs `compare --target host` inside another target (a VM booted on `o.kernel`) and returns the report it
 * brings back. The inner command's own output (its table, its progress) streams through unless `quiet`.
 */
export async function compareOn(target: Target, o: CompareOptions, opts: { quiet?: boolean; signal?: AbortSignal } = {}): Promise<{ report?: CompareReport; exitCode: number }> {
  const inner = (out: string) => {
    const argv = ['./lab', 'compare', '--target', 'host', '--json', path.join(out, 'report.json')];
    for (const e of o.examples) argv.push('--example', e);
    for (const t of o.tools) argv.push('--tool', t);
    for (const v of o.variants ?? []) argv.push('--variant', v);
    if (o.serial) argv.push('--serial');
    if (o.verbose) argv.push('--verbose');
    return argv;
  };
  const run = await target.run(inner, { stdout: opts.quiet ? undefined : process.stdout, stderr: process.stderr, signal: opts.signal });
  const text = run.files.get('report.json');
  if (!text) throw new EnvironmentError(`compare on ${target.label}: it wrote no report (exit ${run.exitCode}); console log: ${run.log}`);
  const report = JSON.parse(text) as CompareReport;
  report.target = { ...report.target, ...run.info };
  return { report, exitCode: run.exitCode };
}

export async function compareCommand(argv: string[]): Promise<number> {
  const o = parseCompareArgs(argv);
  const inGuest = process.env.LAB_IN_VM === '1';
  await ensureSetup({
    build: !inGuest, // the guest sees the host's build read-only: it was built before the VM booted
    kernels: o.target === 'qemu' ? [o.kernel] : [],
    log: (l) => process.stderr.write(`lab compare: ${l}\n`),
  });
  if (o.target === 'qemu' || o.target === 'vagrant') {
    const target = targetFor(o.target, o.kernel);
    const { report, exitCode } = await interruptible(async (signal) => {
      try {
        return await compareOn(target, o, { signal });
      } finally {
        await target.stop(); // the Vagrant VM is destroyed, Ctrl-C or not
      }
    });
    if (!report) return exitCode;
    await writeOutputs(report, o);
    return exitCodeFor(report.variants);
  }
  const report = await interruptible((signal) => compareHere(o, signal));
  process.stdout.write(formatTables(report) + '\n');
  const details = formatFailureDetails(report.variants);
  if (details) process.stderr.write(details + '\n');
  await writeOutputs(report, o);
  return exitCodeFor(report.variants);
}
