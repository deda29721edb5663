import t from 'tap';
import { BENCH_CSV_COLUMNS, benchCsv, formatBench } from '../../../harness/bench/report.js';
import { REPORT } from './fixture.js';

t.test('the table has a row per variant: medians with their range, the storm as seen/kernel with losses, skips with their reason', async (t) => {
  const text = formatBench(REPORT);
  t.match(text, /qemu 6\.1\.0-50-amd64, tcg, boot 2\.6 s/);
  t.match(text, /execsnoop\/libbpf .*178 \(87–269\).*200 \(93–307\).*13\.4.*300\/300/);
  t.match(text, /290\/300, lost 4, missing 6/);
  t.match(text, /skip: bcc: no kernel headers/);
  t.match(text, /untraced exec rate \(the ceiling\): 1000\/s/);
  t.match(text, /libbpf build: BPF object 2000 ms, skeleton 120 ms, binary 900 ms/);
  t.match(text, /start-up phases.*\n  execsnoop\/libbpf: start 40, open 30, load 60, attach 5/);
  t.match(text, /why events were lost:\n  execsnoop\/upstream-bcc: one perf event per argument/);
  for (const p of REPORT.published) t.ok(text.includes(p.source), `the published figure's source is shown: ${p.what}`);
});

t.test('the CSV has one header and a row per variant, every figure in its column', async (t) => {
  const [head, ...rows] = benchCsv(REPORT).trim().split('\n');
  t.equal(head, BENCH_CSV_COLUMNS.join(','));
  t.equal(rows.length, REPORT.variants.length);
  const col = (row: string, name: (typeof BENCH_CSV_COLUMNS)[number]) => row.split(',')[BENCH_CSV_COLUMNS.indexOf(name)];
  t.equal(col(rows[1], 'received'), '290');
  t.equal(col(rows[1], 'silently_missing'), '6');
  t.equal(col(rows[1], 'rate_ratio'), '0.5000');
  t.equal(col(rows[0], 'ready_ms_median'), '178');
  t.equal(col(rows[2], 'status'), 'skip');
  t.equal(col(rows[2], 'ready_ms_median'), '', 'a skipped variant has no figures, not zeros');
});
