// `./lab bench`: every variant measured side by side on one target — startup, memory, loss under an exec
// storm, per-event cost, footprint, boot — as a table, --json, --csv and PNG charts (build/bench/ unless
// --charts DIR). The measuring is harness/bench/; this is the command line around it.

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseOptions } from '../../lib/args.js';
import { EnvironmentError, UsageError } from '../../lib/errors.js';
import { interruptible } from '../../lib/process.js';
import { benchCharts, benchCsv, benchVariants, formatBench, runBench, DEFAULT_REPEATS, DEFAULT_STORM } from '../bench/index.js';
import { projectRoot } from '../engine/paths.js';
import { ensureSetup } from '../engine/setup.js';

export const BENCH_USAGE = `usage: ./lab bench [--target host|qemu] [--kernel K] [--storm N] [--repeats R] [--variant E/T]...
                   [--json FILE] [--csv FILE] [--charts DIR | --no-charts]
  measure each variant alone, side by side in one run: launch to ready and to the first event (R starts,
  default ${DEFAULT_REPEATS}), peak RSS and kernel memory, an exec storm of N execs (default ${DEFAULT_STORM}) untraced and
  traced (events received, reported lost, missing; the kernel's own count; the exec rate), the time its BPF
  programs ran (BPF_ENABLE_STATS), what it needs on disk, its lines of code, and the VM's boot time.
  Default target: host; --kernel K runs it in a VM booted on Debian kernel K.
  Charts: PNG files in build/bench/ (startup, rss, loss, cost, rate).
  Exit 0 when every variant was measured or skipped, 1 when one failed (its storm's books did not close,
  or it did not attach), 2 bad usage or environment.`;

export async function benchCommand(argv: string[]): Promise<number> {
  const { values } = parseOptions(
    {
      args: argv,
      options: {
        target: { type: 'string' },
        kernel: { type: 'string' },
        storm: { type: 'string' },
        repeats: { type: 'string' },
        variant: { type: 'string', multiple: true },
        json: { type: 'string' },
        csv: { type: 'string' },
        charts: { type: 'string' },
        'no-charts': { type: 'boolean', default: false },
      },
    },
    BENCH_USAGE,
  );
  const kernel = values.kernel && values.kernel !== 'host' ? values.kernel : undefined;
  const target = values.target ?? (kernel ? 'qemu' : 'host');
  if (target !== 'host' && target !== 'qemu') throw new UsageError(`--target must be host or qemu, not "${target}"`);
  if (target === 'host' && kernel) throw new UsageError(`--kernel ${kernel} needs a VM target: use --target qemu (or leave --target out)`);
  const count = (name: string, v: string | undefined, dflt: number) => {
    if (v === undefined) return dflt;
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--${name} must be a whole number ≥ 1, not "${v}"`);
    return Number(v);
  };
  const storm = count('storm', values.storm, DEFAULT_STORM);
  const repeats = count('repeats', values.repeats, DEFAULT_REPEATS);
  const variants = (values.variant ?? []).flatMap((v) => v.split(',')).filter(Boolean);
  benchVariants(variants); // an unknown name is bad usage before anything starts
  const log = (l: string) => process.stderr.write(`lab bench: ${l}\n`);
  const inGuest = process.env.LAB_IN_VM === '1';
  if (process.getuid?.() !== 0) throw new EnvironmentError('bench loads BPF programs: run ./lab bench as root');
  await ensureSetup({ build: !inGuest, log }); // a VM target fetches its kernel itself (runBench: target.prepare)

  const report = await interruptible((signal) =>
    runBench({ target, kernel, storm, repeats, variants, log, build: !inGuest, signal }),
  );
  process.stdout.write(formatBench(report) + '\n');
  if (values.json) await writeFile(values.json, JSON.stringify(report, null, 2) + '\n');
  if (values.csv) await writeFile(values.csv, benchCsv(report));
  if (!values['no-charts']) {
    const dir = path.resolve(values.charts ?? path.join(projectRoot, 'build', 'bench'));
    await mkdir(dir, { recursive: true });
    const charts = await benchCharts(report);
    for (const c of charts) await writeFile(path.join(dir, `${c.name}.png`), c.png);
    log(`charts: ${charts.map((c) => path.join(path.relative(process.cwd(), dir) || '.', `${c.name}.png`)).join(', ')}`);
  }
  return report.variants.some((v) => v.status === 'fail') ? 1 : 0;
}
