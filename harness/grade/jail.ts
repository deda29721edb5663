// The jail every command of a student's runs in when graded (jail.sh does the work): a mount namespace
// where only its scratch folder is writable, a pid namespace where the grader's processes do not exist,
// uid 0 with only the capabilities the lab needs, and an environment of a few plain variables, so there
// is nothing of the grader's to read there either.

import { existsSync } from 'node:fs';
import path from 'node:path';

export interface Jail {
  /** jail.sh, where this run finds it (the grading kit holds a copy). */
  script: string;
  /** The student's scratch folder: the one place it may write. */
  scratch: string;
  /** Capabilities it keeps, without the CAP_ prefix: ['bpf', 'perfmon']. */
  caps: string[];
}

/** What a BPF lab's code needs: load programs and maps (CAP_BPF), attach to tracepoints and read kernel memory (CAP_PERFMON). */
export const BPF_CAPS = ['bpf', 'perfmon'];

/** The jail's environment: enough to find the tools; HOME and TMPDIR are the scratch folder's and /tmp. */
export function jailEnv(scratch: string, extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: scratch, TMPDIR: '/tmp', LANG: 'C.UTF-8', ...extra };
}

/** argv that runs `file args` jailed: a death signal, `env -i` (a clean environment), unshare and jail.sh, each exec'ing the next. */
export function jailArgv(jail: Jail, file: string, args: string[], env: Record<string, string> = {}): string[] {
  for (const c of jail.caps) if (!/^[a-z_]+$/.test(c)) throw new Error(`jail: "${c}" is not a capability name (bpf, perfmon, …)`);
  const vars = Object.entries(jailEnv(jail.scratch, env)).map(([k, v]) => `${k}=${v}`);
  // killed when the process that started it dies (the agent): and everything in the jail dies with it
  return ['setpriv', '--pdeathsig', 'KILL', '--', 'env', '-i', ...vars, 'unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', jail.script, jail.scratch, jail.caps.map((c) => `+${c}`).join(','), file, ...args];
}

/** jail.sh beside this module (sources) or in the grading kit's root (the bundle). */
export function jailScript(from: string): string {
  for (const p of [path.join(from, 'jail.sh'), path.join(from, 'harness', 'grade', 'jail.sh')]) if (existsSync(p)) return p;
  throw new Error(`jail: no jail.sh in ${from}`);
}
