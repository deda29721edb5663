// The matrix's memory (issue 22): a baseline file a maintainer commits — per kernel, variant and (optionally)
// workload case, the status expected there, why, a link and an expiry date — and the classification of every
// cell of a run against it: as expected, new failure, newly passing, known failure, flaky (measured by reruns),
// expired, or not run (the infrastructure failed: a VM crash, a timeout, a fetch). Pure: no I/O but the
// file's text, so every rule has a unit test (test/harness/baseline.test.ts).
//
// The models: libbpf CI's per-kernel allow/deny lists (each entry with a reason), cilium/ebpf's "expected skip
// vs. regression", BCC's @mayFail("reason"); what none of them has is a memory across runs and reruns.

import { importPackage } from '../../lib/import-package.js';
import { UsageError } from '../../lib/errors.js';
import type { Status, TargetInfo } from '../engine/types.js';

export type Expected = 'pass' | 'fail' | 'skip';

export interface BaselineEntry {
  /** A matrix kernel name ('6.1', '6.1.0-47', 'bookworm-backports', a --kernel-image's release). */
  kernel: string;
  /** EXAMPLE/TOOL. */
  variant: string;
  /** Workload cases this entry covers (grading's case ids: "from-thread"); absent: the whole cell. */
  cases?: string[];
  status: Expected;
  /** Why: required, one line a maintainer can act on. */
  reason: string;
  link?: string;
  /** YYYY-MM-DD: after this day a cell that still matches the entry is "expired" and fails the run. */
  expires?: string;
}

export interface Baseline {
  entries: BaselineEntry[];
}

const ENTRY_FIELDS = new Set(['kernel', 'variant', 'cases', 'status', 'reason', 'link', 'expires']);
const TOP_FIELDS = new Set(['schema', 'entries']);

