// Execs a notebook starts itself, so that what a tracer reports can be checked against what happened.

import { spawnSync } from 'node:child_process';
import { execa } from 'execa';
import { projectRoot } from '../paths.js';

/** Runs `/bin/true` n times, one after the other, and returns the pid of each. */
export function runExecs(n: number, marker = 'ebpf-lab-notebook'): number[] {
  const pids: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = spawnSync('/bin/true', [`${marker}-${i}`]);
    if (r.error) throw r.error;
    pids.push(r.pid!);
  }
  return pids;
}

/** Resolves after ms milliseconds (the trace pipe and perf buffers deliver a moment after the event). */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface ToolRun {
  stdout: string;
  stderr: string;
  exitCode: number | undefined;
}

/**
 * Starts a tool (argv from the project's root), waits until `ready` appears in its stdout, runs `during`
 * (execs to be seen), then stops it with SIGINT as Ctrl-C would and returns what it printed. It is killed
 * if it is not ready within timeoutMs, and it dies with the notebook's kernel.
 */
export async function runTool(argv: string[], ready: RegExp, during: () => void | Promise<void> = () => {}, timeoutMs = 30_000): Promise<ToolRun> {
  const child = execa(argv[0]!, argv.slice(1), { cwd: projectRoot, reject: false, all: false, buffer: true, cleanup: true, forceKillAfterDelay: 3000 });
  try {
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => reject(new Error(`${argv.join(' ')}: not ready after ${timeoutMs} ms`)), timeoutMs);
      child.stdout!.on('data', (d: Buffer) => {
        seen += d.toString();
        if (ready.test(seen)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`${argv.join(' ')} exited before it was ready`));
      });
    });
    await during();
    await sleep(200); // let the last events arrive
  } finally {
    child.kill('SIGINT');
  }
  const r = await child;
  return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode };
}
