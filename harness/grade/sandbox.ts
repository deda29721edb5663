// Runs one command of a student's with limits: a time limit, an output cap (a flood is stopped, not
// stored), and — inside a grading VM — a cgroup of its own with a pids and a memory limit, so a fork bomb
// or a leak stops there and the grader beside it keeps working. Root ignores RLIMIT_NPROC (ulimit -u),
// which is why the limit is a pids cgroup. Whatever the command leaves running is killed with its cgroup
// (or its process group on the host). The VM is the real wall; these limits keep one student's run
// from eating the rest of its own grading.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { jailArgv, type Jail } from './jail.js';

export interface SandboxLimits {
  timeoutMs: number;
  /** Bytes of stdout + stderr kept; more stops the command as a flood. */
  maxOutput: number;
  pidsMax: number;
  memoryMb: number;
}

export interface SandboxResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** It wrote more than maxOutput bytes and was stopped. */
  flooded: boolean;
  /** A fork failed against the pids limit at least once (pids.events). */
  hitPidsLimit: boolean;
  /** The memory limit killed something (memory.events oom_kill). */
  oomKilled: boolean;
}

/** The limits of one command of a student's, from the lab's (the whole submission has the VM's). */
export function commandLimits(lab: { commandTimeoutS?: number; timeLimitS?: number; pidsMax?: number; memoryMb?: number }): SandboxLimits {
  return {
    timeoutMs: (lab.commandTimeoutS ?? Math.min(120, Math.round((lab.timeLimitS ?? 240) / 2))) * 1000,
    maxOutput: 256 * 1024,
    pidsMax: lab.pidsMax ?? 256,
    // Leave the grader and the kernel room: the student gets most of the guest, not all of it.
    memoryMb: Math.max(256, Math.round((lab.memoryMb ?? 1024) * 0.6)),
  };
}

const CGROUP_ROOT = '/sys/fs/cgroup';
let cgroupCount = 0;

/** True inside a grading VM with cgroup v2 mounted (the guest init mounts it). */
export async function cgroupsUsable(): Promise<boolean> {
  if (process.env.LAB_IN_VM !== '1') return false;
  const controllers = await readFile(path.join(CGROUP_ROOT, 'cgroup.controllers'), 'utf8').catch(() => '');
  return /\bpids\b/.test(controllers) && /\bmemory\b/.test(controllers);
}

async function makeCgroup(limits: SandboxLimits): Promise<string> {
  await writeFile(path.join(CGROUP_ROOT, 'cgroup.subtree_control'), '+pids +memory');
  const dir = path.join(CGROUP_ROOT, `lab-student-${process.pid}-${cgroupCount++}`);
  await mkdir(dir);
  await writeFile(path.join(dir, 'pids.max'), String(limits.pidsMax));
  await writeFile(path.join(dir, 'memory.max'), String(limits.memoryMb * 1024 * 1024));
  await writeFile(path.join(dir, 'memory.swap.max'), '0').catch(() => {});
  return dir;
}

/**
 * Kill everything in the cgroup (cgroup.kill from 5.14; before that, SIGKILL each pid until none is left),
 * then remove it unless asked to keep it: a stop on a limit keeps it, so pids.events and memory.events
 * can still be read (read from a removed cgroup they say nothing, and a fork bomb read as a plain hang).
 */
