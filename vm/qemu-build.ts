// Which QEMU runs a TCG guest. Debian 12's QEMU 7.2 has a multi-threaded TCG race: a block translated
// from guest code keeps running after another vCPU rewrote that code, so a guest kernel patching its own
// text as tracers attach (text_poke's int3, static keys) dies on the int3 or livelocks. QEMU fixed it in
// 8.1 ("accel/tcg: Always lock pages before translation") and finished the fix in 8.2.6, 9.0.2 and 9.1 (a
// block spanning two pages). `./lab vm stress` measured it here (README, "Guests under TCG"): Debian's
// bookworm-backports build of QEMU 10 crashed no guest and ran them faster than 7.2 did, with two vCPUs.
//
// So a TCG guest runs on the system's QEMU when it has the fix, else on bookworm-backports' QEMU,
// unpacked into the cache (never installed: the system's apt setup, libvirt and KVM keep the system's
// QEMU), else on the system's QEMU with one TCG thread for all vCPUs (no race, less speed), saying so.

import { execa } from 'execa';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { EnvironmentError } from '../lib/errors.js';
import { aptShow, aptUpdate, packageRef } from './apt.js';
import { cacheDir, withLock } from './cache.js';
import { buildUnit, downloadAndUnpack, stderrProgress, verifyUnit, withApt, writeManifest, type ProgressFn } from './kernels.js';

/** A QEMU other than the one on PATH: an unpacked Debian build, with its firmware and module folders. */
export interface QemuBuild {
  binary: string;
  dataDirs: string[];
  moduleDir?: string;
  /** "10.0.2 (bookworm-backports)", for reports. */
  label: string;
}

/** How a TCG guest is run: which QEMU, how many host threads for its vCPUs, and why. */
export interface TcgPlan {
  qemu?: QemuBuild;
  thread: 'multi' | 'single';
  why: string;
}

export const BACKPORTS_SUITE = 'bookworm-backports';
const PACKAGES = ['qemu-system-x86', 'qemu-system-common', 'qemu-system-data', 'seabios'];

/** "QEMU emulator version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u18)" → [7, 2, 19]. */
export function parseQemuVersion(text: string): [number, number, number] | undefined {
  const m = /QEMU emulator version (\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

/** Has this QEMU the whole fix of the multi-threaded TCG race: 8.2.6+, 9.0.2+, 9.1 and later? */
export function tcgRaceFixed([major, minor, micro]: [number, number, number]): boolean {
  if (major !== 8 && major !== 9) return major > 9;
  if (major === 8) return minor === 2 && micro >= 6;
  return minor > 0 || micro >= 2;
}

function unitDir(): string {
  return join(cacheDir(), 'qemu', BACKPORTS_SUITE);
}

function buildIn(dir: string, version: string): QemuBuild {
  const root = join(dir, 'root');
  return {
    binary: join(root, 'usr/bin/qemu-system-x86_64'),
    dataDirs: [join(root, 'usr/share/qemu'), join(root, 'usr/share/seabios')],
    moduleDir: join(root, 'usr/lib/x86_64-linux-gnu/qemu'),
    label: `${version} (${BACKPORTS_SUITE})`,
  };
}

/** The cached backports QEMU, checked against its manifest; undefined when absent or damaged. */
async function readCachedQemu(): Promise<QemuBuild | undefined> {
  const v = await verifyUnit(unitDir()).catch(() => undefined);
  return v?.ok ? buildIn(unitDir(), v.manifest.release) : undefined;
}

/** `binary --version` runs: its libraries are all there (the system's QEMU 7.2 brought them). */
async function runs(build: QemuBuild): Promise<string> {
  const r = await execa(build.binary, ['--version'], { reject: false, timeout: 10_000, env: build.moduleDir ? { QEMU_MODULE_DIR: build.moduleDir } : {} });
  if (r.exitCode !== 0) throw new EnvironmentError(`run ${build.binary}: ${String(r.stderr).trim().split('\n')[0] || r.shortMessage}`);
  return String(r.stdout);
}

/** Fetch bookworm-backports' QEMU into the cache (unpacked, not installed); a warm cache touches no network. */
export async function ensureBackportsQemu(progress: ProgressFn = stderrProgress()): Promise<QemuBuild> {
  const warm = await readCachedQemu();
  if (warm) return warm;
  return withLock(join(cacheDir(), 'qemu', `${BACKPORTS_SUITE}.lock`), async () => {
    const cached = await readCachedQemu();
    if (cached) return cached;
    await withApt(BACKPORTS_SUITE, async (apt) => {
      await aptUpdate(apt, progress);
      const stanzas = await aptShow(apt, PACKAGES);
      const missing = PACKAGES.filter((p) => !stanzas.has(p));
      if (missing.length) throw new EnvironmentError(`fetch QEMU: ${BACKPORTS_SUITE} has no ${missing.join(', ')}`);
      const packages = PACKAGES.map((p) => packageRef(stanzas.get(p)!));
      const version = packages[0].version.replace(/^\d+:/, '').replace(/[+~].*$/, '');
      await buildUnit(unitDir(), async (tmp) => {
        await downloadAndUnpack(apt, packages, tmp, `QEMU ${version} (${BACKPORTS_SUITE})`, progress);
        await access(join(tmp, 'root/usr/bin/qemu-system-x86_64'));
        await runs(buildIn(tmp, version));
        await writeManifest(tmp, { kind: 'qemu', name: 'qemu', suite: BACKPORTS_SUITE, release: version, debianVersion: packages[0].version, packages, paths: { binary: 'usr/bin/qemu-system-x86_64' } });
      });
    });
    const build = await readCachedQemu();
    if (!build) throw new EnvironmentError(`fetch QEMU: the cache at ${unitDir()} did not verify after fetching`);
    return build;
  });
}

let planCache: Promise<TcgPlan> | undefined;

/** How this machine runs TCG guests without the race; `systemVersion` is `qemu-system-x86_64 --version`. */
export function tcgPlan(systemVersion: string, progress?: ProgressFn): Promise<TcgPlan> {
  planCache ??= (async (): Promise<TcgPlan> => {
    const v = parseQemuVersion(systemVersion);
    const sys = v?.join('.') ?? 'of unknown version';
    if (v && tcgRaceFixed(v)) return { thread: 'multi', why: `the system's QEMU ${sys} has the multi-threaded TCG fix` };
    try {
      const qemu = await ensureBackportsQemu(progress);
      return { qemu, thread: 'multi', why: `the system's QEMU ${sys} has the multi-threaded TCG race: TCG guests run on QEMU ${qemu.label}` };
    } catch (err) {
      if (!(err instanceof EnvironmentError)) throw err;
      progress?.(`no newer QEMU (${err.message}): TCG guests run on one host thread`);
    }
    return { thread: 'single', why: `the system's QEMU ${sys} has the multi-threaded TCG race: one TCG thread for all vCPUs` };
  })();
  planCache.catch(() => (planCache = undefined));
  return planCache;
}
