// `./lab notebook [--kernel K] [--port P]`: Jupyter (classic Notebook 6.4, Debian's) with the TypeScript
// kernel tslab, serving notebooks/ on 127.0.0.1 only, behind a random token. On the host, or inside a VM
// booted on kernel K with the port forwarded from the host's loopback, so a student can try a kernel they
// do not run. It prints the URL once the server answers and stays in the foreground until Ctrl-C; then
// Jupyter, its kernels (or the VM) are gone.

import { execa, type ResultPromise } from 'execa';
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { readdir, readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseOptions } from '../../lib/args.js';
import { EnvironmentError, UsageError } from '../../lib/errors.js';
import { interruptible } from '../../lib/process.js';
import { projectRoot } from '../engine/paths.js';
import { notebookJson, withOutputs, type Notebook } from './notebook-render.js';

/** The kernel whose outputs the committed notebooks carry (test/notebooks/vm.notebook.test.ts compares them). */
export const RENDER_KERNEL = '6.1';

export const USAGE = `usage: ./lab notebook [--kernel K] [--port P] [--dir DIR]
       ./lab notebook --render [--kernel K] [NOTEBOOK...]
  start Jupyter Notebook with the TypeScript kernel (tslab) on notebooks/, listening on 127.0.0.1 only,
  and print its URL (with the token) once it answers; Ctrl-C stops Jupyter and its kernels.
  --kernel K  run Jupyter inside a VM booted on Debian kernel K (5.10, 6.1, 6.12, 7.2), the port
              forwarded from 127.0.0.1 on the host; notebooks/ stays writable, so saved work is kept
  --port P    the host port (default: a free one)
  --dir DIR   serve DIR instead of notebooks/
  --render    run the notebooks (default: every notebooks/N-*.ipynb) top to bottom in a VM on kernel K
              (default ${RENDER_KERNEL}, the reference kernel) and save each cell's outputs into its file, for
              reading without root; a notebook with a failing cell is left as it was (exit 1)`;

/** Executes notebooks through nbclient and the tslab kernel; see its docstring. */
export const RUNNER = path.join(projectRoot, 'harness', 'notebook', 'run_notebooks.py');

/** Debian's Jupyter lives in the system Python; a python3 earlier on PATH may have none. */
export const JUPYTER_PYTHON = '/usr/bin/python3';
export const notebooksDir = path.join(projectRoot, 'notebooks');
/** Where Jupyter listens inside the guest (only the forward reaches it: the NIC is restricted). */
const GUEST_PORT = 8888;

export interface NotebookOptions {
  kernel?: string;
  /** --render: the notebooks to run and save (absolute), or all of notebooks/. */
  render?: string[];
  port?: number;
  /** Absolute; default notebooks/. */
  dir: string;
}

export function parseNotebookArgs(argv: string[]): NotebookOptions {
  const { values, positionals } = parseOptions(
    { args: argv, allowPositionals: true, options: { kernel: { type: 'string' }, port: { type: 'string' }, dir: { type: 'string' }, render: { type: 'boolean' } } },
    USAGE,
  );
  if (values.render) {
    if (values.port !== undefined || values.dir !== undefined) throw new UsageError('--render runs the notebooks without a server: no --port or --dir');
    if (values.kernel === 'host') throw new UsageError(`--render saves the outputs of the reference kernel's VM (default ${RENDER_KERNEL}): --kernel host is not one`);
    const files = positionals.length > 0 ? positionals.map((p) => path.resolve(p)) : notebookFiles();
    for (const f of files) if (!f.endsWith('.ipynb') || !statSync(f, { throwIfNoEntry: false })?.isFile()) throw new UsageError(`${f}: not a notebook file`);
    return { kernel: values.kernel ?? RENDER_KERNEL, dir: notebooksDir, render: files };
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (notebooks are named only with --render)`);
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port < 1 || port > 65535) throw new UsageError(`--port must be a TCP port (1-65535), not "${values.port}"`);
  }
  const dir = path.resolve(values.dir ?? notebooksDir);
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--dir ${values.dir}: not a directory`);
  return { kernel: values.kernel === 'host' ? undefined : values.kernel, port, dir };
}