async function killCgroup(dir: string, remove = true): Promise<void> {
  if (existsSync(path.join(dir, 'cgroup.kill'))) await writeFile(path.join(dir, 'cgroup.kill'), '1').catch(() => {});
  for (let round = 0; round < 200; round++) {
    const pids = (await readFile(path.join(dir, 'cgroup.procs'), 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!remove) return;
  for (let round = 0; round < 100; round++) {
    try {
      await rmdir(dir);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

async function eventCount(dir: string, file: string, key: string): Promise<number> {
  const text = await readFile(path.join(dir, file), 'utf8').catch(() => '');
  return Number(new RegExp(`^${key} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
}

/** argv that joins `cgroup` before it execs `argv`, so nothing the command starts is outside it. */
export const inCgroup = (cgroup: string | undefined, argv: string[]): string[] =>
  cgroup ? ['/bin/sh', '-c', `echo $$ > ${cgroup}/cgroup.procs && exec "$@"`, 'sandbox', ...argv] : argv;

/**
 * A cgroup with the limits for a command the caller starts itself (a tracer the session runs): `wrap`
 * its argv, and `close` when it is over, which kills what is left and says which limit it hit.
 */
export async function openCgroup(limits: SandboxLimits): Promise<{ wrap: (argv: string[]) => string[]; close: () => Promise<{ hitPidsLimit: boolean; oomKilled: boolean }> }> {
  const cgroup = (await cgroupsUsable()) ? await makeCgroup(limits) : undefined;
  return {
    wrap: (argv) => inCgroup(cgroup, argv),
    close: async () => {
      if (!cgroup) return { hitPidsLimit: false, oomKilled: false };
      const hit = { hitPidsLimit: (await eventCount(cgroup, 'pids.events', 'max')) > 0, oomKilled: (await eventCount(cgroup, 'memory.events', 'oom_kill')) > 0 };
      await killCgroup(cgroup);
      return hit;
    },
  };
}

export async function runSandboxed(file: string, args: string[], opts: { cwd: string; env?: Record<string, string>; limits: SandboxLimits; jail?: Jail }): Promise<SandboxResult> {
  const { limits } = opts;
  const cgroup = (await cgroupsUsable()) ? await makeCgroup(limits) : undefined;
  const argv = inCgroup(cgroup, opts.jail ? jailArgv(opts.jail, file, args, opts.env) : [file, ...args]);
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: opts.cwd,
    // jailed: env -i gives it its own few variables, nothing of the grader's
    env: opts.jail ? {} : { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: the host target kills the group
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let size = 0;
  let flooded = false;
  let timedOut = false;
  const stop = () => {
    if (cgroup) void killCgroup(cgroup, false);
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {}
  };
  const take = (sink: Buffer[]) => (chunk: Buffer) => {
    if (flooded) return;
    size += chunk.length;
    if (size > limits.maxOutput) {
      flooded = true;
      sink.push(chunk.subarray(0, Math.max(0, chunk.length - (size - limits.maxOutput))));
      stop();
      return;
    }
    sink.push(chunk);
  };
  child.stdout!.on('data', take(out));
  child.stderr!.on('data', take(err));
  const timer = setTimeout(() => {
    timedOut = true;
    stop();
  }, limits.timeoutMs);
  const [exitCode, signal] = await new Promise<[number | null, string | null]>((resolve) => {
    child.on('error', () => resolve([127, null]));
    child.on('close', (code, sig) => resolve([code, sig]));
  });
  clearTimeout(timer);
  let hitPidsLimit = false;
  let oomKilled = false;
  if (cgroup) {
    hitPidsLimit = (await eventCount(cgroup, 'pids.events', 'max')) > 0;
    oomKilled = (await eventCount(cgroup, 'memory.events', 'oom_kill')) > 0;
    await killCgroup(cgroup);
  } else {
    try {
      process.kill(-child.pid!, 'SIGKILL'); // what it left running in its group
    } catch {}
  }
  return { exitCode, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut, flooded, hitPidsLimit, oomKilled };
}

/** The sentence for a run that did not end on its own, or undefined when it did. */
export function abnormalEnd(r: SandboxResult, limits: SandboxLimits): string | undefined {
  if (r.flooded) return `output flood: more than ${Math.round(limits.maxOutput / 1024)} KiB of output, stopped`;
  if (r.timedOut) return `${r.hitPidsLimit ? `forked without end (hit the limit of ${limits.pidsMax} processes) and ` : ''}did not finish within ${limits.timeoutMs / 1000} s, stopped`;
  if (r.oomKilled) return `killed by the memory limit (${limits.memoryMb} MiB)`;
  if (r.hitPidsLimit) return `forked without end: hit the limit of ${limits.pidsMax} processes`;
  return undefined;
}
