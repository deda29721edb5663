import t from 'tap';
import { BpfError, check, errnoName, VerifierError } from '../../../bpf/ts/errors.js';
import { E } from '../../lib/fake-syscalls.js';

t.test('errno numbers get their kernel names, the documented one where two share a number', async (t) => {
  t.equal(errnoName(1), 'EPERM');
  t.equal(errnoName(E.EAGAIN), 'EAGAIN');
  t.equal(errnoName(E.EOPNOTSUPP), 'EOPNOTSUPP');
  t.equal(errnoName(524), 'ENOTSUPP', 'the kernel-internal ENOTSUPP that bpf() can return');
  t.equal(errnoName(9999), 'errno 9999');
});

t.test('a failed load reads "verb noun: ENAME (hint)"', async (t) => {
  const err = BpfError.fromErrno('prog_load', E.EPERM, { program: 'count_exec' });
  t.match(err.message, /^load program "count_exec": EPERM \(run as root or grant CAP_BPF\+CAP_PERFMON/);
  t.equal(err.code, 'EPERM');
  t.equal(err.errno, E.EPERM);
  t.equal(err.command, 'load program "count_exec"');
  t.ok(err instanceof Error);
});

t.test('each operation words its hints for what it was doing', async (t) => {
  const cases: [Parameters<typeof BpfError.fromErrno>, string][] = [
    [['map_lookup', E.ENOENT, { map: 'counts' }], 'look up element in map "counts": ENOENT (no such key)'],
    [['map_update', E.EEXIST, { map: 'counts' }], 'update element in map "counts": EEXIST (the key exists and BPF_NOEXIST was given; an array map has every key from the start)'],
    [['map_update', E.E2BIG, { map: 'counts' }], 'update element in map "counts": E2BIG (the map is full, or an array index is not below max entries)'],
    [['map_create', E.EINVAL, { map: 'm', detail: 'ring buffer size must be a power of two' }], 'create map "m": EINVAL (the kernel rejected an attribute: ring buffer size must be a power of two)'],
    [['perf_event_open', E.ENOENT, { target: 'tracepoint a/b' }], 'open perf event for tracepoint a/b: ENOENT (no such event: the tracepoint id or PMU type is wrong for this kernel)'],
    [['perf_ioctl', E.EINVAL, { program: 'p', target: 'tracepoint a/b' }], 'attach program "p" to tracepoint a/b: EINVAL (the program type does not match the event: a tracepoint needs a tracepoint program)'],
    [['obj_info', E.EBADF, { map: 'm' }], 'get info of map "m": EBADF (bad file descriptor: the map or program was already closed)'],
    [['mount', E.EPERM, { target: 'on /sys/kernel/tracing' }], 'mount tracefs on /sys/kernel/tracing: EPERM (run as root to mount tracefs, or mount it first: mount -t tracefs tracefs /sys/kernel/tracing)'],
    [['prog_test_run', 9999, { program: 'p' }], 'test-run program "p": errno 9999 (see errno(3))'],
  ];
  for (const [args, message] of cases) t.equal(BpfError.fromErrno(...args).message, message);
});

t.test('an error found before the syscall has the same shape and no errno', async (t) => {
  const err = BpfError.usage('map_lookup', 'wrong key size', 'got 8 bytes, the map takes 4', { map: 'counts' });
  t.equal(err.message, 'look up element in map "counts": wrong key size (got 8 bytes, the map takes 4)');
  t.equal(err.errno, undefined);
});

t.test('a verifier error keeps the whole log and shows its last lines with the complaint in the hint', async (t) => {
  const log = ['0: R1=ctx() R10=fp0', ...Array.from({ length: 10 }, (_, i) => `${i}: (b7) r0 = ${i}`), '11: (95) exit', 'R0 !read_ok', 'processed 12 insns (limit 1000000) max_states_per_insn 0', ''].join('\n');
  const err = new VerifierError('bad', E.EACCES, log);
  t.ok(err instanceof BpfError);
  t.equal(err.log, log);
  const [first, ...rest] = err.message.split('\n');
  t.equal(first, 'load program "bad": EACCES (the verifier rejected it: R0 !read_ok; last 6 of 14 log lines below, all in .log)');
  t.equal(rest.length, 6);
  t.equal(rest.at(-2), '  R0 !read_ok');
  const short = new VerifierError('bad', E.EINVAL, 'unknown opcode ff\nprocessed 0 insns (limit 1000000)\n\0\0');
  t.equal(short.message, 'load program "bad": EINVAL (the verifier rejected it: unknown opcode ff; its log is below)\n  unknown opcode ff\n  processed 0 insns (limit 1000000)');
});

t.test('check passes results through and throws for -errno', async (t) => {
  t.equal(check('map_create', 5), 5);
  t.throws(() => check('map_create', -E.ENOMEM, { map: 'm' }), { code: 'ENOMEM', message: /^create map "m": ENOMEM/ });
});
