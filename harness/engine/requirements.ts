// Can this variant run here? Each requirement a variant declares is answered by a feature probe
// (bpf/ts/features.ts) or a tool check (harness/engine/tools.ts). A missing one is a skip whose reason says what
// is missing and how to get it — unless the kernel is new enough to have it, which is a failure
// (features.ts: gateFeature), so a skip never hides a broken kernel or layer.

import { access } from 'node:fs/promises';
import path from 'node:path';
import { gateFeature, kernelInfo, probeFeature, type FeatureName } from '../../bpf/ts/features.js';
import { projectRoot } from './paths.js';
import type { Unmet } from './session.js';
import { tool, type ToolName } from './tools.js';
import type { SkipKind, TargetInfo } from './types.js';
import type { KernelFacts, Requirement, Variant } from './variant.js';

const FEATURE_REQUIREMENTS: Partial<Record<Requirement, [FeatureName, SkipKind]>> = {
  root: ['root', 'not-root'],
  tracefs: ['tracefs', 'no-tracefs'],
  btf: ['btf', 'no-btf'],
  kprobes: ['kprobes', 'no-kprobes'],
  'kernel-headers': ['kernel_headers', 'no-kernel-headers'],
};

async function checkRequirement(r: Requirement, v: Variant): Promise<Unmet | undefined> {
  const feature = FEATURE_REQUIREMENTS[r];
  if (feature) {
    const [name, kind] = feature;
    const gate = gateFeature(name);
    if (gate.action === 'run') return undefined;
    return { kind, reason: gate.reason, fail: gate.action === 'fail' };
  }
  if (r.startsWith('tool:')) {
    const info = await tool(r.slice('tool:'.length) as ToolName);
    return info.installed ? undefined : { kind: 'tool-missing', reason: info.reason ?? `${info.name}: not installed — ${info.install}` };
  }
  if (r === 'build:libbpf') {
    // the variant's own binary, built by `make -C bpf` before anything runs
    const binary = path.resolve(projectRoot, v.command[0]);
    try {
      await access(binary);
      return undefined;
    } catch {
      return { kind: 'build-failed', reason: `${path.relative(process.cwd(), binary)} is missing: run ./lab setup (make -C bpf)` };
    }
  }
  if (r === 'build:go') {
    // a static binary: it runs without Go, but building it needs Go and Debian's cilium/ebpf
    const binary = path.resolve(projectRoot, v.command[0]);
    try {
      await access(binary);
      return undefined;
    } catch {
      const go = await tool('cilium-go');
      if (!go.installed) return { kind: 'tool-missing', reason: go.reason ?? `${go.name}: not installed — ${go.install}` };
      return { kind: 'build-failed', reason: `${path.relative(process.cwd(), binary)} is missing: run ./lab setup (make -C bpf)` };
    }
  }
  return { kind: 'tool-missing', reason: `unknown requirement ${r}`, fail: true };
}

/** The first requirement of the variant that this machine does not meet, or undefined. */
export async function checkVariant(v: Variant): Promise<Unmet | undefined> {
  for (const r of v.requires) {
    const unmet = await checkRequirement(r, v);
    if (unmet) return unmet;
  }
  return undefined;
}

/**
 * The machine this process runs on, as the report describes it. Inside a VM, the host that booted it
 * says how (LAB_TARGET_KIND, LAB_ACCEL, LAB_BOOT_MS); otherwise this is the host itself.
 */
export async function hostTarget(): Promise<TargetInfo> {
  const env = process.env;
  const kind = (env.LAB_TARGET_KIND as TargetInfo['kind'] | undefined) ?? 'host';
  const accel = (env.LAB_ACCEL as TargetInfo['accel'] | undefined) ?? 'none';
  const target: TargetInfo = { kind, kernel: kernelInfo().release, accel, btf: probeFeature('btf').status === 'supported' };
  if (env.LAB_BOOT_MS) target.bootMs = Number(env.LAB_BOOT_MS);
  return target;
}

/** The kernel facts expectations may depend on; an inconclusive probe assumes the documented behaviour. */
export function kernelFacts(): KernelFacts {
  const major = Number(kernelInfo().release.split('.')[0]);
  return { strReadCountsNul: probeFeature('str_counts_nul').status !== 'unsupported', syscallProgsPreemptible: major >= 7 };
}

/** How much slower than the host things run: timeouts are multiplied by it. */
export function slowdownFor(t: Pick<TargetInfo, 'accel'>): number {
  return t.accel === 'tcg' ? 10 : t.accel === 'kvm' ? 1.5 : 1;
}
