import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { projectRoot } from '../../harness/engine/paths.js';
import { MATRIX_KERNELS } from '../../harness/commands/matrix.js';

const lab = path.join(projectRoot, 'lab');

t.setTimeout(30 * 60_000);

t.test('the matrix runs every variant on every kernel and explains every result that is not a pass', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'matrix-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const csv = path.join(dir, 'm.csv');
  const md = path.join(dir, 'm.md');
  const r = await execa(lab, ['matrix', '--csv', csv, '--md', md], { reject: false, timeout: 25 * 60_000 });
  t.equal(r.exitCode, 0, `no failure on any kernel (stdout tail: ${String(r.stdout).slice(-3000)}; stderr tail: ${String(r.stderr).slice(-3000)})`);
  const rows = (await readFile(csv, 'utf8')).trim().split('\n').slice(1).map((l) => l.split(','));
  const kernels = new Set(rows.map((row) => row[0]));
  t.same([...kernels], MATRIX_KERNELS, 'a column per kernel');
  for (const [kernel, , , variant, status, ...reason] of rows) {
    t.ok(['pass', 'skip'].includes(status), `${kernel} ${variant}: ${status} ${reason.join(',')}`);
    if (status !== 'pass') t.not(reason.join(',').trim(), '', `${kernel} ${variant}: a skip says why`);
  }
  // 6.1, Debian stable: every variant can run there, so every variant must pass there
  t.ok(rows.filter((row) => row[0] === '6.1').every((row) => row[4] === 'pass'), 'everything passes on 6.1');
  // CO-RE: the static binary built once on this machine runs unchanged on every kernel
  t.ok(rows.filter((row) => row[3] === 'execsnoop/libbpf-static').every((row) => row[4] === 'pass'), 'the static libbpf binary runs everywhere');
  const text = await readFile(md, 'utf8');
  t.match(text, /^\| variant \| 5\.10 \(5\.10\./m, 'the Markdown table names each kernel’s release');
});
