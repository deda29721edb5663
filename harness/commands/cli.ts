// The `./lab` command line: one table of subcommands, each implemented in the module that owns the idea.
// Exit codes (docs/CONTRACT.md): 0 nothing failed, 1 a variant or check failed, 2 bad usage or environment.

import { UsageError, EnvironmentError } from '../../lib/errors.js';
import { Interrupted } from '../../lib/process.js';

type Command = { summary: string; usage?: string | (() => Promise<string>); run: (argv: string[]) => Promise<number> };

const commands: Record<string, Command> = {
  setup: {
    summary: 'install and build what is missing; print what was done',
    usage: `usage: ./lab setup [--kernels K,K...]
  install missing Debian and npm packages, build the libbpf tools, fetch the VM kernels
  (default 6.1; --kernels '' for none); prints what it did`,
    run: async (argv) => (await import('./setup.js')).setupCommand(argv),
  },
  compare: {
    summary: 'run every variant against the workload and compare with the ground truth',
    usage: `usage: ./lab compare [--target host|qemu|vagrant] [--kernel K] [--example E]... [--tool T]... [--variant E/T]...
                     [--json FILE] [--csv FILE] [--serial] [--verbose]
  run every variant (or those of --example/--tool, comma lists allowed) against one workload whose
  truth is known and report, per variant, pass / fail / skip with its reason and expected differences.
  Default: a QEMU VM on Debian kernel 6.1; --target host for the running kernel.
  Exit 0 nothing failed (skips allowed), 1 a variant failed, 2 bad usage or environment.`,
    run: async (argv) => (await import('./compare.js')).compareCommand(argv),
  },
  trace: {
    summary: 'attach one variant and stream its normalized events until SIGINT',
    usage: `usage: ./lab trace EXAMPLE --tool TOOL [--format text|jsonl] [--target host|qemu|vagrant] [--kernel K]
  attach one variant (e.g. ./lab trace execsnoop --tool libbpf) and print its events, normalized,
  until Ctrl-C; a counter prints its counts when stopped`,
    run: async (argv) => (await import('./trace.js')).traceCommand(argv),
  },
  matrix: {
    summary: 'compare on each kernel and print one compatibility table',
    usage: `usage: ./lab matrix [--kernels K,K...] [--kernel-image BZIMAGE [--modules DIR]] [--example E]... [--tool T]...
                    [--baseline FILE [--update-baseline]] [--reruns N] [--json FILE] [--junit FILE]
                    [--summary FILE] [--csv FILE] [--md FILE] [--history-dir DIR] [--serial]
       ./lab matrix --merge FILE.json... [--baseline FILE] [same outputs]
       ./lab matrix --history [--last N] [--history-dir DIR]
  run compare on each kernel (default 5.10,6.1,6.12,7.2,host; also a suite such as bookworm-backports,
  or an exact Debian kernel such as 6.1.0-47) and print variant x kernel. A failing cell is run again
  (--reruns, default 1): one that passes then is flaky. --baseline classifies every cell (as expected,
  new failure, newly passing, known failure, flaky, expired, not run); exit 1 only for a new failure
  or an expired entry. --kernel-image boots your own kernel (BTF required, checked before boot).
  Every run's record is kept (default ~/.cache/ebpf-lab/matrix-history); --history shows each cell's
  last N results. --merge joins compare --json reports or matrix --json records (one per CI job).`,
    run: async (argv) => (await import('./matrix.js')).matrixCommand(argv),
  },
  vm: {
    summary: 'run a command inside a VM booted on a Debian kernel; list kernels',
    usage: async () => (await import('../../vm/cli.js')).USAGE,
    run: async (argv) => (await import('../../vm/cli.js')).vmCommand(argv),
  },
  test: {
    summary: 'the test suite, or one part of it: unit, kernel, vm, notebooks, labs',
    usage: `usage: ./lab test [unit|kernel|vm|notebooks|labs]... [TAP OPTIONS]
  the whole suite, or its parts: unit (no root), kernel (loads programs here), vm (boots QEMU);
  options starting with - go to tap (e.g. --grep)`,
    run: async (argv) => (await import('./test.js')).testCommand(argv),
  },
  notebook: {
    summary: 'start Jupyter with the TypeScript kernel on the host or inside a VM; print its URL',
    usage: async () => (await import('./notebook.js')).USAGE,
    run: async (argv) => (await import('./notebook.js')).notebookCommand(argv),
  },
  grade: {
    summary: 'grade a folder of lab submissions, each in its own VM, into a CSV / Gradescope results',
    usage: async () => (await import('./grade.js')).USAGE,
    run: async (argv) => (await import('./grade.js')).gradeCommand(argv),
  },
  handout: {
    summary: 'the labs as a student gets them: READMEs, starters and ./check (the visible checks), no solution',
    usage: async () => (await import('./handout.js')).USAGE,
    run: async (argv) => (await import('./handout.js')).handoutCommand(argv),
  },
  bench: {
    summary: 'measure each variant side by side: startup, memory, loss under an exec storm, cost, footprint, boot',
    usage: async () => (await import('./bench.js')).BENCH_USAGE,
    run: async (argv) => (await import('./bench.js')).benchCommand(argv),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: ./lab COMMAND [OPTIONS]\n\ncommands:\n${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`lab: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const ownArgs = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (command.usage && ownArgs.some((a) => a === '-h' || a === '--help')) {
    const text = typeof command.usage === 'string' ? command.usage : await command.usage();
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    // the errors that are the user's or the machine's, not ours: one line, no stack
    if (!(err instanceof UsageError || err instanceof EnvironmentError || err instanceof Interrupted)) throw err;
    process.stderr.write(`lab ${name}: ${err.message}\n`);
    return err instanceof Interrupted ? err.exitCode : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`lab: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 2;
  },
);
