// A small real bench on this machine's kernel (about 15 s): three variants, two starts each, a 300-exec
// storm. The figures are not judged (numbers belong to ./lab bench); what is checked is that each was
// measured, that the storm's books close against the kernel's own count, and that nothing is left loaded.

import t from 'tap';
import { runBench } from '../../../harness/bench/index.js';
import { loadedNames, requireFeature, requireRoot } from '../../lib/kernel.js';

const VARIANTS = ['execsnoop/libbpf', 'execsnoop/ts', 'counter/libbpf'];
const STORM = 300;

t.test('a small bench measures every variant and the books of its storm close', async (t) => {
  if (!requireRoot(t) || !requireFeature(t, 'tracefs') || !requireFeature(t, 'btf')) return;
  const lines: string[] = [];
  const report = await runBench({ target: 'host', storm: STORM, repeats: 2, variants: VARIANTS, log: (l) => lines.push(l) });
  t.equal(report.kind, 'bench');
  t.same(report.variants.map((v) => v.name), VARIANTS, 'one record per variant asked, in order');
  t.ok(lines.some((l) => /3 variants on host/.test(l)), 'progress goes to log');
  for (const v of report.variants) {
    t.test(v.name, async (t) => {
      t.equal(v.status, 'ok', v.reason ?? '');
      t.equal(v.startup?.readyMs.n, 2, 'started twice');
      t.ok(v.startup!.readyMs.min > 0 && v.startup!.readyMs.max < 30_000, `ready after ${v.startup!.readyMs.median} ms`);
      if (v.example === 'execsnoop') t.ok(v.startup!.firstEventMs!.min >= v.startup!.readyMs.min, 'the first event comes after ready');
      t.ok(v.memory!.rssKb > 1024 && v.memory!.rssKb < 4 * 1024 * 1024, `peak RSS ${v.memory!.rssKb} kB`);
      t.ok(v.memory!.kernelBytes > 0 && v.memory!.maps > 0 && v.memory!.progs > 0, 'its maps and programs were found through its fds');
      const a = v.storm!.account!;
      t.equal(a.execs, STORM, 'every exec of the storm succeeded');
      t.equal(a.kernel, STORM, "the kernel's counter saw each one");
      t.ok(a.closes, 'received + reported lost + silently missing = the kernel count');
      t.equal(a.received + a.reportedLost + a.silentlyMissing, a.kernel);
      t.equal(a.received, STORM, 'these tools see the whole storm');
      // an execsnoop's execveat programs see no execveat in the storm (vfork + execv): they run not at all
      t.ok(v.cost!.programs.every((p) => p.runs >= STORM || p.runs === 0), 'each program ran at least once per exec, or never (BPF_ENABLE_STATS)');
      t.ok(v.cost!.programs.filter((p) => p.runs >= STORM).length >= 1, 'one at least ran for every exec');
      t.ok(v.cost!.nsPerExec! > 0);
      t.ok(v.storm!.rate > 0 && v.baseline!.rate > 0 && v.storm!.ratio! > 0, 'traced and untraced exec rates');
      t.ok(v.footprint!.bytes > 0 && v.loc > 0);
    });
  }
  const left = (await loadedNames('prog')).filter((n) => n === 'bench_count');
  t.same(left, [], "the bench's counter program is gone");
});
