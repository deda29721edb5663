// labs/sources.ts: labs 3–6 made from bpf/execsnoop and patches. Expected contents are written here by
// hand from the labs' READMEs (what each assignment asks), not taken from the code that makes them.
import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LABS } from '../../labs/index.js';
import { labFiles, patched } from '../../labs/sources.js';
import { projectRoot } from '../../harness/engine/paths.js';

const lab = (id: string) => {
  const l = LABS.find((x) => x.id === id);
  if (!l) throw new Error(`no lab ${id}`);
  return l;
};
const TRACER_LABS = ['3-bpftrace', '4-ppid', '5-long-args', '6-find-the-bug'];

t.test('every lab has a starter and a solution with exactly the files it hands in, and they differ', async (t) => {
  for (const l of LABS) {
    const starter = labFiles(l, 'starter');
    const solution = labFiles(l, 'solution');
    t.same([...starter.keys()].sort(), [...l.files].sort(), `${l.id}: starter files`);
    t.same([...solution.keys()].sort(), [...l.files].sort(), `${l.id}: solution files`);
    t.ok([...starter].some(([f, text]) => solution.get(f) !== text), `${l.id}: the starter is not the solution`);
    t.match([...starter.values()].join('\n'), /Assignment#1\b/, `${l.id}: the starter says where Assignment#1 is`);
    t.notMatch([...solution.values()].join('\n'), /Assignment#\d/, `${l.id}: the solution carries no markers`);
  }
});

t.test('labs 3-6 start from the course execsnoop: execve only, keyed by thread, no parent pid, no timing', async (t) => {
  for (const id of TRACER_LABS) {
    const all = [...labFiles(lab(id), 'starter').values()].join('\n');
    t.notMatch(all, /lab-phase|phase\(/, `${id}: no benchmark timing code`);
    t.notMatch(all, /sys_(enter|exit)_execveat/, `${id}: execve only`);
    t.notMatch(all, /real_parent|\bppid;|[.>]ppid\b/, `${id}: the parent pid is not there to copy`);
  }
  const c = labFiles(lab('4-ppid'), 'starter');
  t.match(c.get('execsnoop.bpf.c'), /__u32 id = \(__u32\)bpf_get_current_pid_tgid\(\)/, 'keyed by thread id, as the course does');
  t.match(c.get('execsnoop.h'), /#define MAX_ARGS 20\b/);
  t.match(c.get('execsnoop.h'), /#define ARGSIZE 128\b/);
  t.notMatch(labFiles(lab('3-bpftrace'), 'starter').get('execsnoop.bt'), /args->ret|curtask/, "lab 3's starter does not already read what it asks for");
});

t.test("each solution makes its lab's own change", async (t) => {
  t.match(labFiles(lab('3-bpftrace'), 'solution').get('execsnoop.bt'), /curtask->real_parent->tgid/);
  t.match(labFiles(lab('3-bpftrace'), 'solution').get('execsnoop.bt'), /args->ret/);
  t.match(labFiles(lab('4-ppid'), 'solution').get('execsnoop.h'), /ppid;/);
  const five = labFiles(lab('5-long-args'), 'solution');
  t.match(five.get('execsnoop.h'), /#define MAX_ARGS (4\d|[5-9]\d)\b/);
  t.match(five.get('execsnoop.h'), /__u64 args_truncated;/);
  t.match(labFiles(lab('6-find-the-bug'), 'solution').get('execsnoop.bpf.c'), /__u32 (pid|tgid) = .*bpf_get_current_pid_tgid\(\) >> 32;/);
  // only the change: lab 6's solution still has the course's 20 arguments, lab 5's still the thread key
  t.match(labFiles(lab('6-find-the-bug'), 'solution').get('execsnoop.h'), /#define MAX_ARGS 20\b/);
  t.match(five.get('execsnoop.bpf.c'), /__u32 id = \(__u32\)bpf_get_current_pid_tgid\(\)/);
});

t.test('the course execsnoop is not the project execsnoop', async (t) => {
  const course = labFiles(lab('4-ppid'), 'starter');
  for (const f of ['execsnoop.bpf.c', 'execsnoop.c', 'execsnoop.h'])
    t.not(course.get(f), readFileSync(path.join(projectRoot, 'bpf', 'execsnoop', f), 'utf8'), f);
});

t.test('a patch that no longer applies names its file and hunk', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lab-sources-'));
  const patch = path.join(dir, 'x.patch');
  writeFileSync(patch, 'preamble\n\n--- a/f.c\n+++ b/f.c\n@@ -2,2 +2,2 @@\n b\n-c\n+C\n');
  t.same([...patched(new Map([['f.c', 'a\nb\nc\n']]), patch)], [['f.c', 'a\nb\nC\n']]);
  t.throws(() => patched(new Map([['f.c', 'a\nb\nX\n']]), patch), /f\.c: the hunk at line 2 no longer applies/);
  t.throws(() => patched(new Map([['g.c', '']]), patch), /patches f\.c, which the lab does not have/);
  t.same([...patched(new Map([['g.c', 'x\n']]), patch, true)], [['g.c', 'x\n']], 'shared: a file the lab lacks is skipped');
});
