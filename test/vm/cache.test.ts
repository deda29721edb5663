// Unit tests for the cache lock that lets parallel test files and commands share one kernel cache.

import t from 'tap';
import { execa } from 'execa';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLock } from '../../vm/cache.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('two holders of one lock run one after the other', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lab-lock-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const lock = join(dir, 'k.lock');
  const events: string[] = [];
  const holder = (name: string) =>
    withLock(lock, async () => {
      events.push(`${name} in`);
      await sleep(300);
      events.push(`${name} out`);
    });
  let waited = false;
  await Promise.all([holder('a'), sleep(50).then(() => withLock(lock, async () => events.push('b in'), { onWait: () => (waited = true) }))]);
  t.same(events, ['a in', 'a out', 'b in']);
  t.ok(waited, 'the second one was told it waits');
});

t.test("a lock left by a dead process is taken over", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lab-lock-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const lock = join(dir, 'k.lock');
  const dead = await execa('sh', ['-c', 'echo $$']);
  await mkdir(lock);
  await writeFile(join(lock, 'pid'), dead.stdout.trim());
  const started = Date.now();
  t.equal(await withLock(lock, async () => 'ran', { waitMs: 5000 }), 'ran');
  t.ok(Date.now() - started < 2000, 'without waiting for the deadline');
});

t.test('a lock held by a live process times out with its pid', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lab-lock-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const lock = join(dir, 'k.lock');
  await mkdir(lock);
  await writeFile(join(lock, 'pid'), String(process.pid));
  await t.rejects(withLock(lock, async () => 'ran', { waitMs: 300 }), { message: new RegExp(`held by pid ${process.pid}`) });
});
