import t from 'tap';
import { koffiFiles, lddPaths, linesOfCode } from '../../../harness/bench/footprint.js';

t.test("ldd's output gives the libraries beyond libc", async (t) => {
  const out = [
    '\tlinux-vdso.so.1 (0x00007ffd3f9f0000)',
    '\tlibbpf.so.1 => /lib/x86_64-linux-gnu/libbpf.so.1 (0x00007f1c1c5a0000)',
    '\tlibelf.so.1 => /lib/x86_64-linux-gnu/libelf.so.1 (0x00007f1c1c580000)',
    '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f1c1c39f000)',
    '\tlibm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x00007f1c1c2c0000)',
    '\t/lib64/ld-linux-x86-64.so.2 (0x00007f1c1c620000)',
  ].join('\n');
  t.same(lddPaths(out), ['/lib/x86_64-linux-gnu/libbpf.so.1', '/lib/x86_64-linux-gnu/libelf.so.1']);
  t.same(lddPaths('\tnot a dynamic executable'), [], 'a static binary needs nothing more');
});

t.test('lines of code count non-blank lines of the files a variant names, directories included', async (t) => {
  const dir = t.testdir({ 'a.bt': 'one\n\n  \ntwo\n', lib: { 'x.ts': 'a\nb\nc\n', 'notes.md': 'not code\n' } });
  t.equal(await linesOfCode([`${dir}/a.bt`]), 2);
  t.equal(await linesOfCode([`${dir}/a.bt`, `${dir}/lib`]), 5);
  t.equal(await linesOfCode([`${dir}/missing.c`]), 0);
});

t.test("koffi's footprint is the files Node loads for it: its JavaScript and koffi.node, not its C++ sources", async (t) => {
  const files = koffiFiles();
  t.ok(files.some((f) => f.endsWith('/koffi.node')), 'the native module');
  t.ok(files.some((f) => /\/node_modules\/koffi\/.*\.cjs$/.test(f)), 'its JavaScript');
  t.same(files.filter((f) => !/\.(c?js|node)$/.test(f)), [], 'nothing else');
});
