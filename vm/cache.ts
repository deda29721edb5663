// Where the VM target keeps what it downloads and builds, and how two processes share it safely.
// Kernels are hundreds of megabytes: they live in the user's cache, never inside the project.

import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** $LAB_CACHE_DIR, else $XDG_CACHE_HOME/ebpf-lab, else ~/.cache/ebpf-lab. */
export function cacheDir(): string {
  if (process.env.LAB_CACHE_DIR) return process.env.LAB_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'ebpf-lab');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Run `fn` while holding a lock directory (mkdir is atomic). Test files run in parallel and may all ask
 * for the same kernel; apt itself refuses a second user of the same lists instead of waiting.
 * A lock left by a dead process is taken over.
 */
export async function withLock<T>(lockDir: string, fn: () => Promise<T>, opts: { waitMs?: number; onWait?: () => void } = {}): Promise<T> {
  const deadline = Date.now() + (opts.waitMs ?? 15 * 60_000);
  const ownerFile = join(lockDir, 'pid');
  let announced = false;
  for (;;) {
    try {
      await mkdir(lockDir, { recursive: false });
      await writeFile(ownerFile, String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        await mkdir(join(lockDir, '..'), { recursive: true });
        continue;
      }
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number((await readFile(ownerFile, 'utf8').catch(() => '')).trim());
      // No pid yet: the owner is between mkdir and writeFile (or died there, if that was long ago).
      const ageMs = Date.now() - ((await stat(lockDir).catch(() => undefined))?.mtimeMs ?? Date.now());
      if ((owner > 0 && !processAlive(owner)) || (!owner && ageMs > 10_000)) {
        await rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`lock ${lockDir}: still held by pid ${owner || 'unknown'}`);
      if (!announced) {
        announced = true;
        opts.onWait?.();
      }
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}
