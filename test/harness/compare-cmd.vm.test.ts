import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { projectRoot } from '../../harness/paths.js';
import type { CompareReport } from '../../harness/types.js';

const lab = path.join(projectRoot, 'lab');

t.setTimeout(15 * 60_000);

t.test('compare --kernel 6.1 runs the harness inside the guest, and every variant, BCC included, passes there', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'compare-vm-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const json = path.join(dir, 'r.json');
  const r = await execa(lab, ['compare', '--kernel', '6.1', '--json', json], { reject: false, timeout: 10 * 60_000 });
  t.equal(r.exitCode, 0, `exit code (stderr tail: ${String(r.stderr).slice(-3000)})`);
  const report = JSON.parse(await readFile(json, 'utf8')) as CompareReport;
  // the report comes from the guest: its kernel, its accelerator, its boot time
  t.match(report.target, { kind: 'qemu', kernel: /^6\.1\.\d+-\d+-amd64$/, btf: true });
  t.ok(['tcg', 'kvm'].includes(report.target.accel), `accel ${report.target.accel}`);
  t.ok((report.target.bootMs ?? 0) > 0, `boot took ${report.target.bootMs} ms`);
  for (const v of report.variants) t.equal(v.status, 'pass', `${v.name}: ${v.reason ?? 'pass'}`);
  t.ok(report.variants.some((v) => v.name === 'execsnoop/bcc'), 'BCC ran (the guest has the kernel headers)');
  t.match(String(r.stdout), /target: qemu 6\.1\.\d+-\d+-amd64/, 'the guest’s table streamed to our stdout');
});

t.test('an error inside the guest surfaces with the guest’s own words and exit code', async (t) => {
  const r = await execa(lab, ['vm', 'run', '--kernel', '6.1', '--', './lab', 'compare', '--target', 'host', '--example', 'nosuch'], {
    reject: false,
    timeout: 5 * 60_000,
    cwd: projectRoot,
  });
  t.equal(r.exitCode, 2, 'the guest’s exit code for bad usage');
  t.match(String(r.stderr), /lab compare: unknown example "nosuch"/);
});
