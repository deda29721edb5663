import t from 'tap';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { projectRoot } from '../../harness/engine/paths.js';
import { formatTraceEvent } from '../../harness/examples/execsnoop/index.js';
import { readdirSync, readFileSync } from 'node:fs';
import { loadedNames, requireFeature, requireRoot } from '../lib/kernel.js';

const lab = path.join(projectRoot, 'lab');

/** Collects a stream from the start, so no line is missed; `waitFor` resolves on the first line matching. */
function lines(child: ResultPromise, stream: 'stdout' | 'stderr') {
  let text = '';
  const waiters: (() => void)[] = [];
  child[stream]!.on('data', (d: Buffer) => {
    text += String(d);
    waiters.splice(0).forEach((w) => w());
  });
  return {
    waitFor(re: RegExp): Promise<string> {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = text.split('\n').find((l) => re.test(l));
          if (line) resolve(line);
          else waiters.push(check);
        };
        check();
        void child.then((r) => reject(new Error(`exited ${r.exitCode} before printing ${re}: ${String(r.stderr).slice(-500)}`)));
      });
    },
  };
}

t.test('trace prints a normalized event per exec as JSON lines, after "ready" on stderr, until SIGINT', async (t) => {
  if (!requireRoot(t) || !requireFeature(t, 'tracefs') || !requireFeature(t, 'btf')) return;
  const child = execa(lab, ['trace', 'execsnoop', '--tool', 'libbpf', '--format', 'jsonl'], { reject: false, timeout: 60_000 });
  const out = lines(child, 'stdout');
  await lines(child, 'stderr').waitFor(/^ready$/);
  const marker = `trace-test-${process.pid}`;
  const exec = execa('/bin/true', [marker, 'two words']);
  const pid = exec.pid;
  await exec;
  const line = await out.waitFor(new RegExp(marker));
  t.match(JSON.parse(line), { pid, ppid: process.pid, ret: 0, args: ['/bin/true', marker, 'two words'], truncated: false });
  child.kill('SIGINT');
  const r = await child;
  t.equal(r.exitCode, 0, 'SIGINT ends it cleanly');
});

t.test('a ts tool is traced inside the CLI\'s own process, and leaves no program behind when stopped', async (t) => {
  if (!requireRoot(t) || !requireFeature(t, 'tracefs') || !requireFeature(t, 'btf')) return;
  const child = execa(lab, ['trace', 'execsnoop', '--tool', 'ts', '--format', 'jsonl'], { reject: false, timeout: 60_000 });
  const out = lines(child, 'stdout');
  await lines(child, 'stderr').waitFor(/^ready$/);
  // ./lab execs node, so the child's pid is the CLI's: it has started no process of its own
  const children = readdirSync(`/proc/${child.pid}/task`).flatMap((tid) => readFileSync(`/proc/${child.pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean));
  t.same(children, [], 'no child process: the tool runs in the CLI');
  t.ok((await loadedNames('prog')).includes('execsnoop_enter'), 'its programs are loaded');
  const marker = `trace-ts-${process.pid}`;
  const exec = execa('/bin/true', [marker]);
  const pid = exec.pid;
  await exec;
  t.match(JSON.parse(await out.waitFor(new RegExp(marker))), { pid, ppid: process.pid, ret: 0, args: ['/bin/true', marker] });
  child.kill('SIGINT');
  t.equal((await child).exitCode, 0, 'SIGINT ends it cleanly');
  t.notOk((await loadedNames('prog')).includes('execsnoop_enter'), 'its programs are gone');
});

t.test('tracing a counter prints its counts when stopped', async (t) => {
  if (!requireRoot(t) || !requireFeature(t, 'tracefs')) return;
  const child = execa(lab, ['trace', 'counter', '--tool', 'ts', '--format', 'jsonl'], { reject: false, timeout: 60_000 });
  await lines(child, 'stderr').waitFor(/^ready$/);
  const exec = execa('/bin/true');
  const pid = exec.pid!;
  await exec;
  child.kill('SIGTERM');
  const r = await child;
  t.equal(r.exitCode, 0);
  const counts = JSON.parse(String(r.stdout).trim().split('\n').pop()!);
  t.equal(counts.perPid[pid], 1, 'the child was counted once');
  t.ok(counts.total >= 1);
});

t.test('an unknown variant is bad usage, with the list of variants', async (t) => {
  const r = await execa(lab, ['trace', 'execsnoop', '--tool', 'dtrace'], { reject: false });
  t.equal(r.exitCode, 2);
  t.match(String(r.stderr), /no variant execsnoop\/dtrace \(variants: execsnoop\/bpftrace, /);
});

t.test('the text format shows what a tool does not report as "-"', async (t) => {
  const line = formatTraceEvent({ pid: 7, comm: 'true', args: ['/bin/true', 'a b'], truncated: false, unreadable: false, escaped: false }, 'text');
  t.equal(line, "true             7       -         - -        /bin/true 'a b'");
});
