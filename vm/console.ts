// Reading a guest's serial console: why a guest stopped early, and whether its kernel broke or complained
// (a lockup, an RCU stall, an oops, a panic, a WARNING or BUG splat) while the command ran. runInVm
// watches the console as it grows, so a broken guest ends its run within seconds instead of at a timeout,
// and a splat fails the run even when the command passed (as libbpf's CI does), unless the allow list
// below says why that splat is harmless.

import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { EnvironmentError, UsageError } from '../lib/errors.js';

export type GuestCrashKind = 'soft lockup' | 'hard lockup' | 'rcu stall' | 'hung task' | 'oops' | 'panic' | 'warning' | 'bug' | 'stopped';

/** What a broken or complaining kernel prints, most telling first (a lockup is often followed by a panic). */
const CRASHES: [GuestCrashKind, RegExp][] = [
  ['soft lockup', /watchdog: BUG: soft lockup/],
  ['hard lockup', /Watchdog detected hard LOCKUP/],
  ['rcu stall', /rcu: INFO: rcu_\w+ (?:self-)?detected stalls?|rcu_\w+ self-detected stall/],
  ['hung task', /INFO: task .+ blocked for more than \d+ seconds/],
  ['oops', /Oops:|BUG: unable to handle|BUG: kernel NULL pointer|general protection fault|kernel BUG at/],
  ['panic', /Kernel panic - not syncing/],
  // __warn(): "WARNING: CPU: 1 PID: 99 at kernel/x.c:12 f+0x1/0x2", and lockdep's "WARNING: possible ..."
  ['warning', /^WARNING: /],
  // the rest of the kernel's BUG reports: sleeping while atomic, bad page state, KASAN, UBSAN
  ['bug', /^BUG: |^UBSAN: /],
];

/**
 * A splat known to be harmless on some kernels. The kernel names are the project's ('6.1', '7.2', 'host')
 * or '*'; past `expires` (YYYY-MM-DD) the entry no longer allows anything, so it is looked at again.
 */
export interface SplatAllow {
  pattern: RegExp;
  kernels: string[] | '*';
  reason: string;
  expires?: string;
}

/**
 * The project's allow list: splats seen on the matrix's kernels and judged harmless, each with its reason.
 * None so far: `./lab vm stress` and the whole `./lab test` printed no splat but the emulator's (see
 * qemu.ts, TCG_THREAD). $LAB_SPLAT_ALLOW names a JSON file of more entries ({pattern, kernels, reason,
 * expires?}, pattern a regular expression's source) for a maintainer's own kernel.
 */
export const SPLATS_ALLOWED: SplatAllow[] = [];

/** The entries that apply to `kernel` today: the project's and $LAB_SPLAT_ALLOW's. */
export function splatAllowList(kernel: string, today = new Date().toISOString().slice(0, 10)): SplatAllow[] {
  const file = process.env.LAB_SPLAT_ALLOW;
  let extra: SplatAllow[] = [];
  if (file) {
    let raw: { pattern: string; kernels?: string[] | '*'; reason: string; expires?: string }[];
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
      if (!Array.isArray(raw)) throw new Error('not a JSON array');
    } catch (err) {
      throw new UsageError(`LAB_SPLAT_ALLOW=${file}: ${(err as Error).message}`);
    }
    extra = raw.map((e, i) => {
      if (typeof e?.pattern !== 'string' || typeof e.reason !== 'string' || !e.reason.trim()) {
        throw new UsageError(`LAB_SPLAT_ALLOW=${file}: entry ${i + 1} needs a "pattern" and a "reason"`);
      }
      return { pattern: new RegExp(e.pattern), kernels: e.kernels ?? '*', reason: e.reason, expires: e.expires };
    });
  }
  return [...SPLATS_ALLOWED, ...extra].filter((e) => (e.kernels === '*' || e.kernels.includes(kernel)) && !(e.expires && e.expires < today));
}

/** A splat the allow list let pass: its first line and the entry's reason. */
export interface AllowedSplat {
  line: string;
  reason: string;
}

/**
 * A crash that has been QEMU's emulation, not the command: on a QEMU with the multi-threaded TCG race
 * (vm/qemu-build.ts) a kernel patching its own code while another vCPU runs it has livelocked (6.1: both
 * vCPUs stuck for 22 minutes at a static-key NOP in syscall_trace_enter) and died on the int3 the patching
 * leaves for a moment (7.2: "Oops: int3" in trace_syscall_enter), each time as tracers attached to the
 * syscall tracepoints. On any other QEMU, or under KVM, such a crash is the guest's.
 */
export function emulationSuspect(crash: Pick<GuestCrash, 'kind' | 'excerpt' | 'racyTcg'>): boolean {
  if (!crash.racyTcg) return false;
  return crash.kind === 'soft lockup' || crash.kind === 'rcu stall' || (crash.kind === 'oops' && /^Oops: int3/.test(crash.excerpt[0] ?? ''));
}

