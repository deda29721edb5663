// `./lab trace E --tool T`: one variant, attached until SIGINT/SIGTERM, its events normalized and streamed —
// the same event whichever tool produced it. `ready` goes to stderr once the probes are attached.

import { formatCounts } from '../bpf/counter/counter.js';
import { formatArgs } from '../bpf/execsnoop/format.js';
import { parseOptions } from '../lib/args.js';
import { EnvironmentError, UsageError } from '../lib/errors.js';
import { parseCounter, UNREADABLE } from './parse.js';
import { projectRoot } from './paths.js';
import { checkVariant, hostTarget, slowdownFor } from './requirements.js';
import { Tracer } from './session.js';
import { ensureSetup } from './setup.js';
import type { CounterSnapshot, ExecEvent } from './types.js';
import { VARIANTS } from './variants.js';

type Format = 'text' | 'jsonl';

/** One normalized event as a line: a table row like execsnoop's, or one JSON object. */
export function formatTraceEvent(e: ExecEvent, format: Format): string {
  if (format === 'jsonl') return JSON.stringify(e);
  const opt = (v: number | undefined) => (v === undefined ? '-' : String(v));
  const unreadable = e.unreadable ? e.args.flatMap((a, i) => (a === UNREADABLE ? [i] : [])) : [];
  const args = formatArgs(e.args, unreadable) + (e.truncated && !e.args.some((a) => a.endsWith('...')) ? ' ...' : '');
  return `${e.comm.padEnd(16)} ${String(e.pid).padEnd(7)} ${opt(e.ppid).padEnd(7)} ${opt(e.ret).padStart(3)} ${args}`;
}

export function formatTraceCounts(c: CounterSnapshot, format: Format): string {
  if (format === 'jsonl') return JSON.stringify({ total: c.total, perPid: Object.fromEntries(c.perPid) });
  return formatCounts(c.total, c.perPid).trimEnd();
}

function parseTraceArgs(argv: string[]) {
  const { values, positionals } = parseOptions({
    args: argv,
    allowPositionals: true,
    options: {
      tool: { type: 'string' },
      format: { type: 'string', default: 'text' },
      target: { type: 'string', default: 'host' },
      kernel: { type: 'string' },
    },
  });
  const example = positionals[0];
  if (!example || positionals.length > 1) throw new UsageError('usage: ./lab trace EXAMPLE --tool TOOL [--format text|jsonl] [--target host|qemu] [--kernel K]');
  if (!values.tool) throw new UsageError('--tool is required (e.g. --tool libbpf)');
  const variant = VARIANTS.find((v) => v.example === example && v.tool === values.tool);
  if (!variant) {
    const names = VARIANTS.map((v) => `${v.example}/${v.tool}`).join(', ');
    throw new UsageError(`no variant ${example}/${values.tool} (variants: ${names})`);
  }
  if (values.format !== 'text' && values.format !== 'jsonl') throw new UsageError(`--format must be text or jsonl, not "${values.format}"`);
  const target = values.kernel && values.kernel !== 'host' ? 'qemu' : values.target;
  if (target !== 'host' && target !== 'qemu') throw new UsageError(`--target must be host or qemu, not "${target}"`);
  return { variant, format: values.format as Format, target, kernel: values.kernel ?? '6.1' };
}

/** Resolves on the first SIGINT or SIGTERM. */
const interrupted = () =>
  new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });

export async function traceCommand(argv: string[]): Promise<number> {
  const { variant, format, target, kernel } = parseTraceArgs(argv);
  const inGuest = process.env.LAB_IN_VM === '1';
  await ensureSetup({ build: !inGuest, kernels: target === 'qemu' ? [kernel] : [] });

  if (target === 'qemu') {
    const { runInVm } = await import('../vm/qemu.js');
    const stop = new AbortController();
    void interrupted().then(() => stop.abort());
    const inner = ['./lab', 'trace', variant.example, '--tool', variant.tool, '--format', format];
    const r = await runInVm({ kernel, command: inner, cwd: projectRoot, stdout: process.stdout, stderr: process.stderr, signal: stop.signal });
    return stop.signal.aborted ? 0 : r.exitCode;
  }

  const unmet = await checkVariant(variant);
  if (unmet) throw new EnvironmentError(unmet.reason);
  const slow = slowdownFor(await hostTarget());
  const tracer = new Tracer(variant, projectRoot, undefined, (e) => process.stdout.write(formatTraceEvent(e, format) + '\n'));
  const stopped = interrupted();
  const ready = await Promise.race([tracer.waitReady(variant.attachTimeoutMs * slow), stopped.then(() => false)]);
  if (!ready) {
    await tracer.stop(5000);
    if (tracer.exited && tracer.readyAt === undefined && tracer.exitCode !== undefined) {
      process.stderr.write(`lab trace: ${variant.example}/${variant.tool} did not attach: ${tracer.firstError()}\n`);
      return 1;
    }
    return 0;
  }
  process.stderr.write('ready\n');
  await Promise.race([stopped, tracer.done]);
  const clean = await tracer.stop(5000);
  if (variant.example === 'counter') {
    process.stdout.write(formatTraceCounts(parseCounter(variant.parser, tracer.stdout.join('\n')), format) + '\n');
  }
  if (!clean || (tracer.exitCode !== 0 && tracer.exitCode !== undefined)) {
    process.stderr.write(`lab trace: ${variant.example}/${variant.tool} ended badly (${tracer.exitCode ?? tracer.exitSignal}): ${tracer.firstError()}\n`);
    return 1;
  }
  return 0;
}
