// ./lab grade end to end, in VMs (Debian 6.1 under QEMU): every lab's reference solution scores full marks
// and its starter less; lab 2's fixtures each get their row with the right reason (graded once, for every
// lab: the failures are the grader's, not a lab's), and each attack on the grader earns what its program
// earns; the host and the class folder are unchanged afterwards; grading the same
// folder twice gives the same CSV (lab 1, on the host: seconds). One `./lab grade --jobs 2` per lab.
// Cost (measured here, TCG, two VMs at once): see the README's timing table.

import t from 'tap';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { appendFile, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../harness/engine/paths.js';
import { writeLabFiles } from '../../labs/sources.js';

const lab = path.join(projectRoot, 'lab');
t.setTimeout(14 * 60_000);

type Row = Record<'student' | 'lab' | 'check' | 'points' | 'max' | 'status' | 'feedback' | 'hidden', string>;

/** The grader's CSV (csv-stringify's quoting: a quoted cell doubles its quotes). */
function parseCsv(text: string): Row[] {
  const lines = text.trimEnd().split('\n');
  const cells = (line: string) => [...line.matchAll(/(?:^|,)(?:"((?:[^"]|"")*)"|([^,]*))/g)].map((m) => (m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]!));
  const header = cells(lines[0]!);
  return lines.slice(1).map((l) => Object.fromEntries(cells(l).map((c, i) => [header[i], c])) as Row);
}

/** What a submission could leave on the host: BPF objects by name, bpffs pins, mounts, our temp folders. */
async function hostState(): Promise<Record<string, string[]>> {
  const names = async (kind: 'prog' | 'map') => {
    const r = await execa('bpftool', [kind, 'list', '-j'], { reject: false });
    return ((JSON.parse(String(r.stdout) || '[]') as { name?: string }[]).map((o) => o.name ?? '')).filter((n) => /^(labfix|lab_counter|total|per_pid|handle_|execs$|scratch$)/.test(n)).sort();
  };
  return {
    progs: await names('prog'),
    maps: await names('map'),
    pins: existsSync('/sys/fs/bpf') ? (await readdir('/sys/fs/bpf')).filter((n) => n.startsWith('labfix')) : [],
    mounts: (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => /ebpf-lab-(grade|kit)|jail-/.test(l)),
    scratch: [...(await readdir(tmpdir())), ...(await readdir('/run'))].filter((n) => /^ebpf-lab-(grade|kit)-/.test(n)),
    files: ['/etc/ebpf-lab-fixture-owned', '/tmp/ebpf-lab-fixture-owned', '/ebpf-lab-fixture-owned', path.join(homedir(), 'ebpf-lab-fixture-owned')].filter((f) => existsSync(f)),
  };
}

/** Every file under `dir` with its SHA-256: a folder's state, to compare before and after. */
async function hashTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const file = path.join(e.parentPath, e.name);
    out[path.relative(dir, file)] = createHash('sha256').update(await readFile(file)).digest('hex');
  }
  return out;
}

/** Processes whose command line names `dir` (a submission's code still running, a VM still up). */
async function processesNaming(dir: string): Promise<string[]> {
  const r = await execa('ps', ['-eo', 'pid=,args='], { reject: false });
  return String(r.stdout).split('\n').filter((l) => l.includes(dir) && !l.includes(' ps -eo'));
}

