// Issue 22 on real kernels: one matrix run on two kernels — Debian's 6.1, fetched as usual, and 6.12 brought as a
// file with --kernel-image — with a baseline, a real failure forced by bpftrace's own setting
// BPFTRACE_MAP_KEYS_MAX=1 (@per_pid can then hold one process, so counter/bpftrace counts every other
// process as 0 on both kernels), its rerun, the JUnit file validated against the JUnit schema, the history;
// then a --merge of that run's record against a baseline whose entry has expired. And a kernel image without
// BTF, refused before anything boots.

import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { projectRoot } from '../../harness/engine/paths.js';
import type { MatrixRecord } from '../../harness/commands/matrix-history.js';
import { cacheDir, ensureKernel } from '../../vm/kernels.js';
import { junitSchemaErrors } from '../lib/junit.js';
import { imageWithoutBtf } from '../lib/kernel-image.js';

const lab = path.join(projectRoot, 'lab');

t.setTimeout(20 * 60_000);

t.test('a matrix with a baseline tells known, new, newly passing and expired apart, on a Debian kernel and a brought one', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'matrix-memory-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const k612 = await ensureKernel('6.12', { headers: true });
  const k61 = await ensureKernel('6.1', { headers: true });
  const image = k612.release; // the brought kernel's column is named by its release
  const baseline = path.join(dir, 'baseline.yaml');
  await writeFile(
    baseline,
    `schema: 1
entries:
  - kernel: "6.1"
    variant: counter/bpftrace
    status: fail
    reason: "BPFTRACE_MAP_KEYS_MAX=1: @per_pid holds one process"
    link: https://github.com/bpftrace/bpftrace/blob/master/man/adoc/bpftrace.adoc
  - kernel: "6.1"
    variant: counter/libbpf
    status: fail
    reason: was broken last week
  - kernel: "${image}"
    variant: counter/bcc
    status: skip
    reason: a brought kernel without its headers
`,
  );
  const out = (name: string) => path.join(dir, name);
  const started = Date.now();
  const r = await execa(
    lab,
    [
      'matrix',
      '--kernels', '6.1',
      '--kernel-image', k612.vmlinuz,
      '--modules', k612.modulesDir,
      '--example', 'counter',
      // the counter's variants as this test was written (new ones, e.g. cilium-go, would change its counts)
      '--tool', 'bpftrace,bcc,libbpf,libbpf-kprobe,ts',
      '--baseline', baseline,
      '--json', out('run.json'),
      '--junit', out('junit.xml'),
      '--summary', out('summary.md'),
      '--history-dir', out('history'),
    ],
    { reject: false, timeout: 15 * 60_000, env: { BPFTRACE_MAP_KEYS_MAX: '1' } },
  );
  t.comment(`matrix on 6.1 and a brought 6.12 with reruns: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const tail = `stdout: ${String(r.stdout).slice(-3000)}\nstderr: ${String(r.stderr).slice(-3000)}`;
  t.equal(r.exitCode, 1, `a new failure fails the run (${tail})`);

  const record = JSON.parse(await readFile(out('run.json'), 'utf8')) as MatrixRecord;
  const cls = Object.fromEntries(record.cells.map((c) => [`${c.kernel} ${c.variant}`, `${c.class} ${c.runs.map((x) => x.status).join(',')}`]));
  t.same(cls, {
    '6.1 counter/bpftrace': 'known-failure fail,fail',
    '6.1 counter/bcc': 'as-expected pass',
    '6.1 counter/libbpf': 'newly-passing pass',
    '6.1 counter/libbpf-kprobe': 'as-expected pass',
    '6.1 counter/ts': 'as-expected pass',
    [`${image} counter/bpftrace`]: 'new-failure fail,fail',
    [`${image} counter/bcc`]: 'as-expected skip',
    [`${image} counter/libbpf`]: 'as-expected pass',
    [`${image} counter/libbpf-kprobe`]: 'as-expected pass',
    [`${image} counter/ts`]: 'as-expected pass',
  });
  t.equal(record.rerunsRun, 2, 'only the two failing cells were run again, once each');
  t.match(r.stdout, /^matrix: 1 new failure, 1 known failure, 1 newly passing, 7 as expected; 2 reruns of failing cells \(--reruns 1\)/m);
  t.match(record.cells.find((c) => c.kernel === image && c.variant === 'counter/bcc')!.reason, /no kernel headers for 6\.12\./, 'no headers came with the image: BCC skips and says why');
  t.same(
    record.kernels.map((k) => [k.kernel, k.release, k.package]),
    [
      ['6.1', k61.release, `linux-image-${k61.release} ${k61.debianVersion}`],
      [image, image, `${k612.vmlinuz} (sha256 ${createHash('sha256').update(await readFile(k612.vmlinuz)).digest('hex').slice(0, 16)})`],
    ],
    'each kernel with its exact package (Debian) or file (brought)',
  );

  const xml = await readFile(out('junit.xml'), 'utf8');
  t.same(await junitSchemaErrors(xml), [], 'the JUnit file is valid against the JUnit schema');
  t.equal((xml.match(/<testcase /g) ?? []).length, 10, 'a test case per cell');
  t.match(xml, `<testcase classname="matrix.${image}" name="counter/bpftrace">\n      <failure type="new-failure" message="new failure: expected pass, now fail: `);
  t.match(xml, '<skipped type="known-failure" message="known failure: BPFTRACE_MAP_KEYS_MAX=1: @per_pid holds one process (https://github.com/bpftrace/bpftrace/blob/master/man/adoc/bpftrace.adoc)"/>');
  t.match(await readFile(out('summary.md'), 'utf8'), /^## Kernel matrix: FAILED — 1 new failure, 1 known failure, 1 newly passing, 7 as expected$/m);

  // the same record merged again, against a baseline whose 6.1 entry expired: exit 1 for the expired entry
  const expired = path.join(dir, 'expired.json');
  await writeFile(
    expired,
    JSON.stringify({
      schema: 1,
      entries: [
        { kernel: '6.1', variant: 'counter/bpftrace', status: 'fail', reason: 'maps too small', expires: '2026-01-31' },
        { kernel: image, variant: 'counter/bpftrace', status: 'fail', reason: 'maps too small' },
        { kernel: image, variant: 'counter/bcc', status: 'skip', reason: 'no headers' },
      ],
    }),
  );
  const m = await execa(lab, ['matrix', '--merge', out('run.json'), '--baseline', expired, '--history-dir', out('history')], { reject: false, timeout: 120_000 });
  t.equal(m.exitCode, 1, `an expired entry fails the merged run (${m.stdout.slice(-2000)} ${m.stderr.slice(-1000)})`);
  t.match(m.stdout, /^EXPIRED 6\.1 counter\/bpftrace: the entry expired on 2026-01-31: maps too small; still fail: /m);
  t.match(m.stdout, /^matrix: 1 expired, 1 known failure, 8 as expected; 2 reruns of failing cells \(--reruns 1\)/m);

  const h = await execa(lab, ['matrix', '--history', '--history-dir', out('history')], { reject: false, timeout: 60_000 });
  t.equal(h.exitCode, 0);
  t.match(h.stdout, /^2 run\(s\), oldest first: /m);
  t.match(h.stdout, /^6\.1\s+counter\/bpftrace\s+✗✗\s+expired: the entry expired on 2026-01-31/m);
  t.match(h.stdout, new RegExp(`^${image.replace(/[.+]/g, '\\$&')}\\s+counter/bcc\\s+––$`, 'm'));
  t.match(h.stdout, /^6\.1\s+counter\/libbpf\s+✓✓$/m);
});

t.test('a kernel image without BTF is refused before anything boots, with the reason', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'matrix-nobtf-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const k61 = await ensureKernel('6.1', { headers: true });
  const image = path.join(dir, 'vmlinuz-nobtf');
  await imageWithoutBtf(k61.vmlinuz, image);
  const runs = path.join(cacheDir(), 'runs');
  const before = new Set(await readdir(runs).catch(() => [] as string[]));
  const started = Date.now();
  const r = await execa(lab, ['matrix', '--kernel-image', image, '--modules', k61.modulesDir, '--example', 'counter', '--history-dir', path.join(dir, 'history')], { reject: false, timeout: 120_000 });
  const took = Date.now() - started;
  t.equal(r.exitCode, 2, 'bad input: exit 2');
  t.match(r.stderr, `--kernel-image ${image} (${k61.release}): no BTF — its vmlinux has no .BTF section`);
  t.match(r.stderr, /build the kernel with CONFIG_DEBUG_INFO_BTF=y/);
  const after = (await readdir(runs).catch(() => [] as string[])).filter((f) => !before.has(f));
  t.same(after, [], 'no VM console log: nothing booted');
  t.ok(took < 30_000, `refused in ${took} ms`);
});
