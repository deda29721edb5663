// Bundling a submission's TypeScript (esbuild; nothing runs): a syntax error is the student's "does not
// compile" with file:line:col, and the bundle holds the submission and the bpf() library only — an import
// of anything else of the project (a lab's solution) or outside the submission's folder is refused.
import t from 'tap';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleStudent } from '../../../harness/grade/ts-student.js';
import { StudentFailure } from '../../../harness/grade/lab.js';
import { projectRoot } from '../../../harness/engine/paths.js';

const ENTRY = 'import { counterProgram } from STUDENT;\nconsole.log(counterProgram().length);\n';
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

t.test('a syntax error is "does not compile" with where and what', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bundle-test-'));
  await writeFile(path.join(dir, 'counter.ts'), await readFile(path.join(projectRoot, 'test/fixtures/labs/2-counter/no-compile/counter.ts')));
  const err = await failure(bundleStudent(ENTRY, path.join(dir, 'counter.ts'), path.join(dir, 'out.mjs')));
  t.ok(err instanceof StudentFailure, String(err));
  t.match((err as StudentFailure).reason, /^does not compile \(esbuild: \d+ errors?\)/);
  t.match((err as StudentFailure).detail[0], /^counter\.ts:\d+:\d+: /);
});

t.test('the bundle holds the submission and the bpf() library, and refuses the rest of the project', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bundle-test-'));
  const marker = 'student-marker-4711';
  await writeFile(path.join(dir, 'counter.ts'), `import { asm } from 'ebpf-lab/bpf/ts/insn.js';\nexport function counterProgram() { console.log('${marker}'); return [asm.exit()]; }\n`);
  await bundleStudent(ENTRY, path.join(dir, 'counter.ts'), path.join(dir, 'out.mjs'));
  const js = await readFile(path.join(dir, 'out.mjs'), 'utf8');
  t.match(js, marker);
  t.notMatch(js, 'another thread inserted it first', 'no line of the reference solution');
  for (const [what, source] of [
    ['the solution through the package name', `export { counterProgram } from 'ebpf-lab/labs/2-counter/solution/counter.js';\n`],
    ['the solution by its absolute path', `export { counterProgram } from ${JSON.stringify(path.join(projectRoot, 'labs/2-counter/solution/counter.ts'))};\n`],
    ['a file outside its folder', `export { counterProgram } from '../../${path.relative('/', path.join(projectRoot, 'labs/2-counter/solution/counter.ts'))}';\n`],
  ]) {
    await writeFile(path.join(dir, 'counter.ts'), source!);
    const err = await failure(bundleStudent(ENTRY, path.join(dir, 'counter.ts'), path.join(dir, 'out2.mjs')));
    t.ok(err instanceof StudentFailure, `${what}: refused (${String((err as StudentFailure)?.detail ?? err)})`);
  }
});
