import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import * as attr from '../../../bpf/ts/attr.js';
import { C_CONSTANTS, encodeAttr, filled, layoutEnd, MapCreateAttr, MapElemAttr, PerfEventAttr, ProgInfo, ProgLoadAttr, readField, type Layout } from '../../../bpf/ts/attr.js';
import { fakeSyscalls } from '../../lib/fake-syscalls.js';

const layouts = Object.entries(attr).filter(
  (entry): entry is [string, Layout] => typeof entry[1] === 'object' && entry[1] !== null && 'cType' in entry[1] && 'fields' in entry[1],
);

t.test('an attribute is zero-filled and ends with the last field given', async (t) => {
  const a = encodeAttr(MapCreateAttr, { map_type: 2, key_size: 4, value_size: 8, max_entries: 1 });
  t.equal(a.length, 16, 'offsetofend(max_entries) = 16');
  t.equal(a.toString('hex'), '02000000' + '04000000' + '08000000' + '01000000');
  const named = encodeAttr(MapCreateAttr, { map_type: 2, map_name: 'counts' });
  t.equal(named.length, 44, 'offsetofend(map_name) = 28 + 16');
  t.equal(named.subarray(28, 44).toString('latin1'), 'counts' + '\0'.repeat(10));
  t.equal(named.subarray(4, 28).toString('hex'), '00'.repeat(24), 'fields not given stay zero');
});

t.test('a zero given explicitly still counts as used, so a field the kernel writes back fits', async (t) => {
  const a = encodeAttr(attr.ProgTestRunAttr, { prog_fd: 3, duration: 0 });
  t.equal(a.length, 40);
});

t.test('a Buffer given to a pointer field puts its address there and is kept alive with the attribute', async (t) => {
  const fake = fakeSyscalls(t);
  const key = Buffer.from([1, 0, 0, 0]);
  const a = encodeAttr(MapElemAttr, { map_fd: 7, key });
  t.equal(a.length, 16);
  t.equal(fake.at(a.readBigUInt64LE(8)), key);
  t.same(a.keep, [key]);
  const nul = encodeAttr(MapElemAttr, { map_fd: 7, key: null, next_key: Buffer.alloc(4) });
  t.equal(nul.readBigUInt64LE(8), 0n, 'null is a NULL pointer');
});

t.test('a name that leaves no room for its NUL is refused', async (t) => {
  t.throws(() => encodeAttr(ProgLoadAttr, { prog_name: 'x'.repeat(16) }), /do not fit in 15/);
  t.doesNotThrow(() => encodeAttr(ProgLoadAttr, { prog_name: 'x'.repeat(15) }));
});

t.test('perf_event_attr is never shorter than PERF_ATTR_SIZE_VER0 and sets named bits', async (t) => {
  const a = encodeAttr(PerfEventAttr, { type: 2, config: 862 });
  t.equal(a.length, 64);
  const b = encodeAttr(PerfEventAttr, { type: 1, flags: { disabled: true, watermark: true }, probe_offset: 0 });
  t.equal(b.length, 72);
  t.equal(b.readBigUInt64LE(40), (1n << 0n) | (1n << 14n));
  t.throws(() => encodeAttr(PerfEventAttr, { flags: { pinned: true } }), /no bitfield pinned/);
});

t.test('an info field counts as filled only when the kernel wrote that far', async (t) => {
  t.ok(filled(ProgInfo, 'name', 80));
  t.notOk(filled(ProgInfo, 'verified_insns', 216));
  t.equal(layoutEnd(ProgInfo), 220);
  const buf = Buffer.alloc(220);
  buf.write('abc', 64);
  t.equal(attr.cString(readField(ProgInfo, buf, 'name') as Buffer), 'abc');
});

t.test('every offset, size, bit and number matches <linux/bpf.h> and <linux/perf_event.h>', async (t) => {
  const cc = await execa('cc', ['--version'], { reject: false, timeout: 10_000 });
  if (cc.exitCode !== 0) return t.plan(0, 'no C compiler: install gcc and linux-libc-dev');
  const dir = mkdtempSync(join(tmpdir(), 'attr-check-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  for (const [name, l] of layouts) {
    for (const [field, f] of Object.entries(l.fields)) {
      const member = `${l.cPrefix}${field}`;
      if (f.type === 'bits') {
        for (const bit of Object.keys(f.bits ?? {})) {
          lines.push(
            `{ ${l.cType} a; uint64_t w; memset(&a, 0, sizeof a); a.${member === 'flags' ? '' : l.cPrefix}${bit} = 1; memcpy(&w, (char *)&a + ${f.offset}, 8);` +
              ` printf("bit ${name} ${bit} %llu\\n", (unsigned long long)w); }`,
          );
        }
        continue;
      }
      lines.push(`printf("field ${name} ${field} %zu %zu\\n", offsetof(${l.cType}, ${member}), sizeof(((${l.cType} *)0)->${member}));`);
    }
  }
  for (const c of Object.keys(C_CONSTANTS)) lines.push(`printf("const ${c} %llu\\n", (unsigned long long)(${c}));`);
  const source = [
    '#include <stdio.h>',
    '#include <stddef.h>',
    '#include <stdint.h>',
    '#include <string.h>',
    '#include <linux/bpf.h>',
    '#include <linux/perf_event.h>',
    'int main(void) {',
    ...lines.map((l) => `  ${l}`),
    '  return 0;',
    '}',
  ].join('\n');
  writeFileSync(join(dir, 'check.c'), source);
  const build = await execa('cc', ['-o', join(dir, 'check'), join(dir, 'check.c')], { reject: false, timeout: 30_000 });
  if (/linux\/(bpf|perf_event)\.h: No such file/.test(build.stderr)) return t.plan(0, 'no kernel UAPI headers: install gcc and linux-libc-dev');
  t.equal(build.exitCode, 0, `the generated C compiles\n${build.stderr}`);
  if (build.exitCode !== 0) return;
  const run = await execa(join(dir, 'check'), [], { reject: false, timeout: 10_000 });
  let checked = 0;
  for (const line of run.stdout.split('\n').filter(Boolean)) {
    const [kind, a, b, x, y] = line.split(' ');
    if (kind === 'field') {
      const f = layouts.find(([n]) => n === a)![1].fields[b!]!;
      t.same([f.offset, f.size], [Number(x), Number(y)], `${a}.${b}: offset ${x}, size ${y}`);
    } else if (kind === 'bit') {
      const f = layouts.find(([n]) => n === a)![1].fields.flags!;
      t.equal(1n << BigInt(f.bits![b!]!), BigInt(x!), `${a} bit ${b}`);
    } else {
      t.equal(C_CONSTANTS[a!], Number(b), `${a} = ${b}`);
    }
    checked++;
  }
  t.equal(checked, lines.length, 'every line printed');
});
