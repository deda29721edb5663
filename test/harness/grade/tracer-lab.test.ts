// The tracer labs' host side, its pure parts: the verifier's rejection found in libbpf's output (words,
// instruction, source line), a check's view graded with the examples' execsnoop grader, and the judge of
// the collector's evidence.
import t from 'tap';
import { eventFieldTallies, headerCaps, judgeTracer, libbpfRejection, viewTally, type TracerLabConfig } from '../../../harness/grade/tracer-lab.js';
import { StudentFailure } from '../../../harness/grade/lab.js';
import { COURSE_EXECSNOOP } from '../../../harness/examples/execsnoop/variants.js';
import type { WorkloadRun } from '../../../harness/examples/exec-workload.js';

// libbpf's output for a rejected program, as it was (lab 4's solution without the NULL check after
// bpf_map_lookup_elem, loaded on the host's 6.18 kernel with libbpf 1.1)
const LOG = `libbpf: prog 'handle_exit_execve': BPF program load failed: Permission denied
libbpf: prog 'handle_exit_execve': -- BEGIN PROG LOAD LOG --
0: R1=ctx() R10=fp0
; int handle_exit_execve(struct trace_event_raw_sys_exit *ctx) @ execsnoop.bpf.c:144
0: (bf) r6 = r1                       ; R1=ctx() R6=ctx()
; __u32 tgid = bpf_get_current_pid_tgid() >> 32; @ execsnoop.bpf.c:146
1: (85) call bpf_get_current_pid_tgid#14      ; R0=scalar()
2: (77) r0 >>= 32                     ; R0=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))
3: (63) *(u32 *)(r10 -28) = r0        ; R0=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff)) R10=fp0 fp-32=mmmm????
4: (bf) r2 = r10                      ; R2=fp0 R10=fp0
;  @ execsnoop.bpf.c:0
5: (07) r2 += -28                     ; R2=fp-28
; e = bpf_map_lookup_elem(&execs, &tgid); @ execsnoop.bpf.c:150
6: (18) r1 = 0xffff888109881800       ; R1=map_ptr(map=execs,ks=4,vs=2608)
8: (85) call bpf_map_lookup_elem#1    ; R0=map_value_or_null(id=1,map=execs,ks=4,vs=2608)
9: (bf) r8 = r0                       ; R0=map_value_or_null(id=1,map=execs,ks=4,vs=2608) R8=map_value_or_null(id=1,map=execs,ks=4,vs=2608)
; e->ret = ctx->ret; @ execsnoop.bpf.c:151
10: (79) r1 = *(u64 *)(r6 +16)        ; R1=scalar() R6=ctx()
11: (63) *(u32 *)(r8 +8) = r1
R8 invalid mem access 'map_value_or_null'
processed 11 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0
-- END PROG LOAD LOG --
libbpf: prog 'handle_exit_execve': failed to load: -13
libbpf: failed to load object 'execsnoop_bpf'
`;

t.test('a rejection in libbpf\'s output: the verifier\'s words, the instruction and the source line they point at', async (t) => {
  t.same(libbpfRejection(LOG), { words: "R8 invalid mem access 'map_value_or_null'", at: '11: (63) *(u32 *)(r8 +8) = r1', source: 'e->ret = ctx->ret; @ execsnoop.bpf.c:151' });
  t.equal(libbpfRejection('load execsnoop.bpf.o: Operation not permitted\n'), undefined, 'no log, no rejection');
});

const run: WorkloadRun = {
  runId: 'labtest',
  execs: [
    { id: 'plain', marker: '', syscall: 'execve', pid: 100, tid: 100, ppid: 50, filename: '/bin/true', argv: ['/bin/true'], ret: 0, commBefore: 'node', commAfter: 'true' },
    { id: 'failed-enoent', marker: 'm1', syscall: 'execve', pid: 101, tid: 101, ppid: 50, filename: '/nonexistent/m1', argv: ['/nonexistent/m1', 'm1'], ret: -2, commBefore: 'sh', commAfter: 'sh' },
  ],
};
const config: TracerLabConfig = {
  command: [],
  ready: '',
  parser: 'execsnoop-table', // a lab's: the course's table
  attachTimeoutMs: 0,
  cases: ['plain', 'failed-enoent'],
  expect: COURSE_EXECSNOOP,
  views: { ppid: { expect: { ppid: true } } },
};
const row = (comm: string, pid: number, ppid: string, ret: number, args: string) => `${comm.padEnd(16)} ${String(pid).padEnd(7)} ${ppid.padEnd(7)} ${String(ret).padStart(3)} ${args}`;

