// The Vagrant target for real: the project's box built offline (or taken from the cache), brought up by
// vagrant-libvirt with a private libvirtd driving QEMU in a network namespace of its own, the whole
// harness run inside over ssh, the VM destroyed. One `vagrant up` for the comparison (the costly part:
// minutes under TCG); the Ctrl-C case stops during the next `vagrant up`, before the guest has booted.

import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { projectRoot } from '../../harness/engine/paths.js';
import { stderrShows } from '../lib/child.js';
import type { CompareReport } from '../../harness/engine/types.js';

const lab = path.join(projectRoot, 'lab');

t.setTimeout(40 * 60_000);

const WATCHED = ['libvirtd', 'virtlogd', 'dnsmasq', 'qemu-system-x86_64', 'vagrant', 'ssh', 'nsenter'];

/** The pids of the processes a run starts (this machine runs none of them otherwise; other runs' are excluded by taking them first). */
async function watched(): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const name of WATCHED) {
    const r = await execa('pgrep', ['-a', '-x', name], { reject: false });
    for (const line of String(r.stdout).split('\n').filter(Boolean)) out.set(Number(line.split(' ')[0]), line);
  }
  return out;
}

/** What a run left behind: namespaces, processes that were not there before, temporary directories. */
async function leftovers(tmp: string, before: Map<number, string>): Promise<string[]> {
  const left: string[] = [];
  const ns = await execa('ip', ['netns', 'list'], { reject: false });
  left.push(...String(ns.stdout).split('\n').filter((l) => l.startsWith('ebpf-lab-vg-')).map((l) => `netns ${l}`));
  for (const [pid, line] of await watched()) if (!before.has(pid)) left.push(`process ${line}`);
  const { readdir } = await import('node:fs/promises');
  left.push(...(await readdir(tmp)).filter((n) => n.startsWith('ebpf-lab-')).map((n) => `directory ${n}`));
  return left;
}

t.test('the box builds once and is then taken from the cache', async (t) => {
  const first = await execa(lab, ['vm', 'vagrant-box'], { reject: false, timeout: 30 * 60_000 });
  t.equal(first.exitCode, 0, `exit code (stderr tail: ${String(first.stderr).slice(-2000)})`);
  t.match(first.stdout, /ebpf-lab-debian12\.box: \d+\.\d MB, (built in|cached)/);
  t.comment(first.stdout);
  const second = await execa(lab, ['vm', 'vagrant-box'], { reject: false, timeout: 5 * 60_000 });
  t.equal(second.exitCode, 0);
  t.match(second.stdout, /, cached \(key [0-9a-f]{16}\)$/m, 'the second run builds nothing');
  t.notMatch(second.stderr, /building the box/);
});

// The counter's variants: each of the five tools (BCC's needs the box's kernel headers) and the two kprobe forms, at
// the price of one BCC compile in the guest (~20 s under TCG). Every variant on 6.1 runs in matrix.vm.test.ts's QEMU guest; what
// this test adds is the Vagrant target itself: the box, its boot, our tree synced in, the report streamed back.
t.test('compare --target vagrant runs the counter five ways in the Vagrant VM, and every one passes, as in the 6.1 QEMU guest', async (t) => {
  const tmp = await mkdtemp(path.join(tmpdir(), 'vagrant-vm-test-'));
  t.teardown(() => rm(tmp, { recursive: true, force: true }));
  const json = path.join(tmp, 'r.json');
  const before = await watched();
  const started = Date.now();
  const r = await execa(lab, ['compare', '--target', 'vagrant', '--example', 'counter', '--json', json], { reject: false, timeout: 35 * 60_000, env: { TMPDIR: tmp } });
  t.comment(`compare --target vagrant: ${((Date.now() - started) / 1000).toFixed(0)} s; ${String(r.stderr).split('\n').filter((l) => /is up after|variants on|box:/.test(l)).join(' | ')}`);
  t.equal(r.exitCode, 0, `exit code (stderr tail: ${String(r.stderr).slice(-3000)})`);
  const report = JSON.parse(await readFile(json, 'utf8')) as CompareReport;
  t.match(report.target, { kind: 'vagrant', kernel: /^6\.1\.\d+-\d+-amd64$/, btf: true });
  t.ok(['tcg', 'kvm'].includes(report.target.accel), `accel ${report.target.accel}`);
  t.ok((report.target.bootMs ?? 0) > 0, `vagrant up took ${report.target.bootMs} ms`);
  t.same(report.variants.map((v) => v.name).sort(), ['counter/bcc', 'counter/bpftrace', 'counter/cilium-go', 'counter/cilium-go-kprobe', 'counter/libbpf', 'counter/libbpf-kprobe', 'counter/ts'], 'every tool ran, BCC too (the box has the kernel headers)');
  for (const v of report.variants) t.equal(v.status, 'pass', `${v.name}: ${v.reason ?? 'pass'}`);
  t.match(String(r.stdout), /target: vagrant 6\.1\.\d+-\d+-amd64/, 'the guest’s table streamed to our stdout');
  t.same(await leftovers(tmp, before), [], 'no namespace, daemon, VM or temporary directory left');
});

t.test('Ctrl-C during vagrant up destroys what was started: no VM, no libvirtd, no namespace', async (t) => {
  const tmp = await mkdtemp(path.join(tmpdir(), 'vagrant-vm-int-'));
  t.teardown(() => rm(tmp, { recursive: true, force: true }));
  const before = await watched();
  const child = execa(lab, ['compare', '--target', 'vagrant', '--tool', 'libbpf'], { reject: false, timeout: 10 * 60_000, env: { TMPDIR: tmp } });
  await stderrShows(child, /vagrant up --provider/);
  // interrupt once QEMU runs: the domain is defined and started, the worst moment to leave things behind
  for (let i = 0; i < 600 && (await execa('pgrep', ['-f', 'qemu-system.*guest=vm_default'], { reject: false })).exitCode !== 0; i++) await new Promise((r) => setTimeout(r, 500));
  child.kill('SIGINT');
  const r = await child;
  t.equal(r.exitCode, 130, `exit code (stderr tail: ${String(r.stderr).slice(-1500)})`);
  t.match(String(r.stderr), /interrupted by SIGINT/);
  t.same(await leftovers(tmp, before), [], 'no namespace, daemon, VM or temporary directory left');
});

t.test('a box Vagrant does not have and cannot download is an environment error that says what to do', async (t) => {
  const tmp = await mkdtemp(path.join(tmpdir(), 'vagrant-vm-nobox-'));
  t.teardown(() => rm(tmp, { recursive: true, force: true }));
  const before = await watched();
  // vagrant runs in the private namespace, where only loopback exists: the download fails at once
  const r = await execa(lab, ['compare', '--target', 'vagrant', '--tool', 'libbpf'], { reject: false, timeout: 5 * 60_000, env: { TMPDIR: tmp, LAB_VAGRANT_BOX: 'ebpf-lab-test/no-such-box' } });
  t.equal(r.exitCode, 2, `exit code (stderr tail: ${String(r.stderr).slice(-1500)})`);
  t.match(String(r.stderr), /no box "ebpf-lab-test\/no-such-box" and no way to download it: build the project's box with \.\/lab vm vagrant-box, or set LAB_VAGRANT_BOX/);
  t.same(await leftovers(tmp, before), [], 'nothing left');
});