const stamp = (l: string) => l.replace(/^\[[^\]]*\]\s*/, '').trim();

/**
 * The first sign of a broken kernel in `text`, with a short excerpt: the line itself, the process and
 * the instruction it names, and the first call frames — the lines a reader acts on, without registers.
 */
export function consoleCrash(text: string, allow: SplatAllow[] = []): { kind: GuestCrashKind; excerpt: string[] } | undefined {
  const lines = text.split('\n').map(stamp);
  let first: { kind: GuestCrashKind; at: number } | undefined;
  for (const [kind, re] of CRASHES) {
    const at = lines.findIndex((l) => re.test(l) && !allow.some((a) => a.pattern.test(l)));
    if (at >= 0 && (!first || at < first.at)) first = { kind, at };
  }
  if (!first) return undefined;
  const excerpt = [lines[first.at]];
  let frames = 0;
  let inTrace = false;
  for (const l of lines.slice(first.at + 1, first.at + 80)) {
    if (excerpt.length >= 8) break;
    if (/^(CPU: |RIP: 0010|Comm: )/.test(l) || /^Kernel panic/.test(l)) excerpt.push(l);
    else if (/^Call Trace:/.test(l)) inTrace = true;
    else if (inTrace && /^<\/TASK>|^RIP: 0033/.test(l)) break;
    else if (inTrace && !l.startsWith('?') && !/^<TASK>|^<IRQ>|^<\/IRQ>/.test(l) && frames < 4) {
      excerpt.push(`  ${l}`);
      frames++;
    }
  }
  return { kind: first.kind, excerpt };
}

/** The splats in `text` that an entry of `allow` lets pass, once each, with the entry's reason. */
export function allowedSplats(text: string, allow: SplatAllow[]): AllowedSplat[] {
  const out: AllowedSplat[] = [];
  for (const line of text.split('\n').map(stamp)) {
    if (!CRASHES.some(([, re]) => re.test(line))) continue;
    const entry = allow.find((a) => a.pattern.test(line));
    if (entry && !out.some((o) => o.line === line)) out.push({ line, reason: entry.reason });
  }
  return out;
}

/** The console line that says why a guest stopped early: the guest init's error, else a kernel panic. */
export function consoleReason(text: string): string | undefined {
  const lines = text.split('\n');
  const initError = lines.map((l) => /lab-init: (?:\[[^\]]*\] )?error: (.*)$/.exec(l)?.[1]).filter(Boolean).pop();
  if (initError) return initError.trim();
  const panic = lines.find((l) => /Kernel panic|not syncing/.test(l));
  return panic ? stamp(panic) : undefined;
}

/** The guest's kernel broke while the command ran; the command's results, if any, are not to be trusted. */
export class GuestCrash extends EnvironmentError {
  override name = 'GuestCrash';
  constructor(
    message: string,
    readonly kind: GuestCrashKind,
    /** The console's lines that say what broke (see consoleCrash). */
    readonly excerpt: string[],
    readonly consoleLog: string,
    readonly accel: 'kvm' | 'tcg',
    /** The guest ran on a QEMU whose multi-threaded TCG has the race (vm/qemu-build.ts): a lockup may be QEMU's (emulationSuspect). */
    readonly racyTcg = false,
  ) {
    super(message);
  }
  /** The runs before this one that died on the emulator's kind of fault and were run again. */
  retries: { kind: GuestCrashKind; excerpt: string[]; consoleLog: string }[] = [];
}

/**
 * Polls the console file as QEMU appends to it and calls `onCrash` once, at the first sign of a broken
 * kernel. Returns the function that stops watching.
 */
export function watchConsole(path: string, onCrash: (crash: NonNullable<ReturnType<typeof consoleCrash>>) => void, everyMs = 1000, allow: SplatAllow[] = []): () => void {
  let text = '';
  let offset = 0;
  let busy = false;
  let stopped = false;
  const poll = async () => {
    if (busy || stopped) return;
    busy = true;
    try {
      const file = await open(path, 'r').catch(() => undefined);
      if (!file) return;
      try {
        const buf = Buffer.alloc(64 * 1024);
        for (;;) {
          const { bytesRead } = await file.read(buf, 0, buf.length, offset);
          if (bytesRead === 0) break;
          offset += bytesRead;
          text += buf.subarray(0, bytesRead).toString('utf8');
        }
      } finally {
        await file.close();
      }
      const crash = consoleCrash(text, allow);
      if (crash && !stopped) {
        stopped = true;
        onCrash(crash);
      }
      if (text.length > 256 * 1024) text = text.slice(-16 * 1024); // a chatty guest: keep what a message spans
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void poll(), everyMs);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
