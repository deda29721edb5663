import t from 'tap';
import { classify, classifiedExitCode, entriesFor, formatBaseline, kernelMatches, parseBaseline, updateBaseline, type Baseline, type Cell, type KernelInfo } from '../../harness/commands/baseline.js';

const kernels: KernelInfo[] = [
  { kernel: '6.1', release: '6.1.0-50-amd64', package: 'linux-image-6.1.0-50-amd64 6.1.176-1' },
  { kernel: '6.12', release: '6.12.117+deb13-amd64' },
  { kernel: '7.2', error: 'run in vm 7.2: timed out' },
];

const fail = (reason: string, cases: string[] = ['']) => ({ status: 'fail' as const, reason, failingCases: cases });
const pass = { status: 'pass' as const };
const skip = (reason: string) => ({ status: 'skip' as const, reason });

t.test('a baseline parses from YAML and from JSON, the same entries either way', async (t) => {
  const yaml = `schema: 1
entries:
  - kernel: "7.2"
    variant: execsnoop/upstream-bcc
    status: fail
    reason: BCC 0.26 cannot compile against 7.x headers (-fms-extensions)
    link: https://github.com/iovisor/bcc/issues/5000
    expires: 2027-03-01
  - kernel: host
    variant: counter/bcc
    status: skip
    reason: no kernel headers on the host
`;
  const fromYaml = await parseBaseline(yaml, 'b.yaml');
  const fromJson = await parseBaseline(
    JSON.stringify({
      schema: 1,
      entries: [
        { kernel: '7.2', variant: 'execsnoop/upstream-bcc', status: 'fail', reason: 'BCC 0.26 cannot compile against 7.x headers (-fms-extensions)', link: 'https://github.com/iovisor/bcc/issues/5000', expires: '2027-03-01' },
        { kernel: 'host', variant: 'counter/bcc', status: 'skip', reason: 'no kernel headers on the host' },
      ],
    }),
    'b.json',
  );
  t.same(fromYaml, fromJson);
  t.equal(fromYaml.entries[0].expires, '2027-03-01', 'an unquoted YAML date is kept as the day it names');
});

t.test('a baseline is parsed strictly: each mistake is named', async (t) => {
  const bad = async (text: string, message: RegExp) => t.rejects(parseBaseline(text, 'b.yaml'), message);
  await bad('schema: 2\nentries: []\n', /schema must be 1, not 2/);
  await bad('schema: 1\nentries: []\nextra: 1\n', /unknown field "extra"/);
  await bad('schema: 1\nentries:\n  - {kernel: "6.1", variant: counter/bcc, status: fail}\n', /entry 1: "reason" is required/);
  await bad('schema: 1\nentries:\n  - {kernel: "6.1", variant: counter/bcc, status: broken, reason: x}\n', /"status" must be pass, fail or skip, not "broken"/);
  await bad('schema: 1\nentries:\n  - {kernel: "6.1", variant: counter, status: fail, reason: x}\n', /variant "counter" is not EXAMPLE\/TOOL/);
  await bad('schema: 1\nentries:\n  - {kernel: "6.1", variant: counter/bcc, status: fail, reason: x, expires: next week}\n', /"expires" must be a date YYYY-MM-DD/);
  await bad('schema: 1\nentries:\n  - {kernel: "6.1", variant: counter/bcc, status: fail, reason: x, colour: red}\n', /unknown field "colour"/);
  await bad('schema: 1\nentries:\n  - {kernel: "6.1", variant: counter/bcc, status: fail, reason: x}\n  - {kernel: "6.1", variant: counter/bcc, status: skip, reason: y}\n', /two entries for 6\.1 counter\/bcc/);
  await t.rejects(parseBaseline('{"schema": 1,', 'b.json'), /baseline b\.json: /);
});

t.test("an entry's kernel covers its own name and releases below it, the most specific winning", async (t) => {
  t.ok(kernelMatches('6.1', { kernel: '6.1' }));
  t.ok(kernelMatches('6.1', { kernel: '6.1.0-47', release: '6.1.0-47-amd64' }));
  t.notOk(kernelMatches('6.1', { kernel: '6.12', release: '6.12.117+deb13-amd64' }), '6.1 is not a prefix of 6.12 at a version boundary');
  const b: Baseline = {
    entries: [
      { kernel: '6.1', variant: 'counter/bcc', status: 'fail', reason: 'all of 6.1' },
      { kernel: '6.1.0-47', variant: 'counter/bcc', status: 'skip', reason: 'only -47' },
    ],
  };
  t.same(entriesFor(b, { kernel: '6.1.0-47', release: '6.1.0-47-amd64' }, 'counter/bcc').map((e) => e.reason), ['only -47']);
  t.same(entriesFor(b, { kernel: '6.1.0-50', release: '6.1.0-50-amd64' }, 'counter/bcc').map((e) => e.reason), ['all of 6.1']);
});

