import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { notebookFiles, RENDER_KERNEL } from '../../../harness/commands/notebook.js';
import { compareOutputs, LOCAL_TAG, normalizeLine, normalizeText, outputShapes, withOutputs, VARIES_TAG, type NbCell, type Notebook } from '../../../harness/commands/notebook-render.js';

const root = '/work/project';
const code = (source: string, outputs: NbCell['outputs'], tags?: string[]): NbCell => ({ cell_type: 'code', source, metadata: tags ? { tags } : {}, outputs, execution_count: 1 });
const nb = (...cells: NbCell[]): Notebook => ({ cells: [{ cell_type: 'markdown', source: '# x', metadata: {} }, ...cells], metadata: { kernelspec: { name: 'tslab' } }, nbformat: 4, nbformat_minor: 5 });
const out = (text: string) => ({ output_type: 'stream', name: 'stdout', text });

t.test('a line loses its numbers, addresses, blanks and the project path, nothing else', async (t) => {
  t.equal(normalizeLine('fd 7 at 0x7ffd12ab, 1.25 s   in /work/project/build/bpf', root), 'fd # at 0x#, # s in <project>/build/bpf');
  t.equal(normalizeLine('  PASS  counter/bcc', root), 'PASS counter/bcc');
  // the trace pipe's latency flags change from run to run; the task, CPU and message stay compared
  const pipe = (flags: string) => normalizeLine(`            node-4242    [001] ${flags}  1234.567890: bpf_trace_printk: Hello, World! execve pid=4243`, root);
  t.equal(pipe('...1'), 'node-# [#] <flags> #.#: bpf_trace_printk: Hello, World! execve pid=#');
  t.equal(pipe('.N.1'), pipe('...1'));
  t.equal(pipe('d..21'), pipe('...1'));
  t.not(normalizeLine('   sh-4242    [001] ...1  1234.567890: bpf_trace_printk: Hello, World! execve pid=4243', root), pipe('...1'), 'another task is another line');
  t.equal(normalizeLine('key 8 8 0x7f12 a0bba1 78563412 face', root), 'key # # 0x# # # face', 'bytes in hex too, not a word');
  t.same(normalizeText('a 1\na 2\n\nb\na 3\n', root), ['a #', 'b', 'a #'], 'a line repeated right after itself is kept once');
});

t.test('stream outputs split by timing are one output; an HTML table has a line per row; a PNG is its kind', async (t) => {
  const shapes = outputShapes(
    [out('one\n'), out('two\n'), { output_type: 'display_data', data: { 'text/html': '<table><tr><td>1</td></tr><tr><td>x</td></tr></table>', 'text/plain': 'ignored' } }, { output_type: 'display_data', data: { 'image/png': 'AAAA' } }],
    { linesToo: true, root },
  );
  t.same(shapes, [
    { kind: 'stdout', lines: ['one', 'two'] },
    { kind: 'text/html', lines: ['<table>', '<tr><td>#</td></tr>', '<tr><td>x</td></tr></table>'] },
    { kind: 'image/png', lines: [] },
  ]);
});

t.test('the same structure with other numbers is no difference', async (t) => {
  const saved = nb(code('run()', [out('pid 100: 3 lines in 12 ms\n')]));
  const ran = nb(code('run()', [out('pid 4242: 17 lines in 8 ms\n'), out('pid 4242: 1 lines in 9 ms\n')]));
  t.same(compareOutputs(saved, ran, root), []);
});

t.test('a changed word, a missing output, a missing line, a changed source: each a difference, named by its cell', async (t) => {
  const saved = nb(code('a()', [out('counter/bcc PASS\n')]), code('b()', [out('x\n'), { output_type: 'display_data', data: { 'image/png': 'AAAA' } }]), code('c()', [out('one\ntwo\n')]), code('d()', []));
  const ran = nb(code('a()', [out('counter/bcc SKIP\n')]), code('b()', [out('x\n')]), code('c()', [out('one\n')]), code('d(1)', []));
  const diffs = compareOutputs(saved, ran, root);
  t.equal(diffs.length, 4, diffs.join('\n'));
  t.match(diffs[0], /^code cell 1 \(a\(\)\), its stdout output, line 1:\n  saved: counter\/bcc PASS\n  now: +counter\/bcc SKIP$/);
  t.match(diffs[1], /^code cell 2 \(b\(\)\): saved outputs stdout, image\/png; now stdout$/);
  t.match(diffs[2], /line 2:\n  saved: two\n  now: +\(nothing\)/);
  t.match(diffs[3], /code cell 4 \(d\(\)\): its source changed/);
  t.same(compareOutputs(saved, nb(code('a()', [])), root), ['4 code cells saved, 1 run']);
});