/**
 * The argv of a Jupyter Notebook server on `ip:port`, serving `dir`, not opening a browser. Its token goes
 * in the environment (JUPYTER_TOKEN), where other users cannot read it as they can read a command line.
 */
export function jupyterArgs(o: { ip: string; port: number; dir: string; root: boolean }): string[] {
  return [
    '-m', 'notebook',
    '--no-browser', ...(o.root ? ['--allow-root'] : []),
    `--ip=${o.ip}`, `--port=${o.port}`, '--port-retries=0', // the port we print is the port it has, or it fails
    `--notebook-dir=${o.dir}`,
  ];
}

/** The address a student opens: the file tree, logged in by the token. */
export function notebookUrl(port: number, token: string): string {
  return `http://127.0.0.1:${port}/tree?token=${token}`;
}

/** A port nobody listens on at 127.0.0.1 now (the OS picks it); Jupyter or QEMU binds it a moment later. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Fails early, with the fix, when the port is taken (Jupyter and QEMU would say it less clearly). */
async function checkPortFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new EnvironmentError(`port ${port} on 127.0.0.1: ${err.code} (something listens there already: choose another --port, or none)`)),
    );
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

const KERNELSPECS_PY = `import json; from jupyter_client.kernelspec import KernelSpecManager as M
print(json.dumps({n: {**s['spec'], 'resource_dir': s['resource_dir']} for n, s in M().get_all_specs().items()}))`;

/**
 * How Jupyter starts the tslab kernel: with a parent-death signal. Jupyter shuts its kernels down when it gets
 * SIGTERM, but once (./lab notebook killed with SIGKILL, in a full test run) a kernel outlived it, and tslab,
 * unlike ipykernel, does not watch its parent. setpriv makes the kernel get SIGKILL when Jupyter is gone: it has
 * nothing left to save (tslab takes seconds to go on SIGTERM).
 */
export const TSLAB_ARGV = ['setpriv', '--pdeathsig', 'KILL', '--', 'tslab', 'kernel', '--config-path', '{connection_file}'];

/**
 * The kernelspec `tslab`, registered with the Jupyter of JUPYTER_PYTHON (`tslab install`) when it is missing,
 * and given TSLAB_ARGV when it has another. It runs `tslab` from PATH, which ./lab puts node_modules/.bin on.
 * Returns true when it changed something.
 */
export async function registerTslab(): Promise<boolean> {
  const specs = await kernelSpecs();
  if (specs.tslab && isDeepStrictEqual(specs.tslab.argv, TSLAB_ARGV)) return false;
  if (!specs.tslab) {
    const tslab = path.join(projectRoot, 'node_modules', '.bin', 'tslab');
    const r = await execa(tslab, ['install', `--python=${JUPYTER_PYTHON}`], { reject: false, timeout: 60_000, all: true });
    if (r.exitCode !== 0) throw new EnvironmentError(`register the TypeScript kernel (tslab install --python=${JUPYTER_PYTHON}): ${String(r.all).trim() || r.shortMessage}`);
  }
  const spec = (await kernelSpecs()).tslab;
  if (!spec) throw new EnvironmentError(`register the TypeScript kernel: tslab install --python=${JUPYTER_PYTHON} left no kernelspec named tslab`);
  const { resource_dir: dir, ...rest } = spec;
  try {
    await writeFile(path.join(dir, 'kernel.json'), JSON.stringify({ ...rest, argv: TSLAB_ARGV }));
  } catch (err) {
    // a spec we may not change (another user's, a read-only root) still starts kernels: only without the signal
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw err;
    process.stderr.write(`lab notebook: cannot update ${path.join(dir, 'kernel.json')} (${code}): its kernels will not die with Jupyter; run ./lab notebook once as root to update it\n`);
    return false;
  }
  return true;
}

