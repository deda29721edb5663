// A session runs tracers against one workload: start each tracer, wait until every one says its
// probes are attached, run the workload once, let the events drain, stop the tracers with SIGINT, and
// grade each tracer's parsed output against the workload's truth.
//
// Tracers run together by default (one workload for all of them, which matters when a BCC compile in
// a TCG guest takes 30 s); `serial` runs one per workload, for exact per-tool startup times.

import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';
import { failures, renderDifference, type Difference, type Example, type OutputReader, type RunBase } from './example.js';
import type { SkipKind, VariantResult } from './types.js';
import { DOCUMENTED_KERNEL, variantName, type KernelFacts, type Variant } from './variant.js';
import { diesWithUs } from '../../lib/process.js';

export interface Unmet {
  kind: SkipKind;
  reason: string;
  /** The kernel should have it (it is new enough), so its absence is a failure, not a skip. */
  fail?: boolean;
}

/** The example a variant belongs to: the registry's (harness/examples/index.ts), handed in by the caller. */
export type ExampleOf = (v: Pick<Variant, 'example'>) => Example;

export interface SessionOptions {
  /** Project root: variants' commands and sources are relative to it. */
  root: string;
  exampleOf: ExampleOf;
  /** Returns why a variant cannot run here, or undefined when it can. */
  check: (v: Variant) => Promise<Unmet | undefined>;
  /** Multiplies every timeout: a TCG guest runs 5–20× slower than the host. */
  slowdown?: number;
  serial?: boolean;
  /** Each tracer output line, for --verbose and for `./lab trace`. */
  onLine?: (variant: string, stream: 'stdout' | 'stderr', line: string) => void;
  /** Progress messages ("execsnoop/bcc: attached after 31.2 s"). */
  onProgress?: (message: string) => void;
  /** Kernel facts some expectations depend on (compare.ts); the documented behaviour when not given. */
  facts?: KernelFacts;
  /** A workload to run instead of the examples' own; it is told which tracers are attached (tests use it). */
  workload?: (attached: readonly { name: string; pid?: number }[]) => Promise<RunBase>;
  signal?: AbortSignal;
}

/** Quiet time after the workload before tracers are stopped, unless every expected event arrived. */
const DRAIN_MS = 1000;
/** The longest a drain may go on while tracers still print what they owe (a storm a slow tool is printing). */
const DRAIN_MAX_MS = 30_000;
/** How long a tracer may take to exit after SIGINT before it is killed. */
const STOP_MS = 5000;
const OUTPUT_TAIL_LINES = 30;

/** One running tracer and everything it has printed so far. */
export class Tracer {
  readonly name: string;
  readonly child: ResultPromise;
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  /** What the example's reader made of stdout so far: events, or a counter's counts at the end. */
  readonly items: unknown[] = [];
  /** The reader could not make sense of the output (a counter that printed no total). */
  readError?: Error;
  private readonly reader: OutputReader<unknown>;
  readonly started = performance.now();
  readyAt?: number;
  exited = false;
  /** Whether it exited on its own, before the harness asked it to stop. */
  exitedEarly = false;
  exitCode?: number;
  exitSignal?: string;
  private readonly readyWaiters: Array<() => void> = [];
  readonly done: Promise<void>;

  constructor(
    readonly variant: Variant,
    readonly example: Example,
    root: string,
    onLine: SessionOptions['onLine'],
    /** Each item as soon as it is read (`./lab trace`). */
    private readonly onItem?: (item: unknown) => void,
  ) {
    this.name = variantName(variant);
    this.reader = this.example.reader(variant);
    const [file, ...args] = variant.command;
    this.child = execa(...diesWithUs(file, args), {
      cwd: root,
      reject: false,
      stdin: 'ignore',
      buffer: false,
      cleanup: true,
      env: { PYTHONUNBUFFERED: '1' },
    });
    const watch = (stream: NodeJS.ReadableStream | null, kind: 'stdout' | 'stderr', sink: string[]) => {
      if (!stream) return Promise.resolve();
      const rl = createInterface({ input: stream, crlfDelay: Infinity });
      rl.on('line', (line) => {
        sink.push(line);
        onLine?.(this.name, kind, line);
        if (this.readyAt === undefined && variant.ready.test(line)) {
          this.readyAt = performance.now();
          this.readyWaiters.splice(0).forEach((w) => w());
        } else if (kind === 'stdout' && this.readyAt !== undefined) {
          this.#deliver(() => this.reader.line(line));
        }
      });
      return new Promise<void>((resolve) => rl.on('close', () => resolve()));
    };
    const streams = Promise.all([watch(this.child.stdout, 'stdout', this.stdout), watch(this.child.stderr, 'stderr', this.stderr)]);
    this.done = Promise.all([this.child, streams]).then(([result]) => {
      this.exited = true;
      this.exitCode = result.exitCode;
      this.exitSignal = result.signal;
      this.readyWaiters.splice(0).forEach((w) => w());
      if (this.readyAt !== undefined) this.#deliver(() => this.reader.end());
    });
  }

