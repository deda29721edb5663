// The grading kit holds what the guest needs and no answer: for each lab, built for its starter, it has
// the agent, the jail, koffi, the workload's helper, the submission and this run's config — no solution,
// no check's code, nothing of the lab's folder but what the collector bundles.
import t from 'tap';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildKit } from '../../../harness/grade/kit.js';
import { LABS } from '../../../labs/index.js';
import { writeLabFiles } from '../../../labs/sources.js';

/** Lines that only a lab's solution or checks hold (a hidden view's id, the reference's own comments). */
const ANSWERS: Record<string, string[]> = {
  '1-maps': ["the walk ends with the keys left"],
  '2-counter': ['every process counted exactly', 'per process, whatever the process'],
  '3-bpftrace': ['the return value of every exec, failures included'],
  '4-ppid': ['ppid-thread', 'the parent process, not its thread'],
  '5-long-args': ['the 300-byte argument shown whole'],
  '6-find-the-bug': ['every exec of the storm seen'],
};

for (const lab of LABS) {
  t.test(`${lab.id}: the kit`, async (t) => {
    const starter = t.testdir();
    await writeLabFiles(lab, 'starter', starter);
    const kit = await buildKit(lab, starter, { slowdown: 1, seed: 'kit-test' });
    t.teardown(kit.remove);
    const files = (await readdir(kit.dir, { recursive: true })).map(String);
    t.notOk(files.some((f) => f.split(path.sep).includes('solution')), 'no solution folder');
    t.notOk(files.some((f) => /checks\.(ts|js)$/.test(f)), 'no checks file');
    for (const f of ['agent.mjs', 'jail.sh', 'config.json', 'node_modules/koffi/package.json', 'build/bpf/exec_helper']) t.ok(files.includes(f), f);
    for (const f of lab.files) t.ok(files.includes(`student/${f}`), `student/${f}`);
    // (student.mjs, labs 1-2, is the submission's own code: test/harness/grade/ts-student.test.ts)
    const js = await readFile(path.join(kit.dir, 'agent.mjs'), 'utf8');
    for (const line of ANSWERS[lab.id] ?? []) t.notOk(js.includes(line), `no "${line}" in the agent`);
    const config = JSON.parse(await readFile(path.join(kit.dir, 'config.json'), 'utf8'));
    t.same(config.caps, ['bpf', 'perfmon'], 'the capabilities the jail keeps');
    t.notMatch(JSON.stringify(config), /"views"/, 'no check view in the settings');
  });
}
