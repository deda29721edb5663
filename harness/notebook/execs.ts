// Execs a notebook starts itself, so that what a tracer reports can be checked against what happened.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { projectRoot } from '../engine/paths.js';

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

/**
 * Resolves once the kernel lists `want` programs attached by process `pid` (bpftool perf show: tracepoints,
 * kprobes, uprobes), or after `maxMs` whatever it lists: the caller runs its execs either way.
 */
export async function attachedProbes(pid: number, want: number, maxMs = 5000): Promise<void> {
  const until = performance.now() + maxMs;
  while (performance.now() < until && existsSync(`/proc/${pid}`)) {
    const r = await execa('bpftool', ['-j', 'perf', 'show'], { reject: false });
    try {
      if ((JSON.parse(String(r.stdout)) as { pid: number }[]).filter((p) => p.pid === pid).length >= want) return;
    } catch {
      return; // no bpftool, or no JSON: nothing to wait on
    }
    await sleep(50);
  }
}

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
      const onData = (d: Buffer): void => {
        seen += d.toString();
        const m = ready.exec(seen);
        if (m) {
          // once: a later line would start another bpftool poll that could outlive the tool
          child.stdout!.off('data', onData);
          clearTimeout(timer);
          // bpftrace prints "Attaching N probes..." before it attaches them: wait for the kernel to list them
          const probes = /^Attaching (\d+) probe/m.exec(m[0]);
          (probes ? attachedProbes(child.pid!, Number(probes[1])) : Promise.resolve()).then(resolve, resolve);
        }
      };
      child.stdout!.on('data', onData);
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
