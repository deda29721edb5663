// The storm tests (storm.kernel.test.ts: the thread-exec and doors storms; examples/opensnoop/storm.kernel.test.ts:
// the open storm) for the BCC variants, which this host cannot compile (no kernel headers): run inside one 6.1
// guest, which has them.
import t from 'tap';
import path from 'node:path';
import { execa } from 'execa';
import { projectRoot } from '../../harness/engine/paths.js';

t.setTimeout(13 * 60_000);

t.test('in a 6.1 guest the BCC variants survive the exec and open storms with no stale entry', async (t) => {
  const r = await execa(
    path.join(projectRoot, 'lab'),
    ['vm', 'run', '--kernel', '6.1', '--', 'env', 'LAB_STORM_VARIANTS=execsnoop/bcc,counter/bcc,opensnoop/bcc,opensnoop/upstream-bcc',
      'node_modules/.bin/tap', '--disable-coverage', '--jobs', '1', '--timeout', '480', 'test/harness/storm.kernel.test.ts', 'test/harness/examples/opensnoop/storm.kernel.test.ts'],
    { reject: false, timeout: 12 * 60_000, cwd: projectRoot, all: true },
  );
  const out = String(r.all);
  t.equal(r.exitCode, 0, `tap in the guest passed (output tail: ${out.slice(-3000)})`);
  t.match(out, /ok \d+ - execsnoop\/bcc/, 'execsnoop/bcc ran the storm');
  t.match(out, /ok \d+ - counter\/bcc/, 'counter/bcc ran the storm');
  t.match(out, /ok \d+ - opensnoop\/bcc: no entry left in its hash maps/, 'opensnoop/bcc ran the open storm');
  t.match(out, /ok \d+ - opensnoop\/upstream-bcc: no entry left in its hash maps/, 'opensnoop/upstream-bcc ran the open storm');
  t.notMatch(out, /# SKIP|not ok/, 'nothing skipped or failed');
});
