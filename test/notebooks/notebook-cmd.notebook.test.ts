// `./lab notebook` on the host, through Jupyter's REST API: a tslab kernel started, then ./lab stopped by
// SIGTERM or killed with SIGKILL — neither Jupyter nor the kernel may outlive it. ~10 s a case.

import t, { type Test } from 'tap';
import { execa, type ResultPromise } from 'execa';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

t.setTimeout(5 * 60_000);
t.comment(`timeout=${5 * 60_000}`);

const lab = fileURLToPath(new URL('../../lab', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function cmdline(pid: number): Promise<string | undefined> {
  return readFile(`/proc/${pid}/cmdline`, 'utf8').then((c) => c.replace(/\0/g, ' ').trim(), () => undefined);
}

/** Processes whose command line mentions `needle`. */
async function mentioning(needle: string): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const c = await cmdline(Number(name));
    if (c?.includes(needle)) out.set(Number(name), c);
  }
  return out;
}

function firstLine(child: ResultPromise): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) resolve(text.split('\n')[0]);
    });
    void child.then((r) => reject(new Error(`./lab notebook exited (${r.exitCode}) before printing its URL:\n${String(r.stderr)}`)));
  });
}

/** ./lab notebook with one tslab kernel started through the REST API; the pids of Jupyter and the kernel. */
async function serverWithKernel(t: Test) {
  const server = execa(lab, ['notebook'], { reject: false, cleanup: true, timeout: 240_000 });
  t.teardown(() => server.kill('SIGKILL'));
  const url = new URL(await firstLine(server));
  const token = url.searchParams.get('token')!;
  const api = (p: string, init?: RequestInit) => fetch(new URL(p, url), { ...init, headers: { Authorization: `token ${token}`, 'Content-Type': 'application/json' } });
  t.equal((await api('/api/status')).status, 200, 'the URL answers');
  t.equal((await fetch(new URL('/api/status', url))).status, 403, 'not without the token');
  const created = await api('/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'tslab' }) });
  t.equal(created.status, 201, 'a tslab kernel starts');
  const { id } = (await created.json()) as { id: string };
  // the kernel's command line names its connection file, kernel-<id>.json
  let kernel = new Map<number, string>();
  for (let i = 0; i < 100 && kernel.size === 0; i++) {
    kernel = await mentioning(`kernel-${id}.json`);
    if (kernel.size === 0) await sleep(100);
  }
  t.ok([...kernel.values()].some((c) => /tslab kernel/.test(c)), 'the kernel process runs');
  // ./lab's node runs Jupyter as its child (setpriv execs into it)
  const children = (await execa('pgrep', ['-P', String(server.pid)], { reject: false })).stdout.split('\n').filter(Boolean).map(Number);
  const jupyter = new Map<number, string>();
  for (const pid of children) {
    const c = await cmdline(pid);
    if (c && /-m notebook/.test(c)) jupyter.set(pid, c);
  }
  t.equal(jupyter.size, 1, 'the Jupyter process runs');
  t.notMatch([...jupyter.values()][0], new RegExp(token), 'without the token on its command line');
  return { server, seen: new Map([...kernel, ...jupyter]) };
}

async function leftOf(seen: Map<number, string>, waitMs: number): Promise<string[]> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const left: string[] = [];
    for (const [pid, c] of seen) if ((await cmdline(pid)) === c) left.push(`${pid} ${c}`);
    if (left.length === 0 || Date.now() > deadline) return left;
    await sleep(250);
  }
}

t.test('SIGTERM stops ./lab notebook, Jupyter and its kernel, and exits 0', async (t) => {
  const { server, seen } = await serverWithKernel(t);
  server.kill('SIGTERM');
  const r = await server;
  t.equal(r.exitCode, 0, String(r.stderr).split('\n').slice(-3).join(' / '));
  t.same(await leftOf(seen, 0), [], 'nothing is left once it has exited');
});

t.test('./lab notebook killed with SIGKILL takes Jupyter and its kernel with it', async (t) => {
  const { server, seen } = await serverWithKernel(t);
  // wait for its exit only: a kernel it left behind would hold its stderr, and the result would never come
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGKILL');
  await exited;
  // Jupyter gets SIGTERM from the kernel (parent-death signal) and shuts its kernels down: a few seconds
  t.same(await leftOf(seen, 20_000), [], 'nothing is left');
});

t.test('the tslab kernel Jupyter starts dies with Jupyter: its kernelspec runs it under a parent-death signal', async (t) => {
  // ./lab notebook registered it above; a kernel orphaned by a Jupyter that could not shut it down once held up a run
  const { JUPYTER_PYTHON, TSLAB_ARGV } = await import('../../harness/commands/notebook.js');
  const r = await execa(JUPYTER_PYTHON, ['-c', "import json; from jupyter_client.kernelspec import KernelSpecManager as M; print(json.dumps(M().get_kernel_spec('tslab').argv))"]);
  t.same(JSON.parse(r.stdout), TSLAB_ARGV);
  t.same(TSLAB_ARGV.slice(0, 4), ['setpriv', '--pdeathsig', 'KILL', '--']);
});
