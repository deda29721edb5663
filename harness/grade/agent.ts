// The grading agent: the one program of the grader's that runs where the student's code runs (the
// grading VM, or this machine for a reference). Bundled with one lab's collector into the grading kit
// (kit.ts), it copies the student's files into a scratch folder, lets the collector run them — every
// command of the student's jailed (jail.ts) and limited (sandbox.ts) — and prints the evidence the
// collector sends (evidence.ts). It prints no score: the host judges.

import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AGENT_ERROR, END, EvidenceWriter } from './evidence.js';
import { jailArgv, type Jail } from './jail.js';
import type { CollectContext } from './lab.js';
import { runSandboxed, type SandboxLimits } from './sandbox.js';

/** config.json in the kit: what the host decided for this run. */
export interface AgentConfig {
  lab: string;
  caps: string[];
  limits: SandboxLimits;
  settings: unknown;
  /** Timeouts are multiplied by it: the host knows how the guest is emulated. */
  slowdown: number;
}

/** Where scratch folders go: a tmpfs in the guest; not /tmp, which the jail replaces with an empty one. */
const SCRATCH_PARENT = '/run';

/**
 * Debian's kernels set kernel.perf_event_paranoid to 3, where opening a perf event (how a tracepoint is
 * attached) needs CAP_SYS_ADMIN; at upstream's 2, CAP_PERFMON is enough, and it is all the jail keeps.
 * The grading guest is the student's alone: it gets upstream's setting.
 */
async function upstreamPerfParanoia(): Promise<void> {
  const file = '/proc/sys/kernel/perf_event_paranoid';
  if (Number(await readFile(file, 'utf8').catch(() => '2')) > 2) await writeFile(file, '2');
}

export async function agentMain(collect: (ctx: CollectContext) => Promise<void>): Promise<void> {
  const kit = path.dirname(fileURLToPath(import.meta.url));
  const writer = new EvidenceWriter();
  let scratch: string | undefined;
  try {
    const config = JSON.parse(await readFile(path.join(kit, 'config.json'), 'utf8')) as AgentConfig;
    if (process.env.LAB_IN_VM === '1') await upstreamPerfParanoia();
    scratch = await mkdtemp(path.join(SCRATCH_PARENT, 'ebpf-lab-grade-'));
    const dir = path.join(scratch, 'student');
    await cp(path.join(kit, 'student'), dir, { recursive: true, verbatimSymlinks: true });
    const jail: Jail = { script: path.join(kit, 'jail.sh'), scratch: dir, caps: config.caps };
    await collect({
      dir,
      kit,
      settings: config.settings,
      slowdown: config.slowdown,
      limits: config.limits,
      run: (file, args, opts = {}) => runSandboxed(file, args, { cwd: dir, env: opts.env, jail, limits: { ...config.limits, timeoutMs: opts.timeoutMs ?? config.limits.timeoutMs } }),
      jailed: (argv, env) => jailArgv(jail, argv[0]!, argv.slice(1), env),
      emit: (kind, value) => writer.emit(kind, value),
    });
    writer.emit(END);
  } catch (err) {
    writer.emit(AGENT_ERROR, { message: (err as Error).stack ?? String(err) });
    process.exitCode = 1;
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true }).catch(() => {});
  }
}
