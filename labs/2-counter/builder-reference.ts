// Lab 2's one-page reference of the instruction builder (`asm.*`), generated from the sources it describes
// (bpf/ts/insn.ts, helpers.ts, attr.ts, map.ts) so that it cannot drift from them: every member of `asm` with
// its parameters as written and the comment above it. What a source no longer says makes this throw rather
// than print something stale. It lists what exists; no example in it solves the lab.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as TS from 'typescript';
import { HELPERS, type HelperName } from '../../bpf/ts/helpers.js';
import { UpdateFlag } from '../../bpf/ts/attr.js';
import { projectRoot } from '../../harness/engine/paths.js';
import { ALLOWED_HELPERS } from './shared.js';

// required when called, not imported: the CLI bundle (./lab's esbuild) would otherwise carry the whole compiler
const loadTs = (): typeof TS => createRequire(import.meta.url)('typescript') as typeof TS;

/** The C prototypes of the lab's helpers (include/uapi/linux/bpf.h): fixed kernel ABI, in no project source. */
const PROTOTYPES: Partial<Record<HelperName, string>> = {
  map_lookup_elem: 'void *bpf_map_lookup_elem(struct bpf_map *map, const void *key)',
  map_update_elem: 'long bpf_map_update_elem(struct bpf_map *map, const void *key, const void *value, u64 flags)',
  map_delete_elem: 'long bpf_map_delete_elem(struct bpf_map *map, const void *key)',
  get_current_pid_tgid: 'u64 bpf_get_current_pid_tgid(void)',
};

/** Helpers tracing programs often call that lab 2's grader refuses: named, so the reader knows they exist. */
const OTHER_TRACING_HELPERS: HelperName[] = ['ktime_get_ns', 'get_current_comm', 'get_current_uid_gid', 'probe_read_kernel', 'probe_read_user_str', 'ringbuf_output', 'perf_event_output'];

/** Bytes per access size: the ISA's, checked against the sizes insn.ts declares. */
const SIZE_BYTES: Record<string, number> = { b: 1, h: 2, w: 4, dw: 8 };

class Source {
  readonly sf: TS.SourceFile;
  constructor(
    readonly ts: typeof TS,
    readonly rel: string,
  ) {
    const text = readFileSync(path.join(projectRoot, rel), 'utf8');
    this.sf = ts.createSourceFile(rel, text, ts.ScriptTarget.Latest, true);
  }

  /** The comments above a node, in order: `//` lines and `/** … *\/` blocks, each as one line of text. */
  comments(node: TS.Node): { block: boolean; text: string }[] {
    const text = this.sf.text;
    return (this.ts.getLeadingCommentRanges(text, node.getFullStart()) ?? []).map((r) => {
      const raw = text.slice(r.pos, r.end);
      const block = raw.startsWith('/**');
      const body = block ? raw.slice(3, -2).replace(/^\s*\*( |$)/gm, '') : raw.replace(/^\/\/\s?/, '');
      return { block, text: oneLine(body) };
    });
  }

  /** The JSDoc right above a node (the last `/** *\/` block), or a thrown error naming what lost it. */
  doc(node: TS.Node, what: string): string {
    const d = this.comments(node).filter((c) => c.block).at(-1);
    if (!d) throw new Error(`builder reference: ${this.rel} has no /** comment */ above ${what}`);
    return d.text;
  }

  /** The top-level statement declaring `name` (const, function, class, type, interface). */
  decl(name: string): TS.Statement {
    const ts = this.ts;
    const found = this.sf.statements.find((s) =>
      ts.isVariableStatement(s)
        ? s.declarationList.declarations.some((d) => ts.isIdentifier(d.name) && d.name.text === name)
        : (ts.isFunctionDeclaration(s) || ts.isClassDeclaration(s) || ts.isTypeAliasDeclaration(s) || ts.isInterfaceDeclaration(s)) && s.name?.text === name,
    );
    if (!found) throw new Error(`builder reference: ${this.rel} no longer declares ${name}`);
    return found;
  }

