import t from 'tap';
import { checkVariant } from '../../harness/engine/requirements.js';
import { tool } from '../../harness/engine/tools.js';
import { VARIANTS } from '../../harness/examples/index.js';
import type { Variant } from '../../harness/engine/variant.js';

const goVariant = (command: string[]): Variant => ({ ...VARIANTS.find((v) => v.tool === 'cilium-go')!, requires: ['build:go'], command });

t.test('a Go variant whose binary is missing skips: with Go here, "run ./lab setup"; without, the packages to install', async (t) => {
  const unmet = await checkVariant(goVariant(['build/bpf/no-such-cilium-go']));
  if ((await tool('cilium-go')).installed) {
    t.same(unmet, { kind: 'build-failed', reason: 'build/bpf/no-such-cilium-go is missing: run ./lab setup (make -C bpf)' });
  } else {
    t.same(unmet, {
      kind: 'tool-missing',
      reason: 'cilium-go: not installed (go is not on PATH) — apt-get install golang-go golang-github-cilium-ebpf-dev golang-golang-x-sys-dev',
    });
  }
});

t.test('a built Go binary needs nothing more: it is static, Go itself need not be there to run it', async (t) => {
  t.equal(await checkVariant(goVariant(['/bin/true'])), undefined);
});

t.test('every Go variant asks for its build, and runs the binary make -C bpf writes', async (t) => {
  const go = VARIANTS.filter((v) => v.tool.startsWith('cilium-go'));
  t.same(go.map((v) => `${v.example}/${v.tool}`).sort(), ['counter/cilium-go', 'counter/cilium-go-kprobe', 'execsnoop/cilium-go']);
  for (const v of go) {
    t.ok(v.requires.includes('build:go'), `${v.example}/${v.tool} requires build:go`);
    t.match(v.command[0], /^build\/bpf\/(counter|execsnoop)-cilium-go$/);
  }
});
