// Lab 2's builder reference, generated from bpf/ts/insn.ts: it names every member of the real `asm` with its
// parameters, the registers and the update flags, fits on a page, and its example runs but does not solve the lab.

import t from 'tap';
import { asm, assemble, R0, R1 } from '../../bpf/ts/insn.js';
import { builderReference } from '../../labs/2-counter/builder-reference.js';

const ref = builderReference();
const lines = ref.split('\n');
const codeBlocks = [...ref.matchAll(/```\w*\n([\s\S]*?)```/g)].map((m) => m[1]!);

t.test('every member of asm, in the order insn.ts gives them, with its parameters', async (t) => {
  let lastLine = -1;
  for (const [name, fn] of Object.entries(asm)) {
    // The parameter names as the running code has them (not as the generator read them): `(dst, src) =>`.
    const names = /^\(([^)]*)\)/.exec(String(fn))![1]!.split(',').map((p) => p.split('=')[0]!.trim()).filter(Boolean);
    const at = lines.findIndex((l) => l.startsWith('- ') && (l.includes(`\`${name}(`) || l.includes(`\`${name}\``)));
    t.ok(at >= 0, `asm.${name} is listed`);
    const params = /`\(([^`]*)\)`|`\w+\(([^`]*)\)`/.exec(lines[at] ?? '');
    const written = params?.[1] ?? params?.[2] ?? '';
    t.same(written.split(/, (?=\w+ ?[:=?])/).filter(Boolean).map((p) => p.split(/[:=?]/)[0]!.trim()), names, `asm.${name}'s parameters`);
    t.ok(at >= lastLine, `asm.${name} in order`);
    lastLine = at;
  }
  t.ok(ref.includes('`ldx(size: Size, dst: Reg, src: Reg, off: number)` — dst = \\*(size \\*)(src + off)'), 'types and comments as written');
  t.ok(ref.includes('`ldMapValue(dst: Reg, map: MapRef, offset = 0)`'), 'defaults as written');
  t.ok(ref.includes('**Calls and jumps**'), "insn.ts's groups");
});

t.test('registers, sizes, labels, helpers and the update flags', async (t) => {
  t.match(ref, /`R10`: The read-only frame pointer/);
  t.match(ref, /r0: return value; r1–r5: arguments; r6–r9: callee-saved; r10: frame pointer/);
  t.match(ref, /'b' 1, 'h' 2, 'w' 4, 'dw' 8/);
  t.match(ref, /`\.label\(name: string\)`/);
  for (const [flag, value] of [['BPF_ANY', 0], ['BPF_NOEXIST', 1], ['BPF_EXIST', 2]] as const) t.match(ref, new RegExp(`\`${flag}\` = ${value}:`));
  for (const [helper, id] of [['map_lookup_elem', 1], ['map_update_elem', 2], ['get_current_pid_tgid', 14]] as const) t.match(ref, new RegExp(`\\| \`${helper}\` \\| ${id} \\|`));
});

t.test('one page, and an example that assembles but is not the lab', async (t) => {
  t.ok(lines.length < 150, `${lines.length} lines`);
  t.ok(codeBlocks.length > 0);
  for (const block of codeBlocks) {
    t.notOk(/atomicAdd\(/.test(block) && /NOEXIST|map_update_elem/.test(block), 'no code block both inserts and adds atomically');
    t.notOk(/get_current_pid_tgid/.test(block), 'no code block reads the process id');
    // The example is real code: it builds and assembles with what the reference says to import.
    const prog = new Function('asm', 'R0', 'R1', `return ${block}`)(asm, R0, R1);
    t.equal(assemble(prog).slots, prog.length);
  }
});
