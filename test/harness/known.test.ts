import t from 'tap';
import { applyKnown } from '../../harness/engine/known.js';
import type { VariantResult } from '../../harness/engine/types.js';

const bccFail: VariantResult = {
  name: 'execsnoop/bcc', example: 'execsnoop', tool: 'bcc', status: 'fail', expected: 0, matched: 0, details: [],
  reason: 'exited with 1 before attaching: include/linux/fs.h:2442:1: error: static_assert failed',
  output: "stderr: include/linux/fs.h:2442:1: error: static_assert failed due to requirement 'sizeof(struct filename) % 64 == 0'",
};

t.test('a known incompatibility on a kernel it applies to becomes a skip that explains it', async (t) => {
  const [r] = applyKnown([bccFail], '7.2.12+deb14-amd64');
  t.equal(r.status, 'skip');
  t.equal(r.skipKind, 'compile-failed');
  t.match(r.reason, /^known incompatibility: BCC compiles the tool against the running kernel.*-fms-extensions.*\(include\/linux\/fs\.h:2442:1: error: static_assert failed due to requirement/);
});

t.test('the same failure on a kernel it does not apply to stays a failure', async (t) => {
  t.equal(applyKnown([bccFail], '6.1.0-40-amd64')[0].status, 'fail');
});

t.test('a different failure of the same variant stays a failure', async (t) => {
  const other = { ...bccFail, reason: 'plain: no event for pid 3', output: '' };
  t.equal(applyKnown([other], '7.2.12+deb14-amd64')[0].status, 'fail');
});

t.test('it matches on data: any example’s variant of the tool, never a sentence of ours, never after attaching', async (t) => {
  t.equal(applyKnown([{ ...bccFail, name: 'opensnoop/bcc', example: 'opensnoop' }], '7.2.12+deb14-amd64')[0].status, 'skip', 'another example, the same tool');
  t.equal(applyKnown([{ ...bccFail, name: 'execsnoop/libbpf', tool: 'libbpf' }], '7.2.12+deb14-amd64')[0].status, 'fail', 'another tool');
  t.equal(applyKnown([{ ...bccFail, output: '' }], '7.2.12+deb14-amd64')[0].status, 'fail', 'the words in our reason only');
  t.equal(applyKnown([{ ...bccFail, startupMs: 900 }], '7.2.12+deb14-amd64')[0].status, 'fail', 'it attached');
});
