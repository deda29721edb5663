// `./lab trace E --tool T`: one variant, attached until SIGINT/SIGTERM, its events normalized and streamed —
// the same event whichever tool produced it, formatted by its example. `ready` goes to stderr once the
// probes are attached. A ts tool runs inside this process; every other tool is a child process.

import path from 'node:path';
import { createRequire } from 'node:module';
import type { RunningTool, Tool } from '../../bpf/ts/tool.js';
import { parseOptions } from '../../lib/args.js';
import { EnvironmentError, UsageError } from '../../lib/errors.js';
import { exampleOf, findVariant, VARIANTS } from '../examples/index.js';
import { projectRoot } from '../engine/paths.js';
import { checkVariant, hostTarget, slowdownFor } from '../engine/requirements.js';
import { variantName, type Variant } from '../engine/variant.js';

type Format = 'text' | 'jsonl';

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
  if (!example || positionals.length > 1) throw new UsageError('usage: ./lab trace EXAMPLE --tool TOOL [--format text|jsonl] [--target host|qemu|vagrant] [--kernel K]');
  if (!values.tool) throw new UsageError('--tool is required (e.g. --tool libbpf)');
  const variant = findVariant(`${example}/${values.tool}`);
  if (!variant) {
    const names = VARIANTS.map(variantName).join(', ');
    throw new UsageError(`no variant ${example}/${values.tool} (variants: ${names})`);
  }
  if (values.format !== 'text' && values.format !== 'jsonl') throw new UsageError(`--format must be text or jsonl, not "${values.format}"`);
  if (values.target === 'vagrant' && values.kernel !== undefined) throw new UsageError(`--kernel ${values.kernel} does not apply to --target vagrant: the Vagrant VM runs its box's own kernel; use --target qemu --kernel ${values.kernel}`);
  const target = values.kernel && values.kernel !== 'host' ? 'qemu' : values.target;
  if (target !== 'host' && target !== 'qemu' && target !== 'vagrant') throw new UsageError(`--target must be host, qemu or vagrant, not "${target}"`);
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
  // a VM's root is the host's, read-only: build for it here; on the host only what this variant runs needs
  // building (`make -C bpf -q` alone cost 20-50 ms of a ts tool's start)
  const build = !inGuest && (target !== 'host' || variant.requires.includes('build:libbpf'));
  // imported only when needed: a trace starts in ~0.2 s on the host, and every module costs in a TCG guest
  if (build || target === 'qemu') await (await import('../engine/setup.js')).ensureSetup({ build, kernels: target === 'qemu' ? [kernel] : [] });

  if (target !== 'host') {
    const stop = new AbortController();
    void interrupted().then(() => stop.abort());
    const inner = ['./lab', 'trace', variant.example, '--tool', variant.tool, '--format', format];
    const where = (await import('../engine/targets.js')).targetFor(target, kernel);
    try {
      const r = await where.run(() => inner, { stdout: process.stdout, stderr: process.stderr, signal: stop.signal });
      return r.exitCode;
    } catch (err) {
      if (stop.signal.aborted) return 0; // Ctrl-C ends a trace: that is how it is meant to stop
      throw err;
    } finally {
      await where.stop(); // the Vagrant VM is destroyed
    }
  }

  const unmet = await checkVariant(variant);
  if (unmet) throw new EnvironmentError(unmet.reason);
  // every item as the example formats it, as soon as it is read (a counter's counts come when it stops)
  const example = exampleOf(variant);
  const print = (item: unknown) => process.stdout.write(example.format(item, format) + '\n');
  // a tool that is a bundle of ours (`node build/js/NAME.cjs`, bpf/ts/tool.ts) runs in this process
  const bundle = variant.command[0] === 'node' && /^build\/js\/[\w-]+\.cjs$/.test(variant.command[1] ?? '');
  return bundle ? traceInProcess(variant, print) : traceChild(variant, print);
}

/** The tool as a child process (session.ts's Tracer), stopped with SIGINT. */
async function traceChild(variant: Variant, print: (item: unknown) => void): Promise<number> {
  const { Tracer } = await import('../engine/session.js');
  const slow = slowdownFor(await hostTarget());
  const tracer = new Tracer(variant, exampleOf(variant), projectRoot, undefined, print);
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
  if (tracer.readError) {
    process.stderr.write(`lab trace: ${variantName(variant)}: ${tracer.readError.message}\n`);
    return 1;
  }
  if (!clean || (tracer.exitCode !== 0 && tracer.exitCode !== undefined)) {
    process.stderr.write(`lab trace: ${variant.example}/${variant.tool} ended badly (${tracer.exitCode ?? tracer.exitSignal}): ${tracer.firstError()}\n`);
    return 1;
  }
  return 0;
}

/**
 * A ts tool inside this process (bpf/ts/tool.ts): one Node runtime starts, not two. Its module is the bundle
 * the harness starts as a program (the variant's command), and its lines go through the same reader as that
 * program's stdout would, so what is printed is the same either way.
 */
async function traceInProcess(variant: Variant, print: (item: unknown) => void): Promise<number> {
  const name = variantName(variant);
  const stopped = interrupted();
  // require(), not import(): the bundle is CommonJS, and import() would start Node's ES module loader for it
  const { run } = createRequire(import.meta.url)(path.join(projectRoot, variant.command[1]!)) as { run: Tool };
  const reader = exampleOf(variant).reader(variant);
  let ready = false;
  let failure: Error | undefined;
  let failed!: () => void;
  const failedAfterAttach = new Promise<void>((resolve) => (failed = resolve));
  const fail = (err: unknown) => {
    failure ??= err as Error;
    failed();
  };
  const read = (items: () => unknown[]) => {
    try {
      items().forEach(print);
    } catch (err) {
      fail(err); // output the reader cannot make sense of (a counter without its total)
    }
  };
  let running: RunningTool;
  try {
    running = run({
      // the ready line (the table's header) is the program's signal to the harness: not an item
      line: (text) => (ready ? read(() => reader.line(text)) : (ready = variant.ready.test(text))),
      fail,
    });
  } catch (err) {
    process.stderr.write(`lab trace: ${name} did not attach: ${(err as Error).message}\n`);
    return 1;
  }
  process.stderr.write('ready\n');
  const alive = setInterval(() => {}, 1 << 30); // a counter has nothing to read: keep the process up until a signal
  await Promise.race([stopped, failedAfterAttach]);
  clearInterval(alive);
  try {
    running.stop();
    read(() => reader.end());
  } catch (err) {
    fail(err);
  }
  if (!failure) return 0;
  process.stderr.write(`lab trace: ${name}: ${failure.message}\n`);
  return 1;
}