  /** `(a: T, b = 0)`: a parameter list as written. */
  params(fn: TS.SignatureDeclaration): string {
    return `(${fn.parameters.map((p) => oneLine(p.getText(this.sf))).join(', ')})`;
  }
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();
/** Markdown outside code spans: `*(u64 *)` must not turn into emphasis. */
const md = (s: string): string => s.split(/(`[^`]*`)/).map((part, i) => (i % 2 ? part : part.replace(/\*/g, '\\*'))).join('');
/** A code span, with double backticks when the code has its own (`bpf_${HelperName}`). */
const code = (s: string) => (s.includes('`') ? `\`\` ${s} \`\`` : `\`${s}\``);

interface Member {
  name: string;
  params: string;
  doc?: string;
  group: string;
}

/** Every member of `asm`, in order, with its group (the `//` line above it) and its own JSDoc. */
function asmMembers(insn: Source): Member[] {
  const ts = insn.ts;
  const decl = (insn.decl('asm') as TS.VariableStatement).declarationList.declarations[0]!;
  if (!decl.initializer || !ts.isObjectLiteralExpression(decl.initializer)) throw new Error('builder reference: asm is no longer an object literal');
  let group = '';
  return decl.initializer.properties.map((p) => {
    if (!ts.isPropertyAssignment(p) || !ts.isIdentifier(p.name)) throw new Error(`builder reference: asm member ${p.getText(insn.sf)} is not \`name: value\``);
    const name = p.name.text;
    for (const c of insn.comments(p)) if (!c.block) group = c.text;
    const doc = insn.comments(p).filter((c) => c.block).at(-1)?.text;
    // A member is an arrow function, or a factory's call (alu(…), jump(…)) whose returned arrow takes the operands.
    const v = p.initializer;
    let fn: TS.SignatureDeclaration | undefined;
    if (ts.isArrowFunction(v) || ts.isFunctionExpression(v)) fn = v;
    else if (ts.isCallExpression(v) && ts.isIdentifier(v.expression)) {
      const factory = insn.decl(v.expression.text);
      const find = (n: TS.Node): TS.ArrowFunction | undefined => (ts.isArrowFunction(n) ? n : ts.forEachChild(n, find));
      fn = find(factory);
    }
    if (!fn) throw new Error(`builder reference: cannot tell asm.${name}'s parameters`);
    return { name, params: insn.params(fn), group, ...(doc ? { doc } : {}) };
  });
}

/** The members as list lines under their groups; undocumented neighbours with the same parameters share a line. */
function memberLines(members: Member[]): string[] {
  const out: string[] = [];
  let group: string | undefined;
  let shared: { names: string[]; params: string } | undefined;
  const flush = () => {
    if (shared) out.push(`- ${shared.names.map(code).join(', ')}: ${code(shared.params)}`);
    shared = undefined;
  };
  for (const m of members) {
    if (m.group !== group) {
      flush();
      if (group !== undefined) out.push('');
      out.push(`**${md(m.group)}**`, '');
      group = m.group;
    }
    if (m.doc) {
      flush();
      out.push(`- ${code(m.name + m.params)} — ${md(m.doc)}`);
    } else if (shared && shared.params === m.params) shared.names.push(m.name);
    else {
      flush();
      shared = { names: [m.name], params: m.params };
    }
  }
  flush();
  return out;
}

/** The reference, in Markdown (second-level heading first: it is appended to lab 2's README). */
export function builderReference(): string {
  const ts = loadTs();
  const insn = new Source(ts, 'bpf/ts/insn.ts');
  const helpers = new Source(ts, 'bpf/ts/helpers.ts');
  const attr = new Source(ts, 'bpf/ts/attr.ts');
  const map = new Source(ts, 'bpf/ts/map.ts');
  const typeLine = (src: Source, name: string, extra = '') =>
    `- ${code(`${name} = ${oneLine((src.decl(name) as TS.TypeAliasDeclaration).type.getText(src.sf))}`)} — ${md(src.doc(src.decl(name), name))}${extra}`;
  const method = (cls: string, name: string) => {
    const m = (insn.decl(cls) as TS.ClassDeclaration).members.find((x) => ts.isMethodDeclaration(x) && x.name.getText(insn.sf) === name) as TS.MethodDeclaration | undefined;
    if (!m) throw new Error(`builder reference: ${cls} has no method ${name}`);
    return `- ${code(`.${name}${insn.params(m)}`)} — ${md(insn.doc(m, `${cls}.${name}`))}`;
  };

  // Registers: the exported R0…R10, in order
  const regs = insn.sf.statements
    .filter(ts.isVariableStatement)
    .flatMap((s) => s.declarationList.declarations.map((d) => d.name.getText(insn.sf)))
    .filter((n) => /^R\d+$/.test(n));

  // Sizes: the literals of `type Size`
  const sizeNode = (insn.decl('Size') as TS.TypeAliasDeclaration).type;
  const sizes = (ts.isUnionTypeNode(sizeNode) ? sizeNode.types : [sizeNode]).map((t) => t.getText(insn.sf).replace(/'/g, ''));
  for (const s of sizes) if (!(s in SIZE_BYTES)) throw new Error(`builder reference: unknown size '${s}' in insn.ts`);

  // Update flags: values from attr.ts's UpdateFlag, meanings from BpfMap.update's comment in map.ts
  const updateDoc = (() => {
    const cls = map.sf.statements.find(ts.isClassDeclaration);
    const upd = cls?.members.find((m) => ts.isMethodDeclaration(m) && m.name.getText(map.sf) === 'update');
    if (!upd) throw new Error('builder reference: map.ts has no update() to say what the flags mean');
    return map.doc(upd, 'update()');
  })();
  const flagLines = Object.entries(UpdateFlag).map(([name, value]) => {
    const meaning = new RegExp(`'${name}' ([^,.;]+)`).exec(updateDoc)?.[1];
    if (!meaning) throw new Error(`builder reference: map.ts's update() no longer says what '${name}' does`);
    return `- \`BPF_${name.toUpperCase()}\` = ${value}: ${meaning}`;
  });

  const helperRow = (id: number) => {
    const name = Object.entries(HELPERS).find(([, v]) => v === id)?.[0] as HelperName | undefined;
    const proto = name && PROTOTYPES[name];
    if (!proto) throw new Error(`builder reference: no prototype for allowed helper ${id}`);
    return `| \`${name}\` | ${id} | \`${proto}\` |`;
  };
  const importFrom = /from '([^']*insn\.js)'/.exec(readFileSync(path.join(projectRoot, 'labs/2-counter/starter/counter.ts'), 'utf8'))?.[1];
  if (!importFrom) throw new Error('builder reference: the starter no longer imports insn.js');

  return [
    '## Reference: the instruction builder',
    '',
    `Generated from \`bpf/ts/insn.ts\` (you need not read it). Import what you use: \`import { asm, R0, R1, R10, type Instruction } from '${importFrom}'\`.`,
    '',
    md(insn.doc(insn.decl('asm'), 'asm')),
    '',
    '### Registers',
    '',
    `- ${regs.map(code).join(' ')} (type \`Reg\`) — ${md(insn.doc(insn.decl('Reg'), 'Reg'))}`,
    `- \`R10\`: ${md(insn.doc(insn.decl('R10'), 'R10'))}`,
    '',
    '### Operand types',
    '',
    typeLine(insn, 'Size', ` In bytes: ${sizes.map((s) => `'${s}' ${SIZE_BYTES[s]}`).join(', ')}.`),
    typeLine(insn, 'Target'),
    typeLine(insn, 'MapRef'),
    typeLine(helpers, 'HelperRef'),
    '',
    '### Labels, comments, assembling',
    '',
    md(insn.doc(insn.decl('Instruction'), 'Instruction')),
    method('Instruction', 'label'),
    method('Instruction', 'comment'),
    `- ${code(`assemble${insn.params(insn.decl('assemble') as TS.FunctionDeclaration)}`)} — ${md(insn.doc(insn.decl('assemble'), 'assemble'))} Lab 2's grader calls it for you, with the lab's maps by name.`,
    '',
    'A tiny program (not the lab): return 1 unless r1 is 0.',
    '',
    '```ts',
    '[',
    "  asm.mov(R0, 0),",
    "  asm.jeq(R1, 0, 'out').comment('jump forward to the label'),",
    '  asm.mov(R0, 1),',
    "  asm.exit().label('out'),",
    ']',
    '```',
    '',
    '### Every `asm` member',
    '',
    ...memberLines(asmMembers(insn)),
    '',
    '### Helpers',
    '',
    `\`asm.call(helper)\` takes a \`HelperRef\`. Arguments go in r1–r5, the result comes back in r0. Lab 2's grader loads only a program whose calls are among these:`,
    '',
    '| Helper | id | C prototype |',
    '|---|---|---|',
    ...ALLOWED_HELPERS.map(helperRow),
    '',
    `Tracing programs also often call ${OTHER_TRACING_HELPERS.map((n) => `\`${n}\` (${HELPERS[n]})`).join(', ')}, but this lab refuses them. Every helper's id (0–${Math.max(...Object.values(HELPERS))}) is in \`HELPERS\`, in \`bpf/ts/helpers.ts\`.`,
    '',
    '### Map update flags',
    '',
    `The \`flags\` argument of \`map_update_elem\`. insn.ts has no constant for them: write the number.`,
    '',
    ...flagLines,
  ].join('\n') + '\n';
}