/** The kernelspecs JUPYTER_PYTHON's Jupyter knows, each with the folder it is in. */
async function kernelSpecs(): Promise<Record<string, { argv: string[]; resource_dir: string }>> {
  // jupyter_client's own API: Debian ships the `jupyter kernelspec` command in another package (jupyter-client)
  const list = await execa(JUPYTER_PYTHON, ['-c', KERNELSPECS_PY], { reject: false, timeout: 60_000 });
  if (list.exitCode !== 0) {
    throw new EnvironmentError(`list Jupyter kernels: ${String(list.stderr).trim().split('\n').pop() || list.shortMessage} (apt-get install jupyter-notebook)`);
  }
  return JSON.parse(String(list.stdout));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** AbortSignal.any (Node ≥ 20.3), which @types/node 20 does not declare. */
const anySignal = (signals: AbortSignal[]): AbortSignal => (AbortSignal as typeof AbortSignal & { any(s: AbortSignal[]): AbortSignal }).any(signals);

/**
 * Polls Jupyter's /api/status with the token until it answers 200. `gone` settles when the server (or
 * its VM) stopped first: then the wait fails. Each try has its own short timeout, because through QEMU's
 * forward a connection is accepted before anything listens in the guest.
 */
export async function waitForJupyter(port: number, token: string, o: { timeoutMs: number; gone: Promise<unknown>; signal: AbortSignal }): Promise<void> {
  let stopped = false;
  void o.gone.then(
    () => (stopped = true),
    () => (stopped = true),
  );
  const deadline = Date.now() + o.timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    o.signal.throwIfAborted();
    if (stopped) throw new EnvironmentError('Jupyter stopped before it answered (its log is above)');
    try {
      const r = await fetch(`http://127.0.0.1:${port}/api/status`, { headers: { Authorization: `token ${token}` }, signal: anySignal([o.signal, AbortSignal.timeout(5000)]) });
      if (r.status === 200) return;
      last = `HTTP ${r.status}`;
    } catch (err) {
      o.signal.throwIfAborted();
      last = (err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    }
    await sleep(250);
  }
  throw new EnvironmentError(`Jupyter did not answer on 127.0.0.1:${port} within ${o.timeoutMs / 1000} s (last: ${last})`);
}

/** Pids of processes whose command line mentions `needle` (the kernels of our Jupyter: their connection files are in its runtime dir). */
export async function processesMentioning(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(needle)) pids.push(Number(name));
  }
  return pids;
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Runtime dirs of ./lab notebook processes that were killed before they could remove them (the pid is in the name). */
export async function pruneRuntimeDirs(): Promise<void> {
  for (const name of await readdir(tmpdir()).catch(() => [] as string[])) {
    const pid = Number(/^ebpf-lab-jupyter-(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') await rm(path.join(tmpdir(), name), { recursive: true, force: true });
    }
  }
}

/** Jupyter on the host: returns once it stopped and nothing of it is left. */
async function runOnHost(dir: string, port: number, token: string, signal: AbortSignal, timeoutMs: number): Promise<number> {
  await pruneRuntimeDirs();
  const runtimeDir = await mkdtemp(path.join(tmpdir(), `ebpf-lab-jupyter-${process.pid}-`));
  let child: ResultPromise | undefined;
  try {
    const root = process.getuid?.() === 0;
    // setpriv: when this process dies, even by SIGKILL, Jupyter gets SIGTERM, which makes it shut its
    // kernels down (SIGKILL would orphan them: Jupyter starts each in its own session). Its own process
    // group, so a Ctrl-C in the terminal reaches only us and Jupyter is stopped once, by us.
    child = execa('setpriv', ['--pdeathsig', 'TERM', '--', JUPYTER_PYTHON, ...jupyterArgs({ ip: '127.0.0.1', port, dir, root })], {
      env: { JUPYTER_RUNTIME_DIR: runtimeDir, JUPYTER_TOKEN: token },
      stdin: 'ignore',
      // Jupyter's log goes to our stderr: a student sees there a kernel that fails to start.
      stdout: 2,
      stderr: 2,
      reject: false,
      detached: true,
      cleanup: true,
    });
    const exited = child.then((r) => r);
    await waitForJupyter(port, token, { timeoutMs, gone: exited, signal });
    announce(port, token, 'on this machine');
    const stop = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    const ended = await Promise.race([exited.then((r) => r), stop.then(() => undefined)]);
    if (ended) {
      process.stderr.write(`lab notebook: Jupyter exited by itself (${ended.exitCode ?? ended.signal})\n`);
      return 1;
    }
    return 0;
  } finally {
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      kill(child.pid, 'SIGTERM'); // Jupyter shuts its kernels down, then exits
      const late = setTimeout(() => child?.pid && kill(-child.pid, 'SIGKILL'), 15_000);
      await child.catch(() => undefined);
      clearTimeout(late);
    }
    // Whatever a Jupyter that died badly left: its kernels name their connection file in our runtime dir.
    for (const pid of await processesMentioning(runtimeDir)) kill(pid, 'SIGKILL');
    await rm(runtimeDir, { recursive: true, force: true });
  }
}

