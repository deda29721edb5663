// The thread-exec storm against every variant of the project's own: more execs from non-main threads
// than the maps holding execs in flight have entries. Afterwards each tracer still reports a plain exec,
// its maps hold nothing of the storm, and each counter counted every storm process exactly once.
// Then issue 19's doors storm, in the same session: DOORS_EXECS execs from DOORS_PROCS processes at once,
// mixing the doors into exec — execve, execveat of a memfd (AT_EMPTY_PATH), int $0x80. Every execsnoop must
// report each one exactly once, with its door (the grader fails a case for a missing event, and the run for
// an extra one: a duplicate); each counter counts its execve ones (the counters follow the course).
// LAB_STORM_VARIANTS=execsnoop/bcc,counter/bcc runs it for those only (test/harness/storm.vm.test.ts runs
// the BCC ones in a 6.1 guest: this host has no kernel headers for BCC).

import { readdir, readFile } from 'node:fs/promises';
import t from 'tap';
import { execa } from 'execa';
import { checkVariant, kernelFacts } from '../../harness/engine/requirements.js';
import { projectRoot } from '../../harness/engine/paths.js';
import { runSession } from '../../harness/engine/session.js';
import { DOORS_EXECS, runWorkload, STORM_EXECS } from '../../harness/examples/exec-workload.js';
import { exampleOf, VARIANTS } from '../../harness/examples/index.js';
import { variantName } from '../../harness/engine/variant.js';
import type { WorkloadRun } from '../../harness/examples/exec-workload.js';
import { requireFeature, requireRoot } from '../lib/kernel.js';

const OURS = ['bpftrace', 'bcc', 'libbpf', 'libbpf-static', 'cilium-go', 'cilium-go-kprobe', 'ts'];
const asked = process.env.LAB_STORM_VARIANTS?.split(',');
// the examples graded against the exec workload (opensnoop's storm is its own: examples/opensnoop/storm.kernel.test.ts)
const variants = VARIANTS.filter((v) => exampleOf(v).truth === 'exec' && (asked ? asked.includes(variantName(v)) : OURS.includes(v.tool)));

const BPF_MAP_TYPE_HASH = 1;

/** The hash maps a process holds, by their kernel ids (from /proc/PID/fdinfo: map fds say map_type and map_id). */
async function hashMapsOf(pid: number): Promise<number[]> {
  const ids: number[] = [];
  for (const fd of await readdir(`/proc/${pid}/fdinfo`)) {
    const info = await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8').catch(() => '');
    const type = /^map_type:\s*(\d+)/m.exec(info)?.[1];
    const id = /^map_id:\s*(\d+)/m.exec(info)?.[1];
    if (Number(type) === BPF_MAP_TYPE_HASH && id) ids.push(Number(id));
  }
  return ids;
}

/** The u32 keys of a map, as `bpftool map dump -j` shows them (hex bytes, or BTF-formatted). */
async function keysOf(id: number): Promise<number[]> {
  const r = await execa('bpftool', ['map', 'dump', 'id', String(id), '-j'], { reject: false, timeout: 20_000 });
  if (r.exitCode !== 0) throw new Error(`bpftool map dump id ${id}: ${r.stderr}`);
  const entries = JSON.parse(r.stdout || '[]') as { key?: string[] | number; formatted?: { key: number } }[];
  return entries.map((e) => {
    if (e.formatted) return Number(e.formatted.key);
    if (Array.isArray(e.key)) return Buffer.from(e.key.map((b) => parseInt(b, 16))).readUInt32LE(0);
    return Number(e.key);
  });
}

t.test(`after ${STORM_EXECS} execs from non-main threads every variant still sees a plain exec, keeps no stale entry, and sees each of ${DOORS_EXECS} execs through every door once`, async (t) => {
  if (!requireRoot(t) || !requireFeature(t, 'tracefs')) return;
  t.ok(variants.length > 0, `variants: ${variants.map(variantName).join(', ')}`);
  const stale = new Map<string, Map<number, number[]>>(); // variant → map id → storm pids or tids still in it
  let doors = 0;
  // one storm for every tracer at once, as in ./lab compare; the maps are read while they are attached
  const workload = async (attached: readonly { name: string; pid?: number }[]): Promise<WorkloadRun> => {
    const run = await runWorkload(undefined, ['thread-storm', 'after-storm', 'doors-storm']);
    doors = run.execs.filter((x) => x.id === 'doors-storm').length;
    // a tool keying by thread id would leave the storm's tids behind, one keying by process its pids
    const storm = new Set(run.execs.filter((x) => x.id === 'thread-storm').flatMap((x) => [x.pid, x.tid]));
    for (const { name, pid } of attached) {
      // a counter keeps a count per process on purpose; an execsnoop keeps only execs in flight
      if (!name.startsWith('execsnoop/') || pid === undefined) continue;
      const maps = new Map<number, number[]>();
      for (const id of await hashMapsOf(pid)) maps.set(id, (await keysOf(id)).filter((k) => storm.has(k)));
      stale.set(name, maps);
    }
    return run;
  };
  const results = await runSession(variants, { root: projectRoot, exampleOf, check: checkVariant, facts: kernelFacts(), slowdown: 3, workload });
  t.equal(doors, DOORS_EXECS, 'the doors storm ran every exec');
  for (const r of results) {
    t.test(r.name, async (t) => {
      if (r.status === 'skip') {
        t.plan(0, r.reason);
        return;
      }
      t.equal(r.status, 'pass', `${r.name}: ${r.reason ?? 'pass'}`);
      t.match(r.cases, [{ id: 'thread-storm' }, { id: 'after-storm', verdict: 'matched' }], 'the exec after the storm is reported');
      if (r.example === 'execsnoop') {
        const maps = stale.get(r.name) ?? new Map<number, number[]>();
        t.ok(maps.size > 0 || r.tool === 'bpftrace', `its hash maps: ${[...maps.keys()].join(', ') || 'none'}`);
        for (const [id, keys] of maps) t.equal(keys.length, 0, `map ${id} holds no entry of the storm's processes or threads (${keys.length} left)`);
        t.match(r.cases, [{}, {}, { id: 'doors-storm', verdict: 'matched' }], `every one of the ${DOORS_EXECS} execs through the three doors reported, its door right`);
        t.notOk(r.details.some((d) => d.kind === 'extra'), 'no exec reported twice, nothing extra');
      } else {
        t.match(r.cases, [{ id: 'thread-storm', verdict: 'matched' }], `each of the ${STORM_EXECS} storm processes counted exactly once`);
      }
    });
  }
});
