// `./lab trace E --tool T`: one variant, attached until SIGINT/SIGTERM, its events normalized and streamed —
// the same event whichever tool produced it, formatted by its example. `ready` goes to stderr once the
// probes are attached.

import { parseOptions } from '../lib/args.js';
import { EnvironmentError, UsageError } from '../lib/errors.js';
import { exampleOf, findVariant, VARIANTS } from './examples/index.js';
import { projectRoot } from './paths.js';
import { checkVariant, hostTarget, slowdownFor } from './requirements.js';
import { Tracer } from './session.js';
import { ensureSetup } from './setup.js';
import { targetFor } from './targets.js';
import { variantName } from './variant.js';

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
  await ensureSetup({ build, kernels: target === 'qemu' ? [kernel] : [] });

  if (target !== 'host') {
    const stop = new AbortController();
    void interrupted().then(() => stop.abort());
    const inner = ['./lab', 'trace', variant.example, '--tool', variant.tool, '--format', format];
    const where = targetFor(target, kernel);
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
  const slow = slowdownFor(await hostTarget());
  // every item as the example formats it, as soon as it is read (a counter's counts come when it stops)
  const example = exampleOf(variant);
  const tracer = new Tracer(variant, projectRoot, undefined, (item) => process.stdout.write(example.format(item, format) + '\n'));
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
