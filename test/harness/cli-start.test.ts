// ./lab starts its CLI through harness/commands/cli-start.cjs: the bundle, compiled from the V8 code cache ./lab writes
// when it bundles. Checked: the cache is current and this Node accepts it, and a bundle started this way runs as
// if node had started it, its import() included, with no warning on stderr.
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import Module, { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import t from 'tap';
import { execa } from 'execa';
import { projectRoot } from '../../harness/engine/paths.js';

const startScript = path.join(projectRoot, 'harness/commands/cli-start.cjs');

t.test("the CLI bundle's code cache is as new as the bundle, and this Node takes it", async (t) => {
  const bundle = path.join(projectRoot, 'build/js/cli.cjs');
  t.ok(statSync(`${bundle}.cache`).mtimeMs >= statSync(bundle).mtimeMs, 'written after the bundle');
  const script = new vm.Script((Module as unknown as { wrap(s: string): string }).wrap(readFileSync(bundle, 'utf8')), {
    filename: bundle,
    cachedData: readFileSync(`${bundle}.cache`),
  });
  t.equal(script.cachedDataRejected, false, 'V8 accepted the cache');
});

t.test('a bundle started from its cache runs as the program, and imports a package through the starter', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cli-start-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const bundle = path.join(dir, 'bundle.cjs');
  // what esbuild makes of lib/import-package.ts, and a use of it
  await writeFile(
    bundle,
    `console.log('argv1 ' + (process.argv[1] === __filename));\n` +
      `console.log('require ' + typeof require('node:path').join);\n` +
      `const fromStarter = globalThis[Symbol.for('ebpf-lab.import')];\n` +
      `(fromStarter ? fromStarter('node:os') : import('node:os')).then((os) => console.log('import ' + typeof os.cpus));\n`,
  );
  createRequire(import.meta.url)(startScript).writeCache(bundle);
  const r = await execa('node', ['-e', `console.log('cached ' + require(${JSON.stringify(startScript)}).start(${JSON.stringify(bundle)}))`], { reject: false });
  t.equal(r.exitCode, 0, r.stderr);
  t.same(r.stdout.split('\n').sort(), ['argv1 true', 'cached true', 'import function', 'require function']);
  t.equal(r.stderr, '');
});

t.test("the CLI bundle's one import() is lib/import-package.ts's: any other would throw when run from the cache", async (t) => {
  const source = readFileSync(path.join(projectRoot, 'build/js/cli.cjs'), 'utf8');
  const calls = source.split('\n').filter((line) => /(^|[^\w.$])import\(/.test(line));
  t.same(calls.map((l) => l.trim()), ['return fromStarter ? fromStarter(name) : import(name);']);
});
