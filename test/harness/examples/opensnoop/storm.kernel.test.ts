// opensnoop's storm against every variant this kernel runs: more opens, from 8 threads at once, than any
// tool's map of opens in flight holds. Each open must be seen exactly once (a tool that declares it may lose
// part of a burst: seen once, or counted in what it says it lost), and once the storm is over no tracer may
// hold an entry in a hash map (an open whose exit did not delete what its enter saved).
import t from 'tap';
import { execa } from 'execa';
import { reportedLost } from '../../../../harness/bench/measure.js';
import { bpfObjects, processTree } from '../../../../harness/bench/proc.js';
import { exampleOf } from '../../../../harness/examples/index.js';
import { opensnoop } from '../../../../harness/examples/opensnoop/index.js';
import { OPEN_STORM, runOpenWorkload, STORM_THREADS, type OpenRun } from '../../../../harness/examples/opensnoop/workload.js';
import { projectRoot } from '../../../../harness/engine/paths.js';
import { checkVariant, hostTarget, kernelFacts, slowdownFor } from '../../../../harness/engine/requirements.js';
import { runSession } from '../../../../harness/engine/session.js';
import { variantName } from '../../../../harness/engine/variant.js';
import { requireFeature, requireRoot } from '../../../lib/kernel.js';

// include/uapi/linux/bpf.h: BPF_MAP_TYPE_HASH, _PERCPU_HASH, _LRU_HASH, _LRU_PERCPU_HASH
const HASH_TYPES = new Set([1, 5, 9, 10]);

/**
 * Entries left, in the hash maps the process tree of `pid` holds, under a key whose first 32 bits are one of
 * `tids` (every tool keys its opens in flight by the thread id, alone or as the low half of pid_tgid). Other
 * processes' opens may be in flight at any moment: only the workload's own must all be gone.
 */
async function leftInHashMaps(pid: number, tids: ReadonlySet<number>): Promise<string[]> {
  const maps = (await bpfObjects(await processTree(pid))).filter((o) => o.kind === 'map' && HASH_TYPES.has(o.type ?? -1));
  const left: string[] = [];
  for (const m of maps) {
    const r = await execa('bpftool', ['-j', 'map', 'dump', 'id', String(m.id)], { reject: false });
    // bpftool -j: each entry's key as an array of "0x2a" strings, little-endian
    const entries = JSON.parse(String(r.stdout) || '[]') as { key: string[] }[];
    const ours = entries.filter((e) => tids.has(Buffer.from(e.key.slice(0, 4).map((b) => parseInt(b, 16))).readUInt32LE(0)));
    if (ours.length > 0) left.push(`map id ${m.id}: ${ours.length} entries of the workload's threads`);
  }
  return left;
}

// LAB_STORM_VARIANTS: only these (storm.vm.test.ts runs the BCC ones in a 6.1 guest, which has kernel headers)
const asked = process.env.LAB_STORM_VARIANTS?.split(',');
const variants = opensnoop.variants.filter((v) => !asked || asked.includes(variantName(v)));

t.test(`a storm of opens from ${STORM_THREADS} threads (${OPEN_STORM} here, fewer under TCG): every variant sees each once and leaves no map entry`, async (t) => {
  if (!requireRoot(t) || !requireFeature(t, 'tracefs') || !requireFeature(t, 'btf')) return;
  const left = new Map<string, string[]>();
  const lines = new Map<string, string[]>();
  let storm: OpenRun | undefined;
  const results = await runSession(variants, {
    root: projectRoot,
    exampleOf,
    check: checkVariant,
    facts: kernelFacts(),
    // in a guest under TCG (storm.vm.test.ts) BCC compiles 10 times slower: opensnoop-bpfcc took over 30 s there
    slowdown: slowdownFor(await hostTarget()),
    onLine: (name, _stream, line) => lines.set(name, [...(lines.get(name) ?? []), line]),
    workload: async (attached) => {
      const run = (storm = await runOpenWorkload(undefined, ['open-storm', 'after-storm']));
      // the exits have all run when the helper has exited: what a map still holds now stays there
      const tids = new Set(run.opens.map((o) => o.tid));
      for (const a of attached) left.set(a.name, a.pid === undefined ? ['no pid'] : await leftInHashMaps(a.pid, tids));
      return run;
    },
  });
  const ran = results.filter((r) => r.status !== 'skip');
  // on this host: ours in bpftrace, libbpf and ts, and upstream's bpftrace and libbpf-tools (BCC needs kernel headers)
  t.ok(ran.length >= (asked ? variants.length : 5), `ran: ${ran.map((r) => r.name).join(', ')}`);
  for (const r of results) {
    if (r.status === 'skip') {
      t.comment(`${r.name}: skipped: ${r.reason}`);
      continue;
    }
    t.equal(r.status, 'pass', `${r.name}: ${r.reason ?? 'every open of the storm seen once'}`);
    const v = opensnoop.variants.find((x) => variantName(x) === r.name)!;
    const graded = r.cases?.find((c) => c.id === 'open-storm');
    if (v.expect.burst === 'complete') {
      // matched with no note: every open of the storm, once
      t.same([graded?.verdict, graded?.notes], ['matched', []], `${r.name}: every open of the storm once`);
    } else {
      // a tool that may lose a burst must say what it lost: what it printed and what it says it lost are the storm
      const out = lines.get(r.name) ?? [];
      const made = storm!.opens.filter((o) => o.id === 'open-storm');
      const seen = out.filter((l) => l.endsWith(` ${made[0]!.path}`)).length;
      const total = made.reduce((n, o) => n + o.count, 0);
      t.equal(seen + reportedLost(out), total, `${r.name}: ${seen} printed + ${reportedLost(out)} it says it lost = the storm's ${total}`);
    }
    t.same(left.get(r.name), [], `${r.name}: no entry left in its hash maps`);
  }
  t.same(results.map((r) => variantName({ example: r.example, tool: r.tool })), variants.map(variantName), 'one result per variant');
});
