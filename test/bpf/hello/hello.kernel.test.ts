import t from 'tap';
import { execa } from 'execa';
import { FORMAT, HelloWorld, PROGRAM_NAME, READY } from '../../../bpf/hello/hello.js';
import { goneFromKernel, loadedNames, requireFeature, requireRoot } from '../../lib/kernel.js';

const hello = (pid: number) => FORMAT.replace('%d', String(pid));

/** Resolves with the first line `test` accepts, or rejects after `ms`. */
function lineMatching(lines: string[], listeners: ((line: string) => void)[], test: (line: string) => boolean, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const found = lines.find(test);
    if (found) return resolve(found);
    const timer = setTimeout(() => reject(new Error(`no matching line within ${ms} ms; saw ${lines.length} lines`)), ms);
    listeners.push((line) => {
      if (test(line)) {
        clearTimeout(timer);
        resolve(line);
      }
    });
  });
}

t.test("a child's exec arrives through the trace pipe as a hello with the child's pid", async (t) => {
  if (!requireRoot(t) || !requireFeature(t, 'tracefs')) return;
  const lines: string[] = [];
  const listeners: ((line: string) => void)[] = [];
  const tool = HelloWorld.open({ onLine: (line) => (lines.push(line), listeners.forEach((l) => l(line))) });
  t.teardown(() => tool.close());
  t.ok((await loadedNames('prog')).includes(PROGRAM_NAME), `${PROGRAM_NAME} is loaded while open`);
  const child = execa('/bin/true', { reject: false, timeout: 20_000 });
  const pid = child.pid!;
  t.equal((await child).exitCode, 0);
  const line = await lineMatching(lines, listeners, (l) => l.endsWith(`: ${hello(pid)}`), 5000);
  // comm-tid [cpu] flags timestamp: the event's name: the message
  t.match(line, new RegExp(`^\\S+-${pid} +\\[\\d{3}\\] \\S+ +\\d+\\.\\d+: bpf_trace_printk: ${hello(pid)}$`), line);
});

t.test('nothing of hello stays loaded after close(), and close() is idempotent', async (t) => {
  if (!requireRoot(t) || !requireFeature(t, 'tracefs')) return;
  const tool = HelloWorld.open({ onLine: () => {} });
  t.ok((await loadedNames('prog')).includes(PROGRAM_NAME), 'loaded while open');
  tool.close();
  tool.close();
  t.ok(await goneFromKernel('prog', PROGRAM_NAME), 'program gone');
});

t.test('hello.ts run as a program: ready line, a hello per exec, and exit 0 soon after SIGINT', async (t) => {
  if (!requireRoot(t) || !requireFeature(t, 'tracefs')) return;
  const tracer = execa(process.execPath, ['--import', 'tsx', 'bpf/hello/hello.ts'], { reject: false, timeout: 60_000, cleanup: true });
  t.teardown(() => void tracer.kill('SIGKILL'));
  let out = '';
  const waiting = new Set<() => void>();
  tracer.stdout!.on('data', (d: Buffer) => {
    out += String(d);
    for (const check of waiting) check();
  });
  const seen = (pattern: RegExp, ms: number) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!pattern.test(out)) return;
        waiting.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => (waiting.delete(check), reject(new Error(`stdout never showed ${pattern}; it showed:\n${out}`))), ms);
      waiting.add(check);
      check();
    });
  await seen(new RegExp(`^${READY.replace(/\./g, '\\.')}\n`), 30_000);
  const child = execa('/bin/true', { reject: false, timeout: 20_000 });
  const pid = child.pid!;
  t.equal((await child).exitCode, 0);
  await seen(new RegExp(`bpf_trace_printk: ${hello(pid)}\n`), 5000);
  const stopAt = Date.now();
  tracer.kill('SIGINT');
  const result = await tracer;
  const took = Date.now() - stopAt;
  t.equal(result.exitCode, 0, `exit 0 (stderr: ${result.stderr.trim() || 'empty'})`);
  t.ok(took < 3000, `exited ${took} ms after SIGINT`);
  t.ok(await goneFromKernel('prog', PROGRAM_NAME), 'its program is gone');
});
