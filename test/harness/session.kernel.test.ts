import t from 'tap';
import { execa } from 'execa';
import { runSession, type SessionOptions } from '../../harness/engine/session.js';
import { checkVariant, kernelFacts } from '../../harness/engine/requirements.js';
import { projectRoot } from '../../harness/engine/paths.js';
import { exampleOf, VARIANTS } from '../../harness/examples/index.js';
import type { Variant } from '../../harness/engine/variant.js';
import { goneFromKernel, requireFeature, requireRoot } from '../lib/kernel.js';

const variant = (name: string): Variant => {
  const v = VARIANTS.find((x) => `${x.example}/${x.tool}` === name);
  if (!v) throw new Error(`no variant ${name}`);
  return v;
};

const options = (over: Partial<SessionOptions> = {}): SessionOptions => ({
  root: projectRoot,
  exampleOf,
  check: checkVariant,
  facts: kernelFacts(),
  ...over,
});

/** Processes whose command line contains `text`, other than pgrep itself. */
async function running(text: string): Promise<number[]> {
  const r = await execa('pgrep', ['-f', text], { reject: false });
  return String(r.stdout).split('\n').filter(Boolean).map(Number).filter((p) => p !== process.pid);
}

t.test('the ts and libbpf variants, started together, each grade every workload exec as declared', async (t) => {
  if (!requireRoot(t) || !requireFeature(t, 'tracefs') || !requireFeature(t, 'btf')) return;
  const names = ['execsnoop/ts', 'execsnoop/libbpf', 'counter/ts', 'counter/libbpf'];
  const results = await runSession(names.map(variant), options());
  for (const r of results) {
    t.equal(r.status, 'pass', `${r.name}: ${r.reason ?? 'pass'}`);
    t.equal(r.matched, r.expected, `${r.name}: ${r.matched}/${r.expected}`);
  }
  t.same(await running('build/js/execsnoop.cjs'), [], 'no tracer left running');
  t.ok(await goneFromKernel('prog', 'execsnoop_enter'), 'no program of ours left in the kernel');
});

t.test('a variant whose requirement is missing is skipped with the reason, and never run', async (t) => {
  const impossible: Variant = { ...variant('counter/ts'), requires: ['tool:upstream-bcc'], command: ['false'] };
  const [r] = await runSession([impossible], options({ check: async () => ({ kind: 'tool-missing', reason: 'upstream-bcc: not installed — apt-get install bpfcc-tools' }) }));
  t.match(r, { status: 'skip', skipKind: 'tool-missing', reason: /apt-get install bpfcc-tools/ });
});

t.test('a tracer that hangs after attaching is killed after SIGINT times out, and fails saying so', async (t) => {
  if (!requireRoot(t) || !requireFeature(t, 'tracefs') || !requireFeature(t, 'btf')) return;
  // the real ts execsnoop, stopped (SIGSTOP) as soon as it is attached: it holds its BPF programs and
  // cannot answer SIGINT, as a hung tracer would
  const hung: Variant = { ...variant('execsnoop/ts') };
  const results = await runSession([hung], options({
    workload: async () => {
      for (const pid of await running('build/js/execsnoop.cjs')) process.kill(pid, 'SIGSTOP');
      return { runId: 'hung', execs: [] };
    },
  }));
  t.match(results[0], { status: 'fail', reason: /did not exit within 5 s of SIGINT \(state T \(stopped\).*\): killed/ });
  t.same(await running('build/js/execsnoop.cjs'), [], 'the hung tracer is gone');
  t.ok(await goneFromKernel('prog', 'execsnoop_enter'), 'its programs are gone from the kernel');
});

t.test('a tracer that crashes mid-run fails with its exit status, and leaves nothing behind', async (t) => {
  if (!requireRoot(t) || !requireFeature(t, 'tracefs') || !requireFeature(t, 'btf')) return;
  const results = await runSession([variant('execsnoop/ts')], options({
    workload: async () => {
      for (const pid of await running('build/js/execsnoop.cjs')) process.kill(pid, 'SIGSEGV');
      await new Promise((r) => setTimeout(r, 500));
      return { runId: 'crash', execs: [] };
    },
  }));
  t.match(results[0], { status: 'fail', reason: /SIGSEGV/ });
  t.same(await running('build/js/execsnoop.cjs'), []);
  t.ok(await goneFromKernel('prog', 'execsnoop_enter'));
});

t.test('a tracer that never says it is attached is stopped and fails with its own words', async (t) => {
  const silent: Variant = {
    ...variant('counter/ts'),
    command: ['sh', '-c', 'echo "loading: still compiling" >&2; exec sleep 300'],
    attachTimeoutMs: 1000,
  };
  const [r] = await runSession([silent], options({ check: async () => undefined }));
  t.match(r, { status: 'fail', reason: /did not attach within 1 s: loading: still compiling/ });
  t.same(await running('exec sleep 300'), [], 'no process left behind');
});

t.test('a tracer that exits before attaching fails with its first error line', async (t) => {
  const broken: Variant = { ...variant('counter/ts'), command: ['sh', '-c', 'echo "ERROR: failed to attach probe" >&2; exit 1'] };
  const [r] = await runSession([broken], options({ check: async () => undefined }));
  t.match(r, { status: 'fail', reason: 'exited with 1 before attaching: ERROR: failed to attach probe' });
});

t.test('a tracer idle in its event loop after SIGINT gets a second one, and the report says so', async (t) => {
  // a stand-in with bpftrace 0.17's shape (epoll loop with a timeout) that drops the first SIGINT
  const script = [
    'import select, signal, sys',
    'hits = []',
    'signal.signal(signal.SIGINT, lambda *a: hits.append(1))',
    'print("Counting execve calls... Hit Ctrl-C to end.", flush=True)',
    'ep = select.epoll()',
    'while len(hits) < 2: ep.poll(0.1)',
    'print("PID     COUNT"); print("TOTAL   0")',
  ].join('\n');
  const deaf: Variant = { ...variant('counter/ts'), command: ['/usr/bin/python3', '-c', script], attachTimeoutMs: 5000 };
  const [r] = await runSession([deaf], options({ check: async () => undefined, workload: async () => ({ runId: 'deaf', execs: [] }) }));
  t.match(r.details, [{ level: 'quirk', kind: 'stop', text: /needed a second SIGINT/ }]);
  t.notMatch(r.reason ?? '', /did not exit/);
});
