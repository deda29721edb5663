// One bench run right here (the host, or the guest when ./lab bench runs inside a VM): each variant alone,
// started `repeats` times through session.ts's Tracer (the same start, ready line and stop as compare), then
// an untraced storm and a traced one back to back, with the kernel's counter and its run-time statistics on.

import { execa } from 'execa';
import { projectRoot } from '../engine/paths.js';
import { checkVariant, hostTarget, slowdownFor } from '../engine/requirements.js';
import { exampleOf } from '../examples/index.js';
import { Tracer } from '../engine/session.js';
import { variantName, type Variant } from '../engine/variant.js';
import { enableStats, type RunStats } from '../../bpf/ts/prog.js';
import { account, kernelMemlock, parsePhases, rate, reportedLost, spread, statsDelta } from './measure.js';
import { bpfObjects, processTree, RssSampler } from './proc.js';
import { runStorm, stormBinary, StormCounter, type StormBinary, type StormResult } from './storm.js';
import { footprint, linesOfCode } from './footprint.js';
import { PUBLISHED } from './published.js';
import { explainLoss } from './explain.js';
import type { BenchReport, VariantBench } from './types.js';

export interface BenchHereOptions {
  storm: number;
  repeats: number;
  variants: Variant[];
  log: (line: string) => void;
  signal?: AbortSignal;
}

/** How long after the storm a tracer may stay quiet before what it has not printed counts as missing. */
const QUIET_MS = 1500;
const STOP_MS = 5000;

/** The storm execs a variant reported, by index, from what its example's reader made of its output. */
function stormSeen(v: Variant, items: readonly unknown[], bin: StormBinary, storm: StormResult): { indices: number[]; supported: boolean } {
  const bench = exampleOf(v).bench;
  return bench ? { indices: bench.stormSeen(items, { name: bin.name, pids: storm.pids }), supported: true } : { indices: [], supported: false };
}

async function exec1(bin: StormBinary, marker: string): Promise<void> {
  await execa(bin.file, [bin.name, marker], { reject: false, stdin: 'ignore' });
}

interface Started {
  tracer: Tracer;
  readyMs?: number;
  firstEventMs?: number;
  sampler: RssSampler;
}

/** Starts one tracer, waits for its ready line, then sends the canary exec and waits for its event. */
async function start(v: Variant, bin: StormBinary, slow: number, run: number): Promise<Started> {
  const marker = `canary-${run}`;
  let seenAt: number | undefined;
  let resolveSeen: () => void = () => {};
  const seen = new Promise<void>((r) => (resolveSeen = r));
  const isCanary = exampleOf(v).bench?.isCanary;
  const tracer = new Tracer(v, exampleOf(v), projectRoot, undefined, (item) => {
    if (seenAt === undefined && isCanary?.(item, marker)) {
      seenAt = performance.now();
      resolveSeen();
    }
  });
  const sampler = new RssSampler(tracer.child.pid!);
  sampler.start();
  const ready = await tracer.waitReady(v.attachTimeoutMs * slow);
  if (!ready) return { tracer, sampler };
  if (isCanary) {
    await exec1(bin, marker);
    await Promise.race([seen, new Promise((r) => setTimeout(r, 5000 * slow))]);
  }
  return { tracer, sampler, readyMs: tracer.startupMs, firstEventMs: seenAt === undefined ? undefined : Math.round(seenAt - tracer.started) };
}

