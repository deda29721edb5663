// ./lab handout --all, as a class gets it: unpacked from its tarball somewhere else (so nothing of the
// project can serve it), it holds no line that only a solution has, no hidden check and no project source
// that answers a lab; in every lab's folder the README's commands run as printed and its ./check scores the
// starter what the starter earns; the reference solution copied in scores the visible maximum, on this
// machine's kernel and (lab 1) in a 6.1 VM.

import t from 'tap';
import { execa } from 'execa';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../harness/engine/paths.js';
import { LABS } from '../../labs/index.js';
import { labFiles, writeLabFiles } from '../../labs/sources.js';

t.setTimeout(12 * 60_000);
const lab = path.join(projectRoot, 'lab');

/** What each lab's starter and the visible checks add up to, written by hand from the READMEs' tables. */
const SCORES: Record<string, { starter: number; max: number }> = {
  '1-maps': { starter: 0, max: 11 }, // every function a stub
  '2-counter': { starter: 4, max: 7 }, // loads, counts the total; nothing per process
  '3-bpftrace': { starter: 4, max: 9 }, // attaches, every exec; no parent pid, no return value
  '4-ppid': { starter: 4, max: 8 }, // builds and attaches, every exec; the PPID column is "?"
  '5-long-args': { starter: 4, max: 9 }, // the old caps: the 40 arguments and the 300-byte one cut (marked right)
  '6-find-the-bug': { starter: 4, max: 9 }, // main threads only: the storm's last exec, nothing of the thread's, 601 entries left
};

