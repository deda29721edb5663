// The ./lab script's fast path: once everything is in place, a start runs no dpkg-query, no `node --version`
// and no readlink/dirname (each a process, together ~50-100 ms of every ./lab on a loaded machine). Every
// command it runs goes through a logging shim first on PATH; the second start must log none of them.
// Costs ~1 s; no root, no kernel.

import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { execa } from 'execa';
import { projectRoot } from '../harness/engine/paths.js';

t.test('a second ./lab start runs none of the checks the first one made', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'lab-shims-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const log = path.join(dir, 'log');
  const PATH = process.env.PATH ?? '';
  const real = async (c: string) => (await execa('bash', ['-c', `command -v ${c}`], { env: { PATH } })).stdout.trim();
  for (const c of ['dpkg-query', 'awk', 'node', 'readlink', 'dirname']) {
    await writeFile(path.join(dir, c), `#!/bin/sh\necho ${c} >>${log}\nexec ${await real(c)} "$@"\n`);
    await chmod(path.join(dir, c), 0o755);
  }
  const env = { PATH: `${dir}:${PATH}`, LAB_IN_VM: '' };
  const first = await execa(path.join(projectRoot, 'lab'), ['--print-runtime'], { cwd: tmpdir(), env, reject: false });
  t.equal(first.exitCode, 0, first.stderr);
  t.match(await readFile(log, 'utf8'), /node/, 'the first start checks the node on PATH (a new one: the shim)');
  await rm(log, { force: true });
  const second = await execa(path.join(projectRoot, 'lab'), ['--print-runtime'], { cwd: tmpdir(), env, reject: false });
  t.equal(second.exitCode, 0, second.stderr);
  t.equal(second.stdout.trim(), first.stdout.trim());
  t.equal(await readFile(log, 'utf8').catch(() => ''), '', 'no process the first start needed');
});

t.test('inside a VM ./lab starts the bundled CLI at once: it runs no check and reads none of the rest', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'lab-vm-shims-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const log = path.join(dir, 'log');
  const PATH = process.env.PATH ?? '';
  const realNode = (await execa('bash', ['-c', 'command -v node'], { env: { PATH } })).stdout.trim();
  for (const c of ['dpkg-query', 'find', 'node']) {
    await writeFile(path.join(dir, c), `#!/bin/sh\necho "${c} $*" >>${log}\nexec ${c === 'node' ? realNode : `$(PATH=${PATH} command -v ${c})`} "$@"\n`);
    await chmod(path.join(dir, c), 0o755);
  }
  const r = await execa(path.join(projectRoot, 'lab'), ['--help'], { cwd: tmpdir(), env: { PATH: `${dir}:${PATH}`, LAB_IN_VM: '1' }, reject: false });
  t.equal(r.exitCode, 0, r.stderr);
  t.match(r.stdout, /^usage: \.\/lab COMMAND/);
  t.equal(await readFile(log, 'utf8'), `node ${path.join(projectRoot, 'harness/commands/cli-start.cjs')} --help\n`, 'one process: node, on the bundle (through its code cache)');
});
