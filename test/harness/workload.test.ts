import t from 'tap';
import { CASES, LONG_ARG_LEN, MANY_ARGS, STORM_EXECS, commFor, runWorkload } from '../../harness/examples/exec-workload.js';
import { ARGSIZE, MAX_ARGS } from '../../bpf/execsnoop/limits.js';

t.test('commFor gives the file’s basename cut to 15 bytes, as the kernel sets comm', async (t) => {
  t.equal(commFor('/bin/true'), 'true');
  t.equal(commFor('/tmp/a-very-long-program-name'), 'a-very-long-pro');
});

t.test('the workload runs every case once and knows the truth of each exec', async (t) => {
  const run = await runWorkload('labtest');
  const cases = run.execs.filter((x) => !x.launcher);
  t.same([...new Set(cases.map((x) => x.id))], Object.keys(CASES), 'every case, in order');
  t.equal(cases.filter((x) => x.id === 'thread-storm').length, STORM_EXECS, 'the storm is STORM_EXECS execs');
  const byId = Object.fromEntries(cases.map((x) => [x.id, x]));

  t.same(byId.plain.argv, ['/bin/true']);
  t.equal(byId['many-args'].argv.length, MANY_ARGS);
  t.equal(byId['long-arg'].argv[2].length, LONG_ARG_LEN);
  t.ok(byId['empty-arg'].argv.includes(''));
  t.ok(byId['arg-with-spaces'].argv.some((a) => a.includes(' ')));
  t.match(byId['failed-enoent'], { ret: -2, commBefore: 'sh', commAfter: 'sh' });
  t.equal(byId.shebang.commAfter, 'lab-script.sh');
  t.not(byId['from-thread'].tid, byId['from-thread'].pid, 'the thread that execs is not the main thread');
  t.equal(byId.execveat.syscall, 'execveat');
  t.equal(byId[`arg-${ARGSIZE - 1}-bytes`].argv[2].length, ARGSIZE - 1, 'an argument that exactly fits');
  t.equal(byId[`arg-${ARGSIZE}-bytes`].argv[2].length, ARGSIZE, 'one byte more');
  t.equal(byId[`${MAX_ARGS}-args`].argv.length, MAX_ARGS);
  t.equal(byId[`${MAX_ARGS + 1}-args`].argv.length, MAX_ARGS + 1);
  t.ok(byId['arg-with-newline'].argv.some((a) => a.includes('\n')));
  t.same(byId['untouched-argv'].unreadableAtEnter, [0, 1, 2], 'every argv string is in untouched memory');
  t.match(byId['untouched-argv-failed'], { ret: -2, unreadableAtEnter: [0, 1, 2] });
  const storm = cases.filter((x) => x.id === 'thread-storm');
  t.ok(storm.every((x) => x.tid !== x.pid && x.commBefore === 'exec-thread'), 'every storm exec comes from a non-main thread');
  t.equal(new Set(storm.map((x) => x.pid)).size, STORM_EXECS, 'each in its own process');
  t.equal(byId['after-storm'].argv.at(-1), 'still-seen');

  const markers = [...new Set(cases.map((x) => x.marker).filter(Boolean))];
  t.equal(new Set(markers).size, markers.length, 'markers are unique');
  t.ok(markers.every((m) => m.startsWith('labtest-')), 'every marker carries the run id');
  for (const x of cases.filter((c) => c.marker)) t.ok(x.argv.includes(x.marker), `${x.id} carries its marker in argv`);

  // launchers share the pid of the exec they start, and are marked so the comparison does not grade them
  for (const id of ['failed-enoent', 'from-thread', 'execveat']) {
    const launcher = run.execs.find((x) => x.id === `${id}:launcher`);
    t.equal(launcher?.pid, byId[id].pid, `${id} has a launcher in the same process`);
  }
  // exec-chain is two execs in one process (env, then true)
  const chain = cases.filter((x) => x.id === 'exec-chain');
  t.equal(chain.length, 2, 'exec-chain: env, then true');
  t.equal(chain[0]!.pid, chain[1]!.pid, 'exec-chain: one process');
  t.same(chain.map((x) => [x.commBefore, x.commAfter]), [[chain[0]!.commBefore, 'env'], ['env', 'true']], 'exec-chain: comm env, then true');
  t.equal(new Set(cases.map((x) => x.pid)).size, cases.length - 1, 'every other exec is its own process');
  const pidns = byId['pid-namespace'];
  t.not(pidns.pid, 1, 'pid-namespace: the pid this machine sees, not the 1 inside');
  const int80 = byId['int80'];
  t.equal(int80.syscall, 'execve-32', 'int80: the 32-bit entry');
  t.match(byId['fexecve-memfd'], { syscall: 'execveat', filename: /^\/dev\/fd\/\d+$/ }, 'fexecve: the name the kernel gives the memfd');
  t.ok(byId['argv-empty'].argv.length === 0 && byId['argv-empty'].argcAfter! >= 0, 'argv-empty: argc 0 passed, the argc the program got measured');
  t.equal(byId['e2big'].ret, -7, 'e2big: E2BIG');
  const launcherOf = run.execs.find((x) => x.id === 'thread-storm:launcher')!;
  t.ok(storm.every((x) => x.ppid === launcherOf.pid), 'the storm helper is every storm exec’s parent');
  // the helper forks the pid-namespace child
  t.equal(pidns.ppid, run.execs.find((x) => x.id === 'pid-namespace:launcher')!.pid, 'pid-namespace: the helper is its parent');
  t.ok(cases.filter((x) => x.id !== 'thread-storm' && x.id !== 'pid-namespace').every((x) => x.ppid === process.pid), 'the workload is every other exec’s parent');
});
