import t from 'tap';
import { Cmd, ProgInfo, ProgLoadAttr, ProgTestRunAttr, readField, type Layout } from '../../../bpf/ts/attr.js';
import { BpfError, VerifierError } from '../../../bpf/ts/errors.js';
import { linuxVersionCode, loadProgram } from '../../../bpf/ts/prog.js';
import { E, fakeSyscalls, type Fake } from '../../lib/fake-syscalls.js';
import { RETURN_2 } from '../../lib/programs.js';

const field = <F extends string>(l: Layout<F>, attr: Buffer, name: F) => readField(l, attr, name);
const pointee = (fake: Fake, attr: Buffer, name: keyof typeof ProgLoadAttr.fields) =>
  fake.at(attr.readBigUInt64LE(ProgLoadAttr.fields[name].offset));

t.test('PROG_LOAD carries type, instructions, license and name, sized to the last field used', async (t) => {
  const fake = fakeSyscalls(t, { bpf: () => 9 });
  const prog = loadProgram({ name: 'ret2', type: 'socket_filter', insns: RETURN_2 });
  t.equal(prog.fd, 9);
  t.equal(prog.insnCount, 2);
  t.equal(prog.log, '');
  const { cmd, attr, size } = fake.bpf[0]!;
  t.equal(cmd, Cmd.prog_load);
  t.equal(size, 64, 'offsetofend(prog_name): no expected_attach_type sent');
  t.equal(field(ProgLoadAttr, attr, 'prog_type'), 1);
  t.equal(field(ProgLoadAttr, attr, 'insn_cnt'), 2);
  t.same(pointee(fake, attr, 'insns'), RETURN_2);
  t.equal(pointee(fake, attr, 'license').toString(), 'GPL\0');
  t.equal(field(ProgLoadAttr, attr, 'log_level'), 0);
  t.equal(attr.subarray(48, 53).toString(), 'ret2\0');
});

t.test('anything with encode() gives the instructions, and expected_attach_type extends the attribute', async (t) => {
  const fake = fakeSyscalls(t, { bpf: () => 9 });
  loadProgram({ name: 'p', type: 'tracing', insns: { encode: () => RETURN_2 }, expectedAttachType: 'trace_fentry', license: 'Dual MIT/GPL' });
  const { attr, size } = fake.bpf[0]!;
  t.equal(size, 72);
  t.equal(field(ProgLoadAttr, attr, 'expected_attach_type'), 24);
  t.equal(pointee(fake, attr, 'license').toString(), 'Dual MIT/GPL\0');
});

t.test('bad instructions, names or types are refused before the syscall', async (t) => {
  const fake = fakeSyscalls(t, { bpf: () => 9 });
  t.throws(() => loadProgram({ name: 'p', type: 'socket_filter', insns: Buffer.alloc(12) }), {
    message: 'load program "p": bad instructions (12 bytes is not a whole number of 8-byte instructions)',
  });
  t.throws(() => loadProgram({ name: 'p', type: 'socket_filter', insns: Buffer.alloc(0) }), { code: 'bad instructions' });
  t.throws(() => loadProgram({ name: 'a name too long!', type: 'socket_filter', insns: RETURN_2 }), { code: 'bad name' });
  t.throws(() => loadProgram({ name: 'p', type: 'nonsense' as 'xdp', insns: RETURN_2 }), { code: 'bad program type' });
  t.equal(fake.bpf.length, 0);
});

t.test('a log that does not fit gives ENOSPC and the buffer doubles until it does', async (t) => {
  const log = 'x'.repeat(200_000);
  const fake = fakeSyscalls(t, {
    bpf: (f, _cmd, attr) => {
      const size = field(ProgLoadAttr, attr, 'log_size') as number;
      if (size <= log.length) return -E.ENOSPC;
      pointee(f, attr, 'log_buf').write(log);
      return 5;
    },
  });
  const prog = loadProgram({ name: 'p', type: 'socket_filter', insns: RETURN_2, logLevel: 1 });
  t.same(
    fake.bpf.map((c) => field(ProgLoadAttr, c.attr, 'log_size')),
    [65536, 131072, 262144],
  );
  t.ok(fake.bpf.every((c) => c.size === 64 && field(ProgLoadAttr, c.attr, 'log_level') === 1));
  t.equal(prog.log, log);
});

