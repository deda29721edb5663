// What an example is, to the harness: its variants (data, harness/engine/variant.ts), how to read a variant's
// output, when a tracer has printed all it owes, and how to grade what it printed against the workload's
// truth. Each example is one module in harness/examples/, registered in harness/examples/index.ts; the
// session, compare, trace, report and matrix code never names one.

import type { CaseOutcome, Difference } from './types.js';

export type { Difference };
import type { KernelFacts, Variant } from './variant.js';

/** The verdict on one variant's output. */
export interface Grade {
  /** Cases graded (a storm of many execs is one case). */
  expected: number;
  /** Cases whose outcome is exactly what the variant declares: a match, or an expected difference. */
  matched: number;
  differences: Difference[];
  cases: CaseOutcome[];
}

export const failures = (ds: readonly Difference[]): Difference[] => ds.filter((d) => d.level === 'failure');

/** A difference as one line: "many-args: 20 arguments dropped: … (expected)". */
export function renderDifference(d: Difference): string {
  const suffix = d.level === 'expected' ? ' (expected)' : d.level === 'quirk' ? ' (tool quirk)' : '';
  return `${d.case ? `${d.case}: ` : ''}${d.text}${suffix}`;
}

/** A variant's stdout, read line by line once it is attached. */
export interface OutputReader<Item> {
  /** One line, without its newline; returns the items it completed (`./lab trace` streams them). */
  line(text: string): Item[];
  /** The tool has exited: the items still held back (a counter's whole printout). Throws on unreadable output. */
  end(): Item[];
}

/** What every workload run carries, whatever its truth: the id its markers start with. */
export interface RunBase {
  runId: string;
}

export interface Example<Item = unknown, Expect = unknown, Run extends RunBase = RunBase> {
  /** The name on the command line and in variant names: "execsnoop". */
  name: string;
  /** One line for `--help` and the README. */
  description: string;
  variants: Variant<Expect>[];
  /**
   * What its workload's truth is about ("exec", "open"). The session runs the variants of examples with the same
   * truth together, against one run of the first one's workload; each kind of truth gets rounds of its own.
   */
  truth: string;
  /** The workload whose truth the variants are graded against. */
  workload: (runId?: string) => Promise<Run>;
  /** A run in a few words, for the progress lines: "41 execs". */
  summary(run: Run): string;
  reader(v: Variant<Expect>): OutputReader<Item>;
  /**
   * How many events the tracer still owes for this run: 0 when it has printed all it owes, so the drain need
   * not wait longer; while the count falls, the tracer is still printing what the run made.
   */
  owed(items: readonly Item[], run: Run, v: Variant<Expect>): number;
  grade(run: Run, items: readonly Item[], v: Variant<Expect>, facts: KernelFacts): Grade;
  /** One item as `./lab trace` prints it. */
  format(item: Item, format: 'text' | 'jsonl'): string;
  /** What `./lab bench` needs to know of the example's output; without it, only start-up and cost are measured. */
  bench?: BenchPart<Item>;
}

/**
 * The benchmark's questions to an example. Its storm runs one program `storm.name` many times, each exec
 * `storm.name I` (I its index) in process `storm.pids[I]`.
 */
export interface BenchPart<Item> {
  /** The storm's indices the items report, once per exec seen (an exec reported twice appears twice). */
  stormSeen(items: readonly Item[], storm: { name: string; pids: readonly number[] }): number[];
  /** Whether the item is the canary exec (`storm.name MARKER`), the first event after start: unanswered, no time to the first event. */
  isCanary?(item: Item, marker: string): boolean;
  /** Items arrive as execs happen (not only at exit): the drain may stop as soon as every exec is seen. */
  streams?: boolean;
}

/** Declares an example with its types checked, for the registry's list of examples of mixed types. */
export const defineExample = <Item, Expect, Run extends RunBase>(e: Example<Item, Expect, Run>): Example<Item, Expect, Run> => e;

// ---- grading helpers the examples share ----

/** One member of a case (most cases are one exec; a storm is many), graded. */
export interface CaseMember {
  verdict: CaseOutcome['verdict'];
  /** Differences the variant declares, with their reason: [kind, text]. */
  expected: [string, string][];
  /** Everything else: [kind, text]. */
  problems: [string, string][];
}

export const emptyGrade = (): Grade => ({ expected: 0, matched: 0, differences: [], cases: [] });

export function addMember(cases: Map<string, CaseMember[]>, id: string, m: CaseMember): void {
  const members = cases.get(id);
  if (members) members.push(m);
  else cases.set(id, [m]);
}

const VERDICT_ORDER: CaseOutcome['verdict'][] = ['missed', 'differs', 'expected-missing', 'matched'];

const uniqueBy = (pairs: [string, string][]): [string, string][] => [...new Map(pairs.map((p) => [p[1], p])).values()];

/**
 * Records a case once, however many members it has: the worst verdict, each declared difference once, and
 * the problems counted ("3 of 600 execs: no event for pid 4242; …"), so a storm is one row, not 600.
 */
export function recordCase(grade: Grade, id: string, members: CaseMember[], unit = 'execs'): void {
  const verdict = VERDICT_ORDER.find((v) => members.some((m) => m.verdict === v)) ?? 'matched';
  const expected = uniqueBy(members.flatMap((m) => m.expected));
  const bad = members.filter((m) => m.problems.length > 0);
  let problems = uniqueBy(bad.flatMap((m) => m.problems));
  if (members.length > 1 && bad.length > 0) {
    const shown = problems.slice(0, 3).map((p) => p[1]).join('; ');
    const more = problems.length > 3 ? `; and ${problems.length - 3} more` : '';
    problems = [[problems[0][0], `${bad.length} of ${members.length} ${unit}: ${shown}${more}`]];
  }
  grade.cases.push({ id, verdict, notes: [...expected, ...problems].map((p) => p[1]) });
  grade.expected++;
  if (problems.length === 0) grade.matched++;
  for (const [kind, text] of expected) grade.differences.push({ case: id, level: 'expected', kind, text });
  for (const [kind, text] of problems) grade.differences.push({ case: id, level: 'failure', kind, text });
}
