// What each tool needs at run time on the target, in bytes on disk: its executable (or interpreter) and the
// shared libraries it loads beyond libc (ldd), plus what the tool reads at start — BCC the kernel headers,
// ts its bundle and koffi's native module. And the lines of code a reader opens for a variant.

import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { release } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { projectRoot } from '../engine/paths.js';
import { SYSTEM_PYTHON } from '../engine/tools.js';
import type { Variant } from '../engine/variant.js';
import type { Footprint } from './types.js';

/** libc's own files: every tool has them, so none is charged for them. */
const LIBC = /\/(libc|libm|libpthread|libdl|librt|libresolv|ld-linux[^/]*)\.so/;

/** Parses ldd's "libx.so.1 => /lib/x86_64-linux-gnu/libx.so.1 (0x...)" lines into paths. */
export function lddPaths(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(0x/.exec(line);
    if (m && !LIBC.test(m[1])) out.push(m[1]);
  }
  return out;
}

/**
 * The files Node loads for koffi: its JavaScript and this platform's native module (a package of its own since
 * koffi 3). Not its folders: they hold its C++ sources too.
 */
export function koffiFiles(): string[] {
  const load = createRequire(import.meta.url);
  load('koffi');
  return Object.keys(load.cache).filter((f) => /\/node_modules\/(koffi|@koromix\/koffi-[^/]+)\//.test(f));
}

async function size(p: string): Promise<number> {
  return (await stat(p).catch(() => undefined))?.size ?? 0;
}

/** Bytes of every file under a directory (symlinks not followed). */
async function treeSize(dir: string): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += await treeSize(p);
    else if (e.isFile()) total += await size(p);
  }
  return total;
}

async function which(cmd: string): Promise<string | undefined> {
  if (cmd.includes('/')) return path.resolve(projectRoot, cmd);
  const r = await execa('sh', ['-c', `command -v "$1"`, 'sh', cmd], { reject: false });
  return r.exitCode === 0 ? String(r.stdout).trim() : undefined;
}

/** An executable and its libraries beyond libc. */
async function binaryParts(file: string): Promise<{ what: string; bytes: number }[]> {
  const real = await realpath(file).catch(() => file);
  const parts = [{ what: path.basename(real), bytes: await size(real) }];
  const r = await execa('ldd', [real], { reject: false });
  for (const lib of lddPaths(String(r.stdout))) parts.push({ what: path.basename(lib), bytes: await size(await realpath(lib).catch(() => lib)) });
  return parts;
}

/** The program a variant's command runs (past env and stdbuf), and the script it is given, if any. */
function program(v: Variant): { exe: string; script?: string } {
  const argv = v.command.filter((a) => !/^[A-Z_]+=/.test(a));
  let i = 0;
  while (argv[i] === 'env' || argv[i] === 'stdbuf' || /^-/.test(argv[i] ?? '')) i++;
  const script = argv.slice(i + 1).find((a) => !a.startsWith('-'));
  return { exe: argv[i], script };
}

const cache = new Map<string, Footprint>();

export async function footprint(v: Variant): Promise<Footprint> {
  const { exe, script } = program(v);
  const key = `${exe} ${v.tool}`;
  const known = cache.get(key);
  if (known) return known;
  const parts: { what: string; bytes: number }[] = [];
  const exePath = await which(exe);
  if (exePath) parts.push(...(await binaryParts(exePath)));
  if (exe === SYSTEM_PYTHON || /python/.test(exe)) {
    // BCC: the Python module, libbcc (it links LLVM and clang), and the kernel headers it compiles against
    const libbcc = (await execa('sh', ['-c', 'ls /usr/lib/x86_64-linux-gnu/libbcc.so.* 2>/dev/null | head -1'], { reject: false })).stdout.trim();
    if (libbcc) parts.push(...(await binaryParts(libbcc)));
    const stdlib = `/usr/lib/python3.${(await execa(SYSTEM_PYTHON, ['-c', 'import sys; print(sys.version_info.minor)'], { reject: false })).stdout.trim()}`;
    parts.push({ what: 'Python standard library', bytes: await treeSize(stdlib) });
    parts.push({ what: `kernel headers (/lib/modules/${release()}/build)`, bytes: await treeSize(await realpath(`/lib/modules/${release()}/build`).catch(() => '/nonexistent')) });
  }
  if (exe === 'node') {
    if (script) parts.push({ what: script, bytes: await size(path.join(projectRoot, script)) });
    let koffi = 0;
    for (const f of koffiFiles()) koffi += await size(f);
    parts.push({ what: 'koffi (its JavaScript and koffi.node)', bytes: koffi });
  }
  // dedupe by name (libLLVM reached through two paths), biggest first
  const unique = [...new Map(parts.filter((p) => p.bytes > 0).map((p) => [p.what, p])).values()].sort((a, b) => b.bytes - a.bytes);
  const f = { bytes: unique.reduce((a, p) => a + p.bytes, 0), parts: unique };
  cache.set(key, f);
  return f;
}

/** Non-blank lines of a variant's own sources; a directory counts its .ts/.c/.h/.py/.bt files, tests excluded. */
export async function linesOfCode(sources: readonly string[]): Promise<number> {
  let n = 0;
  const count = async (p: string): Promise<void> => {
    const s = await stat(p).catch(() => undefined);
    if (!s) return;
    if (s.isDirectory()) {
      for (const e of await readdir(p)) if (/\.(ts|c|h|py|bt)$/.test(e) || !e.includes('.')) await count(path.join(p, e));
      return;
    }
    if (s.size > 2_000_000) return; // a binary, not a source
    const text = await readFile(p, 'utf8');
    if (text.includes('\0')) return;
    n += text.split('\n').filter((l) => l.trim() !== '').length;
  };
  for (const src of sources) await count(path.isAbsolute(src) ? src : path.join(projectRoot, src));
  return n;
}
