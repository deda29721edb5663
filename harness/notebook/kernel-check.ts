// Notebook 0's question, asked at the top of every notebook: what can this kernel and this user do?
// Each answer is a feature probe (bpf/ts/features.ts) or a tool lookup; each missing piece carries the
// sentence that fixes it, and which notebooks (or cells) need it.

import { FEATURES, feature, probeFeature, kernelInfo, type FeatureName, type FeatureResult } from '../../bpf/ts/features.js';

export interface KernelCheckRow {
  name: FeatureName;
  title: string;
  ok: boolean;
  /** What was found (a path, a value), or why it is missing and how to get it. */
  detail: string;
  /** What needs it: "every notebook", "BCC cells in notebooks 3 and 4". */
  neededBy: string;
}

/** What each probe matters for, in the notebooks' words. The order is the table's. */
const NEEDED_BY: Partial<Record<FeatureName, string>> = {
  root: 'every cell that loads a program or creates a map',
  bpf: 'every notebook',
  unprivileged_bpf: 'nothing here (the notebooks run as root); says whether other users could load socket filters',
  jit: 'nothing (the interpreter works too); the JIT is what makes BPF cheap',
  tracefs: 'notebook 3 (hello through the trace pipe) and attaching to tracepoints',
  execve_tracepoint: 'notebooks 3 and 4 (every execve tool)',
  kprobes: "notebook 3's kprobe form of the counter",
  btf: 'notebook 4 (libbpf CO-RE and the ts tool read struct offsets from it)',
  ringbuf: 'notebook 4 (libbpf execsnoop sends events through a ring buffer)',
  perf_event_array: 'notebook 4 (BCC and the ts tool send events through a perf buffer)',
  kernel_headers: 'the BCC cells of notebooks 3 and 4 (BCC compiles C at run time against them)',
};

export function kernelCheck(): KernelCheckRow[] {
  const names = [...(Object.keys(NEEDED_BY) as FeatureName[]), ...(Object.keys(FEATURES) as FeatureName[]).filter((n) => !(n in NEEDED_BY))];
  return names.map((name) => {
    const r: FeatureResult = probeFeature(name);
    return {
      name,
      title: feature(name).title,
      ok: r.status === 'supported',
      detail: r.status === 'supported' ? (r.detail ?? 'yes') : r.reason,
      neededBy: NEEDED_BY[name] ?? 'the harness',
    };
  });
}

/** One line per notebook start: the kernel, and what is missing among what `needs` lists. */
export function kernelSummary(needs: FeatureName[] = ['root', 'bpf']): string {
  const missing = needs.map((n) => ({ n, r: probeFeature(n) })).filter(({ r }) => r.status !== 'supported');
  const head = `kernel ${kernelInfo().release}`;
  if (missing.length === 0) return `${head}: ready (${needs.map((n) => feature(n).title).join(', ')})`;
  return [`${head}: missing what some cells need —`, ...missing.map(({ n, r }) => `  ${feature(n).title}: ${'reason' in r ? r.reason : ''}`)].join('\n');
}

/**
 * A cell's guard: true when every feature it needs is here; otherwise it prints one sentence per missing
 * piece (what, and how to get it) and answers false, so the cell stops and the notebook goes on.
 */
export function needs(...names: FeatureName[]): boolean {
  let ok = true;
  for (const n of names) {
    const r = probeFeature(n);
    if (r.status === 'supported') continue;
    ok = false;
    console.log(`This cell needs ${feature(n).title}, and it is missing here: ${'reason' in r ? r.reason : ''}. The rest of the notebook still runs.`);
  }
  return ok;
}