  #deliver(read: () => unknown[]): void {
    let items: unknown[];
    try {
      items = read();
    } catch (err) {
      this.readError ??= err as Error;
      return;
    }
    this.items.push(...items);
    if (this.onItem) items.forEach(this.onItem);
  }

  /** Resolves with true once attached, false if it exited or timed out first. */
  async waitReady(timeoutMs: number): Promise<boolean> {
    if (this.readyAt !== undefined) return true;
    if (this.exited) return false;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.readyWaiters.push(resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
    return this.readyAt !== undefined;
  }

  /**
   * SIGINT, as a user would; once more if the tracer still sits idle in its event loop (it missed the
   * first: seen with bpftrace 0.17 in TCG guests); SIGKILL if it does not exit in time. Returns false
   * if it had to be killed.
   */
  async stop(timeoutMs: number): Promise<boolean> {
    if (this.exited) {
      this.exitedEarly = true;
      return true;
    }
    this.child.kill('SIGINT');
    const deadline = performance.now() + timeoutMs;
    const exited = (ms: number) =>
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), Math.max(0, ms));
        void this.done.then(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
    let exitedInTime = await exited(timeoutMs / 5);
    // looked at again until the deadline: a tool still printing at the first look can swallow the SIGINT later
    // (one landing in a BCC Python callback is lost in ctypes; opensnoop-bpfcc after a storm on 5.10)
    while (!exitedInTime && !this.resentSigint && performance.now() < deadline) {
      if (await idleInEventLoop(this.child.pid)) {
        this.resentSigint = true;
        this.child.kill('SIGINT');
      } else exitedInTime = await exited(Math.min(timeoutMs / 5, deadline - performance.now()));
    }
    if (!exitedInTime) exitedInTime = await exited(deadline - performance.now());
    if (!exitedInTime) {
      this.hangState = await processState(this.child.pid);
      this.child.kill('SIGKILL');
      await this.done;
    }
    return exitedInTime;
  }

  /** Where a tracer that had to be killed was stuck ("state S, in ep_poll"), for the report. */
  hangState?: string;
  /** It ignored the first SIGINT and needed a second one. */
  resentSigint = false;

  get startupMs(): number | undefined {
    return this.readyAt === undefined ? undefined : Math.round(this.readyAt - this.started);
  }

  /** The first line of stderr that looks like an error, for a one-line reason. */
  firstError(): string {
    const line =
      this.stderr.find((l) => /error|fail|unable|cannot|can't|not found|denied|invalid/i.test(l) && !/RLIMIT_MEMLOCK/.test(l)) ??
      this.stderr.find((l) => l.trim() !== '') ??
      this.stdout.find((l) => l.trim() !== '');
    return line?.trim() ?? 'no output';
  }

  tail(): string {
    return [...this.stdout.slice(-OUTPUT_TAIL_LINES).map((l) => `stdout: ${l}`), ...this.stderr.slice(-OUTPUT_TAIL_LINES).map((l) => `stderr: ${l}`)].join('\n');
  }
}

/** utime + stime of a process, in clock ticks (/proc/PID/stat, fields 14 and 15, counted after the comm). */
async function cpuTicks(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields.length > 13 ? Number(fields[11]) + Number(fields[12]) : undefined;
}

/**
 * Whether a process sits idle over half a second: its main thread waits in epoll or poll at nearly every look, or
 * — where the kernel shows no wait channel (5.10 guests show none) — it used no CPU at all meanwhile. A
 * tracer printing its maps after SIGINT is doing neither.
 */
async function idleInEventLoop(pid: number | undefined): Promise<boolean> {
  if (pid === undefined) return false;
  let inEpoll = 0;
  const before = await cpuTicks(pid);
  for (let i = 0; i < 5; i++) {
    const wchan = await readFile(`/proc/${pid}/wchan`, 'utf8').catch(() => '');
    // epoll (libbpf, Node) or poll(2) (BCC's perf reader)
    if (/epoll|ep_poll|do_sys_poll|poll_schedule/.test(wchan)) inEpoll++;
    await new Promise((r) => setTimeout(r, 100));
  }
  const after = await cpuTicks(pid);
  return inEpoll >= 4 || (before !== undefined && before === after);
}