const baseline: Baseline = {
  entries: [
    { kernel: '6.1', variant: 'counter/bpftrace', status: 'fail', reason: 'known: maps too small', link: 'https://example.org/1' },
    { kernel: '6.1', variant: 'counter/libbpf', status: 'fail', reason: 'was broken last week' },
    { kernel: '6.1', variant: 'counter/bcc', status: 'skip', reason: 'no headers', expires: '2026-12-01' },
    { kernel: '6.12', variant: 'execsnoop/bcc', cases: ['from-thread'], status: 'fail', reason: 'thread execs lost on 6.12' },
    { kernel: '6.12', variant: 'execsnoop/ts', status: 'fail', reason: 'old entry', expires: '2026-11-30' },
    { kernel: '6.12', variant: 'counter/ts', status: 'pass', reason: 'must pass: the course depends on it' },
  ],
};

const cells: Cell[] = [
  { kernel: '6.1', variant: 'counter/bpftrace', runs: [fail('plain: pid 1 counted 0'), fail('plain: pid 9 counted 0')] },
  { kernel: '6.1', variant: 'counter/libbpf', runs: [pass] },
  { kernel: '6.1', variant: 'counter/bcc', runs: [skip('bcc: no kernel headers')] },
  { kernel: '6.1', variant: 'counter/ts', runs: [fail('total: 3 ≠ 4'), pass] },
  { kernel: '6.1', variant: 'hello/ts', runs: [skip('no trace pipe')] },
  { kernel: '6.12', variant: 'execsnoop/bcc', runs: [fail('from-thread: missed', ['from-thread'])] },
  { kernel: '6.12', variant: 'execsnoop/libbpf', runs: [fail('plain: missed', ['plain', 'from-thread'])] },
  { kernel: '6.12', variant: 'execsnoop/ts', runs: [fail('plain: missed', ['plain'])] },
  { kernel: '6.12', variant: 'counter/ts', runs: [fail('did not attach'), fail('did not attach')] },
  { kernel: '7.2', variant: 'counter/ts', runs: [], notRun: 'run in vm 7.2: timed out' },
];

t.test('every cell gets its class against the baseline, with the reason a maintainer reads', async (t) => {
  const got = classify(cells, kernels, baseline, '2026-12-07').map((c) => [c.kernel, c.variant, c.class, c.reason]);
  t.same(got, [
    ['6.1', 'counter/bpftrace', 'known-failure', 'known failure: known: maps too small (https://example.org/1)'],
    ['6.1', 'counter/libbpf', 'newly-passing', 'expected fail, now passes (the baseline: was broken last week)'],
    ['6.1', 'counter/bcc', 'expired', 'the entry expired on 2026-12-01: no headers; still skip: bcc: no kernel headers'],
    ['6.1', 'counter/ts', 'flaky', '1 of 2 runs passed (fail, pass); the failure: total: 3 ≠ 4'],
    ['6.1', 'hello/ts', 'new-failure', 'expected pass, now skip: no trace pipe'],
    ['6.12', 'execsnoop/bcc', 'known-failure', 'known failure: thread execs lost on 6.12'],
    ['6.12', 'execsnoop/libbpf', 'new-failure', 'expected pass, now fail: plain: missed'],
    ['6.12', 'execsnoop/ts', 'expired', 'the entry expired on 2026-11-30: old entry; still fail: plain: missed'],
    ['6.12', 'counter/ts', 'new-failure', 'expected pass, now fail: did not attach (failed 2 of 2 runs)'],
    ['7.2', 'counter/ts', 'not-run', 'run in vm 7.2: timed out'],
  ]);
});

t.test('a failure in a case the baseline does not list is new, even beside a known one', async (t) => {
  const b: Baseline = { entries: [{ kernel: '6.12', variant: 'execsnoop/libbpf', cases: ['from-thread'], status: 'fail', reason: 'thread execs' }] };
  const [c] = classify([{ kernel: '6.12', variant: 'execsnoop/libbpf', runs: [fail('plain: missed', ['plain', 'from-thread'])] }], kernels, b, '2026-12-07');
  t.equal(c.class, 'new-failure');
  t.equal(c.reason, 'expected pass, now fail: plain: missed (not in the baseline: plain)');
});

