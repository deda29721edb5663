import t from 'tap';
import { commWords, stormCounterProgram } from '../../../harness/bench/storm.js';
import { assemble, disasm } from '../../../bpf/ts/index.js';

t.test("a comm is the kernel's 16 NUL-padded bytes, as two little-endian words", async (t) => {
  const [lo, hi] = commWords('true-1a2b3c');
  t.equal(Buffer.from(lo.toString(16).padStart(16, '0'), 'hex').reverse().toString('latin1'), 'true-1a2');
  t.equal(Buffer.from(hi.toString(16).padStart(16, '0'), 'hex').reverse().toString('latin1').replace(/\0+$/, ''), 'b3c');
  t.same(commWords('x'.repeat(20)), commWords('x'.repeat(15)), 'the kernel keeps 15 bytes and a NUL');
});

t.test('the storm counter counts only successful execs whose new comm is the storm binary', async (t) => {
  const insns = stormCounterProgram('true-1a2b3c', 16);
  const bytes = assemble(insns, { maps: { count: 3 } }).encode();
  t.equal(bytes.length % 8, 0);
  const text = disasm(bytes);
  t.match(text, /r1 = \*\(u64 \*\)\(r6 \+16\)/, 'reads ctx->ret at the offset the format file gives');
  t.match(text, /call bpf_get_current_comm/);
  t.match(text, /lock \*\(u64 \*\)\(r0 \+0\) \+= r1/, 'adds atomically: execs on other CPUs count too');
});

t.test("the comm's 16 bytes are zeroed before bpf_get_current_comm writes them: 6.1 copies up to the NUL only", async (t) => {
  // the compare reads all 16 bytes; on 6.1 (strscpy, not strscpy_pad) those after the NUL are old stack, which
  // made the counter miss 1 or 2 execs in 300 in a 6.1 guest
  const lines = disasm(assemble(stormCounterProgram('true-1a2b3c', 16), { maps: { count: 3 } }).encode()).split('\n');
  const call = lines.findIndex((l) => /call bpf_get_current_comm/.test(l));
  t.ok(call > 0);
  const before = lines.slice(0, call).join('\n');
  t.match(before, /\*\(u64 \*\)\(r10 -16\) = 0\n/, 'bytes 0-7 zeroed');
  t.match(before, /\*\(u64 \*\)\(r10 -8\) = 0\n/, 'bytes 8-15 zeroed');
  t.match(lines.slice(call).join('\n'), /r1 = \*\(u64 \*\)\(r10 -16\)[\s\S]*r1 = \*\(u64 \*\)\(r10 -8\)/, 'then compares both words');
});
