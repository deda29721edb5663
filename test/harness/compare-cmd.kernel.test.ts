import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { projectRoot } from '../../harness/engine/paths.js';
import { stderrShows } from '../lib/child.js';
import { probeFeature } from '../../bpf/ts/features.js';
import type { CompareReport } from '../../harness/engine/types.js';
import { goneFromKernel, requireFeature, requireRoot } from '../lib/kernel.js';

const lab = path.join(projectRoot, 'lab');

/** Tracer processes of ours still running (the harness itself excluded). */
async function tracers(): Promise<string[]> {
  const r = await execa('pgrep', ['-af', 'bpf/execsnoop/|bpf/counter/|build/bpf/|/usr/sbin/execsnoop'], { reject: false });
  return String(r.stdout).split('\n').filter((l) => l && !l.includes('pgrep'));
}

t.test('compare --target host passes every variant this kernel can run and skips the rest with a reason', async (t) => {
  if (!requireRoot(t) || !requireFeature(t, 'tracefs') || !requireFeature(t, 'btf')) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'compare-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const json = path.join(dir, 'r.json');
  const csv = path.join(dir, 'r.csv');
  const r = await execa(lab, ['compare', '--target', 'host', '--json', json, '--csv', csv], { reject: false, timeout: 300_000 });
  t.equal(r.exitCode, 0, `exit code (stderr: ${String(r.stderr).slice(-2000)})`);
  const report = JSON.parse(await readFile(json, 'utf8')) as CompareReport;
  t.equal(report.schema, 1);
  t.match(report.target, { kind: 'host', accel: 'none', btf: true });
  const status = Object.fromEntries(report.variants.map((v) => [v.name, v.status]));
  for (const name of ['execsnoop/bpftrace', 'execsnoop/libbpf', 'execsnoop/cilium-go', 'execsnoop/ts', 'counter/bpftrace', 'counter/libbpf', 'counter/cilium-go', 'counter/ts']) {
    t.equal(status[name], 'pass', name);
  }
  // BCC compiles against the running kernel's headers: where there are none, it is a skip that says so
  if (probeFeature('kernel_headers').status !== 'supported') {
    for (const name of ['execsnoop/bcc', 'counter/bcc']) {
      const v = report.variants.find((x) => x.name === name)!;
      t.match(v, { status: 'skip', skipKind: 'no-kernel-headers', reason: /no kernel headers for .* — install linux-headers-/ }, name);
    }
  }
  // the kprobe forms need CONFIG_KPROBES: where it is missing (this development machine) they skip and say so
  if (probeFeature('kprobes').status === 'unsupported') {
    for (const name of ['counter/libbpf-kprobe', 'counter/cilium-go-kprobe']) {
      t.match(report.variants.find((x) => x.name === name), { status: 'skip', skipKind: 'no-kprobes', reason: /CONFIG_KPROBES/ }, name);
    }
  }
  for (const v of report.variants.filter((x) => x.status === 'pass')) t.equal(v.matched, v.expected, `${v.name} matched every case`);
  t.match(String(r.stdout), /│ execsnoop\s+│ bpftrace │ bcc/, 'the table is printed');
  t.equal((await readFile(csv, 'utf8')).trim().split('\n').length, 1 + report.variants.length, 'one CSV row per variant');
  t.same(await tracers(), [], 'no tracer left running');
});

t.test('Ctrl-C during compare leaves no tracer process and no BPF program behind', async (t) => {
  if (!requireRoot(t) || !requireFeature(t, 'tracefs') || !requireFeature(t, 'btf')) return;
  const child = execa(lab, ['compare', '--target', 'host', '--example', 'execsnoop', '--tool', 'ts', '--tool', 'libbpf', '--tool', 'bpftrace'], {
    reject: false,
    timeout: 120_000,
  });
  // interrupt as soon as the first tracer has attached: the others are still starting
  await stderrShows(child, /attached after/);
  child.kill('SIGINT');
  const r = await child;
  t.equal(r.exitCode, 130, 'an interrupted compare exits as SIGINT would have made it');
  t.match(String(r.stderr), /^lab compare: interrupted by SIGINT; what was running was stopped and cleaned up$/m);
  await new Promise((r) => setTimeout(r, 500));
  t.same(await tracers(), [], 'no tracer left running');
  t.ok(await goneFromKernel('prog', 'execsnoop_enter'), 'the ts tracer’s programs are gone');
  t.ok(await goneFromKernel('prog', 'handle_enter_ex'), 'the libbpf tracer’s programs are gone');
});

t.test('bad usage exits 2 with the reason on stderr', async (t) => {
  const r = await execa(lab, ['compare', '--tool', 'dtrace'], { reject: false });
  t.equal(r.exitCode, 2);
  t.match(String(r.stderr), /unknown tool "dtrace" \(tools: bpftrace, bcc, libbpf, /);
});