/** The scheduler state and kernel wait channel of a process, from /proc. */
async function processState(pid: number | undefined): Promise<string | undefined> {
  if (pid === undefined) return undefined;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const state = /^State:\s*(.+)$/m.exec(status)?.[1];
    const wchan = (await readFile(`/proc/${pid}/wchan`, 'utf8').catch(() => '')).trim();
    return `state ${state ?? '?'}${wchan && wchan !== '0' ? `, in ${wchan}` : ''}`;
  } catch {
    return undefined;
  }
}

const base = (v: Variant): Pick<VariantResult, 'name' | 'example' | 'tool' | 'description' | 'expected' | 'matched' | 'details'> => ({
  name: variantName(v),
  example: v.example,
  tool: v.tool,
  description: v.description,
  expected: 0,
  matched: 0,
  details: [],
});

/** How many events this tracer still owes for the run (its example knows what that is). */
const owed = (t: Tracer, run: RunBase): number => (t.exited ? 0 : t.example.owed(t.items, run, t.variant));

/**
 * Waits until every tracer has printed what it owes, or until what they owe has not fallen for `quietMs` (at
 * most `maxMs` in all): a tool printing a storm slowly is given the time; a tool that lost events, or prints
 * only other processes' events, is not waited for. Returns the names of those still owing.
 */
