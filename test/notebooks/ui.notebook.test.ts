// As a student would: `./lab notebook`, the printed URL opened in headless Chromium (Debian's, driven by
// puppeteer-core), one notebook run from the menu (Cell → Run All), its outputs and its chart checked on
// the page, a screenshot kept under build/notebooks/, then everything stopped and nothing of it left.
// Then the same with Jupyter inside a 6.1 VM (--kernel 6.1), reached through the forwarded port.
// Costs ~15-30 s on the host (Jupyter 1 s, Chromium 2 s, tslab's first cell ~8 s), and VM_COST in the VM.
//
// The notebook on the host: LAB_UI_NOTEBOOK (a path in the project), default notebooks/1-raw-bpf-insn.ipynb (its
// saved outputs cleared first, as a student may, so that Run All is seen to produce them): after Run All, its
// exercise 1.1's check says "not yet" on the page; the instructor's answer (test/fixtures/notebooks/answers/1.1.cell)
// is typed into the exercise cell, that cell and its check run again, and the check says PASS. A notebook with
// charts (notebooks/5-across-kernels.ipynb) must show a PNG instead. Its folder is what `./lab notebook --dir` serves. The VM runs the scratch notebook (test/fixtures/notebooks/ui-scratch.ipynb):
// one kernel start, one chart — notebook 5's bench under TCG would take minutes (test/notebooks/vm.notebook.test.ts
// runs every notebook in the VM through nbclient).

import t, { type Test } from 'tap';
import { execa, type ResultPromise } from 'execa';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { release } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

const TIMEOUT_MS = 14 * 60_000;
t.setTimeout(TIMEOUT_MS);
t.comment(`timeout=${TIMEOUT_MS}`);

const root = fileURLToPath(new URL('../../', import.meta.url));
const lab = path.join(root, 'lab');
const scratch = path.join(root, 'test/fixtures/notebooks/ui-scratch.ipynb');
const notebook = path.resolve(root, process.env.LAB_UI_NOTEBOOK ?? 'notebooks/1-raw-bpf-insn.ipynb');
const answers = path.join(root, 'test/fixtures/notebooks/answers');
const CHROMIUM = '/usr/bin/chromium';

/** Every process below `pid` (through parent links), with its command line, as of now. */
async function descendants(pid: number): Promise<Map<number, string>> {
  const parents = new Map<number, number>();
  const cmdlines = new Map<number, string>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // the comm field may hold spaces and parentheses: the ppid is the second field after the last ')'
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    parents.set(Number(name), ppid);
    cmdlines.set(Number(name), (await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ').trim());
  }
  const out = new Map<number, string>();
  const walk = (p: number) => {
    for (const [child, parent] of parents) {
      if (parent === p && !out.has(child)) {
        out.set(child, cmdlines.get(child) ?? '');
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

/** The pid is still the same process (not gone, and not reused by another command). */
async function stillRunning(pid: number, cmdline: string): Promise<boolean> {
  const now = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  return now !== undefined && now.replace(/\0/g, ' ').trim() === cmdline;
}

/** Resolves with the first line of `child`'s stdout (the URL), rejects when it exits first. */
function firstLine(child: ResultPromise, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) resolve(text.split('\n')[0]);
    });
    void child.then((r) => reject(new Error(`${what} exited (${r.exitCode}) before printing its URL:\n${String(r.stderr)}`)));
  });
}

async function waitForRunAll(page: Page, timeoutMs: number): Promise<void> {
  await page.waitForFunction(
    () => {
      const prompts = [...document.querySelectorAll('.code_cell .input_prompt')].map((p) => p.textContent ?? '');
      const idle = document.querySelector('#kernel_indicator_icon')?.classList.contains('kernel_idle_icon');
      return idle && prompts.length > 0 && prompts.every((p) => /\[\d+\]/.test(p));
    },
    { timeout: timeoutMs, polling: 500 },
  );
}

interface RunOptions {
  notebook: string;
  /** ./lab notebook's extra arguments (--kernel 6.1). */
  args: string[];
  /** Screenshot name under build/notebooks/. */
  shot: string;
  /** The kernel release the first cell must report. */
  release: RegExp;
  /** For the kernel to start and for Run All to finish. */
  kernelMs: number;
  runMs: number;
}

