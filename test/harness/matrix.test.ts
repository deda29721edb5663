import t from 'tap';
import { matrixCsv, matrixMarkdown, matrixTable, type Column } from '../../harness/commands/matrix.js';
import type { CompareReport, VariantResult } from '../../harness/engine/types.js';

const result = (name: string, status: VariantResult['status'], reason?: string): VariantResult => {
  const [example, tool] = name.split('/');
  return { name, example, tool, status, reason, expected: 10, matched: status === 'pass' ? 10 : 7, details: [] };
};
const report = (kernel: string, kind: 'host' | 'qemu', variants: VariantResult[]): CompareReport => ({
  schema: 1,
  target: { kind, kernel, accel: kind === 'host' ? 'none' : 'tcg', btf: true, bootMs: kind === 'host' ? undefined : 2500 },
  variants,
});

const cols: Column[] = [
  { kernel: '6.1', report: report('6.1.0-40-amd64', 'qemu', [result('execsnoop/bcc', 'pass'), result('execsnoop/libbpf', 'pass')]) },
  {
    kernel: 'host',
    report: report('6.18.44', 'host', [
      result('execsnoop/bcc', 'skip', 'bcc: no kernel headers for 6.18.44 — install linux-headers-6.18.44\nmore detail'),
      result('execsnoop/libbpf', 'fail', 'plain: no event for pid 12'),
    ]),
  },
  { kernel: '7.2', error: 'timed out booting' },
];

t.test('the Markdown table has a column per kernel and each reason once, numbered', async (t) => {
  const md = matrixMarkdown(cols);
  t.match(md, /^\| variant \| 6\.1 \(6\.1\.0-40-amd64\) \| host \(6\.18\.44\) \| 7\.2 \|$/m);
  t.match(md, /^\| execsnoop\/bcc \| pass \| skip \[1\] \| error \[2\] \|$/m);
  t.match(md, /^\| execsnoop\/libbpf \| pass \| fail \[3\] \| error \[2\] \|$/m);
  t.match(md, /^1\. bcc: no kernel headers for 6\.18\.44 — install linux-headers-6\.18\.44$/m, 'only the first line of a reason');
  t.match(md, /^- 6\.1: qemu 6\.1\.0-40-amd64, tcg, boot 2\.5 s, BTF$/m);
});

t.test('the CSV has one row per kernel and variant, and a row for a kernel that broke', async (t) => {
  const csv = matrixCsv(cols).trim().split('\n');
  t.equal(csv[0], 'kernel,release,target,variant,status,reason');
  t.equal(csv.length, 1 + 2 + 2 + 1);
  t.ok(csv.includes('7.2,,,,error,timed out booting'));
});

t.test('the terminal table lists every non-pass with its kernel', async (t) => {
  const text = matrixTable(cols);
  t.match(text, /host execsnoop\/libbpf: FAIL plain: no event for pid 12/);
  t.match(text, /7\.2: ERROR timed out booting/);
});

t.test('--merge joins compare reports and matrix records, classifies them against the baseline, and keeps the run', async (t) => {
  const { mkdtemp, readFile, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const { matrixCommand } = await import('../../harness/commands/matrix.js');
  const { loadRecords } = await import('../../harness/commands/matrix-history.js');
  const { junitSchemaErrors } = await import('../lib/junit.js');
  const dir = await mkdtemp(path.join(tmpdir(), 'matrix-merge-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const failed = { ...result('counter/bcc', 'fail', 'total: 3 ≠ 4'), details: [{ case: 'total', level: 'failure' as const, kind: 'count', text: 'total: 3 ≠ 4' }] };
  await writeFile(path.join(dir, '6.1.json'), JSON.stringify(report('6.1.0-50-amd64', 'qemu', [failed, result('counter/ts', 'pass')])));
  // a matrix --json record of a per-kernel job: its rerun of counter/ts passed, so that cell is flaky
  const record = {
    schema: 1,
    kind: 'ebpf-lab-matrix',
    startedAt: '2026-12-07T04:00:00.000Z',
    finishedAt: '2026-12-07T04:05:00.000Z',
    reruns: 1,
    rerunsRun: 1,
    kernels: [{ kernel: '7.2', release: '7.2.12+deb14-amd64', package: 'linux-image-7.2.12+deb14-amd64 7.2.12-1', target: report('7.2.12+deb14-amd64', 'qemu', []).target }],
    cells: [
      { kernel: '7.2', variant: 'counter/bcc', runs: [{ status: 'pass' }], class: 'as-expected', status: 'pass', reason: 'pass', entries: [], counts: { pass: 1, fail: 0 } },
      { kernel: '7.2', variant: 'counter/ts', runs: [{ status: 'fail', reason: 'did not attach', failingCases: [''] }, { status: 'pass' }], class: 'flaky', status: 'fail', reason: 'x', entries: [], counts: { pass: 1, fail: 1 } },
    ],
  };
  await writeFile(path.join(dir, '7.2.json'), JSON.stringify(record));
  const baselineFile = path.join(dir, 'baseline.yaml');
  await writeFile(baselineFile, 'schema: 1\nentries:\n  - kernel: "6.1"\n    variant: counter/bcc\n    cases: [total]\n    status: fail\n    reason: BCC counts its own exec\n    expires: 2026-01-31\n');
  const out: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
  let code: number;
  try {
    code = await matrixCommand(['--merge', path.join(dir, '6.1.json'), path.join(dir, '7.2.json'), '--baseline', baselineFile, '--junit', path.join(dir, 'j.xml'), '--summary', path.join(dir, 's.md'), '--history-dir', path.join(dir, 'history')]);
  } finally {
    process.stdout.write = write;
  }
  const text = out.join('');
  t.equal(code, 1, 'an expired entry fails the run');
  t.match(text, /^EXPIRED 6\.1 counter\/bcc: the entry expired on 2026-01-31: BCC counts its own exec; still fail: total: 3 ≠ 4$/m);
  t.match(text, /^FLAKY 7\.2 counter\/ts: 1 of 2 runs passed \(fail, pass\); the failure: did not attach$/m);
  t.match(text, /^matrix: 1 expired, 1 flaky, 2 as expected; 1 rerun of failing cells \(--reruns 1\); baseline /m);
  t.match(text, /^kernels: 7\.2: linux-image-7\.2\.12\+deb14-amd64 7\.2\.12-1$/m);
  const xml = await readFile(path.join(dir, 'j.xml'), 'utf8');
  t.same(await junitSchemaErrors(xml), []);
  t.match(xml, '<failure type="expired"');
  t.match(await readFile(path.join(dir, 's.md'), 'utf8'), /^## Kernel matrix: FAILED — 1 expired, 1 flaky, 2 as expected$/m);
  const kept = await loadRecords(path.join(dir, 'history'));
  t.equal(kept.length, 1);
  t.same(kept[0].cells.map((c) => `${c.kernel} ${c.variant} ${c.class}`), ['6.1 counter/bcc expired', '6.1 counter/ts as-expected', '7.2 counter/bcc as-expected', '7.2 counter/ts flaky']);
});
