import t from 'tap';
import { account, kernelMemlock, parseBpfFdInfo, parsePhases, rate, reportedLost, spread, statPpid, statsDelta, statusKb } from '../../../harness/bench/measure.js';

t.test('a spread is min, median and max; an even count takes the mean of the middle two', async (t) => {
  t.same(spread([5, 1, 3]), { n: 3, min: 1, median: 3, max: 5 });
  t.same(spread([4, 1, 3, 2]), { n: 4, min: 1, median: 2.5, max: 4 });
  t.same(spread([7]), { n: 1, min: 7, median: 7, max: 7 });
  t.equal(spread([]), undefined, 'nothing measured is no figure, not 0');
  t.same(spread([NaN, 2]), { n: 1, min: 2, median: 2, max: 2 }, 'a missing measure is left out');
});

t.test('VmHWM and VmRSS are read from /proc/PID/status in kB', async (t) => {
  const status = 'Name:\tbpftrace\nVmPeak:\t  900000 kB\nVmHWM:\t  114276 kB\nVmRSS:\t   99000 kB\nThreads:\t3\n';
  t.equal(statusKb(status), 114276);
  t.equal(statusKb(status, 'VmRSS'), 99000);
  t.equal(statusKb('Name:\tkthreadd\nThreads:\t1\n'), undefined, 'a kernel thread has no VmHWM');
});

t.test('the parent pid is read after the comm, which may hold spaces and parentheses', async (t) => {
  t.equal(statPpid('4242 (a (b) c) S 17 4242 4242 0 -1'), 17);
  t.equal(statPpid(''), undefined);
});

t.test("fdinfo of a program gives its id, memlock and run-time counters; of a map its id and memlock", async (t) => {
  const prog = 'pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\nprog_type:\t5\nprog_jited:\t1\nprog_tag:\t3b185187f1855c4c\nmemlock:\t4096\nprog_id:\t6925\nrun_time_ns:\t1662015\nrun_cnt:\t301\nrecursion_misses:\t0\nverified_insns:\t90\n';
  t.same(parseBpfFdInfo(prog), { kind: 'prog', id: 6925, memlock: 4096, type: 5, runTimeNs: 1662015n, runCount: 301n });
  const map = 'pos:\t0\nflags:\t02000002\nmap_type:\t1\nkey_size:\t4\nvalue_size:\t2608\nmax_entries:\t512\nmap_flags:\t0x0\nmap_extra:\t0x0\nmemlock:\t1380352\nmap_id:\t8846\nfrozen:\t0\n';
  t.same(parseBpfFdInfo(map), { kind: 'map', id: 8846, memlock: 1380352, type: 1, maxEntries: 512 });
  t.equal(parseBpfFdInfo('pos:\t0\nflags:\t02\neventfd-count: 0\n'), undefined, 'another anon inode is neither');
  const old = parseBpfFdInfo('prog_type:\t5\nprog_jited:\t1\nmemlock:\t4096\nprog_id:\t3\n');
  t.equal(old?.runCount, undefined, 'a kernel without the counters gives none');
});

t.test('the stats delta is each program\'s runs and ns over the interval; a program new since counts from 0', async (t) => {
  const p = (id: number, ns: bigint, runs: bigint) => ({ kind: 'prog' as const, id, memlock: 0, runTimeNs: ns, runCount: runs });
  const d = statsDelta([p(1, 1000n, 10n), p(2, 0n, 0n)], [p(2, 500n, 5n), p(1, 4000n, 20n), p(3, 90n, 3n), { kind: 'map', id: 1, memlock: 0 }]);
  t.same(d, [
    { id: 1, runs: 10, ns: 3000, nsPerRun: 300 },
    { id: 2, runs: 5, ns: 500, nsPerRun: 100 },
    { id: 3, runs: 3, ns: 90, nsPerRun: 30 },
  ]);
  t.same(statsDelta([p(1, 5n, 1n)], [p(1, 5n, 1n)]), [{ id: 1, runs: 0, ns: 0, nsPerRun: undefined }], 'a program that did not run has no ns per run');
});

t.test('kernel memory counts each object once, however many fds hold it', async (t) => {
  const m = kernelMemlock([
    { kind: 'map', id: 1, memlock: 100 },
    { kind: 'map', id: 1, memlock: 100 },
    { kind: 'prog', id: 1, memlock: 10 },
  ]);
  t.same(m, { maps: 1, progs: 1, bytes: 110 });
});

t.test("each tool's own words for lost events are summed", async (t) => {
  t.equal(
    reportedLost([
      'read perf buffer: lost 3 events on CPU 1',
      'Lost 7 events on CPU #0!',
      'Lost 2 events',
      'Possibly lost 5 samples',
      'PCOMM PID PPID RET ARGS',
      'true-1a2b3c lost-and-found 12 events', // an argument, not a report
    ]),
    17,
  );
});

t.test('the books close when received + reported lost + silently missing is the kernel count and the kernel saw every exec', async (t) => {
  t.same(account({ execs: 100, kernel: 100, received: 90, duplicates: 0, reportedLost: 4 }), {
    execs: 100, kernel: 100, received: 90, reportedLost: 4, silentlyMissing: 6, duplicates: 0, closes: true,
  });
  const all = account({ execs: 5000, kernel: 5000, received: 5000, duplicates: 0, reportedLost: 0 });
  t.ok(all.closes);
  t.equal(all.silentlyMissing, 0);
  const overReported = account({ execs: 100, kernel: 100, received: 98, duplicates: 0, reportedLost: 10 });
  t.equal(overReported.reportedLost, 2, 'a tool counting other lost events too is charged no more than what is missing');
  t.ok(overReported.closes);
});

t.test('the books do not close when the kernel missed execs, a tool saw more than happened, or printed one twice', async (t) => {
  const kernelShort = account({ execs: 100, kernel: 99, received: 99, duplicates: 0, reportedLost: 0 });
  t.notOk(kernelShort.closes);
  t.match(kernelShort.problem, /kernel counted 99 execs, the storm made 100/);
  const tooMany = account({ execs: 100, kernel: 100, received: 101, duplicates: 0, reportedLost: 0 });
  t.notOk(tooMany.closes);
  t.match(tooMany.problem, /more than the kernel's 100/);
  const dup = account({ execs: 100, kernel: 100, received: 100, duplicates: 2, reportedLost: 0 });
  t.notOk(dup.closes);
  t.match(dup.problem, /2 execs reported more than once/);
});

t.test('a rate is execs per second of nanoseconds', async (t) => {
  t.equal(rate(5000, 2_000_000_000), 2500);
  t.equal(rate(5, 0), 0);
});

t.test("start-up phases are read from a tool's lab-phase lines, other stderr ignored", async (t) => {
  t.same(parsePhases(['lab-phase start 57.1', 'libbpf: warning', 'lab-phase btf+tracefs 58.5', 'lab-phase load 28', 'lab-phase attach 2.4']), {
    start: 57.1, 'btf+tracefs': 58.5, load: 28, attach: 2.4,
  });
  t.same(parsePhases(['PCOMM PID PPID RET ARGS']), {});
});
