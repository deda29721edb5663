import t from 'tap';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { execa } from 'execa';
import { ExecCounter } from '../../../bpf/counter/counter.js';
import { Execsnoop } from '../../../bpf/execsnoop/execsnoop.js';
import { requireFeature } from '../../lib/kernel.js';

// A real collection without --expose-gc on the command line (tap starts the node process).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

// LIFETIME_ROUNDS=20 for a quick run while working on the layer.
const ROUNDS = Number(process.env.LIFETIME_ROUNDS ?? 200);
// Each round loads both tools: about half a second, most of it execsnoop's BTF and verifier.
t.setTimeout(ROUNDS * 1500 + 60_000);

/** The names the two tools give their programs and maps (bpftool shows at most 15 characters). */
const NAMES = new Set([
  'counter_total',
  'counter_per_pid',
  'counter_execve',
  'execsnoop_heap',
  'execsnoop_execs',
  'execsnoop_rb',
  'execsnoop_pb',
  'execsnoop_enter',
  'execsnoop_entat',
  'execsnoop_exec',
  'execsnoop_exit',
]);

interface Fds {
  total: number;
  prog: number;
  map: number;
  perf: number;
  progIds: number[];
  mapIds: number[];
}

/** This process's fds, and the kernel ids of the BPF objects behind them (from fdinfo). */
function ownFds(): Fds {
  const fds: Fds = { total: 0, prog: 0, map: 0, perf: 0, progIds: [], mapIds: [] };
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    let info: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
      info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    } catch {
      continue; // the fd readdir itself used, closed by now
    }
    fds.total++;
    if (target === 'anon_inode:bpf-prog') {
      fds.prog++;
      fds.progIds.push(Number(/^prog_id:\s*(\d+)/m.exec(info)?.[1]));
    } else if (target === 'anon_inode:bpf-map') {
      fds.map++;
      fds.mapIds.push(Number(/^map_id:\s*(\d+)/m.exec(info)?.[1]));
    } else if (target === 'anon_inode:[perf_event]') {
      fds.perf++;
    }
  }
  return fds;
}

async function bpftool(...args: string[]): Promise<Record<string, unknown>[]> {
  const r = await execa('bpftool', ['-j', ...args], { reject: false, timeout: 30_000, cleanup: true });
  if (r.exitCode !== 0) throw new Error(`bpftool ${args.join(' ')} failed: ${r.stderr.trim()} (install bpftool: apt-get install bpftool)`);
  return JSON.parse(r.stdout || '[]') as Record<string, unknown>[];
}

/** What the kernel still holds of ours: programs and maps by id (and our names), links to our programs, our perf attachments. */
async function leftInKernel(progIds: Set<number>, mapIds: Set<number>) {
  const [progs, maps, links, perf] = await Promise.all([
    bpftool('prog', 'list'),
    bpftool('map', 'list'),
    bpftool('link', 'list'),
    bpftool('perf', 'list'),
  ]);
  const ours = (o: Record<string, unknown>, ids: Set<number>) => ids.has(o.id as number) && NAMES.has(o.name as string);
  return {
    progs: progs.filter((p) => ours(p, progIds)).map((p) => `${p.name} (id ${p.id})`),
    maps: maps.filter((m) => ours(m, mapIds)).map((m) => `${m.name} (id ${m.id})`),
    links: links.filter((l) => progIds.has(l.prog_id as number)).map((l) => `link ${l.id} to program ${l.prog_id}`),
    perf: perf.filter((p) => p.pid === process.pid).map((p) => `perf event fd ${p.fd} → program ${p.prog_id}`),
    // For the report: everything of these names, whoever loaded it (other tests may be running).
    named: progs.filter((p) => NAMES.has(p.name as string)).length + maps.filter((m) => NAMES.has(m.name as string)).length,
  };
}

/** Open both tools and record the kernel ids behind the fds they opened; keep them or not. */
function open(round: number, seen: { progIds: Set<number>; mapIds: Set<number> }): { close(): void } {
  const counter = ExecCounter.open();
  // A quarter of the rounds read through perf buffers, the rest through the ring buffer.
  const snoop = Execsnoop.open({ onEvent: () => {}, output: round % 4 === 3 ? 'perf' : 'ringbuf' });
  const fds = ownFds();
  for (const id of fds.progIds) seen.progIds.add(id);
  for (const id of fds.mapIds) seen.mapIds.add(id);
  return {
    close() {
      snoop.close();
      counter.close();
    },
  };
}

/** Open both tools and drop them: nothing outside this function refers to them afterwards. */
function openAndDrop(round: number, seen: { progIds: Set<number>; mapIds: Set<number> }): void {
  open(round, seen);
}

const tick = () => new Promise((r) => setImmediate(r));

t.test(`loading the counter and execsnoop ${ROUNDS} times, half closed and half dropped, leaves no fd and no kernel object behind`, async (t) => {
  if (!requireFeature(t, 'root') || !requireFeature(t, 'tracefs') || !requireFeature(t, 'btf')) return;
  await bpftool('version'); // execa's and bpftool's first-use costs before the snapshot
  const before = ownFds();
  const kernelBefore = await leftInKernel(new Set(), new Set());
  const seen = { progIds: new Set<number>(), mapIds: new Set<number>() };
  const started = Date.now();
  let peak = 0;
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) open(round, seen).close();
    else openAndDrop(round, seen);
    peak = Math.max(peak, ownFds().total);
    // Kernel memory is invisible to V8: without a collection now and then, dropped tools pile up
    // (execsnoop's hash map of events alone is megabytes).
    if (round % 10 === 9) gc();
    await tick();
  }
  // The finalizers run in a task after a collection: collect until the fds are back, or give up.
  const deadline = Date.now() + 20_000;
  let after = ownFds();
  while (after.prog + after.map + after.perf > before.prog + before.map + before.perf && Date.now() < deadline) {
    gc();
    await tick();
    await new Promise((r) => setTimeout(r, 20));
    after = ownFds();
  }
  t.comment(
    `${ROUNDS} rounds in ${((Date.now() - started) / 1000).toFixed(1)} s; ${seen.progIds.size} programs and ${seen.mapIds.size} maps loaded; ` +
      `fds before ${before.total}, peak ${peak}, after ${after.total}`,
  );
  t.equal(seen.progIds.size, ROUNDS * 5, 'five programs a round (counter_execve, execsnoop_enter, _entat, _exec, _exit), each a new kernel object');
  t.same(
    { prog: after.prog, map: after.map, perf: after.perf },
    { prog: before.prog, map: before.map, perf: before.perf },
    'no BPF program, map or perf event fd left open in this process',
  );
  t.equal(after.total, before.total, `as many fds as before (${before.total})`);

  // The kernel frees a program after an RCU grace period, and its maps after that.
  let left = await leftInKernel(seen.progIds, seen.mapIds);
  for (let i = 0; i < 60 && left.progs.length + left.maps.length + left.links.length + left.perf.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    left = await leftInKernel(seen.progIds, seen.mapIds);
  }
  t.comment(`objects named like the tools', anyone's: ${kernelBefore.named} before, ${left.named} after`);
  t.same(left.progs, [], 'bpftool prog list shows none of our programs');
  t.same(left.maps, [], 'bpftool map list shows none of our maps');
  t.same(left.links, [], 'bpftool link list shows no link to our programs');
  t.same(left.perf, [], 'bpftool perf list shows no perf event of this process');
});
