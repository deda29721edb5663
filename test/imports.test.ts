// The project's import graph: no two source files import each other, directly or around a loop (a cycle
// makes load order matter and hides which module is the lower layer). Imports are read with TypeScript's
// own preprocessor (type-only ones and `import('…')` types included).
import t from 'tap';
import { execaSync } from 'execa';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { projectRoot } from '../harness/engine/paths.js';
import { EXAMPLES } from '../harness/examples/index.js';

/** Each source file (not tests, not notebooks) → the project files it imports. */
function importGraph(): Map<string, string[]> {
  const files = execaSync('git', ['ls-files', '*.ts'], { cwd: projectRoot }).stdout.split('\n')
    .filter((f) => f && !f.startsWith('test/') && !f.startsWith('notebooks/') && !f.endsWith('.d.ts'));
  const known = new Set(files);
  return new Map(files.map((f) => {
    const specs = ts.preProcessFile(readFileSync(path.join(projectRoot, f), 'utf8'), true, true).importedFiles.map((i) => i.fileName);
    const local = specs.filter((s) => s.startsWith('.')).map((s) => path.normalize(path.join(path.dirname(f), s)).replace(/\.js$/, '.ts'));
    return [f, local.filter((d) => known.has(d))];
  }));
}

/** The graph's cycles: each strongly connected set of more than one file (Tarjan), or a file importing itself. */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const set: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      set.push(w);
    } while (w !== v);
    if (set.length > 1 || graph.get(v)?.includes(v)) found.push(set.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

t.test('the cycle finder finds a loop, a self-import, and nothing in a tree', async (t) => {
  t.same(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]])), [['a', 'b', 'c']]);
  t.same(cycles(new Map([['a', ['a']]])), [['a']]);
  t.same(cycles(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]])), []);
});

t.test('no source file imports itself around a loop', async (t) => {
  const graph = importGraph();
  t.ok(graph.size > 100, `${graph.size} files read`);
  t.ok(graph.get('harness/grade/tracer-lab.ts')?.includes('harness/grade/lab.ts'), 'imports are resolved (tracer-lab.ts → lab.ts)');
  t.same(cycles(graph), []);
});

/** The layers, bottom up: a file may import from its own layer and those below it, never from one above. */
const LAYERS: [string, RegExp][] = [
  ['base', /^(lib|vm|bpf)\//],
  ['engine', /^harness\/engine\//],
  ['examples', /^harness\/examples\//],
  ['bench', /^harness\/bench\//],
  ['grade', /^harness\/grade\//],
  ['labs', /^labs\//],
  ['commands', /^harness\/commands\//],
  ['notebook', /^harness\/notebook\//],
];
// bench and grade are siblings: neither imports the other; labs use grade; commands hand labs to the grader
const SIBLINGS = new Set(['bench>grade', 'grade>bench', 'bench>labs']);
const layerOf = (f: string) => LAYERS.findIndex(([, re]) => re.test(f));

t.test('every source file is in a layer, and imports only from its own layer or one below', async (t) => {
  const graph = importGraph();
  const unplaced = [...graph.keys()].filter((f) => layerOf(f) < 0);
  t.same(unplaced, [], 'no file outside the layers');
  const upward: string[] = [];
  for (const [f, deps] of graph) {
    for (const d of deps) {
      const [a, b] = [layerOf(f), layerOf(d)];
      if (b > a || SIBLINGS.has(`${LAYERS[a]![0]}>${LAYERS[b]![0]}`)) upward.push(`${f} → ${d}`);
    }
  }
  t.same(upward, [], 'no import reaches up (or across, between bench and grade)');
  t.ok(graph.get('harness/commands/grade.ts')?.includes('labs/index.ts'), 'the labs are handed to the grader by the command');
});

t.test('no engine file names an example: not in an import, not in a string', async (t) => {
  const graph = importGraph();
  const examples = EXAMPLES.map((e) => e.name);
  t.ok(examples.includes('execsnoop') && examples.includes('opensnoop'), `examples: ${examples.join(', ')}`);
  const named: string[] = [];
  for (const f of [...graph.keys()].filter((x) => x.startsWith('harness/engine/'))) {
    const source = ts.createSourceFile(f, readFileSync(path.join(projectRoot, f), 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isStringLiteralLike(node) || ts.isTemplateLiteralToken(node)) {
        for (const e of examples) if (new RegExp(`\\b${e}\\b`).test(node.text)) named.push(`${f}: ${JSON.stringify(node.text)}`);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
    for (const d of graph.get(f) ?? []) if (d.startsWith('harness/examples/')) named.push(`${f} imports ${d}`);
  }
  t.same(named, []);
});
