// Bundling a driver with a submission (esbuild; nothing runs): a syntax error is the student's "does not
// compile" with file:line:col, and the bundle holds the submission, never the reference solution.
import t from 'tap';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleDriver } from '../../../harness/grade/ts-driver.js';
import { StudentFailure } from '../../../harness/grade/lab.js';
import { projectRoot } from '../../../harness/paths.js';

const driver = path.join(projectRoot, 'labs', '2-counter', 'driver.ts');

t.test('a syntax error is "does not compile" with where and what', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bundle-test-'));
  await writeFile(path.join(dir, 'counter.ts'), await readFile(path.join(projectRoot, 'test/fixtures/labs/2-counter/no-compile/counter.ts')));
  const err = await bundleDriver(driver, path.join(dir, 'counter.ts'), path.join(dir, 'out.mjs')).catch((e: unknown) => e);
  t.ok(err instanceof StudentFailure, String(err));
  t.match((err as StudentFailure).reason, /^does not compile \(esbuild: \d+ errors?\)/);
  t.match((err as StudentFailure).detail[0], /^counter\.ts:\d+:\d+: /);
});

t.test('the bundle holds the submission in place of the reference solution', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bundle-test-'));
  const marker = 'student-marker-4711';
  await writeFile(
    path.join(dir, 'counter.ts'),
    `import { asm } from 'ebpf-lab/bpf/ts/insn.js';\nexport function counterProgram() { console.log('${marker}'); return [asm.exit()]; }\n`,
  );
  await bundleDriver(driver, path.join(dir, 'counter.ts'), path.join(dir, 'out.mjs'));
  const js = await readFile(path.join(dir, 'out.mjs'), 'utf8');
  t.match(js, marker);
  t.notMatch(js, 'another thread inserted it first', 'no line of the reference solution');
});