t.test('a view grades the output against the truth with its own expectations', async (t) => {
  const noPpid = [row('node', 100, '?', 0, '/bin/true'), row('sh', 101, '?', -2, '/nonexistent/m1 m1')].join('\n') + '\n';
  t.same(viewTally(run, noPpid, config, { expect: { ppid: false } }), { right: 2, total: 2 }, 'without the parent pid: all right');
  const ppid = viewTally(run, noPpid, config, { expect: { ppid: true } });
  t.same([ppid.right, ppid.total], [0, 2], 'the PPID view: "?" is wrong');
  t.match(ppid.firstWrong, /^plain: .*ppid undefined ≠ 50/);
  const right = [row('node', 100, '50', 0, '/bin/true'), row('sh', 101, '50', -2, '/nonexistent/m1 m1')].join('\n') + '\n';
  t.same(viewTally(run, right, config, { expect: { ppid: true } }), { right: 2, total: 2 });
  t.same(viewTally(run, right, config, { cases: ['failed-enoent'] }), { right: 1, total: 1 }, 'a view over one case grades that case only');
  const missing = viewTally(run, row('node', 100, '50', 0, '/bin/true') + '\n', config, {});
  t.match(missing, { right: 1, total: 2, firstWrong: /^failed-enoent: no event for pid 101/ });
});

/** An event as a C struct lays it out: __u32 words little-endian, then the argument bytes (hex, as the dump prints it). */
const event = (words: number[], args = ''): string => {
  const b = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => b.writeUInt32LE(w, i * 4));
  return Buffer.concat([b, Buffer.from(args), Buffer.alloc(8)]).toString('hex');
};

