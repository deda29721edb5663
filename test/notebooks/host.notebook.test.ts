// Every notebook, executed twice in one kernel session through real Jupyter on this machine's kernel: each
// cell succeeds both times, shows what matters, and nothing it made (fd, map, program, link, process)
// is left once it ends. Then a notebook that leaks on purpose, to prove the leak check can fail.

import t from 'tap';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { projectRoot } from '../../harness/engine/paths.js';
import { CHECKS, NOTEBOOKS, NOTEBOOK_DIR, PYTHON, answeredNotebook, cellFailure, checkLines, exerciseIds, jupyterEnv, runOnHost, shown } from './notebooks.js';

t.setTimeout(20 * 60_000);

const bpftoolIds = async (what: 'prog' | 'map'): Promise<Set<number>> => {
  const r = await execa('bpftool', ['-j', what, 'show']);
  return new Set((JSON.parse(r.stdout) as { id: number }[]).map((o) => o.id));
};

t.test('every notebook runs top to bottom twice in one kernel, shows its outputs and leaves nothing behind', async (t) => {
  t.ok(NOTEBOOKS.length >= 6, `notebooks found: ${NOTEBOOKS.join(', ')}`);
  const progsBefore = await bpftoolIds('prog');
  const mapsBefore = await bpftoolIds('map');
  const records = await runOnHost(NOTEBOOKS.map((f) => path.join(NOTEBOOK_DIR, f)), 2);
  for (const rec of records) {
    const name = path.basename(rec.path);
    t.test(name, async (t) => {
      t.notOk(rec.failure, `the notebook ran: ${rec.failure ?? ''}`);
      t.comment(`kernel started in ${rec.kernelStartSeconds} s; ${rec.runs.map((r) => `${r.seconds} s`).join(', then ')} (slowest cell: ${Math.max(...rec.runs.flatMap((r) => r.cells.map((c) => c.seconds)))} s)`);
      t.ok(rec.kernelPid, 'the kernel process was found (the leak check looks at it)');
      t.equal(rec.runs.length, 2, 'executed twice');
      rec.runs.forEach((run, i) => {
        for (const c of run.cells) t.equal(c.status, 'ok', `run ${i + 1}, ${c.status === 'ok' ? `cell ${c.index}` : cellFailure(c)}`);
        t.test(`what run ${i + 1} shows`, async (t) => CHECKS[name]!(t, shown(run), { kind: 'host' }));
      });
      t.same(rec.leftovers, { bpfFds: [], children: [] }, 'no BPF fd open in the kernel, no child process left');
    });
  }
  // programs and maps of the tools the notebooks ran (bpftrace, libbpf, BCC) are gone too
  const progsLeft = [...(await bpftoolIds('prog'))].filter((id) => !progsBefore.has(id));
  const mapsLeft = [...(await bpftoolIds('map'))].filter((id) => !mapsBefore.has(id));
  t.same(progsLeft, [], 'no BPF program loaded by the notebooks remains (bpftool prog show)');
  t.same(mapsLeft, [], 'no BPF map made by the notebooks remains (bpftool map show)');
});

t.test("every exercise's check passes on the instructor's answer (test/fixtures/notebooks/answers/)", async (t) => {
  // only the cells the exercises need: the first code cell, those tagged exercise-setup, the exercises and their checks
  const answered: { path: string; ids: string[] }[] = [];
  for (const f of NOTEBOOKS) {
    const ids = await exerciseIds(f);
    if (ids.length > 0) answered.push(await answeredNotebook(f));
  }
  t.ok(answered.length >= 4, `notebooks with exercises: ${answered.map((a) => path.basename(a.path)).join(', ')}`);
  const records = await runOnHost(answered.map((a) => a.path), 1, { cwd: NOTEBOOK_DIR });
  for (const [i, rec] of records.entries()) {
    t.test(path.basename(rec.path), async (t) => {
      t.notOk(rec.failure, `the notebook ran: ${rec.failure ?? ''}`);
      const run = rec.runs[0]!;
      for (const c of run.cells) t.equal(c.status, 'ok', c.status === 'ok' ? `cell ${c.index}` : cellFailure(c));
      const lines = checkLines(shown(run).stdout);
      for (const id of answered[i]!.ids) t.equal(lines.get(id), 'PASS', `exercise ${id}: the instructor's answer passes its check`);
      t.same(rec.leftovers, { bpfFds: [], children: [] }, 'no BPF fd open in the kernel, no child process left');
    });
  }
});

t.test('the leak check sees a map a notebook keeps open', async (t) => {
  // run from notebooks/, where the package ebpf-lab resolves, as a student's own notebook there would
  const [rec] = await runOnHost([path.join(projectRoot, 'test', 'fixtures', 'notebooks', 'leaks-a-map.ipynb')], 1, { cwd: NOTEBOOK_DIR });
  t.equal(rec!.runs[0]!.cells[0]!.status, 'ok');
  t.match(rec!.leftovers.bpfFds.join('\n'), /anon_inode:bpf-map/, 'the open map is reported');
});

t.test("nbconvert's HTML carries the charts as PNG, which classic Notebook shows trusted or not", async (t) => {
  const executed = path.join(projectRoot, 'build', 'notebooks', '5-across-kernels.ipynb');
  const r = await execa(PYTHON, ['-m', 'nbconvert', '--to', 'html', executed, '--output-dir', path.join(projectRoot, 'build', 'notebooks')], {
    env: jupyterEnv,
    reject: false,
  });
  t.equal(r.exitCode, 0, String(r.stderr).slice(-2000));
  const html = await readFile(executed.replace(/\.ipynb$/, '.html'), 'utf8');
  t.match(html, /<img src="data:image\/png;base64,/, 'a chart as an inline PNG');
});
