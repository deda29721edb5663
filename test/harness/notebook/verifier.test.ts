import t from 'tap';
import { explainRejection } from '../../../bpf/ts/explain.js';
import { VerifierError } from '../../../bpf/ts/errors.js';
import { asm, assemble, R0, R2 } from '../../../bpf/ts/insn.js';

// logs as 6.1 writes them (level 1)
t.test('the complaint is written beside the last instruction the verifier walked', async (t) => {
  const prog = assemble([asm.mov(R0, R2), asm.exit()]);
  const log = '0: R1=ctx(off=0,imm=0) R10=fp0\n0: (bf) r0 = r2\nR2 !read_ok\nprocessed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n';
  const r = explainRejection(prog, new VerifierError('broken', 13, log));
  t.equal(r.words, 'R2 !read_ok');
  t.equal(r.slot, 0);
  t.equal(r.listing, '0: (bf) r0 = r2   <-- verifier: R2 !read_ok\n1: (95) exit');
});

t.test('a complaint about the whole program points at no instruction', async (t) => {
  const prog = assemble([asm.mov(R0, 2)]);
  const r = explainRejection(prog, new VerifierError('broken', 22, 'last insn is not an exit or jmp\nprocessed 0 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n'));
  t.equal(r.slot, undefined);
  t.equal(r.words, 'last insn is not an exit or jmp');
  t.match(r.listing, /\(the whole program\) <-- verifier: last insn is not an exit or jmp$/);
});

t.test('anything but a verifier rejection is thrown again', async (t) => {
  t.throws(() => explainRejection(assemble([asm.exit()]), new Error('EPERM')), /EPERM/);
});
