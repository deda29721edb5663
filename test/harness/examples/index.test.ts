// The registry and the layering: every example registered once, its variants named after it; the code that
// reads, grades and formats output loads no part of the bpf() layer (no koffi); vm/ uses nothing above it.
import path from 'node:path';
import t from 'tap';
import { build } from 'esbuild';
import { EXAMPLES, VARIANTS, exampleOf, findVariant } from '../../../harness/examples/index.js';
import { formatTraceEvent } from '../../../harness/examples/execsnoop/index.js';
import { projectRoot } from '../../../harness/engine/paths.js';
import { variantName } from '../../../harness/engine/variant.js';

/** The project files a module pulls in, as esbuild resolves its imports (packages left out). */
async function inputsOf(entry: string): Promise<string[]> {
  const r = await build({ entryPoints: [path.join(projectRoot, entry)], bundle: true, write: false, metafile: true, platform: 'node', format: 'esm', packages: 'external', logLevel: 'silent', absWorkingDir: projectRoot });
  return Object.keys(r.metafile.inputs);
}

t.test('every example is registered once, and every variant belongs to one', async (t) => {
  const names = EXAMPLES.map((e) => e.name);
  t.same(names, [...new Set(names)], 'no example twice');
  t.ok(['execsnoop', 'counter', 'hello'].every((n) => names.includes(n)));
  for (const v of VARIANTS) {
    t.equal(exampleOf(v).name, v.example, `${variantName(v)} is its example's`);
    t.equal(findVariant(variantName(v)), v);
  }
  t.equal(new Set(VARIANTS.map(variantName)).size, VARIANTS.length, 'variant names are unique');
});

t.test('reading, grading and formatting output loads nothing of the bpf() layer (no koffi)', async (t) => {
  const inputs = await inputsOf('harness/examples/index.ts');
  t.same(inputs.filter((f) => f.startsWith('bpf/ts/')), [], inputs.filter((f) => f.startsWith('bpf/')).join(', '));
});

t.test('vm/ depends on nothing above it: lib/ and itself only', async (t) => {
  const inputs = await inputsOf('vm/cli.ts');
  t.same(inputs.filter((f) => !f.startsWith('vm/') && !f.startsWith('lib/')), []);
});

t.test("./lab trace's text: the door in its column, an escaped event's arguments as their bytes", async (t) => {
  const base = { pid: 7, ppid: 1, comm: 'x', ret: 0, truncated: false, unreadable: false };
  t.equal(
    formatTraceEvent({ ...base, args: ['/x', 'ok\\xff\\\\é'], escaped: true, syscall: 'execve' }, 'text'),
    "x                7       1         0 execve   /x $'ok\\xff\\\\é'",
    'a byte that is not UTF-8 as \\xHH, a backslash as \\\\, inside $\'…\', as execsnoop.c prints them',
  );
  t.equal(formatTraceEvent({ ...base, args: ['a\\xff'], escaped: false, syscall: 'unknown' }, 'text'), "x                7       1         0 ?        'a\\xff'", 'unmarked: a real backslash');
  t.match(formatTraceEvent({ ...base, args: [], escaped: false, syscall: 'execveat', filename: '/dev/fd/3' }, 'text'), / 0 execveat:\/dev\/fd\/3 $/);
  t.match(JSON.parse(formatTraceEvent({ ...base, args: ['\\xff'], escaped: true, syscall: 'execveat', filename: '/dev/fd/3' }, 'jsonl')), { args: ['\\xff'], escaped: true, syscall: 'execveat', filename: '/dev/fd/3' });
});