t.test('lab 4: the parent pid found in the dumped events (kernel side) and the column held to that field (user side), apart', async (t) => {
  const cfg = { parser: 'execsnoop-table' as const, eventField: { field: 'ppid' as const, cases: ['plain', 'failed-enoent'] } };
  const right = [row('node', 100, '50', 0, '/bin/true'), row('sh', 101, '50', -2, '/nonexistent/m1 m1')].join('\n') + '\n';
  const noColumn = [row('node', 100, '?', 0, '/bin/true'), row('sh', 101, '?', -2, '/nonexistent/m1 m1')].join('\n') + '\n';
  // pid, ret, ppid (wherever the student put it: here the third word), a count
  const withPpid = [event([100, 0, 50, 1], '/bin/true'), event([101, -2 >>> 0, 50, 2], '/nonexistent/m1\0m1')];
  const noPpid = [event([100, 0, 0, 1], '/bin/true'), event([101, -2 >>> 0, 0, 2], '/nonexistent/m1\0m1')];

  t.same(eventFieldTallies(run, right, withPpid, cfg), { kernel: { right: 2, total: 2 }, user: { right: 2, total: 2 } }, 'both sides right');
  const userMissing = eventFieldTallies(run, noColumn, withPpid, cfg);
  t.same(userMissing.kernel, { right: 2, total: 2 }, 'the kernel side is right without the user side');
  t.match(userMissing.user, { right: 0, total: 2, firstWrong: 'plain: the PPID column holds no number' });
  const kernelMissing = eventFieldTallies(run, [row('node', 100, '0', 0, '/bin/true'), row('sh', 101, '0', -2, '/nonexistent/m1 m1')].join('\n') + '\n', noPpid, cfg);
  t.match(kernelMissing.kernel, { right: 0, total: 2, firstWrong: 'plain: no 32-bit field of the event holds the ppid 50' });
  t.same(kernelMissing.user, { right: 2, total: 2 }, 'a column printing what the (wrong) event holds is a right user side');
  const pidPrinted = eventFieldTallies(run, [row('node', 100, '100', 0, '/bin/true'), row('sh', 101, '101', -2, '/nonexistent/m1 m1')].join('\n') + '\n', noPpid, cfg);
  t.match(pidPrinted.user, { right: 0, firstWrong: /^plain: PPID 100, which is no field of your event/ }, "the pid's own field is not a parent pid");
  const wrongField = eventFieldTallies(run, [row('node', 100, '1', 0, '/bin/true'), row('sh', 101, '2', -2, '/nonexistent/m1 m1')].join('\n') + '\n', withPpid, cfg);
  t.match(wrongField.user, { right: 0, firstWrong: /^plain: PPID 1, but the event's field holds 50/ }, 'with the field in the event, the column must print that one');
  const oneLost = eventFieldTallies(run, right, withPpid.slice(0, 1), cfg);
  t.match(oneLost.kernel, { right: 1, total: 2, firstWrong: /^failed-enoent: no event of your kernel side carried this exec \(the grader's dump got 1 events\)/ });
  t.same(eventFieldTallies(run, right, [event([100, 0, 49, 1], '/bin/true'), event([101, 0, 50, 2], '/nonexistent/m1\0m1')], cfg).kernel, { right: 1, total: 2, firstWrong: 'plain: the field at byte 8 holds 49, the ppid is 50' });
});

t.test("lab 5's caps are read from the submission's header: plain numbers, a comment after them allowed", async (t) => {
  t.same(headerCaps('#define TASK_COMM_LEN 16\n#define MAX_ARGS 48\n/* bytes */\n#define ARGSIZE 384 /* NUL included */\n'), { maxArgs: 48, argSize: 384 });
  t.same(headerCaps('#define MAX_ARGS (20)\n#define ARGSIZE (4 * 64)\n'), { maxArgs: 20 }, 'an expression is not read');
});

t.test('the judge: a failed build and a tracer that did not attach cost every check; a rejection is quoted; a cut-short run keeps what it proved', async (t) => {
  const ctx = { settings: {}, readFile: () => undefined };
  const failed = (() => {
    try {
      judgeTracer(config, { build: { ok: false, command: 'clang', exit: '1', output: ['execsnoop.bpf.c:3:1: error: unknown type name'] } }, ctx);
    } catch (err) {
      return err;
    }
  })();
  t.ok(failed instanceof StudentFailure);
  t.same([(failed as StudentFailure).reason, (failed as StudentFailure).detail], ['does not compile (clang exited with 1)', ['execsnoop.bpf.c:3:1: error: unknown type name']]);
  t.same(judgeTracer(config, { build: { ok: true }, tracer: { attached: false, reason: 'exited', stdout: [], stderr: LOG.split('\n') } }, ctx).rejected?.words, "R8 invalid mem access 'map_value_or_null'");
  t.throws(() => judgeTracer(config, { build: { ok: true }, tracer: { attached: false, reason: 'did not print its ready line within 5 s', stdout: [], stderr: ['libbpf: no BTF'] } }, ctx), /did not print its ready line/);
  const right = [row('node', 100, '50', 0, '/bin/true'), row('sh', 101, '50', -2, '/nonexistent/m1 m1')];
  t.same(judgeTracer(config, { build: { ok: true }, workload: run, map: { left: 0 }, tracer: { attached: true, stdout: right, stderr: [] } }, ctx), { views: { ppid: { right: 2, total: 2 } }, leftInMap: 0 });
  t.same(judgeTracer(config, { build: { ok: true }, workload: run }, { ...ctx, cutShort: 'the guest stopped' }), { trouble: 'the guest stopped', views: {} }, 'the workload ran, then the guest died');
  t.throws(() => judgeTracer(config, {}, { ...ctx, cutShort: 'did not finish within 240 s' }), /did not finish within 240 s/);
  t.throws(
    () => judgeTracer(config, { build: { ok: true }, workload: run, programs: [{ name: 'handle_exec', type: 'tracepoint', foreign: [] }, { name: 'sneaky', type: 'tracepoint', foreign: ['bpf_probe_write_user'] }], tracer: { attached: true, stdout: right, stderr: [] } }, ctx),
    /its BPF program sneaky calls bpf_probe_write_user, which reaches outside the tracer/,
    'a program writing into other processes is not graded',
  );
  const caps = { ...config, capsFrom: 'execsnoop.h' };
  t.throws(() => judgeTracer(caps, { build: { ok: true } }, ctx), /execsnoop\.h: no #define MAX_ARGS/, 'caps are read from the submission on the host');
});