t.test('EAGAIN (a signal arrived while the verifier ran) is tried again, 5 times at most, as libbpf does', async (t) => {
  let left = 2;
  const fake = fakeSyscalls(t, { bpf: () => (left-- > 0 ? -E.EAGAIN : 7) });
  const prog = loadProgram({ name: 'p', type: 'socket_filter', insns: RETURN_2 });
  t.equal(fake.bpf.length, 3, 'two EAGAINs, then the load');
  t.ok(prog);
  const always = fakeSyscalls(t, { bpf: () => -E.EAGAIN });
  t.throws(() => loadProgram({ name: 'p', type: 'socket_filter', insns: RETURN_2 }), { code: 'EAGAIN' });
  t.equal(always.bpf.length, 10, '5 tries without a log, then 5 with one to say why');
  // the kernel leaves the statistics of the one instruction it looked at in the log: not a verdict to show
  fakeSyscalls(t, {
    bpf: (f, _cmd, attr) => {
      const log = readField(ProgLoadAttr, attr, 'log_buf') as bigint;
      if (log !== 0n) f.at(log).write('processed 1 insns (limit 1000000) max_states_per_insn 0\0');
      return -E.EAGAIN;
    },
  });
  const err = t.throws(() => loadProgram({ name: 'p', type: 'socket_filter', insns: RETURN_2 })) as Error;
  t.notOk(err instanceof VerifierError, 'not reported as a rejection');
  t.match(err.message, /EAGAIN \(a signal interrupted the verifier on each of 5 tries/);
});

t.test('a rejection without a log is loaded again with one, to say what the verifier did not like', async (t) => {
  const fake = fakeSyscalls(t, {
    bpf: (f, _cmd, attr) => {
      if (field(ProgLoadAttr, attr, 'log_level') === 0) return -E.EACCES;
      pointee(f, attr, 'log_buf').write('0: (95) exit\nR0 !read_ok\nprocessed 1 insns (limit 1000000)\n');
      return -E.EACCES;
    },
  });
  const err = t.throws(() => loadProgram({ name: 'bad', type: 'socket_filter', insns: Buffer.from('9500000000000000', 'hex') })) as VerifierError;
  t.ok(err instanceof VerifierError);
  t.equal(err.code, 'EACCES');
  t.match(err.message, /^load program "bad": EACCES \(the verifier rejected it: R0 !read_ok; its log is below\)\n {2}0: \(95\) exit/);
  t.equal(fake.bpf.length, 2);
});

t.test('EPERM is not the verifier\'s business: no retry, and the hint says to get privileges', async (t) => {
  const fake = fakeSyscalls(t, { bpf: () => -E.EPERM });
  t.throws(() => loadProgram({ name: 'count_exec', type: 'tracepoint', insns: RETURN_2 }), {
    message: /^load program "count_exec": EPERM \(run as root or grant CAP_BPF\+CAP_PERFMON/,
  });
  t.equal(fake.bpf.length, 1);
});

t.test('a rejection with an empty log is a plain BpfError with the errno\'s hint', async (t) => {
  fakeSyscalls(t, { bpf: () => -E.EINVAL });
  const err = t.throws(() => loadProgram({ name: 'p', type: 'socket_filter', insns: RETURN_2 })) as BpfError;
  t.notOk(err instanceof VerifierError);
  t.equal(err.message, 'load program "p": EINVAL (the kernel rejected an attribute: check program type, license and expected attach type)');
});

t.test('kprobe programs carry LINUX_VERSION_CODE, as kernels before 5.0 require', async (t) => {
  const fake = fakeSyscalls(t, { bpf: () => 3 });
  loadProgram({ name: 'k', type: 'kprobe', insns: RETURN_2 });
  loadProgram({ name: 'k', type: 'kprobe', insns: RETURN_2, kernVersion: 0x050a00 });
  t.not(field(ProgLoadAttr, fake.bpf[0]!.attr, 'kern_version'), 0);
  t.equal(field(ProgLoadAttr, fake.bpf[1]!.attr, 'kern_version'), 0x050a00);
  t.equal(linuxVersionCode('6.1.0-56-amd64'), 0x060100);
  t.equal(linuxVersionCode('5.10.300'), (5 << 16) | (10 << 8) | 255, 'the sublevel saturates at 255');
});

t.test('testRun sends the data and repeat count and reads retval and duration back', async (t) => {
  const fake = fakeSyscalls(t, {
    bpf: (f, cmd, attr) => {
      if (cmd === Cmd.prog_load) return 9;
      attr.writeUInt32LE(2, ProgTestRunAttr.fields.retval.offset);
      attr.writeUInt32LE(31, ProgTestRunAttr.fields.duration.offset);
      const out = f.at(attr.readBigUInt64LE(ProgTestRunAttr.fields.data_out.offset));
      out.write('ok');
      attr.writeUInt32LE(2, ProgTestRunAttr.fields.data_size_out.offset);
      return 0;
    },
  });
  const prog = loadProgram({ name: 'ret2', type: 'socket_filter', insns: RETURN_2 });
  const result = prog.testRun({ repeat: 100, dataOutSize: 64 });
  t.same(result, { retval: 2, duration: 31, dataOut: Buffer.from('ok') });
  const { cmd, attr, size } = fake.bpf[1]!;
  t.equal(cmd, Cmd.prog_test_run);
  t.equal(size, 40, 'offsetofend(duration)');
  t.equal(field(ProgTestRunAttr, attr, 'prog_fd'), 9);
  t.equal(field(ProgTestRunAttr, attr, 'repeat'), 100);
  t.equal(field(ProgTestRunAttr, attr, 'data_size_in'), 64, 'default input: 64 zero bytes, room for an Ethernet header');
});

t.test('info() decodes bpf_prog_info and treats fields past info_len as absent', async (t) => {
  fakeSyscalls(t, {
    bpf: (f, cmd, attr) => {
      if (cmd === Cmd.prog_load) return 9;
      const info = f.at(attr.readBigUInt64LE(8));
      info.writeUInt32LE(1, ProgInfo.fields.type.offset);
      info.writeUInt32LE(12, ProgInfo.fields.id.offset);
      Buffer.from('614b434cd8324ecc', 'hex').copy(info, ProgInfo.fields.tag.offset);
      info.writeUInt32LE(2, ProgInfo.fields.nr_map_ids.offset);
      const ids = f.at(info.readBigUInt64LE(ProgInfo.fields.map_ids.offset));
      ids.writeUInt32LE(5, 0);
      ids.writeUInt32LE(6, 4);
      info.write('ret2', ProgInfo.fields.name.offset);
      info.writeUInt32LE(99, ProgInfo.fields.verified_insns.offset);
      attr.writeUInt32LE(208, 4); // an older kernel: fills up to recursion_misses, knows no verified_insns
      return 0;
    },
  });
  const info = loadProgram({ name: 'ret2', type: 'socket_filter', insns: RETURN_2 }).info();
  t.match(info, { type: 1, typeName: 'socket_filter', id: 12, tag: '614b434cd8324ecc', name: 'ret2', mapIds: [5, 6] });
  t.equal(info.verifiedInsns, undefined);
});

t.test('close() closes once and a closed program says so', async (t) => {
  const fake = fakeSyscalls(t, { bpf: () => 9 });
  const prog = loadProgram({ name: 'p', type: 'socket_filter', insns: RETURN_2 });
  prog.close();
  prog.close();
  t.equal(fake.log.filter((c) => c.name === 'close').length, 1);
  t.throws(() => prog.testRun(), { code: 'closed' });
});
