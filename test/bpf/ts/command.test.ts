import t from 'tap';
import { Cmd, MapInfo, ObjInfoAttr, ProgTestRunAttr, readField } from '../../../bpf/ts/attr.js';
import { bpfCommand, bpfCommandRaw, checkObjectName, objectInfo, raiseMemlockOnce } from '../../../bpf/ts/command.js';
import { E, fakeSyscalls } from '../../lib/fake-syscalls.js';

t.test('a command sends the attribute at its encoded size and turns -errno into a BpfError', async (t) => {
  const fake = fakeSyscalls(t, { bpf: () => -E.EBADF });
  t.throws(() => bpfCommand(Cmd.prog_test_run, ProgTestRunAttr, { prog_fd: 3, repeat: 1 }, 'prog_test_run', { program: 'p' }), {
    message: 'test-run program "p": EBADF (bad file descriptor: the map or program was already closed)',
  });
  t.same([fake.bpf[0]!.cmd, fake.bpf[0]!.size], [Cmd.prog_test_run, 36]);
  t.equal(bpfCommandRaw(Cmd.prog_test_run, ProgTestRunAttr, { prog_fd: 3 }).ret, -E.EBADF, 'the raw form hands back -errno');
});

t.test('object info offers the length of the fields it reads and reports what the kernel filled', async (t) => {
  const fake = fakeSyscalls(t, {
    bpf: (_f, _cmd, attr) => {
      attr.writeUInt32LE(24, ObjInfoAttr.fields.info_len.offset);
      return 0;
    },
  });
  const { buf, length } = objectInfo(5, MapInfo, { map: 'm' });
  t.equal(buf.length, 40);
  t.equal(length, 24);
  t.equal(readField(ObjInfoAttr, fake.bpf[0]!.attr, 'bpf_fd'), 5);
  t.equal(readField(ObjInfoAttr, fake.bpf[0]!.attr, 'info_len'), 40);
});

t.test('the memlock limit is raised once, whatever the answer', async (t) => {
  const fake = fakeSyscalls(t, { raiseMemlockLimit: () => -E.EPERM });
  raiseMemlockOnce();
  raiseMemlockOnce();
  t.ok(fake.log.filter((c) => c.name === 'raiseMemlockLimit').length <= 1);
});

t.test('object names follow the kernel\'s rule: ≤ 15 characters of letters, digits, _ and .', async (t) => {
  t.equal(checkObjectName('count_exec'), undefined);
  t.equal(checkObjectName('a.b_9'), undefined);
  t.equal(checkObjectName(''), undefined, 'the kernel allows no name at all');
  t.match(checkObjectName('x'.repeat(16)), /16 characters; the kernel keeps at most 15/);
  t.match(checkObjectName('has space'), /only letters, digits, _ and \./);
});
