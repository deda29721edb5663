import t from 'tap';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { projectRoot } from '../../harness/engine/paths.js';
import { stderrShows } from '../lib/child.js';
import type { CompareReport } from '../../harness/engine/types.js';

const lab = path.join(projectRoot, 'lab');

t.setTimeout(15 * 60_000);

// execsnoop two ways: the matrix test runs every variant on 6.1, BCC's among them (~80 s of compiling under TCG);
// this one checks the command's own path.
t.test('compare --kernel 6.1 runs the harness inside the guest, and the variants pass there', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'compare-vm-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const json = path.join(dir, 'r.json');
  const r = await execa(lab, ['compare', '--kernel', '6.1', '--example', 'execsnoop', '--tool', 'libbpf', '--tool', 'ts', '--json', json], { reject: false, timeout: 10 * 60_000 });
  t.equal(r.exitCode, 0, `exit code (stderr tail: ${String(r.stderr).slice(-3000)})`);
  const report = JSON.parse(await readFile(json, 'utf8')) as CompareReport;
  // the report comes from the guest: its kernel, its accelerator, its boot time
  t.match(report.target, { kind: 'qemu', kernel: /^6\.1\.\d+-\d+-amd64$/, btf: true });
  t.ok(['tcg', 'kvm'].includes(report.target.accel), `accel ${report.target.accel}`);
  t.ok((report.target.bootMs ?? 0) > 0, `boot took ${report.target.bootMs} ms`);
  t.same(report.variants.map((v) => v.name).sort(), ['execsnoop/libbpf', 'execsnoop/ts']);
  for (const v of report.variants) t.equal(v.status, 'pass', `${v.name}: ${v.reason ?? 'pass'}`);
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

t.test('Ctrl-C during compare --kernel stops the VM and leaves no qemu and no temporary directory', async (t) => {
  // a private TMPDIR holds this run's shared and VM directories, so what is left there is what leaked
  const tmp = await mkdtemp(path.join(tmpdir(), 'compare-vm-int-'));
  t.teardown(() => rm(tmp, { recursive: true, force: true }));
  const child = execa(lab, ['compare', '--kernel', '6.1', '--tool', 'libbpf'], { reject: false, timeout: 5 * 60_000, env: { TMPDIR: tmp } });
  await stderrShows(child, /attached after/);
  child.kill('SIGINT');
  const r = await child;
  t.equal(r.exitCode, 130, `exit code (stderr tail: ${String(r.stderr).slice(-1500)})`);
  t.match(String(r.stderr), /^lab compare: interrupted by SIGINT; what was running was stopped and cleaned up$/m);
  const qemu = await execa('pgrep', ['-f', `qemu-system.*${tmp}`], { reject: false });
  t.equal(qemu.stdout, '', 'no qemu of this run');
  const left = (await readdir(tmp)).filter((n) => !n.startsWith('tsx-')); // tsx keeps its compile cache there
  t.same(left, [], 'no temporary directory left');
});