async function drain(tracers: Tracer[], run: RunBase, quietMs: number, maxMs: number): Promise<string[]> {
  const deadline = performance.now() + maxMs;
  const total = () => tracers.reduce((sum, t) => sum + owed(t, run), 0);
  let least = Infinity;
  let since = performance.now();
  for (let left = total(); left > 0 && performance.now() < deadline; left = total()) {
    if (left < least) [least, since] = [left, performance.now()];
    if (performance.now() - since > quietMs) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return tracers.filter((t) => owed(t, run) > 0).map((t) => t.name);
}

function verdict(t: Tracer, run: RunBase, stoppedCleanly: boolean, stopMs: number, facts?: KernelFacts): VariantResult {
  const v = t.variant;
  const result: VariantResult = { ...base(v), status: 'pass', startupMs: t.startupMs, command: v.command };
  const details: Difference[] = [];
  const fail = (reason: string) => Object.assign(result, { status: 'fail', reason, output: t.tail() });
  if (t.readError) {
    details.push({ case: '', level: 'failure', kind: 'output', text: `unreadable output: ${t.readError.message}` });
  } else {
    const grade = t.example.grade(run, t.items, v, facts ?? DOCUMENTED_KERNEL);
    Object.assign(result, { expected: grade.expected, matched: grade.matched, cases: grade.cases });
    details.push(...grade.differences);
  }
  if (t.resentSigint) {
    // the output is complete and graded as usual; the tool's shutdown is what stumbled
    details.push({ case: '', level: 'quirk', kind: 'stop', text: 'needed a second SIGINT: it was still idle in its event loop after the first' });
  }
  const firstFailure = failures(details)[0];
  if (firstFailure) fail(renderDifference(firstFailure));
  if (!stoppedCleanly) {
    const text = `did not exit within ${stopMs / 1000} s of SIGINT (${t.hangState ?? 'state unknown'}): killed`;
    details.push({ case: '', level: 'failure', kind: 'stop', text });
    if (result.status === 'pass') fail(text);
  } else if (t.exitCode !== 0 || t.exitedEarly) {
    const when = t.exitedEarly ? 'during the run' : 'after SIGINT';
    const text = `exited with ${t.exitCode ?? t.exitSignal} ${when}: ${t.firstError()}`;
    details.push({ case: '', level: 'failure', kind: 'exit', text });
    fail(text); // the crash explains the missing events better than the first missing event does
  }
  return { ...result, details };
}

/**
 * Rounds of variants that may run together: those whose examples share a kind of truth (one workload run
 * grades them all) at once, except that of the variants needing one exclusive resource (the trace pipe)
 * each round takes only one. Each kind of truth gets rounds of its own, in the order the variants come.
 */
export function rounds(variants: Variant[], exampleOf: ExampleOf): Variant[][] {
  const byTruth = new Map<string, Variant[]>();
  for (const v of variants) {
    const truth = exampleOf(v).truth;
    byTruth.set(truth, [...(byTruth.get(truth) ?? []), v]);
  }
  return [...byTruth.values()].flatMap((group) => {
    const out: Variant[][] = [];
    const placed = new Map<string, number>(); // resource → rounds already holding one of its users
    for (const v of group) {
      const i = v.exclusive ? (placed.get(v.exclusive) ?? 0) : 0;
      if (v.exclusive) placed.set(v.exclusive, i + 1);
      (out[i] ??= []).push(v);
    }
    return out;
  });
}

/** Runs tracers against the workload and returns one result per variant, in the order given. */
export async function runSession(variants: Variant[], opts: SessionOptions): Promise<VariantResult[]> {
  const groups = opts.serial ? variants.map((v) => [v]) : rounds(variants, opts.exampleOf);
  if (groups.length > 1) {
    const results = new Map<Variant, VariantResult>();
    for (const group of groups) (await runRound(group, opts)).forEach((r, i) => results.set(group[i], r));
    return variants.map((v) => results.get(v)!);
  }
  return runRound(variants, opts);
}

/** One round: these tracers together against one run of the workload. */
async function runRound(variants: Variant[], opts: SessionOptions): Promise<VariantResult[]> {
  const slow = opts.slowdown ?? 1;
  const results = new Map<Variant, VariantResult>();
  const runnable: Variant[] = [];
  // requirement checks run tools (bpftrace --version, python3 -c 'import bcc'): all at once
  const unmet = await Promise.all(variants.map((v) => opts.check(v)));
  variants.forEach((v, i) => {
    const u = unmet[i];
    if (u) results.set(v, { ...base(v), status: u.fail ? 'fail' : 'skip', reason: u.reason, skipKind: u.fail ? undefined : u.kind });
    else runnable.push(v);
  });

  const tracers = runnable.map((v) => new Tracer(v, opts.exampleOf(v), opts.root, opts.onLine));
  const abort = () => tracers.forEach((t) => t.child.kill('SIGKILL'));
  opts.signal?.addEventListener('abort', abort, { once: true });
  try {
    const ready = await Promise.all(
      tracers.map(async (t) => {
        const ok = await t.waitReady(t.variant.attachTimeoutMs * slow);
        opts.onProgress?.(ok ? `${t.name}: attached after ${((t.startupMs ?? 0) / 1000).toFixed(1)} s` : `${t.name}: did not attach`);
        return ok;
      }),
    );
    const attached = tracers.filter((_, i) => ready[i]);
    for (const t of tracers.filter((_, i) => !ready[i])) {
      const timedOut = !t.exited;
      if (timedOut) await t.stop(STOP_MS * slow);
      const reason = timedOut
        ? `did not attach within ${((t.variant.attachTimeoutMs * slow) / 1000).toFixed(0)} s: ${t.firstError()}`
        : `exited with ${t.exitCode ?? t.exitSignal} before attaching: ${t.firstError()}`;
      results.set(t.variant, { ...base(t.variant), status: 'fail', reason, command: t.variant.command, output: t.tail() });
    }

    if (attached.length > 0) {
      const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;
      let phase = performance.now();
      // one run for the round, whose examples share one kind of truth (rounds()): the workload of the first
      // example in the registry's order (each grades against the run that happened, so a lighter workload of a
      // later example never replaces a fuller one)
      const run = opts.workload
        ? await opts.workload(attached.map((t) => ({ name: t.name, pid: t.child.pid })))
        : await attached[0].example.workload();
      opts.onProgress?.(`workload: ${attached[0].example.summary(run)} in ${seconds(phase)}`);
      phase = performance.now();
      const owing = await drain(attached, run, DRAIN_MS * slow, DRAIN_MAX_MS * slow);
      const drained = owing.length ? `waited ${seconds(phase)} for events (${owing.join(', ')} still owed some)` : `drained in ${seconds(phase)}`;
      phase = performance.now();
      const stopped = await Promise.all(attached.map((t) => t.stop(STOP_MS * slow)));
      opts.onProgress?.(`${drained}; stopped ${attached.length} tracers in ${seconds(phase)}`);
      attached.forEach((t, i) => results.set(t.variant, verdict(t, run, stopped[i], STOP_MS * slow, opts.facts)));
    }
  } finally {
    opts.signal?.removeEventListener('abort', abort);
    // whatever happened above, no tracer survives the session
    await Promise.all(tracers.map((t) => (t.exited ? undefined : (t.child.kill('SIGKILL'), t.done))));
  }
  opts.signal?.throwIfAborted(); // killed tracers make no report
  return variants.map((v) => results.get(v)!);
}