/** The whole student session against `./lab notebook ARGS`; returns what the VM test measures. */
async function studentSession(t: Test, o: RunOptions): Promise<{ urlMs: number; kernelMs: number; runMs: number }> {
  const notebook = o.notebook;
  const name = path.basename(notebook);
  const original = await readFile(notebook);
  const started = Date.now();
  const server = execa(lab, ['notebook', ...o.args, '--dir', path.dirname(notebook)], { reject: false, cleanup: true, timeout: TIMEOUT_MS - 30_000 });
  t.teardown(() => server.kill('SIGKILL'));
  const url = new URL(await firstLine(server, './lab notebook'));
  const urlMs = Date.now() - started;
  t.equal(url.hostname, '127.0.0.1', 'it listens on loopback only');
  const token = url.searchParams.get('token');
  t.match(token, /^[0-9a-f]{32,}$/, 'the URL carries a token');

  let browser: Browser | undefined;
  const seen = new Map<number, string>(); // every process of the run: none may be left afterwards
  const shot = path.join(root, 'build', 'notebooks', `${o.shot}.png`);
  await mkdir(path.dirname(shot), { recursive: true });
  let kernelMs = -1;
  let runMs = -1;
  try {
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      // as root Chromium refuses to start sandboxed
      args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--window-size=1280,1000'],
      defaultViewport: { width: 1280, height: 1000 },
    });
    const page = await browser.newPage();
    const tree = await page.goto(url.href, { waitUntil: 'networkidle2', timeout: o.kernelMs });
    t.equal(tree?.status(), 200, 'the printed URL opens the file tree');
    t.ok(await page.$(`a[href$="/notebooks/${encodeURIComponent(name)}"]`), `the tree lists ${name}`);

    const opened = Date.now();
    await page.goto(new URL(`/notebooks/${encodeURIComponent(name)}`, url).href, { waitUntil: 'networkidle2', timeout: o.kernelMs });
    // the kernel has started when the indicator turns idle
    await page.waitForSelector('#kernel_indicator_icon.kernel_idle_icon', { timeout: o.kernelMs });
    kernelMs = Date.now() - opened;
    // No autosave (every 120 s by default): the outputs must not be written into the project's notebook.
    await page.evaluate(() => (window as unknown as { Jupyter: { notebook: { set_autosave_interval: (ms: number) => void } } }).Jupyter.notebook.set_autosave_interval(0));
    t.equal(await page.$eval('.kernel_indicator_name', (e) => e.textContent), 'TypeScript', 'the TypeScript kernel (tslab) runs it');
    for (const p of await descendants(server.pid!)) seen.set(...p);
    // on the host the kernel is ours to see; in a VM it is inside QEMU, which is ours
    t.ok([...seen.values()].some((c) => (o.args.includes('--kernel') ? /qemu-system/ : /tslab kernel/).test(c)), 'the kernel runs under ./lab notebook');

    // Saved outputs cleared, prompts back to [ ]: what Run All shows next is this run's
    await page.evaluate(() => {
      type Cell = { cell_type: string; clear_output(): void; set_input_prompt(n?: number | null): void };
      const nb = (window as unknown as { Jupyter: { notebook: { get_cells(): Cell[] } } }).Jupyter.notebook;
      for (const c of nb.get_cells()) if (c.cell_type === 'code') (c.clear_output(), c.set_input_prompt(null));
    });
    t.same(await page.$$eval('.code_cell .output_subarea', (a) => a.length), 0, 'no output on the page before Run All');

    // Cell → Run All, as a student clicks it
    const run = Date.now();
    await page.click('#celllink');
    await page.waitForSelector('#run_all_cells', { visible: true });
    await page.click('#run_all_cells > a');
    await waitForRunAll(page, o.runMs);
    runMs = Date.now() - run;

    const outputs = await page.$$eval('.output_subarea', (areas) =>
      areas.map((a) => ({ cls: a.className, text: a.textContent ?? '', pngs: [...a.querySelectorAll('img')].filter((i) => i.src.startsWith('data:image/png;base64,') && i.naturalWidth > 0).length })),
    );
    const stderr = outputs.filter((o) => o.cls.includes('output_stderr') || o.cls.includes('output_error'));
    t.same(stderr.map((o) => o.text), [], 'no cell wrote to stderr or failed');
    const texts = outputs.filter((o) => o.cls.includes('output_text') && o.text.trim());
    t.ok(texts.length > 0, 'a text output is on the page');
    if (notebook === scratch) {
      const line = texts.map((o) => o.text).find((text) => text.includes('ui-test: 3 cells of TypeScript ran on '));
      t.match(line, o.release, `the first cell printed its line, from the kernel it should run on (${o.release.source})`);
      t.ok(texts.some((o) => /chart: \d+ bytes of PNG/.test(o.text)), 'the chart cell printed its size');
    }
    if (notebook === scratch || /5-across-kernels/.test(notebook)) t.ok(outputs.some((o) => o.pngs > 0), 'a PNG chart is shown as an <img> that the browser decoded');
    // the notebook's first exercise: its first cell tagged `exercise`
    const cells = (JSON.parse(original.toString('utf8')) as { cells: { metadata: { tags?: string[] }; source: string | string[] }[] }).cells;
    const first = cells.find((c) => c.metadata.tags?.includes('exercise'));
    const exercise = first && /^\/\/ Exercise (\d\.\d)/.exec([first.source].flat().join(''))?.[1];
    if (exercise) {
      // The exercise from the UI: its check said "not yet" on the starter; the instructor's answer typed in passes
      const notYet = texts.map((o) => o.text).find((x) => x.includes(`check ${exercise}: `));
      t.match(notYet, new RegExp(`check ${exercise.replace('.', '\\.')}: not yet — .{10,}`), `exercise ${exercise}: the check on the page says "not yet" and why`);
      const answer = await readFile(path.join(answers, `${exercise}.cell`), 'utf8');
      const ran = await page.evaluate((id: string, text: string) => {
        type Cell = { cell_type: string; get_text(): string; set_text(s: string): void };
        const nb = (window as unknown as { Jupyter: { notebook: { get_cells(): Cell[]; execute_cells(i: number[]): void } } }).Jupyter.notebook;
        const i = nb.get_cells().findIndex((c) => c.cell_type === 'code' && c.get_text().startsWith(`// Exercise ${id}`));
        if (i < 0) return false;
        nb.get_cells()[i]!.set_text(text);
        nb.execute_cells([i, i + 1]); // the exercise and its check
        return true;
      }, exercise, answer);
      t.ok(ran, `the cell of exercise ${exercise} was found and run with the answer`);
      await page.waitForFunction((id: string) => document.body.innerText.includes(`check ${id}: PASS`), { timeout: 60_000, polling: 250 }, exercise);
      t.pass(`exercise ${exercise}: with the instructor's answer typed in, the check on the page says PASS`);
    }

    // The notebook scrolls inside #site, not the document: grow the window to its height for the picture.
    const height = await page.$eval('#notebook-container', (e) => e.getBoundingClientRect().height + 200);
    await page.setViewport({ width: 1280, height: Math.min(Math.ceil(height), 12_000) });
    await page.screenshot({ path: shot });
    t.comment(`screenshot: ${path.relative(root, shot)}`);
    for (const p of await descendants(server.pid!)) seen.set(...p);
  } catch (err) {
    const pages = await browser?.pages().catch(() => []);
    await pages?.at(-1)?.screenshot({ path: shot.replace(/\.png$/, '-failed.png'), fullPage: true }).catch(() => undefined);
    throw err;
  } finally {
    const chromium = browser?.process()?.pid;
    if (chromium) {
      seen.set(chromium, (await readFile(`/proc/${chromium}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ').trim());
      for (const p of await descendants(chromium)) seen.set(...p);
    }
    await browser?.close();
  }

  server.kill('SIGINT'); // Ctrl-C
  const r = await server;
  t.equal(r.exitCode, 0, `Ctrl-C stops ./lab notebook cleanly (stderr: ${String(r.stderr).split('\n').slice(-3).join(' / ')})`);
  t.match(String(r.stderr), /lab notebook: stopped/);
  // Chromium's helpers exit a moment after the browser
  let left: string[] = [];
  for (let i = 0; i < 20; i++) {
    left = [];
    for (const [pid, cmdline] of seen) if (await stillRunning(pid, cmdline)) left.push(`${pid} ${cmdline}`);
    if (left.length === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  t.same(left, [], `no Jupyter, tslab, QEMU or Chromium process is left (of ${seen.size} seen)`);
  t.ok((await readFile(notebook)).equals(original), 'the notebook file is unchanged (nothing saved into the project)');
  return { urlMs, kernelMs, runMs };
}

t.test(`a student runs ${path.relative(root, notebook)} from the Notebook UI in Chromium: its outputs, and an exercise answered on the page`, async (t) => {
  await studentSession(t, { notebook, args: [], release: new RegExp(`ran on ${release().replace(/[.+]/g, '\\$&')}\\s*$`), shot: `ui-${path.basename(notebook, '.ipynb')}`, kernelMs: 120_000, runMs: 600_000 });
});

t.test('the scratch notebook in a VM on kernel 6.1: ./lab notebook --kernel 6.1 forwards Jupyter to 127.0.0.1', async (t) => {
  // under TCG: boot and Jupyter ~60 s, tslab's start and first cell a few minutes
  const m = await studentSession(t, { notebook: scratch, args: ['--kernel', '6.1'], release: /ran on 6\.1\.\d+-\d+-amd64\s*$/, shot: 'ui-scratch-6.1', kernelMs: 300_000, runMs: 300_000 });
  t.comment(`6.1 VM: URL after ${(m.urlMs / 1000).toFixed(1)} s, kernel idle ${(m.kernelMs / 1000).toFixed(1)} s after opening, Run All ${(m.runMs / 1000).toFixed(1)} s`);
});
