import t from 'tap';
import { execa } from 'execa';
import { VerifierError } from '../../../bpf/ts/errors.js';
import { loadProgram } from '../../../bpf/ts/prog.js';
import { goneFromKernel, loadedNames, requireFeature, uniqueName } from '../../lib/kernel.js';
import { EXIT_WITHOUT_R0, insns, RETURN_2, UNKNOWN_OPCODE } from '../../lib/programs.js';

const CHILD = 'test/lib/bpf-child.ts';

/** Run the child helper (optionally wrapped, e.g. in setpriv) and parse its JSON line. */
async function child(wrapper: string[], ...args: string[]): Promise<{ ok: boolean; message?: string; name?: string }> {
  const [file, ...rest] = [...wrapper, process.execPath, '--import', 'tsx', CHILD, ...args];
  const r = await execa(file!, rest, { reject: false, timeout: 30_000, cleanup: true, env: { HOME: '/tmp' } });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`child ${args.join(' ')} printed no result (exit ${r.exitCode}):\n${r.stdout}\n${r.stderr}`);
  }
}

t.test('a two-instruction socket filter loads with a log, runs under PROG_TEST_RUN and returns 2', async (t) => {
  if (!requireFeature(t, 'bpf')) return;
  const name = uniqueName('kp_ret2');
  const prog = loadProgram({ name, type: 'socket_filter', insns: RETURN_2, logLevel: 1 });
  t.teardown(() => prog.close());
  t.match(prog.log, /processed 2 insns/);
  const once = prog.testRun();
  t.equal(once.retval, 2);
  const many = prog.testRun({ repeat: 1000 });
  t.equal(many.retval, 2);
  // the kernel's average over the 1000 runs, in ns: a two-instruction program takes more than nothing, far less than 1 ms
  t.ok(many.duration > 0 && many.duration < 1_000_000, `${many.duration} ns a run`);
  const info = prog.info();
  t.match(info, { name, type: 1, typeName: 'socket_filter', mapIds: [] });
  t.match(info.tag, /^[0-9a-f]{16}$/);
  t.equal(info.xlatedLength, 16);
  t.same(prog.xlated(), RETURN_2, 'nothing for the verifier to rewrite: the kernel runs our bytes');
});

t.test('an exit with r0 never set is refused with the verifier\'s words: R0 !read_ok', async (t) => {
  if (!requireFeature(t, 'bpf')) return;
  const err = t.throws(() => loadProgram({ name: uniqueName('kp_bad'), type: 'socket_filter', insns: EXIT_WITHOUT_R0 })) as VerifierError;
  t.ok(err instanceof VerifierError, 'a VerifierError, although no log was asked for');
  t.equal(err.code, 'EACCES');
  t.match(err.message, /^load program "kp_bad_\w+": EACCES \(the verifier rejected it: R0 !read_ok; its log is below\)\n/);
  t.match(err.log, /0: \(95\) exit\nR0 !read_ok/);
  t.comment(err.message);
});

t.test('an unknown opcode is refused with EINVAL: unknown opcode ff', async (t) => {
  if (!requireFeature(t, 'bpf')) return;
  const err = t.throws(() => loadProgram({ name: uniqueName('kp_ff'), type: 'socket_filter', insns: UNKNOWN_OPCODE })) as VerifierError;
  t.ok(err instanceof VerifierError);
  t.equal(err.code, 'EINVAL');
  t.match(err.message, /\(the verifier rejected it: unknown opcode ff; its log is below\)/);
  t.comment(err.message);
});

t.test('a verifier log larger than the buffer grows it until it fits', async (t) => {
  if (!requireFeature(t, 'bpf')) return;
  // 64 × "r0 = 2" then exit: at log level 2 each instruction prints a line, far more than 128 bytes.
  const long = insns(...Array.from({ length: 64 }, () => 'b700000002000000'), '9500000000000000');
  const prog = loadProgram({ name: uniqueName('kp_log'), type: 'socket_filter', insns: long, logLevel: 2, logSize: 128 });
  t.teardown(() => prog.close());
  t.ok(prog.log.length > 128, `${prog.log.length} bytes of log`);
  t.match(prog.log, /63: \(b7\) r0 = 2/);
  t.match(prog.log, /64: \(95\) exit/);
});

t.test('without privileges the load fails with EPERM and says what to do', async (t) => {
  if (!requireFeature(t, 'bpf')) return;
  const setpriv = await execa('setpriv', ['--version'], { reject: false, timeout: 5000 });
  if (setpriv.exitCode !== 0) return t.plan(0, 'setpriv is missing: apt-get install util-linux');
  const result = await child(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'], 'load-tracepoint', uniqueName('kp_noperm'));
  t.notOk(result.ok);
  t.equal(result.name, 'BpfError');
  t.match(result.message, /^load program "kp_noperm_\w+": EPERM \(run as root or grant CAP_BPF\+CAP_PERFMON\)$/);
  t.comment(result.message ?? '');
});

t.test('nothing stays loaded after close(), nor after a process exits without closing', async (t) => {
  if (!requireFeature(t, 'bpf')) return;
  if (!requireFeature(t, 'tracefs')) return;
  const name = uniqueName('kp_gone');
  const prog = loadProgram({ name, type: 'socket_filter', insns: RETURN_2 });
  t.ok((await loadedNames('prog')).includes(name), 'bpftool sees it while open');
  prog.close();
  t.ok(await goneFromKernel('prog', name), 'gone after close()');

  const left = uniqueName('kp_left');
  const result = await child([], 'leave', left);
  t.ok(result.ok, 'the child loaded, attached and exited');
  t.ok(await goneFromKernel('prog', left), 'its program is gone');
  t.ok(await goneFromKernel('map', left), 'its map is gone');
});
