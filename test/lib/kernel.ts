// Gates for tests that need the running kernel: `if (!requireFeature(t, 'ringbuf')) return;`.
// A missing feature skips the test with a sentence saying what is missing and how to get it — unless the
// kernel is new enough to have it, and then the test fails (bpf/ts/features.ts: gateFeature).

import { gateFeature, probeFeature, type FeatureName } from '../../bpf/ts/features.js';

/** The part of a tap Test these gates use. */
export interface Gated {
  plan(n: number, comment?: string): void;
  fail(message: string): boolean;
}

/** true when the feature is there; otherwise the test is skipped (plan 0) or failed, and false. */
export function requireFeature(t: Gated, name: FeatureName): boolean {
  const gate = gateFeature(name);
  if (gate.action === 'run') return true;
  if (gate.action === 'skip') t.plan(0, gate.reason);
  else t.fail(gate.reason);
  return false;
}

/** true with CAP_BPF+CAP_PERFMON (or CAP_SYS_ADMIN); otherwise the test is skipped, saying so. */
export function requireRoot(t: Gated): boolean {
  const root = probeFeature('root');
  if (root.status === 'supported') return true;
  t.plan(0, `${root.reason} (kernel tests need root: run them as root)`);
  return false;
}

/** Names of the programs or maps loaded in the kernel right now, as `bpftool -j prog|map list` shows them. */
export async function loadedNames(kind: 'prog' | 'map'): Promise<string[]> {
  const { execa } = await import('execa');
  const r = await execa('bpftool', ['-j', kind, 'list'], { reject: false, timeout: 10_000, cleanup: true });
  if (r.exitCode !== 0) throw new Error(`bpftool ${kind} list failed: ${r.stderr.trim()} (install bpftool: apt-get install bpftool)`);
  return (JSON.parse(r.stdout || '[]') as { name?: string }[]).map((o) => o.name ?? '');
}

/** A name no other test run uses at the same time (≤ 15 characters, as the kernel keeps). */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Math.random().toString(36).slice(2, 2 + Math.max(1, 14 - prefix.length))}`.slice(0, 15);
}

/**
 * Wait until bpftool no longer lists `name` (true), or give up after `timeoutMs` (false). The kernel frees
 * a program after an RCU grace period, and only then drops the maps it used: a map can outlive its last
 * fd by a few milliseconds without being leaked.
 */
export async function goneFromKernel(kind: 'prog' | 'map', name: string, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await loadedNames(kind)).includes(name)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}