t.test(`a cell tagged ${VARIES_TAG} is compared by the kinds of its outputs only`, async (t) => {
  const saved = nb(code('trace()', [out('bash-1 hello\n')], [VARIES_TAG]));
  t.same(compareOutputs(saved, nb(code('trace()', [out('sshd-2 hello\nmore\n')])), root), []);
  t.equal(compareOutputs(saved, nb(code('trace()', [{ output_type: 'stream', name: 'stderr', text: 'boom' }])), root).length, 1);
});

t.test(`a cell tagged ${LOCAL_TAG} (what this machine kept) is held only to running without an error`, async (t) => {
  const saved = nb(code('lastMatrix()', [out('the last ./lab matrix: 6.1\n'), { output_type: 'display_data', data: { 'text/markdown': '| a |' }, metadata: {} }], [LOCAL_TAG]));
  t.same(compareOutputs(saved, nb(code('lastMatrix()', [out('No matrix kept here yet: run ./lab matrix\n')])), root), [], 'no matrix here: another output, as it should be');
  t.match(compareOutputs(saved, nb(code('lastMatrix()', [{ output_type: 'error', ename: 'Error', evalue: 'boom', traceback: [] }])), root), [/it wrote to error/]);
});

t.test('withOutputs takes the outputs and counts, not the timing metadata, and says where they came from', async (t) => {
  const saved = nb(code('a()', [], ['exercise']), code('b()', []));
  saved.cells[1]!.execution_count = null;
  const ran = nb(
    { ...code('a()', [out('1\n')]), metadata: { execution: { 'iopub.status.busy': '2026-12-07T12:00:00Z' } }, execution_count: 3 },
    { ...code('b()', [out('2\n')]), metadata: { execution: {} }, execution_count: 4 },
  );
  const r = withOutputs(saved, ran, '6.1.0-50-amd64');
  t.same(r.cells[1], { cell_type: 'code', source: 'a()', metadata: { tags: ['exercise'] }, outputs: [out('1\n')], execution_count: 3 });
  t.same(r.cells[2], { cell_type: 'code', source: 'b()', metadata: {}, outputs: [out('2\n')], execution_count: 4 });
  t.same(r.metadata['ebpf-lab'], { outputs: './lab notebook --render, on Linux 6.1.0-50-amd64' });
  t.throws(() => withOutputs(saved, nb(code('other()', []), code('b()', [])), 'x'), /code cell 1 \(a\(\)\) is not the cell that ran/);
});

t.test('every committed notebook carries the outputs of a render on the reference kernel, for every code cell', async (t) => {
  for (const file of notebookFiles()) {
    const nb = JSON.parse(readFileSync(file, 'utf8')) as Notebook;
    const name = path.basename(file);
    t.match(String((nb.metadata['ebpf-lab'] as { outputs?: string } | undefined)?.outputs), new RegExp(`^\\./lab notebook --render, on Linux ${RENDER_KERNEL.replace('.', '\\.')}\\.`), `${name}: rendered on ${RENDER_KERNEL}`);
    const code = nb.cells.filter((c) => c.cell_type === 'code');
    // tslab reports no execution count (the saved cells show [ ]): the outputs are the evidence
    t.ok(code.filter((c) => (c.outputs ?? []).length > 0).length >= code.length / 2, `${name}: most code cells have saved outputs`);
    t.same(code.flatMap((c) => (c.outputs ?? []).filter((o) => o.name === 'stderr' || o.output_type === 'error')).length, 0, `${name}: no saved error`);
  }
});

t.test("no notebook names a lab's answer, in its cells or in its saved outputs", async (t) => {
  // lab 4: the parent pid is task->real_parent->tgid (BPF_CORE_READ, bpftrace's curtask); lab 2: the per-process
  // count in raw instructions (its map, disassembled)
  for (const file of notebookFiles()) t.notMatch(readFileSync(file, 'utf8'), /real_parent|BPF_CORE_READ|curtask|map\[per_pid\]/, path.basename(file));
});
