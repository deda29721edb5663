import t from 'tap';
import { FORMAT, helloProgram, LineSplitter, stackString } from '../../../bpf/hello/hello.js';
import { assemble, BPF_DW, BPF_MEM, BPF_STX, isLdImm64, imm64, type AnnotatedInsn } from '../../../bpf/ts/insn.js';
import { disasm } from '../../../bpf/ts/disasm.js';

/** Runs the program's stores on a 512-byte stack: the ld_imm64 values each `*(u64 *)(r10 off) = rN` writes. */
function stackAfterStores(insns: readonly AnnotatedInsn[]): Buffer {
  const stack = Buffer.alloc(512);
  const regs = new Map<number, bigint>();
  for (const insn of insns) {
    if (isLdImm64(insn) && insn.src === 0) regs.set(insn.dst, imm64(insn));
    if (insn.code === (BPF_STX | BPF_MEM | BPF_DW) && insn.dst === 10) {
      const value = regs.get(insn.src);
      if (value !== undefined) stack.writeBigUInt64LE(value, 512 + insn.off);
    }
  }
  return stack;
}

t.test('the hello program calls bpf_trace_printk with the format string it built on the stack', async (t) => {
  const prog = assemble(helloProgram());
  const text = disasm(prog, { labels: false, comments: false });
  t.match(text, /call bpf_get_current_pid_tgid#14/);
  t.match(text, /call bpf_trace_printk#6/);
  t.match(text, /r3 >>= 32/, 'the third argument is the tgid');
  // "Hello, World! execve pid=%d" is 27 bytes and its NUL: four 8-byte stores, fp-32 to fp-1
  t.match(text, /\(18\) r1 = 0x57202c6f6c6c6548\n.*\(7b\) \*\(u64 \*\)\(r10 -32\) = r1/, '"Hello, W" first, little-endian');
  t.match(text, /\(bf\) r1 = r10\n.*\(07\) r1 \+= -32\n.*\(b7\) r2 = 28\n/, 'arg 1 points at the string, arg 2 is its size with the NUL');
  const stack = stackAfterStores(prog.insns);
  t.equal(stack.subarray(512 - 32, 512 - 32 + 28).toString('latin1'), `${FORMAT}\0`, 'the stack holds the format and its NUL');
  t.same([...stack.subarray(512 - 4)], [0, 0, 0, 0], 'the bytes after the NUL are zero');
  t.match(disasm(prog), /"Hello, W", little-endian/, 'the listing says which characters each constant holds');
});

t.test('a string of a whole number of 8 bytes still gets its NUL, in a store of its own', async (t) => {
  const s = stackString('12345678');
  t.equal(s.size, 9);
  t.equal(s.offset, -16);
  t.equal(s.insns.length, 4, 'two constants, two stores');
  t.equal(stackAfterStores(assemble(s.insns).insns).subarray(512 - 16).toString('latin1'), '12345678\0'.padEnd(16, '\0'));
});

t.test('trace pipe chunks split into lines, a cut line waiting for its end', async (t) => {
  const split = new LineSplitter();
  t.same(split.push(Buffer.from('a-1 [000] ...: one\nb-2 [001] ...: tw')), ['a-1 [000] ...: one']);
  t.same(split.push(Buffer.from('o\n\n')), ['b-2 [001] ...: two', '']);
  // a UTF-8 character cut between two reads is put back together
  const e = Buffer.from('é\n');
  t.same(split.push(e.subarray(0, 1)), []);
  t.same(split.push(e.subarray(1)), ['é']);
  t.same(split.push(Buffer.from('last')), []);
  t.same(split.end(), ['last'], 'the end hands out a last line without a newline');
  t.same(split.end(), []);
});