/** Every regular file under `dir`, relative. */
async function files(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

/** "LAB: X of Y (the visible checks)", the last line ./check prints. */
function score(stdout: string, id: string): { points: number; max: number } | undefined {
  const m = new RegExp(`^${id}: ([\\d.]+) of (\\d+) \\(the visible checks\\)$`, 'm').exec(stdout);
  return m ? { points: Number(m[1]), max: Number(m[2]) } : undefined;
}

/** The ```sh blocks of a README, as printed. */
const shBlocks = (readme: string) => [...readme.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);

t.test('./lab handout --all: a tarball a student works from, without answers, whose ./check grades as the grader does', async (t) => {
  const work = await mkdtemp(path.join(tmpdir(), 'handout-test-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const out = path.join(work, 'made', 'handout');
  const made = await execa(lab, ['handout', '--all', '--out', out], { reject: false });
  t.equal(made.exitCode, 0, `exit code (stderr: ${made.stderr})`);
  t.same(made.stdout.split('\n'), [out, `${out}.tar.gz`]);
  const unpacked = path.join(work, 'class');
  await mkdir(unpacked);
  await execa('tar', ['-xzf', `${out}.tar.gz`, '-C', unpacked]);
  await rm(path.join(work, 'made'), { recursive: true });
  const root = path.join(unpacked, 'handout');
  const all = await files(root);

  t.test('no answer in it', async (t) => {
    const texts = new Map<string, string>();
    for (const f of all) if ((await stat(path.join(root, f))).size < 8 << 20) texts.set(f, await readFile(path.join(root, f), 'latin1'));
    for (const l of LABS) {
      const starter = new Set([...labFiles(l, 'starter').values()].flatMap((x) => x.split('\n').map((s) => s.trim())));
      // a line of the solution that the starter does not have, long enough to say something
      const distinctive = [...labFiles(l, 'solution').values()].flatMap((x) => x.split('\n').map((s) => s.trim())).filter((s) => s.length >= 16 && !starter.has(s));
      t.ok(distinctive.length > 0, `${l.id}: the solution has lines of its own (${distinctive.length})`);
      for (const line of distinctive) {
        const where = [...texts].find(([, text]) => text.includes(line));
        if (where) t.fail(`${l.id}: the solution's line "${line}" is in ${where[0]}`);
      }
      for (const c of l.checks.filter((c) => c.hidden)) {
        const where = [...texts].find(([, text]) => text.includes(c.name));
        t.notOk(where, `${l.id}: hidden check "${c.id}" (${c.name}) is nowhere${where ? `: it is in ${where[0]}` : ''}`);
      }
    }
    t.notOk(all.some((f) => /(^|\/)(solution|hidden\.ts|checks\.ts|course-execsnoop\.patch)/.test(f) || f.endsWith('.patch')), 'no solution folder, checks, hidden checks or patches');
    // none of the project's own variants, which answer labs 2-6
    const project = new Set<string>();
    for (const dir of ['bpf/execsnoop', 'bpf/counter']) for (const f of await readdir(path.join(projectRoot, dir))) project.add(await readFile(path.join(projectRoot, dir, f), 'latin1').catch(() => ''));
    project.delete('');
    t.notOk([...texts.values()].some((x) => project.has(x)), "no file of bpf/execsnoop or bpf/counter");
  });

  for (const l of LABS) {
    t.test(`${l.id}: the README's commands run as printed, ./check scores the starter ${SCORES[l.id]!.starter} and the reference the visible maximum`, async (t) => {
      const dir = path.join(root, l.id);
      t.same((await readdir(dir)).filter((f) => l.files.includes(f)).sort(), [...l.files].sort(), 'the starter files are there');
      const blocks = shBlocks(await readFile(path.join(dir, 'README.md'), 'utf8'));
      t.ok(blocks.length > 0 && blocks.some((b) => b.includes('sudo ./check .')), 'the README says how to check');
      let printed = '';
      for (const block of blocks) {
        const r = await execa('sh', ['-ec', block], { cwd: dir, reject: false, all: true, timeout: 4 * 60_000 });
        t.equal(r.exitCode, 0, `${block.trim()}\n→ ${r.all?.slice(-2500)}`);
        printed += r.stdout;
      }
      t.same(score(printed, l.id), { points: SCORES[l.id]!.starter, max: SCORES[l.id]!.max }, `the starter's score, from sudo ./check . (${printed.slice(-1500)})`);

      await writeLabFiles(l, 'solution', path.join(dir, 'ref'));
      const ref = await execa(path.join(dir, 'check'), ['ref'], { cwd: dir, reject: false, timeout: 4 * 60_000 });
      t.equal(ref.exitCode, 0, ref.stderr);
      t.same(score(ref.stdout, l.id), { points: SCORES[l.id]!.max, max: SCORES[l.id]!.max }, `the reference scores the visible maximum:\n${ref.stdout}`);
    });
  }

  t.test('1-maps: ./check --kernel 6.1 grades the reference in a VM', async (t) => {
    const dir = path.join(root, '1-maps');
    const r = await execa(path.join(dir, 'check'), ['ref', '--kernel', '6.1'], { cwd: dir, reject: false, timeout: 5 * 60_000 });
    t.equal(r.exitCode, 0, r.stderr.slice(-2000));
    t.same(score(r.stdout, '1-maps'), { points: 11, max: 11 }, r.stdout);
  });

  t.test('bad usage says what is wrong', async (t) => {
    const dir = path.join(root, '4-ppid');
    const none = await execa(path.join(dir, 'check'), ['no-such-folder'], { cwd: dir, reject: false });
    t.equal(none.exitCode, 2);
    t.match(none.stderr, /^check: no folder .*no-such-folder$/m);
    const empty = path.join(dir, 'empty');
    await mkdir(empty);
    const missing = await execa(path.join(dir, 'check'), ['empty'], { cwd: dir, reject: false });
    t.equal(missing.exitCode, 1);
    t.match(missing.stdout, /missing execsnoop\.bpf\.c, execsnoop\.c, execsnoop\.h/);
    const help = await execa(path.join(dir, 'check'), ['--help'], { cwd: dir, reject: false });
    t.equal(help.exitCode, 0);
    t.match(help.stdout, /^usage: \.\/check \[FOLDER\] \[--kernel K\]/);
  });
});
