import t from 'tap';
import path from 'node:path';
import { execa } from 'execa';
import { projectRoot } from '../../../harness/engine/paths.js';

const fixture = path.join(projectRoot, 'test/bpf/ts/fixtures/many-lines-tool.ts');

t.test('a tool run as a program hands over every line it writes when stopped, then exits 0', async (t) => {
  // execa's stdout is a socket, as the harness's is: a few hundred small writes fill its buffer
  const child = execa('node', ['--import', 'tsx', fixture], { reject: false, timeout: 60_000, env: { LINES: '3000' } });
  await new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => String(d).includes('ready') && resolve()));
  child.kill('SIGINT');
  const r = await child;
  t.equal(r.exitCode, 0);
  const lines = String(r.stdout).trim().split('\n');
  t.equal(lines.length, 3002, 'ready, 3000 lines and END');
  t.equal(lines.at(-1), 'END');
});

t.test('a tool run as a program refuses arguments: exit 2 with its usage', async (t) => {
  const r = await execa('node', ['--import', 'tsx', fixture, '--verbose'], { reject: false, timeout: 60_000 });
  t.equal(r.exitCode, 2);
  t.equal(r.stderr.trim(), 'usage: many-lines.ts (no options)');
});
