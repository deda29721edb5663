import t from 'tap';
import { benchCharts, chartSpecs } from '../../../harness/bench/charts.js';
import { REPORT } from './fixture.js';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

t.test('each chart carries the measured variants only, skips left out', async (t) => {
  const specs = new Map(chartSpecs(REPORT).map((c) => [c.name, c.spec as { data: { values: Record<string, unknown>[] } }]));
  t.same([...specs.keys()], ['startup', 'rss', 'loss', 'cost', 'rate']);
  const variants = (name: string) => [...new Set(specs.get(name)!.data.values.map((r) => r.variant))];
  t.same(variants('rss'), ['execsnoop/libbpf', 'execsnoop/upstream-bcc']);
  t.same(variants('cost'), ['execsnoop/libbpf'], 'no cost bar where the kernel gave none');
  const loss = specs.get('loss')!.data.values.filter((r) => r.variant === 'execsnoop/upstream-bcc');
  t.same(loss.map((r) => r.execs), [290, 4, 6], 'received, reported lost, missing: the bar adds up to the kernel count');
});

t.test('the charts are PNG images (vega → SVG → resvg)', async (t) => {
  const charts = await benchCharts(REPORT);
  t.equal(charts.length, 5);
  for (const c of charts) {
    t.ok(c.png.subarray(0, 8).equals(PNG), `${c.name} is a PNG`);
    t.ok(c.png.length > 5000, `${c.name} has something drawn (${c.png.length} bytes)`);
    t.ok(c.title);
  }
});