async function benchVariant(v: Variant, o: BenchHereOptions, bin: StormBinary, counter: StormCounter, slow: number): Promise<VariantBench> {
  const name = variantName(v);
  const base: VariantBench = { name, example: v.example, tool: v.tool, reference: v.reference ?? false, status: 'ok', loc: await linesOfCode(v.sources) };
  const unmet = await checkVariant(v);
  if (unmet) return { ...base, status: unmet.fail ? 'fail' : 'skip', reason: unmet.reason };
  base.footprint = await footprint(v);

  const ready: number[] = [];
  const first: number[] = [];
  const phases: Record<string, number[]> = {};
  let attached: Started | undefined;
  try {
    for (let i = 0; i < o.repeats; i++) {
      o.signal?.throwIfAborted();
      const last = i === o.repeats - 1;
      let baseline: StormResult | undefined;
      if (last) {
        // the untraced run right before the traced one: the ratio compares neighbours on a busy machine
        counter.reset();
        baseline = await runStorm(bin, o.storm, o.signal);
        base.baseline = { rate: rate(baseline.ok, baseline.ns), kernel: counter.count(), ok: baseline.ok };
      }
      const s = await start(v, bin, slow, i);
      if (s.readyMs === undefined) {
        await s.tracer.stop(STOP_MS * slow);
        await s.sampler.stop();
        const why = s.tracer.exited ? `exited with ${s.tracer.exitCode ?? s.tracer.exitSignal} before attaching` : `did not attach within ${Math.round((v.attachTimeoutMs * slow) / 1000)} s`;
        return { ...base, status: 'fail', reason: `${why}: ${s.tracer.firstError()}` };
      }
      ready.push(s.readyMs);
      if (s.firstEventMs !== undefined) first.push(s.firstEventMs);
      for (const [k, ms] of Object.entries(parsePhases(s.tracer.stderr))) (phases[k] ??= []).push(ms);
      if (!last) {
        await s.tracer.stop(STOP_MS * slow);
        await s.sampler.stop();
        continue;
      }
      attached = s;
    }
    const s = attached!;
    const before = await bpfObjects(await processTree(s.tracer.child.pid!));
    counter.reset();
    const storm = await runStorm(bin, o.storm, o.signal);
    const kernel = counter.count();
    // drain: until every exec the kernel counted is printed, or the tracer has been quiet for a while
    let lastCount = -1;
    let quietSince = performance.now();
    for (;;) {
      const n = s.tracer.items.length;
      if (n !== lastCount) [lastCount, quietSince] = [n, performance.now()];
      const got = stormSeen(v, s.tracer.items, bin, storm);
      // an example without a bench part cannot say which items are the storm's: nothing to wait for (its tool
      // may never go quiet: opensnoop sees this process's own opens of /proc)
      if (!got.supported) break;
      if (exampleOf(v).bench?.streams && new Set(got.indices).size >= kernel) break;
      if (performance.now() - quietSince > QUIET_MS * slow || s.tracer.exited) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const tree = await processTree(s.tracer.child.pid!);
    const after = await bpfObjects(tree);
    const rssKb = await s.sampler.stop();
    const clean = await s.tracer.stop(STOP_MS * slow);
    const got = stormSeen(v, s.tracer.items, bin, storm);
    const distinct = new Set(got.indices).size;
    const lost = reportedLost([...s.tracer.stdout, ...s.tracer.stderr]);
    const cost = statsDelta(before, after);
    const mem = kernelMemlock(after);
    const result: VariantBench = {
      ...base,
      startup: {
        readyMs: spread(ready)!,
        firstEventMs: spread(first),
        ...(Object.keys(phases).length ? { phases: Object.fromEntries(Object.entries(phases).map(([k, xs]) => [k, spread(xs)!])) } : {}),
      },
      memory: { rssKb, method: 'VmHWM', processes: s.sampler.peaks.size, kernelBytes: mem.bytes, maps: mem.maps, progs: mem.progs },
      cost: {
        programs: cost,
        nsPerExec: storm.ok > 0 ? cost.reduce((a, p) => a + p.ns, 0) / storm.ok : undefined,
      },
      storm: {
        rate: rate(storm.ok, storm.ns),
        ...(got.supported ? { account: account({ execs: storm.ok, kernel, received: distinct, duplicates: got.indices.length - distinct, reportedLost: lost }) } : {}),
      },
    };
    if (base.baseline && result.storm) result.storm.ratio = result.storm.rate / base.baseline.rate;
    const a = result.storm?.account;
    const why = a ? explainLoss(v, a.reportedLost, a.silentlyMissing) : undefined;
    if (why && result.storm) result.storm.lossExplained = why;
    if (!clean || (s.tracer.exitCode !== 0 && s.tracer.exitCode !== undefined)) {
      return { ...result, status: 'fail', reason: `ended badly after SIGINT (${s.tracer.exitCode ?? s.tracer.exitSignal}): ${s.tracer.firstError()}` };
    }
    if (result.storm?.account && !result.storm.account.closes) return { ...result, status: 'fail', reason: `the storm's books do not close: ${result.storm.account.problem}` };
    return result;
  } finally {
    if (attached && !attached.tracer.exited) {
      attached.tracer.child.kill('SIGKILL');
      await attached.tracer.done;
    }
  }
}

/** Runs the bench on this machine's kernel. */
export async function benchHere(o: BenchHereOptions): Promise<BenchReport> {
  const t0 = performance.now();
  const target = await hostTarget();
  const slow = slowdownFor(target);
  o.log(`${o.variants.length} variants on ${target.kind} ${target.kernel}, each alone: ${o.repeats} starts, then a ${o.storm}-exec storm untraced and traced`);
  const bin = await stormBinary();
  // our tools time their start-up phases when asked (bpf/ts/phases.ts, execsnoop.c, bcc_load.py)
  const phasesBefore = process.env.LAB_PHASES;
  process.env.LAB_PHASES = '1';
  let stats: RunStats | undefined;
  let statsNote: string | undefined;
  try {
    stats = enableStats();
  } catch (err) {
    statsNote = `no per-program cost: ${(err as Error).message}`;
  }
  const counter = StormCounter.open(bin.name);
  const variants: VariantBench[] = [];
  try {
    for (const v of o.variants) {
      const t = performance.now();
      const r = await benchVariant(v, o, bin, counter, slow);
      variants.push(r);
      o.log(`${r.name}: ${r.status}${r.reason ? ` (${r.reason})` : ''} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
  } finally {
    counter.close();
    stats?.close();
    await bin.remove();
    if (phasesBefore === undefined) delete process.env.LAB_PHASES;
    else process.env.LAB_PHASES = phasesBefore;
  }
  const baselines = variants.flatMap((v) => (v.baseline ? [v.baseline.rate] : []));
  return {
    schema: 1,
    kind: 'bench',
    target,
    storm: o.storm,
    repeats: o.repeats,
    startedAt: new Date(Date.now() - (performance.now() - t0)).toISOString(),
    durationMs: Math.round(performance.now() - t0),
    untracedRate: spread(baselines),
    memoryMethod: 'VmHWM',
    ...(statsNote ? { notes: [statsNote] } : {}),
    variants,
    published: PUBLISHED,
  };
}
