import t from 'tap';
import { CASES, LONG_ARG_LEN, MANY_ARGS, commFor, runWorkload } from '../../harness/workload.js';

t.test('commFor gives the file’s basename cut to 15 bytes, as the kernel sets comm', async (t) => {
  t.equal(commFor('/bin/true'), 'true');
  t.equal(commFor('/tmp/a-very-long-program-name'), 'a-very-long-pro');
});

t.test('the workload runs every case once and knows the truth of each exec', async (t) => {
  const run = await runWorkload('labtest');
  const cases = run.execs.filter((x) => !x.launcher);
  t.same(cases.map((x) => x.id), Object.keys(CASES), 'one exec per case, in order');
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

  const markers = cases.map((x) => x.marker).filter(Boolean);
  t.equal(new Set(markers).size, markers.length, 'markers are unique');
  t.ok(markers.every((m) => m.startsWith('labtest-')), 'every marker carries the run id');
  for (const x of cases.filter((c) => c.marker)) t.ok(x.argv.includes(x.marker), `${x.id} carries its marker in argv`);

  // launchers share the pid of the exec they start, and are marked so the comparison does not grade them
  for (const id of ['failed-enoent', 'from-thread', 'execveat']) {
    const launcher = run.execs.find((x) => x.id === `${id}:launcher`);
    t.equal(launcher?.pid, byId[id].pid, `${id} has a launcher in the same process`);
  }
  t.equal(new Set(cases.map((x) => x.pid)).size, cases.length, 'every case is its own process');
  t.ok(cases.every((x) => x.ppid === process.pid), 'the workload is every exec’s parent');
});
