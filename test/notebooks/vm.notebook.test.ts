// Every notebook, through real Jupyter inside a VM booted on Debian 6.1 (the reference kernel, where BCC has its
// headers and kprobes exist): what a student sees with `./lab notebook --kernel 6.1`, and what the committed
// notebooks carry as their saved outputs (`./lab notebook --render` ran this same path). Once each (the host
// test runs each twice and checks for leftovers); the leftovers are checked here too. Then each cell's saved
// outputs are compared with the ones it produced now, by structure (harness/commands/notebook-render.ts): an output
// added, lost or changed in kind, or a line that differs by more than its numbers, fails.

import t from 'tap';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { RENDER_KERNEL, runNotebooksInVm } from '../../harness/commands/notebook.js';
import { compareOutputs, type Notebook } from '../../harness/commands/notebook-render.js';
import { CHECKS, NOTEBOOKS, NOTEBOOK_DIR, cellFailure, shown, type NotebookRecord } from './notebooks.js';

t.setTimeout(25 * 60_000);

t.test(`every notebook runs in the ${RENDER_KERNEL} guest, shows there what it shows on a kernel with BCC and kprobes, and what its saved outputs show`, async (t) => {
  let guestErr = '';
  const stderr = new Writable({ write: (chunk, _enc, done) => ((guestErr = (guestErr + String(chunk)).slice(-6000)), done()) });
  const started = Date.now();
  const run = await runNotebooksInVm(RENDER_KERNEL, NOTEBOOKS.map((f) => path.join(NOTEBOOK_DIR, f)), { stderr });
  t.comment(`${NOTEBOOKS.length} notebooks in the ${RENDER_KERNEL} guest (${run.accel}): ${((Date.now() - started) / 1000).toFixed(0)} s, boot included`);
  t.equal(run.exitCode, 0, `the runner in the guest (stderr: ${guestErr}; console log: ${run.consoleLog})`);
  const records = run.result.notebooks as NotebookRecord[];
  t.equal(records.length, NOTEBOOKS.length, 'the guest brought its results back');
  for (const rec of records) {
    const name = path.basename(rec.path);
    t.test(name, async (t) => {
      t.notOk(rec.failure, `the notebook ran: ${rec.failure ?? ''}`);
      t.comment(`kernel started in ${rec.kernelStartSeconds} s; ${rec.runs.map((r) => `${r.seconds} s`).join(', then ')} (slowest cell: ${Math.max(...rec.runs.flatMap((r) => r.cells.map((c) => c.seconds)))} s)`);
      const [only] = rec.runs;
      if (!t.ok(only, 'it ran once')) return;
      for (const c of only!.cells) t.equal(c.status, 'ok', c.status === 'ok' ? `cell ${c.index}` : cellFailure(c));
      CHECKS[name]!(t, shown(only!), { kind: 'vm', bcc: true });
      t.same(rec.leftovers, { bpfFds: [], children: [] }, 'nothing left in the guest’s kernel process');
      const saved = JSON.parse(await readFile(path.join(NOTEBOOK_DIR, name), 'utf8')) as Notebook;
      t.match(String((saved.metadata['ebpf-lab'] as { outputs?: string } | undefined)?.outputs), new RegExp(`^\\./lab notebook --render, on Linux ${RENDER_KERNEL.replace('.', '\\.')}\\.`), 'its saved outputs are from the reference kernel');
      const ran = run.executed.get(name);
      if (!t.ok(ran, 'the executed copy came back')) return;
      const diffs = compareOutputs(saved, ran!);
      t.same(diffs, [], `the saved outputs have the structure of this run's (else: ./lab notebook --render)\n${diffs.join('\n')}`);
    });
  }
});