t.test('lab 2: the reference, the starter and every fixture get their row with the right reason, in VMs, and the host is unchanged', async (t) => {
  const before = await hostState();
  const work = await mkdtemp(path.join(tmpdir(), 'grade-lab-test-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const cls = path.join(work, 'class');
  await cp(path.join(projectRoot, 'test', 'fixtures', 'labs', '2-counter'), cls, { recursive: true });
  await mkdir(path.join(cls, 'ref'));
  await cp(path.join(projectRoot, 'labs', '2-counter', 'solution', 'counter.ts'), path.join(cls, 'ref', 'counter.ts'));
  await mkdir(path.join(cls, 'starter'));
  await cp(path.join(projectRoot, 'labs', '2-counter', 'starter', 'counter.ts'), path.join(cls, 'starter', 'counter.ts'));
  await mkdir(path.join(cls, 'empty'));
  const classBefore = await hashTree(cls);

  const csv = path.join(work, 'grades.csv');
  const gs = path.join(work, 'gradescope');
  const r = await execa(lab, ['grade', '2-counter', cls, '--jobs', '2', '--csv', csv, '--gradescope', gs, '--similar'], { reject: false, timeout: 10 * 60_000 });
  t.equal(r.exitCode, 0, `exit code (stderr tail: ${String(r.stderr).slice(-3000)})`);
  t.match(String(r.stderr), /\[16\/16\] /, 'progress: done / total');
  const rows = parseCsv(await readFile(csv, 'utf8'));
  const row = (student: string, check: string) => rows.find((x) => x.student === student && x.check === check)!;
  const totalOf = (student: string) => Number(row(student, 'TOTAL').points);

  t.equal(totalOf('ref'), 10, `the reference scores full marks: ${JSON.stringify(rows.filter((x) => x.student === 'ref'))}`);
  t.ok(totalOf('starter') < 10, `the starter scores less (${totalOf('starter')})`);
  t.match(row('empty', 'loads').feedback, /^missing counter\.ts/);
  const expect: Record<string, RegExp> = {
    'no-compile': /^does not compile \(esbuild: \d+ errors?\) \| counter\.ts:\d+:\d+: /,
    'verifier-reject': /^the verifier rejected it: ".*map_value_or_null.*" at \d+: \(/,
    hang: /did not finish within 45 s, stopped/,
    'fork-bomb': /forked without end/,
    flood: /^output flood: more than 256 KiB/,
  };
  for (const [student, reason] of Object.entries(expect)) {
    t.equal(totalOf(student), 0, `${student} scores 0`);
    t.match(row(student, 'loads').feedback, reason, `${student}: ${row(student, 'loads').feedback}`);
  }
  // What each attack earns is what its program earns; what it tries outside reaches nothing and costs nothing.
  const earns: Record<string, number> = {
    'writes-outside': 10, // writes outside its folder
    'pin-and-leave': 10, // pins a map, leaves a program attached and a process holding it
    'tries-sysrq': 10, // writes 'c' to /proc/sysrq-trigger
    unmounts: 10, // unmounts every mount it sees, overwrites every other counter.ts it finds
    // counts nothing (loads: 2; the total not more than the execs: 1; no stray entry: 1) and forges the grader's
    // evidence into every stdout it can open, into its own after the grader's, then kills every process it sees
    'forge-evidence': 4,
    'reads-solution': 4, // counts right only if it finds the reference solution in the guest: it does not
    // right for every process that execs from its main thread; the hidden check's thread exec and storm
    // children (execs from threads) are counted under the thread's id: 1 of its 3 kinds right
    'thread-keyed': 2 + 2 + 3 + 0.67 + 1,
    // stops at 4 execs per process: the hidden check's process that execs 9-16 times is wrong, 2 of 3 kinds right
    'capped-at-4': 2 + 2 + 3 + 1.33 + 1,
  };
  for (const [student, points] of Object.entries(earns)) t.equal(totalOf(student), points, `${student} earns ${points}: ${JSON.stringify(rows.filter((x) => x.student === student).map((x) => [x.check, x.points, x.feedback]))}`);
  t.match(row('thread-keyed', 'varied').feedback, /^1 of 3 right; first wrong: a process whose second thread exec'd \(2 execs\): counted 1 of its 2/);
  t.match(row('capped-at-4', 'varied').feedback, /^2 of 3 right; first wrong: a process that exec'd \d+ times: counted 4 of its \d+/);
  t.equal(row('ref', 'quiet').hidden, 'yes');
  t.equal(row('ref', 'varied').hidden, 'yes');
  t.match(String(r.stdout), /^  pin-and-leave, ref, tries-sysrq, unmounts, writes-outside: the same \d+ instructions$/m, `--similar finds the copies of the reference: ${r.stdout}`);
  t.match(String(r.stdout), /^  forge-evidence, reads-solution: the same 2 instructions$/m);
  t.same(await hashTree(cls), classBefore, 'every folder of the class is as it was (the attacks wrote into none)');

  const results = JSON.parse(await readFile(path.join(gs, 'ref', 'results.json'), 'utf8'));
  t.equal(results.score, 10);
  t.same(results.tests.map((x: { visibility: string }) => x.visibility), ['visible', 'visible', 'visible', 'hidden', 'hidden']);
  const manifest = JSON.parse(await readFile(`${csv.replace(/\.csv$/, '')}.manifest.json`, 'utf8'));
  t.match(manifest, { lab: '2-counter', checksVersion: 2, target: { kind: 'qemu', kernel: '6.1' } });
  t.equal(manifest.submissions.length, 16);
  t.ok(manifest.submissions.every((s: { sha256: string }) => /^[0-9a-f]{64}$/.test(s.sha256)));

  t.same(await hostState(), before, 'no BPF object, pin, mount, scratch folder or file outside the output is left on the host');
  t.same(await processesNaming(cls), [], 'no process of the grading is left');
});

t.test('lab 1: the reference scores full marks and the starter less in VMs; on the host, a run interrupted after its first submission and resumed writes what one uninterrupted run writes', async (t) => {
  const work = await mkdtemp(path.join(tmpdir(), 'grade-lab-test-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const cls = path.join(work, 'class');
  for (const [student, from] of [['ref', 'solution'], ['starter', 'starter']]) {
    await mkdir(path.join(cls, student), { recursive: true });
    await cp(path.join(projectRoot, 'labs', '1-maps', from, 'maps.ts'), path.join(cls, student, 'maps.ts'));
  }
  const csv = path.join(work, 'grades.csv');
  const r = await execa(lab, ['grade', '1-maps', cls, '--jobs', '2', '--csv', csv], { reject: false, timeout: 5 * 60_000 });
  t.equal(r.exitCode, 0, `exit code (stderr tail: ${String(r.stderr).slice(-2000)})`);
  const rows = parseCsv(await readFile(csv, 'utf8'));
  t.equal(rows.find((x) => x.student === 'ref' && x.check === 'TOTAL')!.points, '12', JSON.stringify(rows));
  t.ok(Number(rows.find((x) => x.student === 'starter' && x.check === 'TOTAL')!.points) < 12);
  // Twice more on this machine's kernel (our own reference and starter, maps only: seconds, not VMs), the
  // reference under a folder name that is no plain id, and once more slowed down by 4 s so that Ctrl-C
  // lands mid-class: once straight through, once stopped after the first submission and resumed. The grade
  // is a function of the submission, not of the run.
  const hostCls = path.join(work, 'host-class');
  await cp(path.join(cls, 'ref'), path.join(hostCls, 'José García'), { recursive: true });
  await cp(path.join(cls, 'starter'), path.join(hostCls, 'starter'), { recursive: true });
  await cp(path.join(cls, 'ref'), path.join(hostCls, 'slow'), { recursive: true });
  await appendFile(path.join(hostCls, 'slow', 'maps.ts'), '\n{ const until = Date.now() + 4000; while (Date.now() < until); }\n');
  const outputs = (n: number) => ['--csv', path.join(work, `host-${n}.csv`), '--json', path.join(work, `host-${n}.json`), '--gradescope', path.join(work, `gs-${n}`)];
  const straight = await execa(lab, ['grade', '1-maps', hostCls, '--target', 'host', ...outputs(1)], { reject: false, timeout: 2 * 60_000 });
  t.equal(straight.exitCode, 0, `straight run: exit code (stderr tail: ${String(straight.stderr).slice(-2000)})`);
  const first = execa(lab, ['grade', '1-maps', hostCls, '--target', 'host', ...outputs(2)], { reject: false, timeout: 2 * 60_000, buffer: true });
  let said = '';
  first.stderr!.on('data', (chunk: Buffer) => {
    said += chunk.toString();
    if (/\[1\/3\] \S.*: [\d.]+\/[\d.]+ in /.test(said)) first.kill('SIGINT');
  });
  const stopped = await first;
  t.equal(stopped.exitCode, 130, `stopped by Ctrl-C after the first submission (stderr: ${said.slice(-1500)})`);
  t.notOk(said.includes('[2/3] '), 'before the second one finished');
  t.equal((await readFile(path.join(work, 'host-2.journal.jsonl'), 'utf8')).trim().split('\n').length, 2, 'the journal: its header and the finished submission');
  const resumed = await execa(lab, ['grade', '1-maps', hostCls, '--target', 'host', '--resume', ...outputs(2)], { reject: false, timeout: 2 * 60_000 });
  t.equal(resumed.exitCode, 0, `resumed run: exit code (stderr tail: ${String(resumed.stderr).slice(-2000)})`);
  t.match(String(resumed.stderr), /resuming from .*host-2\.journal\.jsonl: 1 of 3 already graded/);
  const csv1 = await readFile(path.join(work, 'host-1.csv'), 'utf8');
  t.equal(await readFile(path.join(work, 'host-2.csv'), 'utf8'), csv1, 'the same CSV, byte for byte');
  t.match(csv1, /^"José García",1-maps,TOTAL,12,12,pass,,no$/m, 'the odd folder graded under its own name');
  t.match(csv1, /^slow,1-maps,TOTAL,12,12,pass,,no$/m);
  const untimed = async (n: number) => JSON.parse(await readFile(path.join(work, `host-${n}.json`), 'utf8'), (k, v) => (k === 'bootMs' || k === 'totalMs' ? 0 : v));
  t.same(await untimed(2), await untimed(1), 'the same JSON, timings aside');
  const gs = await readdir(path.join(work, 'gs-1'));
  t.same(gs.filter((n) => !n.startsWith('Jose-Garcia-') && !n.endsWith('.json')).sort(), ['slow', 'starter']);
  t.match(gs.find((n) => n.startsWith('Jose-Garcia-')), /^Jose-Garcia-[0-9a-f]{6}$/, 'Gradescope\'s folder for José García: a safe name');
  for (const s of gs.filter((n) => !n.endsWith('.json') && !n.endsWith('.jsonl'))) {
    t.equal(await readFile(path.join(work, 'gs-2', s, 'results.json'), 'utf8'), await readFile(path.join(work, 'gs-1', s, 'results.json'), 'utf8'), `Gradescope's ${s}`);
  }
});

/**
 * The tracer labs: one reference and one starter each, in one `./lab grade --jobs 2` in 6.1 VMs: lab 3 is
 * bpftrace in the jail, labs 4–6 C built in the guest; lab 6 counts the map entries left, which only a quiet
 * machine leaves at 0 (on this host other execs are in flight).
 */
/** A submission made from the reference by one edit, and what the grader must give it. */
interface Edited {
  file: string;
  from: string;
  to: string;
  total: number;
  feedback: Record<string, RegExp>;
}

/** A submission made of the reference's files named and the starter's others, and what the grader must give it. */
interface Mixed {
  fromSolution: string[];
  total: number;
  feedback: Record<string, RegExp>;
}

const TRACER_LABS: { id: string; files: string[]; max: number; starter: Record<string, RegExp>; edited?: Record<string, Edited>; mixed?: Record<string, Mixed> }[] = [
  { id: '3-bpftrace', files: ['execsnoop.bt'], max: 10, starter: { ppid: /^0 of \d+ right; first wrong: .*ppid NaN/, ret: /^0 of \d+ right; first wrong: .*ret NaN/ } },
  {
    id: '4-ppid',
    files: ['execsnoop.bpf.c', 'execsnoop.c', 'execsnoop.h'],
    max: 10,
    starter: { ppid: /^0 of 4 right; first wrong: .*ppid undefined ≠ \d+/, 'ppid-kernel': /^0 of 4 right; first wrong: plain: no 32-bit field of the event holds the ppid \d+/ },
    // the kernel side and the user side graded apart (the grader's event dump): each half alone earns its own points
    mixed: {
      'kernel-only': { fromSolution: ['execsnoop.bpf.c', 'execsnoop.h'], total: 6, feedback: { 'ppid-kernel': /^the parent pid in every event$/, 'ppid-user': /^0 of 4 right; first wrong: plain: the PPID column holds no number/ } },
      'user-only': { fromSolution: ['execsnoop.c', 'execsnoop.h'], total: 5, feedback: { 'ppid-kernel': /^0 of 4 right; first wrong: plain: no 32-bit field/, 'ppid-user': /^the PPID column shows what the event holds$/ } },
    },
    // the parent's thread id for its pid: right wherever the parent is single-threaded, which every visible case is
    edited: {
      'tid-for-pid': { file: 'execsnoop.bpf.c', from: 'BPF_CORE_READ(task, real_parent, tgid)', to: 'BPF_CORE_READ(task, real_parent, pid)', total: 8, feedback: { 'ppid-thread': /^0 of 1 right; first wrong: fork-from-thread: ppid (\d+) ≠ (?!\1)\d+/ } },
    },
  },
  { id: '5-long-args', files: ['execsnoop.bpf.c', 'execsnoop.c', 'execsnoop.h'], max: 10, starter: { more: /^0 of 1 right; first wrong: many-args: /, longer: /^0 of 1 right; first wrong: long-arg: / } },
  { id: '6-find-the-bug', files: ['execsnoop.bpf.c', 'execsnoop.c', 'execsnoop.h'], max: 10, starter: { thread: /^0 of 1 right; first wrong: from-thread: /, storm: /first wrong: thread-storm: 600 of 600 execs: no event for pid/, 'no-leak': /^\d+ entries left in execs after the workload/ } },
];

for (const { id, files, max, starter, edited, mixed } of TRACER_LABS) {
  t.test(`lab ${id}: the reference scores full marks, the starter less with feedback that says what is missing, in VMs`, async (t) => {
    const before = await hostState();
    const work = await mkdtemp(path.join(tmpdir(), 'grade-lab-test-'));
    t.teardown(() => rm(work, { recursive: true, force: true }));
    const cls = path.join(work, 'class');
    // made from bpf/execsnoop and the lab's patches (labs/sources.ts), as the handout makes them
    await writeLabFiles({ id, files }, 'solution', path.join(cls, 'ref'));
    await writeLabFiles({ id, files }, 'starter', path.join(cls, 'starter'));
    for (const [student, e] of Object.entries(edited ?? {})) {
      await cp(path.join(cls, 'ref'), path.join(cls, student), { recursive: true });
      const text = await readFile(path.join(cls, student, e.file), 'utf8');
      t.ok(text.includes(e.from), `${student}: the reference holds "${e.from}"`);
      await writeFile(path.join(cls, student, e.file), text.replace(e.from, e.to));
    }
    for (const [student, m] of Object.entries(mixed ?? {})) {
      await cp(path.join(cls, 'starter'), path.join(cls, student), { recursive: true });
      for (const f of m.fromSolution) await cp(path.join(cls, 'ref', f), path.join(cls, student, f));
    }
    const csv = path.join(work, 'grades.csv');
    const r = await execa(lab, ['grade', id, cls, '--jobs', '2', '--csv', csv], { reject: false, timeout: 8 * 60_000 });
    t.equal(r.exitCode, 0, `exit code (stderr tail: ${String(r.stderr).slice(-3000)})`);
    const rows = parseCsv(await readFile(csv, 'utf8'));
    const row = (student: string, check: string) => rows.find((x) => x.student === student && x.check === check)!;
    t.equal(Number(row('ref', 'TOTAL').points), max, `the reference scores full marks: ${JSON.stringify(rows.filter((x) => x.student === 'ref'))}`);
    t.ok(Number(row('starter', 'TOTAL').points) < max, `the starter scores less (${row('starter', 'TOTAL').points})`);
    for (const [check, reason] of Object.entries(starter)) {
      t.ok(Number(row('starter', check).points) < Number(row('starter', check).max), `starter: ${check} scores less than its ${row('starter', check).max}`);
      t.match(row('starter', check).feedback, reason, `starter: ${check}: ${row('starter', check).feedback}`);
    }
    for (const [student, e] of Object.entries({ ...edited, ...mixed })) {
      t.equal(Number(row(student, 'TOTAL').points), e.total, `${student}: ${JSON.stringify(rows.filter((x) => x.student === student).map((x) => [x.check, x.points, x.feedback]))}`);
      for (const [check, reason] of Object.entries(e.feedback)) t.match(row(student, check).feedback, reason, `${student}: ${check}`);
    }
    t.same(await hostState(), before, 'no BPF object, pin, mount, scratch folder or file is left on the host');
    t.same(await processesNaming(cls), [], 'no process of the grading is left');
  });
}
