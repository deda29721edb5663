// The notebooks whose cells change with the kernel, through real Jupyter inside a VM booted on Debian
// 6.1, where BCC has its headers and kprobes exist: what a student sees with `./lab notebook --kernel 6.1`.
// Once each (the host test runs each twice and checks for leftovers); the leftovers are checked here too.
// Notebooks 1 and 2 are left to the host: they use bpf() and the verifier only, show nothing that needs
// BCC or kprobes, and cost a minute and a half here (a tslab kernel takes ~40 s to start under TCG).

import t from 'tap';
import path from 'node:path';
import { Writable } from 'node:stream';
import { qemuTarget } from '../../harness/targets.js';
import { CHECKS, NOTEBOOKS as ALL_NOTEBOOKS, NOTEBOOK_DIR, PYTHON, RUNNER, cellFailure, shown, type NotebookRecord } from './notebooks.js';

t.setTimeout(25 * 60_000);

const NOTEBOOKS = ALL_NOTEBOOKS.filter((f) => !/^[12]-/.test(f));

t.test('the kernel-dependent notebooks run in the 6.1 guest and show there what they show on a kernel with BCC and kprobes', async (t) => {
  const target = qemuTarget('6.1');
  await target.prepare(() => {});
  let guestErr = '';
  const stderr = new Writable({ write: (chunk, _enc, done) => ((guestErr = (guestErr + String(chunk)).slice(-6000)), done()) });
  const started = Date.now();
  const run = await target.run((out) => [
    'env',
    `PATH=${path.join(path.dirname(RUNNER), '..', '..', 'node_modules', '.bin')}:/usr/sbin:/usr/bin:/sbin:/bin`,
    'JUPYTER_RUNTIME_DIR=/tmp/jupyter-runtime',
    PYTHON,
    RUNNER,
    '--out',
    path.join(out, 'notebooks.json'),
    '--runs',
    '1',
    '--timeout',
    '600',
    ...NOTEBOOKS.map((f) => path.join(NOTEBOOK_DIR, f)),
  ], { stderr });
  t.comment(`${NOTEBOOKS.length} notebooks in the 6.1 guest (${run.info.accel}): ${((Date.now() - started) / 1000).toFixed(0)} s, boot included`);
  t.equal(run.exitCode, 0, `the runner in the guest (stderr: ${guestErr}; console log: ${run.log})`);
  const text = run.files.get('notebooks.json');
  if (!t.ok(text, 'the guest brought its results back')) return;
  const records = (JSON.parse(text!) as { notebooks: NotebookRecord[] }).notebooks;
  t.equal(records.length, NOTEBOOKS.length);
  for (const rec of records) {
    const name = path.basename(rec.path);
    t.test(name, async (t) => {
      t.notOk(rec.failure, `the notebook ran: ${rec.failure ?? ''}`);
      t.comment(`kernel started in ${rec.kernelStartSeconds} s; ${rec.runs.map((r) => `${r.seconds} s`).join(', then ')} (slowest cell: ${Math.max(...rec.runs.flatMap((r) => r.cells.map((c) => c.seconds)))} s)`);
      const [only] = rec.runs;
      for (const c of only!.cells) t.equal(c.status, 'ok', c.status === 'ok' ? `cell ${c.index}` : cellFailure(c));
      CHECKS[name]!(t, shown(only!), { kind: 'vm', bcc: true });
      t.same(rec.leftovers, { bpfFds: [], children: [] }, 'nothing left in the guest’s kernel process');
    });
  }
});
