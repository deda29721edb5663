// The ts tools and the CLI run as the JavaScript bundle ./lab builds (no TypeScript compiler at run time),
// and that bundle is current: nothing in the sources is newer.
import { statSync, readdirSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { execa } from 'execa';
import { VARIANTS } from '../../harness/examples/index.js';
import { projectRoot } from '../../harness/engine/paths.js';

t.test('the ts variants run the bundle, not the TypeScript', async (t) => {
  const ts = VARIANTS.filter((v) => v.tool === 'ts');
  t.ok(ts.length >= 2);
  for (const v of ts) {
    t.match(v.command, ['node', /^build\/js\/\w+\.cjs$/], `${v.example}/ts runs ${v.command.join(' ')}`);
    t.notOk(v.command.includes('tsx'), 'no tsx at run time');
  }
});

t.test('./lab runs the bundle, and the bundle is newer than every TypeScript source', async (t) => {
  const r = await execa(path.join(projectRoot, 'lab'), ['--print-runtime'], { cwd: projectRoot });
  t.equal(r.stdout.trim(), 'build/js/cli.cjs');
  const built = statSync(path.join(projectRoot, 'build/js/cli.cjs')).mtimeMs;
  const newer: string[] = [];
  for (const dir of ['lib', 'harness', 'vm', 'bpf']) {
    for (const f of readdirSync(path.join(projectRoot, dir), { recursive: true }) as string[]) {
      if (f.endsWith('.ts') && statSync(path.join(projectRoot, dir, f)).mtimeMs > built) newer.push(`${dir}/${f}`);
    }
  }
  t.same(newer, [], 'no source newer than the bundle');
  for (const v of VARIANTS.filter((x) => x.tool === 'ts')) t.ok(statSync(path.join(projectRoot, v.command[1])).mtimeMs >= built - 1000, `${v.command[1]} built with it`);
});
