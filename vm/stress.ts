// `./lab vm stress`: how often a TCG guest's kernel breaks while tracers attach, per way of running TCG.
// Each guest runs vm/attach-stress.sh (attach and detach the project's tracers on syscall tracepoints
// while every vCPU makes syscalls); the modes run side by side, interleaved, so a busy machine slows
// them alike. A guest counts as crashed when its console shows a broken kernel (vm/console.ts).

import path from 'node:path';
import { GuestCrash } from './console.js';
import { runInVm, type TcgThread } from './qemu.js';
import { ensureBackportsQemu } from './qemu-build.js';

export interface StressMode {
  name: string;
  tcgThread: TcgThread;
  cpus: number;
  /** The system's QEMU, or bookworm-backports' (vm/qemu-build.ts). */
  qemu: 'system' | 'backports';
}

/**
 * The ways to run TCG worth comparing: the system's QEMU as it comes (a host thread per vCPU), with one
 * thread for both vCPUs, with one vCPU; and bookworm-backports' QEMU as it comes.
 */
export const STRESS_MODES: Record<string, StressMode> = {
  multi: { name: 'multi', tcgThread: 'multi', cpus: 2, qemu: 'system' },
  single: { name: 'single', tcgThread: 'single', cpus: 2, qemu: 'system' },
  '1cpu': { name: '1cpu', tcgThread: 'multi', cpus: 1, qemu: 'system' },
  backports: { name: 'backports', tcgThread: 'multi', cpus: 2, qemu: 'backports' },
};

export interface StressGuest {
  kernel: string;
  mode: string;
  /** crashed: the console shows a broken kernel; hung: the guest neither finished nor said anything in HUNG_AFTER_MS. */
  outcome: 'ok' | 'crashed' | 'hung' | 'failed';
  /** QEMU start to power-off. */
  totalMs: number;
  /** Guest-side time of the stress script alone (boot excluded), when it finished. */
  scriptMs?: number;
  cycles: number;
  /** The console's words when the kernel broke, or why the run failed. */
  detail?: string;
  consoleLog?: string;
}

export interface StressOptions {
  kernels: string[];
  modes: StressMode[];
  /** Guests per kernel and mode. */
  guests: number;
  cycles: number;
  signal?: AbortSignal;
  onGuest?: (g: StressGuest) => void;
}

/** A stress guest still running after this long has hung. */
export const HUNG_AFTER_MS = 180_000;

/** One guest of the stress; never throws for what the guest did, only for a VM that could not start. */
export async function stressGuest(kernel: string, mode: StressMode, cycles: number, signal?: AbortSignal): Promise<StressGuest> {
  const script = path.join(process.cwd(), 'vm', 'attach-stress.sh');
  const base = { kernel, mode: mode.name };
  try {
    const r = await runInVm({
      kernel,
      command: ['bash', '-c', 'start=$(date +%s%N); bash "$0" "$1"; echo "script-ms $(( ($(date +%s%N) - start) / 1000000 ))"', script, String(cycles)],
      cwd: process.cwd(),
      accel: 'tcg',
      tcgThread: mode.tcgThread,
      cpus: mode.cpus,
      qemu: mode.qemu === 'system' ? 'system' : await ensureBackportsQemu(),
      headers: false,
      crashRetries: 0, // every crash counts: that is what is measured
      // the script takes 15-40 s; a guest still running after this has livelocked without a word on its
      // console (seen on 6.1: both vCPUs spinning, the watchdog silent)
      timeoutMs: HUNG_AFTER_MS,
      signal,
    });
    // a cycle counts when every tracer attached in it
    const done = (r.stdout.match(/^cycle \d+: (\d+) of \1 tracers attached$/gm) ?? []).length;
    const scriptMs = Number(/^script-ms (\d+)$/m.exec(r.stdout)?.[1]);
    if (r.timedOut) return { ...base, outcome: 'hung', totalMs: r.totalMs, cycles: done, detail: `no end after ${HUNG_AFTER_MS / 1000} s`, consoleLog: r.consoleLog };
    const ok = r.exitCode === 0 && /^done$/m.test(r.stdout);
    return {
      ...base,
      outcome: ok ? 'ok' : 'failed',
      totalMs: r.totalMs,
      scriptMs: Number.isFinite(scriptMs) ? scriptMs : undefined,
      cycles: done,
      detail: ok ? undefined : `exit ${r.exitCode}: ${r.stderr.trim().split('\n').slice(-2).join(' / ')}`,
      consoleLog: r.consoleLog,
    };
  } catch (err) {
    if (!(err instanceof GuestCrash)) throw err;
    return { ...base, outcome: 'crashed', totalMs: -1, cycles: 0, detail: `${err.kind}: ${err.excerpt.slice(0, 3).join(' / ')}`, consoleLog: err.consoleLog };
  }
}

/** Every kernel and mode `guests` times, interleaved. */
export async function runStress(o: StressOptions): Promise<StressGuest[]> {
  const all: StressGuest[] = [];
  for (let i = 0; i < o.guests; i++) {
    for (const kernel of o.kernels) {
      for (const mode of o.modes) {
        o.signal?.throwIfAborted();
        const g = await stressGuest(kernel, mode, o.cycles, o.signal);
        all.push(g);
        o.onGuest?.(g);
      }
    }
  }
  return all;
}

const median = (xs: number[]): number | undefined => {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};

/** One row per mode and kernel, then one per mode over all kernels: guests, crashed, the script's median time. */
export function stressTable(guests: StressGuest[]): string[][] {
  const rows = [['MODE', 'KERNEL', 'GUESTS', 'CRASHED', 'HUNG', 'FAILED', 'SCRIPT s (median)']];
  const modes = [...new Set(guests.map((g) => g.mode))];
  const kernels = [...new Set(guests.map((g) => g.kernel))];
  const row = (mode: string, kernel: string, gs: StressGuest[]) => {
    const ms = median(gs.filter((g) => g.scriptMs !== undefined).map((g) => g.scriptMs!));
    const count = (o: StressGuest['outcome']) => String(gs.filter((g) => g.outcome === o).length);
    rows.push([mode, kernel, String(gs.length), count('crashed'), count('hung'), count('failed'), ms === undefined ? '' : (ms / 1000).toFixed(1)]);
  };
  for (const mode of modes) {
    for (const kernel of kernels) row(mode, kernel, guests.filter((g) => g.mode === mode && g.kernel === kernel));
    if (kernels.length > 1) row(mode, 'all', guests.filter((g) => g.mode === mode));
  }
  return rows;
}
