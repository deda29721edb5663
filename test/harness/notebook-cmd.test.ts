// `./lab notebook`'s parts that need no Jupyter: arguments, Jupyter's command line, the URL, waiting for
// the server, finding what a dead Jupyter left. The real server, kernels and browser: test/notebooks/.

import t from 'tap';
import { execa } from 'execa';
import { createServer, type Server } from 'node:http';
import { mkdir, rm, stat } from 'node:fs/promises';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UsageError } from '../../lib/errors.js';
import { freePort, jupyterArgs, notebookUrl, notebooksDir, parseNotebookArgs, processesMentioning, pruneRuntimeDirs, waitForJupyter } from '../../harness/commands/notebook.js';
import { projectRoot } from '../../harness/engine/paths.js';

const never = new Promise<never>(() => {});

function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

t.test('arguments: --kernel, --port and --dir parse; bad ones are usage errors', async (t) => {
  t.same(parseNotebookArgs([]), { kernel: undefined, port: undefined, dir: notebooksDir });
  t.same(parseNotebookArgs(['--kernel', '6.1', '--port', '8890']), { kernel: '6.1', port: 8890, dir: notebooksDir });
  t.equal(parseNotebookArgs(['--kernel', 'host']).kernel, undefined, '--kernel host is the host');
  t.equal(parseNotebookArgs(['--dir', path.join(projectRoot, 'test')]).dir, path.join(projectRoot, 'test'));
  for (const port of ['0', '65536', 'http', '80.5', '-1']) {
    t.throws(() => parseNotebookArgs([`--port=${port}`]), { constructor: UsageError, message: /--port must be a TCP port/ }, `--port ${port}`);
  }
  t.throws(() => parseNotebookArgs(['--dir', '/no/such/dir']), { constructor: UsageError, message: /--dir \/no\/such\/dir: not a directory/ });
  t.throws(() => parseNotebookArgs(['--bogus']), { constructor: UsageError, message: /Unknown option '--bogus'[\s\S]*usage: \.\/lab notebook/ });
  // --render: every notebook by default, on the reference kernel; a notebook named must be one
  const all = parseNotebookArgs(['--render']);
  t.equal(all.kernel, '6.1', 'the reference kernel by default');
  t.ok(all.render!.length >= 6 && all.render!.every((f) => /\/notebooks\/\d-[\w-]+\.ipynb$/.test(f)), all.render!.join(', '));
  const one = path.join(notebooksDir, '2-maps.ipynb');
  t.same(parseNotebookArgs(['--render', '--kernel', '6.12', one]).render, [one]);
  t.throws(() => parseNotebookArgs(['--render', path.join(notebooksDir, 'README.md')]), { constructor: UsageError, message: /not a notebook file/ });
  t.throws(() => parseNotebookArgs(['--render', '--kernel', 'host']), { constructor: UsageError, message: /--kernel host is not one/ });
  t.throws(() => parseNotebookArgs(['--render', '--port', '8888']), { constructor: UsageError, message: /no --port or --dir/ });
  t.throws(() => parseNotebookArgs([one]), { constructor: UsageError, message: /only with --render/ });
});

t.test('Jupyter listens where it is told, on that port or not at all, without a browser', async (t) => {
  const args = jupyterArgs({ ip: '127.0.0.1', port: 40000, dir: '/n', root: true });
  t.same(args.slice(0, 2), ['-m', 'notebook']);
  for (const a of ['--no-browser', '--allow-root', '--ip=127.0.0.1', '--port=40000', '--port-retries=0', '--notebook-dir=/n']) t.ok(args.includes(a), a);
  t.notMatch(args.join(' '), /token/, 'the token is not on the command line (JUPYTER_TOKEN)');
  t.notOk(jupyterArgs({ ip: '127.0.0.1', port: 1, dir: '/n', root: false }).includes('--allow-root'), 'no --allow-root for a user');
  t.equal(notebookUrl(40000, 'abc'), 'http://127.0.0.1:40000/tree?token=abc');
});

t.test('a free port is one that can be listened on at 127.0.0.1', async (t) => {
  const port = await freePort();
  t.ok(port > 0 && port < 65536);
  const server = createTcpServer();
  t.equal(await listen(server).then(() => new Promise<number>((resolve) => server.close(() => resolve(port)))), port);
});

t.test('waiting for Jupyter: an answer 200 with the token ends the wait', async (t) => {
  let tries = 0;
  let auth: string | undefined;
  const server = createServer((req, res) => {
    tries++;
    auth = req.headers.authorization;
    res.statusCode = tries < 3 ? 503 : 200; // as if it were still starting
    res.end('{}');
  });
  const port = await listen(server);
  t.teardown(() => server.close());
  await waitForJupyter(port, 'tok', { timeoutMs: 10_000, gone: never, signal: new AbortController().signal });
  t.equal(tries, 3);
  t.equal(auth, 'token tok');
});

t.test('waiting for Jupyter fails with the reason when it never answers or stops first', async (t) => {
  const port = await freePort(); // nobody listens
  await t.rejects(waitForJupyter(port, 'x', { timeoutMs: 1000, gone: never, signal: new AbortController().signal }), /did not answer on 127\.0\.0\.1:\d+ within 1 s \(last: ECONNREFUSED\)/);
  await t.rejects(waitForJupyter(port, 'x', { timeoutMs: 10_000, gone: Promise.resolve(), signal: new AbortController().signal }), /Jupyter stopped before it answered/);
  const controller = new AbortController();
  controller.abort(new Error('ctrl-c'));
  await t.rejects(waitForJupyter(port, 'x', { timeoutMs: 10_000, gone: never, signal: controller.signal }), /ctrl-c/, 'an abort ends the wait with its reason');
});

t.test("what a dead Jupyter left is found by its runtime dir in the processes' command lines", async (t) => {
  const marker = `/tmp/ebpf-lab-jupyter-test-${process.pid}`;
  const child = execa('sh', ['-c', 'sleep 30; true', marker], { reject: false });
  t.teardown(() => child.kill('SIGKILL'));
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.same(await processesMentioning(marker), [child.pid]);
  child.kill('SIGKILL');
  await child;
  t.same(await processesMentioning(marker), []);
});

t.test('the runtime dir of a ./lab notebook that died is removed; a living one keeps its own', async (t) => {
  const dead = execa('true'); // a pid that has exited
  await dead;
  const deadDir = path.join(tmpdir(), `ebpf-lab-jupyter-${dead.pid}-test`);
  const liveDir = path.join(tmpdir(), `ebpf-lab-jupyter-${process.ppid}-test`);
  await mkdir(deadDir, { recursive: true });
  await mkdir(liveDir, { recursive: true });
  t.teardown(() => Promise.all([rm(deadDir, { recursive: true, force: true }), rm(liveDir, { recursive: true, force: true })]));
  await pruneRuntimeDirs();
  t.notOk(await stat(deadDir).catch(() => undefined), 'the dead one is gone');
  t.ok(await stat(liveDir), 'the living one stays');
});
