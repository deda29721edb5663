// The workload: a fixed set of execs whose every detail is known, so each tracer can be graded against
// the truth instead of against another tracer. Each case exercises one thing tools get wrong.

import { mkdtemp, rm, writeFile, chmod, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import type { ExecTruth, WorkloadRun } from './types.js';

const TASK_COMM_LEN = 16; // include/linux/sched.h: comm holds 15 bytes and a NUL
const ENOENT = 2;
const TRUE = '/bin/true';
const SH = '/bin/sh';
const PYTHON = '/usr/bin/python3'; // Debian's: the `python3` on PATH may be another one
const HELPER = fileURLToPath(new URL('./exec_helper.py', import.meta.url));

/** How many arguments the many-args case passes: more than any course variant keeps (20). */
export const MANY_ARGS = 40;
/** Length of the long argument: more than any tool's per-argument cap (128 bytes). */
export const LONG_ARG_LEN = 300;

/** The comm the kernel gives a task after exec: the file's basename, cut to 15 bytes. */
export const commFor = (filename: string): string =>
  Buffer.from(path.basename(filename)).subarray(0, TASK_COMM_LEN - 1).toString();

export const newRunId = (): string => `lab${randomBytes(3).toString('hex')}`;

interface Context {
  runId: string;
  dir: string;
  /** comm of the workload's main thread: what a spawned child's comm is until it execs */
  ownComm: string;
}

type Case = (ctx: Context) => Promise<ExecTruth[]>;

const marker = (ctx: Context, id: string): string => `${ctx.runId}-${id}`;

/** The truth of an exec the workload started itself: a child of this process, exec'ing once, from its main thread. */
const childExec = (ctx: Context, f: Pick<ExecTruth, 'id' | 'marker' | 'pid' | 'filename' | 'argv'> & Partial<ExecTruth>): ExecTruth => ({
  syscall: 'execve',
  tid: f.pid,
  ppid: process.pid,
  ret: 0,
  commBefore: ctx.ownComm,
  commAfter: commFor(f.filename),
  ...f,
});

/** Spawn FILE with ARGV (argv[0] included) and wait; the child's only exec is the one under test. */
async function spawnExec(ctx: Context, id: string, filename: string, argv: string[], mark: string): Promise<ExecTruth> {
  const child = execa(filename, argv.slice(1), {
    argv0: argv[0],
    reject: false,
    timeout: 20_000,
    stdio: 'ignore',
    env: {},
    extendEnv: false,
  });
  const pid = child.pid;
  const result = await child;
  if (pid === undefined || result.failed) {
    throw new Error(`workload ${id}: ${filename} did not run: ${result.shortMessage ?? 'no pid'}`);
  }
  return childExec(ctx, { id, marker: mark, pid, filename, argv });
}

const withArgs = (id: string, extra: (m: string) => string[], filename = TRUE): Case => async (ctx) => {
  const m = marker(ctx, id);
  return [await spawnExec(ctx, id, filename, [filename, m, ...extra(m)], m)];
};

/** A launcher exec: it only starts the process that will do the exec under test. */
const launcher = (ctx: Context, id: string, pid: number, filename: string, argv: string[], mark: string): ExecTruth =>
  childExec(ctx, { id: `${id}:launcher`, marker: mark, pid, filename, argv, launcher: true });

/** Runs the Python helper, which reports who it is and then execs from a thread or with execveat. */
const viaHelper = (id: string, mode: 'thread' | 'execveat'): Case => async (ctx) => {
  const m = marker(ctx, id);
  const argv = [TRUE, m];
  const helperArgv = [PYTHON, HELPER, mode, TRUE, ...argv];
  const child = execa(PYTHON, helperArgv.slice(1), { reject: false, timeout: 20_000, stdin: 'ignore' });
  const pid = child.pid;
  const result = await child;
  const report = result.stdout ? (JSON.parse(String(result.stdout).split('\n')[0]) as { tid: number; comm: string }) : null;
  if (pid === undefined || result.exitCode !== 0 || !report) {
    throw new Error(`workload ${id}: ${PYTHON} ${HELPER} ${mode} failed: ${result.stderr || result.shortMessage}`);
  }
  return [
    launcher(ctx, id, pid, PYTHON, helperArgv, m),
    {
      id,
      marker: m,
      syscall: mode === 'execveat' ? 'execveat' : 'execve',
      pid,
      tid: report.tid,
      ppid: process.pid,
      filename: TRUE,
      argv,
      ret: 0,
      commBefore: report.comm,
      commAfter: commFor(TRUE),
    },
  ];
};

/** The cases, in the order they run. Names are what the report shows. */
export const CASES: Record<string, Case> = {
  // argv is just the program: nothing to carry a marker, so the pid alone identifies it
  plain: async (ctx) => [await spawnExec(ctx, 'plain', TRUE, [TRUE], '')],
  'three-args': withArgs('three-args', () => ['two', 'three']),
  'many-args': withArgs('many-args', () => Array.from({ length: MANY_ARGS - 2 }, (_, i) => `a${i + 2}`)),
  'long-arg': withArgs('long-arg', () => ['L'.repeat(LONG_ARG_LEN)]),
  'empty-arg': withArgs('empty-arg', () => ['', 'after-empty']),
  'arg-with-spaces': withArgs('arg-with-spaces', () => ['two words', ' padded ']),
  // a shell execs the missing file, so we know the pid that failed (Node reports no pid for a failed spawn)
  'failed-enoent': async (ctx) => {
    const id = 'failed-enoent';
    const m = marker(ctx, id);
    const missing = `/nonexistent/${m}`;
    const shArgv = [SH, '-c', 'exec "$0" "$@"', missing, m];
    const child = execa(SH, shArgv.slice(1), { reject: false, timeout: 20_000, stdin: 'ignore', env: {}, extendEnv: false });
    const pid = child.pid;
    const result = await child;
    // dash: "exec: … not found", exit 127 — proof that the exec failed with ENOENT
    if (pid === undefined || result.exitCode !== 127) {
      throw new Error(`workload ${id}: expected ${SH} to fail with 127, got ${result.exitCode}: ${result.stderr}`);
    }
    return [
      launcher(ctx, id, pid, SH, shArgv, m),
      {
        id, marker: m, syscall: 'execve', pid, tid: pid, ppid: process.pid,
        filename: missing, argv: [missing, m], ret: -ENOENT,
        commBefore: commFor(SH), commAfter: commFor(SH), // a failed exec leaves comm as it was
      },
    ];
  },
  shebang: async (ctx) => {
    const id = 'shebang';
    const m = marker(ctx, id);
    const script = path.join(ctx.dir, 'lab-script.sh');
    return [await spawnExec(ctx, id, script, [script, m], m)];
  },
  'from-thread': viaHelper('from-thread', 'thread'),
  execveat: viaHelper('execveat', 'execveat'),
};

/**
 * Runs every case once, in order, and returns the truth about each exec.
 * Call it only after the tracer under test says its probes are attached.
 */
export async function runWorkload(runId = newRunId()): Promise<WorkloadRun> {
  const dir = await mkdtemp(path.join(tmpdir(), `ebpf-lab-${runId}-`));
  try {
    await writeFile(path.join(dir, 'lab-script.sh'), '#!/bin/sh\nexit 0\n');
    await chmod(path.join(dir, 'lab-script.sh'), 0o755);
    const ownComm = (await readFile(`/proc/self/task/${process.pid}/comm`, 'utf8')).trimEnd();
    const ctx: Context = { runId, dir, ownComm };
    const execs: ExecTruth[] = [];
    for (const run of Object.values(CASES)) execs.push(...(await run(ctx)));
    // A parser for output whose arguments can continue on the next line (an argument holding a newline)
    // knows an event is complete only when the next one starts. One last exec, left out of the truth
    // and so ignored by the grading, lets the final case's event out before the tracers are stopped.
    await spawnExec(ctx, 'closing', TRUE, [TRUE, marker(ctx, 'closing')], marker(ctx, 'closing'));
    return { runId, execs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
