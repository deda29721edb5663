import t from 'tap';
import { matrixCsv, matrixMarkdown, matrixTable, type Column } from '../../harness/matrix.js';
import type { CompareReport, VariantResult } from '../../harness/types.js';

const result = (name: string, status: VariantResult['status'], reason?: string): VariantResult => {
  const [example, tool] = name.split('/');
  return { name, example, tool, status, reason, expected: 10, matched: status === 'pass' ? 10 : 7, differences: [], details: [] };
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