/** Parse a baseline (JSON, or YAML when the name does not end in .json), strictly: unknown fields are errors. */
export async function parseBaseline(text: string, file: string): Promise<Baseline> {
  let data: unknown;
  try {
    if (file.endsWith('.json')) data = JSON.parse(text);
    else data = (await importPackage<typeof import('yaml')>('yaml')).parse(text);
  } catch (err) {
    throw new UsageError(`baseline ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  const bad = (what: string) => new UsageError(`baseline ${file}: ${what}`);
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw bad('expected an object with "schema: 1" and "entries"');
  const top = data as Record<string, unknown>;
  for (const k of Object.keys(top)) if (!TOP_FIELDS.has(k)) throw bad(`unknown field "${k}" (fields: schema, entries)`);
  if (top.schema !== 1) throw bad(`schema must be 1, not ${JSON.stringify(top.schema)}`);
  if (!Array.isArray(top.entries)) throw bad('"entries" must be a list');
  const entries = top.entries.map((raw, i): BaselineEntry => {
    const at = `entry ${i + 1}`;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw bad(`${at}: expected an object`);
    const e = raw as Record<string, unknown>;
    for (const k of Object.keys(e)) if (!ENTRY_FIELDS.has(k)) throw bad(`${at}: unknown field "${k}" (fields: ${[...ENTRY_FIELDS].join(', ')})`);
    for (const k of ['kernel', 'variant', 'reason'] as const) if (typeof e[k] !== 'string' || !(e[k] as string).trim()) throw bad(`${at}: "${k}" is required (a non-empty string)`);
    if (!['pass', 'fail', 'skip'].includes(e.status as string)) throw bad(`${at} (${e.kernel} ${e.variant}): "status" must be pass, fail or skip, not ${JSON.stringify(e.status)}`);
    if (!/^[^/\s]+\/[^/\s]+$/.test(e.variant as string)) throw bad(`${at}: variant "${e.variant}" is not EXAMPLE/TOOL`);
    // YAML reads an unquoted 2027-01-31 as a date
    const expires = e.expires instanceof Date ? e.expires.toISOString().slice(0, 10) : e.expires;
    if (expires !== undefined && (typeof expires !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(expires))) throw bad(`${at} (${e.kernel} ${e.variant}): "expires" must be a date YYYY-MM-DD`);
    if (e.link !== undefined && typeof e.link !== 'string') throw bad(`${at}: "link" must be a string`);
    if (e.cases !== undefined && (!Array.isArray(e.cases) || e.cases.length === 0 || e.cases.some((c) => typeof c !== 'string' || !c))) throw bad(`${at}: "cases" must be a non-empty list of case ids`);
    const entry: BaselineEntry = { kernel: String(e.kernel), variant: String(e.variant), status: e.status as Expected, reason: String(e.reason).trim() };
    if (e.cases) entry.cases = e.cases as string[];
    if (e.link) entry.link = e.link as string;
    if (expires) entry.expires = expires as string;
    return entry;
  });
  const seen = new Set<string>();
  for (const e of entries) {
    const key = `${e.kernel} ${e.variant} ${e.cases?.join(',') ?? '*'}`;
    if (seen.has(key)) throw bad(`two entries for ${key.replace(/ \*$/, '')}`);
    seen.add(key);
  }
  return { entries };
}

/** The baseline as a file: YAML (with a comment on top) or JSON, entries sorted by kernel and variant. */
export async function formatBaseline(b: Baseline, file: string): Promise<string> {
  const entries = [...b.entries].sort((x, y) => x.kernel.localeCompare(y.kernel, 'en', { numeric: true }) || x.variant.localeCompare(y.variant) || (x.cases?.join() ?? '').localeCompare(y.cases?.join() ?? ''));
  const data = { schema: 1, entries };
  if (file.endsWith('.json')) return JSON.stringify(data, null, 2) + '\n';
  const yaml = await importPackage<typeof import('yaml')>('yaml');
  return (
    '# ./lab matrix --baseline: what each cell is expected to do, and why (docs/CONTRACT.md).\n' +
    '# A cell without an entry is expected to pass. Written by --update-baseline; reasons, links and expiry dates are kept.\n' +
    yaml.stringify(data, { lineWidth: 0 })
  );
}

// ---------------------------------------------------------------------------------------------------
// Cells and their classes

export type CellClass = 'as-expected' | 'new-failure' | 'newly-passing' | 'known-failure' | 'flaky' | 'expired' | 'not-run';

/** The order classes are listed in, worst first. */
export const CLASSES: CellClass[] = ['new-failure', 'expired', 'flaky', 'not-run', 'known-failure', 'newly-passing', 'as-expected'];

export const CLASS_LABEL: Record<CellClass, string> = {
  'new-failure': 'new failure',
  expired: 'expired',
  flaky: 'flaky',
  'not-run': 'not run',
  'known-failure': 'known failure',
  'newly-passing': 'newly passing',
  'as-expected': 'as expected',
};

/** One run of one variant on one kernel. */
export interface CellRun {
  status: Status;
  /** First line of the reason (required unless pass). */
  reason?: string;
  /** Workload cases graded as failures ('' for a failure of the variant as a whole). */
  failingCases?: string[];
}

/** What a kernel's column knows of itself. */
export interface KernelInfo {
  /** The matrix's name for it: '6.1', '6.1.0-47', 'host', a --kernel-image's release. */
  kernel: string;
  /** `uname -r` in the guest. */
  release?: string;
  /** The exact Debian package version ('6.1.176-1'), or for a --kernel-image the image's path and SHA-256. */
  package?: string;
  /** Why no cell of this kernel ran (VM crash, timeout, fetch failed). */
  error?: string;
  /** The target as its compare report described it (accelerator, boot time, BTF). */
  target?: TargetInfo;
}

export interface Cell {
  kernel: string;
  variant: string;
  /** The matrix's run first, then each rerun. Empty when the kernel did not run. */
  runs: CellRun[];
  /** The kernel did not run: why (infrastructure). */
  notRun?: string;
}

export interface ClassifiedCell extends Cell {
  class: CellClass;
  /** The first run's status, or 'not-run'. */
  status: Status | 'not-run';
  /** One line: why this class ("expected pass, now fail: …", "known failure: <baseline reason>"). */
  reason: string;
  /** The baseline entries that decided it. */
  entries: BaselineEntry[];
  /** Over all runs (flaky cells; every cell that was rerun). */
  counts: { pass: number; fail: number };
}

const failing = (s: Status) => s === 'fail' || s === 'error';

/**
 * True when the entry's kernel names this cell's kernel: the same name, or a prefix of its release at a
 * version boundary ('6.1' covers 6.1.0-47-amd64, not 6.12.x).
 */
export function kernelMatches(entryKernel: string, kernel: KernelInfo): boolean {
  if (entryKernel === kernel.kernel) return true;
  const release = kernel.release ?? '';
  return release.startsWith(entryKernel) && /^[.\-+~]/.test(release.slice(entryKernel.length));
}

/** The entries for a cell: those of its most specific matching kernel name only. */
export function entriesFor(baseline: Baseline | undefined, kernel: KernelInfo, variant: string): BaselineEntry[] {
  const all = (baseline?.entries ?? []).filter((e) => e.variant === variant && kernelMatches(e.kernel, kernel));
  const exact = all.filter((e) => e.kernel === kernel.kernel);
  if (exact.length || all.length === 0) return exact;
  const longest = Math.max(...all.map((e) => e.kernel.length));
  return all.filter((e) => e.kernel.length === longest);
}

const expiredOn = (e: BaselineEntry, today: string) => Boolean(e.expires && today > e.expires);
const cite = (e: BaselineEntry) => `${e.reason}${e.link ? ` (${e.link})` : ''}`;

/**
 * Classify every cell against the baseline (`today`: YYYY-MM-DD). Without a baseline a cell is expected to
 * pass or skip. With one, a cell without an entry is expected to pass: a skip where a pass was expected is a
 * new failure, since a skip must never hide a failure on a kernel that should work.
 */
export function classify(cells: Cell[], kernels: KernelInfo[], baseline: Baseline | undefined, today: string): ClassifiedCell[] {
  return cells.map((cell): ClassifiedCell => {
    const info = kernels.find((k) => k.kernel === cell.kernel) ?? { kernel: cell.kernel };
    const entries = entriesFor(baseline, info, cell.variant);
    const counts = { pass: cell.runs.filter((r) => r.status === 'pass').length, fail: cell.runs.filter((r) => failing(r.status)).length };
    const out = (c: CellClass, reason: string, used: BaselineEntry[] = entries): ClassifiedCell => ({ ...cell, class: c, status: cell.runs[0]?.status ?? 'not-run', reason, entries: used, counts });
    if (cell.notRun !== undefined || cell.runs.length === 0) return out('not-run', cell.notRun || 'the kernel did not run');
    const first = cell.runs[0];
    const seen = `${first.status}${first.reason ? `: ${first.reason}` : ''}`;
    if (failing(first.status) && counts.pass > 0) {
      const runs = cell.runs.map((r) => r.status).join(', ');
      return out('flaky', `${counts.pass} of ${cell.runs.length} runs passed (${runs}); the failure: ${first.reason ?? first.status}`);
    }
    const whole = entries.find((e) => !e.cases);
    const byCase = entries.filter((e) => e.cases);
    const expected: Expected = whole?.status ?? (byCase.some((e) => e.status !== 'pass') ? 'fail' : baseline ? 'pass' : first.status === 'skip' ? 'skip' : 'pass');
    if (first.status === 'pass') {
      if (expected === 'pass') return out('as-expected', 'pass');
      const why = whole ?? byCase.find((e) => e.status !== 'pass')!;
      return out('newly-passing', `expected ${why.status}, now passes (the baseline: ${cite(why)})`, [why]);
    }
    if (first.status === 'skip') {
      if (expected === 'pass') return out('new-failure', `expected pass, now ${seen}`);
      const why = whole ?? byCase.find((e) => e.status !== 'pass');
      if (!why) return out('as-expected', seen);
      if (expiredOn(why, today)) return out('expired', `the entry expired on ${why.expires}: ${cite(why)}; still ${seen}`, [why]);
      return why.status === 'skip' ? out('as-expected', `${seen}`, [why]) : out('known-failure', `known failure, now skips: ${cite(why)}; ${seen}`, [why]);
    }
    // fail or error, on every run
    const rerun = cell.runs.length > 1 ? ` (failed ${counts.fail} of ${cell.runs.length} runs)` : '';
    if (whole && whole.status === 'fail') {
      if (expiredOn(whole, today)) return out('expired', `the entry expired on ${whole.expires}: ${cite(whole)}; still ${seen}`, [whole]);
      return out('known-failure', `known failure: ${cite(whole)}`, [whole]);
    }
    if (whole) return out('new-failure', `expected ${whole.status}, now ${seen}${rerun}`, [whole]);
    const cases = [...new Set(first.failingCases?.length ? first.failingCases : [''])];
    const known = byCase.filter((e) => e.status === 'fail');
    const uncovered = cases.filter((c) => !known.some((e) => e.cases!.includes(c)));
    if (known.length === 0 || uncovered.length > 0) {
      const which = known.length ? ` (not in the baseline: ${uncovered.map((c) => c || 'the variant as a whole').join(', ')})` : '';
      return out('new-failure', `expected pass, now ${seen}${which}${rerun}`);
    }
    const used = known.filter((e) => e.cases!.some((c) => cases.includes(c)));
    const stale = used.find((e) => expiredOn(e, today));
    if (stale) return out('expired', `the entry expired on ${stale.expires}: ${cite(stale)}; still ${seen}`, used);
    return out('known-failure', `known failure: ${used.map(cite).join('; ')}`, used);
  });
}

/** Exit code of a classified run: 1 for a new failure or an expired entry, else 0. */
export const classifiedExitCode = (cells: ClassifiedCell[]): number => (cells.some((c) => c.class === 'new-failure' || c.class === 'expired') ? 1 : 0);

export function countClasses(cells: ClassifiedCell[]): Record<CellClass, number> {
  const counts = Object.fromEntries(CLASSES.map((c) => [c, 0])) as Record<CellClass, number>;
  for (const c of cells) counts[c.class]++;
  return counts;
}

/**
 * The baseline after this run (`--update-baseline`): each cell that ran is written as it is now, keeping the
 * reason, link and expiry of an entry it already had; a passing cell needs no entry (unless one said pass);
 * entries of kernels and variants this run did not run, and of cells that did not run or were flaky, stay as
 * they were.
 */
export function updateBaseline(old: Baseline | undefined, cells: ClassifiedCell[], kernels: KernelInfo[]): Baseline {
  const ran = cells.filter((c) => c.class !== 'not-run' && c.class !== 'flaky');
  const info = (k: string) => kernels.find((x) => x.kernel === k) ?? { kernel: k };
  const replaced = (e: BaselineEntry) => ran.some((c) => c.variant === e.variant && entriesFor(old, info(c.kernel), c.variant).includes(e));
  const entries = (old?.entries ?? []).filter((e) => !replaced(e));
  for (const c of ran) {
    const before = entriesFor(old, info(c.kernel), c.variant);
    const keep = (status: Expected, cases?: string[]): BaselineEntry => {
      const same = before.find((e) => e.status === status && (cases ? e.cases?.join() === cases.join() : !e.cases)) ?? before.find((e) => e.status === status);
      const first = c.runs[0];
      const entry: BaselineEntry = { kernel: same?.kernel ?? c.kernel, variant: c.variant, status, reason: same?.reason ?? (first.reason || first.status) };
      if (cases) entry.cases = cases;
      if (same?.link) entry.link = same.link;
      if (same?.expires) entry.expires = same.expires;
      return entry;
    };
    const status = c.runs[0].status;
    if (status === 'pass') {
      if (before.some((e) => e.status === 'pass' && !e.cases)) entries.push(keep('pass'));
    } else if (status === 'skip') {
      entries.push(keep('skip'));
    } else {
      const cases = [...new Set(c.runs[0].failingCases ?? [])].filter(Boolean).sort();
      entries.push(cases.length ? keep('fail', cases) : keep('fail'));
    }
  }
  return { entries };
}
