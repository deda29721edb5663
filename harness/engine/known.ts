// Known incompatibilities, as data: a variant of one of the tools named here that failed before it attached,
// on the kernels named here, with the tool's own words named here in its output, is reported as a skip that
// carries the explanation (which feature, since which kernel) next to that line. Matched on the result's data
// (tool, kernel, whether it attached, what the tool printed), never on the harness's sentences. Anything that
// fails otherwise stays a failure.

import type { SkipKind, VariantResult } from './types.js';

export interface KnownIncompatibility {
  /** The tools it applies to, in every example ("bcc": the compiler is the tool's, whatever it traces). */
  tools: string[];
  /** Kernel releases it applies to: a test on the release string (uname -r). */
  kernels: (release: string) => boolean;
  /** The tool's own words that identify it, in its output (stdout and stderr). */
  symptom: RegExp;
  kind: SkipKind;
  /** What breaks, since when, and what would fix it. */
  explanation: string;
}

const atLeast = (major: number, minor: number) => (release: string) => {
  const [a, b] = release.split(/[.-]/).map(Number);
  return a > major || (a === major && b >= minor);
};

export const KNOWN: KnownIncompatibility[] = [
  {
    tools: ['bcc', 'upstream-bcc'],
    // seen on 7.2, not on 6.12: the first kernel in between that builds with -fms-extensions is not pinned
    kernels: atLeast(6, 13),
    symptom: /static_assert failed.*sizeof\(struct filename\)/,
    kind: 'compile-failed',
    explanation:
      'BCC compiles the tool against the running kernel’s headers; 7.x headers embed an anonymous tagged ' +
      'struct (struct filename { struct __filename_head; … }), which the kernel builds with -fms-extensions ' +
      'and BCC 0.26 does not pass, so clang drops the member and the header’s static_assert fails (6.12 ' +
      'headers have no such member). A tool of your own can pass BPF(..., cflags=["-fms-extensions"]) ' +
      '(verified on 7.2); upstream’s *-bpfcc tools have no option for it. CO-RE tools (libbpf, ts) are unaffected',
  },
];

/** The explanation for a failed result, when it is a known incompatibility on this kernel. */
export function knownIncompatibility(r: VariantResult, release: string): KnownIncompatibility | undefined {
  if (r.status !== 'fail' || r.startupMs !== undefined) return undefined; // it attached: not a build failure
  return KNOWN.find((k) => k.tools.includes(r.tool) && k.kernels(release) && k.symptom.test(r.output ?? ''));
}

/** Turns failures that are known incompatibilities into skips that say so. */
export function applyKnown(results: VariantResult[], release: string): VariantResult[] {
  return results.map((r) => {
    const k = knownIncompatibility(r, release);
    if (!k) return r;
    const symptom = (r.output ?? '').split('\n').find((l) => k.symptom.test(l))?.replace(/^std(out|err): /, '').trim();
    return { ...r, status: 'skip', skipKind: k.kind, reason: `known incompatibility: ${k.explanation} (${symptom ?? r.reason})` };
  });
}