t.test('an entry is expired only after its day', async (t) => {
  const b: Baseline = { entries: [{ kernel: '6.1', variant: 'counter/bcc', status: 'fail', reason: 'r', expires: '2026-12-07' }] };
  const cell: Cell = { kernel: '6.1', variant: 'counter/bcc', runs: [fail('x')] };
  t.equal(classify([cell], kernels, b, '2026-12-07')[0].class, 'known-failure', 'on its last day it still holds');
  t.equal(classify([cell], kernels, b, '2026-12-08')[0].class, 'expired', 'the day after, it fails the run');
});

t.test('without a baseline a skip is fine and a failure that stayed is new', async (t) => {
  const got = classify(
    [
      { kernel: 'host', variant: 'counter/bcc', runs: [skip('no headers')] },
      { kernel: 'host', variant: 'counter/ts', runs: [fail('x'), fail('x')] },
      { kernel: 'host', variant: 'counter/libbpf', runs: [fail('x'), pass] },
    ],
    [{ kernel: 'host', release: '6.18.44' }],
    undefined,
    '2026-12-07',
  ).map((c) => c.class);
  t.same(got, ['as-expected', 'new-failure', 'flaky']);
});

t.test('only new failures and expired entries fail the run', async (t) => {
  const all = classify(cells, kernels, baseline, '2026-12-07');
  t.equal(classifiedExitCode(all), 1);
  t.equal(classifiedExitCode(all.filter((c) => c.class !== 'new-failure' && c.class !== 'expired')), 0, 'known failures, flaky, newly passing and not run: exit 0');
});

t.test('--update-baseline writes what ran, keeps reasons, links and expiry dates, and leaves what did not run', async (t) => {
  const classified = classify(cells, kernels, baseline, '2026-12-07');
  const next = updateBaseline(baseline, classified, kernels);
  const text = await formatBaseline(next, 'b.json');
  t.same(JSON.parse(text), {
    schema: 1,
    entries: [
      { kernel: '6.1', variant: 'counter/bcc', status: 'skip', reason: 'no headers', expires: '2026-12-01' },
      { kernel: '6.1', variant: 'counter/bpftrace', status: 'fail', reason: 'known: maps too small', link: 'https://example.org/1' },
      { kernel: '6.1', variant: 'hello/ts', status: 'skip', reason: 'no trace pipe' },
      { kernel: '6.12', variant: 'counter/ts', status: 'fail', reason: 'did not attach' },
      { kernel: '6.12', variant: 'execsnoop/bcc', cases: ['from-thread'], status: 'fail', reason: 'thread execs lost on 6.12' },
      { kernel: '6.12', variant: 'execsnoop/libbpf', cases: ['from-thread', 'plain'], status: 'fail', reason: 'plain: missed' },
      { kernel: '6.12', variant: 'execsnoop/ts', cases: ['plain'], status: 'fail', reason: 'old entry', expires: '2026-11-30' },
    ],
  });
  // the YAML form reads back to the same entries
  t.same(await parseBaseline(await formatBaseline(next, 'b.yaml'), 'b.yaml'), { entries: JSON.parse(text).entries });
});

t.test("the project's own matrix-baseline.yaml parses and names only variants and kernels that exist", async (t) => {
  const { readFile } = await import('node:fs/promises');
  const path = await import('node:path');
  const { projectRoot } = await import('../../harness/engine/paths.js');
  const { VARIANTS } = await import('../../harness/examples/index.js');
  const { variantName } = await import('../../harness/engine/variant.js');
  const { MATRIX_KERNELS } = await import('../../harness/commands/matrix.js');
  const b = await parseBaseline(await readFile(path.join(projectRoot, 'matrix-baseline.yaml'), 'utf8'), 'matrix-baseline.yaml');
  const names = VARIANTS.map(variantName);
  for (const e of b.entries) {
    t.ok(names.includes(e.variant), `${e.variant} is a variant`);
    t.ok(MATRIX_KERNELS.includes(e.kernel), `${e.kernel} is one of the matrix's kernels`);
  }
  t.same(b.entries.find((e) => e.kernel === '7.2')?.variant, 'execsnoop/upstream-bcc');
});