/** Jupyter inside a VM on `kernel`, its port forwarded to 127.0.0.1:`port`. */
async function runInGuest(kernel: string, dir: string, port: number, token: string, signal: AbortSignal, timeoutMs: number): Promise<number> {
  const { runInVm } = await import('../../vm/qemu.js');
  const started = Date.now();
  const vm = runInVm({
    kernel,
    // The guest's root is the host's, read-only with a tmpfs on top: Jupyter's runtime files go to /run
    // (a tmpfs); the notebooks' folder is shared writable, so what a student saves is on the host afterwards.
    command: [JUPYTER_PYTHON, ...jupyterArgs({ ip: '0.0.0.0', port: GUEST_PORT, dir, root: process.getuid?.() === 0 })],
    env: { JUPYTER_RUNTIME_DIR: '/run/jupyter', JUPYTER_TOKEN: token },
    cwd: dir,
    writable: [dir],
    forwards: [{ hostPort: port, guestPort: GUEST_PORT }],
    onProgress: (line) => process.stderr.write(`lab notebook: ${line}\n`),
    stdout: process.stderr,
    stderr: process.stderr,
    signal,
    crashRetries: 0, // a student's Jupyter silently restarted would lose their work: say it instead
  });
  const gone = vm.then(
    (r) => r,
    (err: unknown) => err,
  );
  try {
    await waitForJupyter(port, token, { timeoutMs, gone, signal });
  } catch (err) {
    const why = await Promise.race([gone, sleep(0).then(() => undefined)]);
    if (why instanceof Error && !signal.aborted) throw why; // the VM's own reason is the better one
    throw err;
  }
  announce(port, token, `in a VM on kernel ${kernel} (up in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  const r = await vm; // until Ctrl-C (rejects with the interruption) or until Jupyter ends in the guest
  process.stderr.write(`lab notebook: Jupyter in the VM exited by itself (exit code ${r.exitCode})\n`);
  return 1;
}

function announce(port: number, token: string, where: string): void {
  process.stderr.write(`lab notebook: Jupyter is running ${where}; open the URL below. Ctrl-C stops it.\n`);
  process.stdout.write(`${notebookUrl(port, token)}\n`);
}

/** notebooks/N-name.ipynb, in order. */
export function notebookFiles(): string[] {
  return readdirSync(notebooksDir).filter((f) => /^\d+-.*\.ipynb$/.test(f)).sort().map((f) => path.join(notebooksDir, f));
}

/** What run_notebooks.py writes: each notebook's cells, and the release of the kernel they ran on. */
export interface RunnerResult {
  release: string;
  notebooks: {
    path: string;
    kernelPid: number | null;
    kernelStartSeconds?: number;
    runs: { cells: { index: number; status: 'ok' | 'error' | 'timeout'; message: string; source: string; stdout: string; stderr: string; html: string[]; png: number; seconds: number }[]; seconds: number }[];
    leftovers: { bpfFds: string[]; children: string[] };
    failure?: string;
  }[];
}

/**
 * Runs `files` once each through Jupyter in a VM on `kernel` (one boot; each notebook in its own tslab kernel,
 * the next one started while one runs), and brings back the runner's result and every executed notebook (by file
 * name). The VM and the notebook tests share this path.
 */
export async function runNotebooksInVm(kernel: string, files: string[], o: { stderr?: NodeJS.WritableStream; signal?: AbortSignal; log?: (line: string) => void } = {}): Promise<{ result: RunnerResult; executed: Map<string, Notebook>; exitCode: number; consoleLog?: string; accel?: string }> {
  const { qemuTarget } = await import('../engine/targets.js');
  const target = qemuTarget(kernel);
  await target.prepare(o.log ?? (() => {}));
  const run = await target.run(
    (out) => [
      'env',
      `PATH=${path.join(projectRoot, 'node_modules', '.bin')}:/usr/sbin:/usr/bin:/sbin:/bin`,
      'JUPYTER_RUNTIME_DIR=/tmp/jupyter-runtime',
      JUPYTER_PYTHON,
      RUNNER,
      '--out', path.join(out, 'notebooks.json'),
      '--executed', out,
      '--runs', '1',
      '--timeout', '600',
      ...files,
    ],
    { stderr: o.stderr, signal: o.signal },
  );
  const text = run.files.get('notebooks.json');
  const result: RunnerResult = text ? JSON.parse(text) : { release: '', notebooks: [] };
  const executed = new Map<string, Notebook>();
  for (const [name, content] of run.files) if (name.endsWith('.ipynb')) executed.set(name, JSON.parse(content) as Notebook);
  return { result, executed, exitCode: run.exitCode, consoleLog: run.log, accel: run.info.accel };
}

/** `./lab notebook --render`: see USAGE. */
async function render(kernel: string, files: string[], signal: AbortSignal): Promise<number> {
  const started = Date.now();
  const say = (l: string) => process.stderr.write(`lab notebook: ${l}\n`);
  say(`running ${files.length} notebooks in a VM on ${kernel} (under TCG a tslab kernel takes ~40 s to start)`);
  const { result, executed, exitCode, consoleLog } = await runNotebooksInVm(kernel, files, { stderr: process.stderr, signal, log: say });
  if (exitCode !== 0 || result.notebooks.length !== files.length) {
    say(`the notebooks' runner failed in the VM (exit code ${exitCode}; console log: ${consoleLog}): nothing saved`);
    return 1;
  }
  let failed = 0;
  for (const [i, rec] of result.notebooks.entries()) {
    const file = files[i]!;
    const name = path.basename(file);
    const cells = rec.runs[0]?.cells ?? [];
    const bad = cells.filter((c) => c.status !== 'ok');
    const ran = executed.get(name);
    if (rec.failure || bad.length > 0 || !ran) {
      failed++;
      say(`${name}: not saved: ${rec.failure ?? (bad.length ? bad.map((c) => `cell ${c.index} ${c.status}: ${c.stderr.trim().split('\n').slice(-3).join(' / ') || c.message}`).join('; ') : 'no executed copy came back')}`);
      continue;
    }
    const saved = JSON.parse(await readFile(file, 'utf8')) as Notebook;
    await writeFile(file, notebookJson(withOutputs(saved, ran, result.release)));
    say(`${name}: saved the outputs of ${cells.length} cells (Linux ${result.release}, ${rec.runs[0]!.seconds} s)`);
  }
  say(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return failed > 0 ? 1 : 0;
}

export async function notebookCommand(argv: string[]): Promise<number> {
  const opts = parseNotebookArgs(argv);
  if (opts.render) {
    (await import('../../vm/kernels.js')).kernelSpec(opts.kernel!);
    await registerTslab();
    const files = opts.render;
    return interruptible((signal) => render(opts.kernel!, files, signal));
  }
  if (opts.kernel) (await import('../../vm/kernels.js')).kernelSpec(opts.kernel); // an unknown kernel is bad usage, before anything starts
  if (await registerTslab()) process.stderr.write(`lab notebook: registered the TypeScript kernel (tslab) with ${JUPYTER_PYTHON}'s Jupyter\n`);
  const port = opts.port ?? (await freePort());
  if (opts.port) await checkPortFree(opts.port);
  const token = randomBytes(24).toString('hex');
  try {
    const code = await interruptible((signal) =>
      opts.kernel ? runInGuest(opts.kernel, opts.dir, port, token, signal, 600_000) : runOnHost(opts.dir, port, token, signal, 60_000),
    );
    if (code === 0) process.stderr.write('lab notebook: stopped\n');
    return code;
  } catch (err) {
    // Ctrl-C is how a notebook server is meant to stop: everything is gone by now
    if ((err as Error).name === 'Interrupted') {
      process.stderr.write('lab notebook: stopped\n');
      return 0;
    }
    throw err;
  }
}
