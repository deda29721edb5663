// Debian kernels for the VM target: resolved from the archive at run time (never a hard-coded ABI),
// downloaded with a private apt, unpacked without installing, and cached per kernel with a manifest so
// that a half-written or damaged cache is noticed and fetched again.

import { execa } from 'execa';
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { lstat, mkdir, readFile, readdir, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import { EnvironmentError, UsageError } from '../lib/errors.js';
import { aptDownload, aptShow, aptUpdate, listsPresent, openPrivateApt, packageRef, parseDepends, type PackageRef, type PrivateApt, type Stanza } from './apt.js';
import { cacheDir, withLock } from './cache.js';

export { cacheDir } from './cache.js';

export interface KernelSpec {
  /** Debian version prefix: '5.10' | '6.1' | '6.12' | '7.2'. */
  name: string;
  /** The Debian suite whose linux-image-amd64 gives that kernel. */
  suite: string;
  /** A pinned kernel ('6.1.0-47-amd64'): exactly this linux-image, not the suite's current one. */
  release?: string;
}

export const KERNELS: KernelSpec[] = [
  { name: '5.10', suite: 'bullseye' },
  { name: '6.1', suite: 'bookworm' },
  { name: '6.12', suite: 'trixie' },
  { name: '7.2', suite: 'forky' },
];

/** The generic flavour: the cloud flavour has no 9p, and the VM shares the host's root over 9p. */
export const FLAVOUR = 'amd64';

export interface CachedKernel {
  name: string;
  suite: string;
  /** `uname -r` of the kernel: '6.1.0-50-amd64'. */
  release: string;
  /** The Debian package version: '6.1.176-1'. */
  debianVersion: string;
  /** The cache unit: manifest.json and root/ (the unpacked packages). */
  dir: string;
  /** The compressed kernel (bzImage). */
  vmlinuz: string;
  /** The real directory holding kernel/, modules.dep, … (lib/modules/<kv> or usr/lib/modules/<kv>). */
  modulesDir: string;
  /** The kernel's .config. */
  config?: string;
  /** Bytes on disk, from the manifest. */
  bytes: number;
  headers?: {
    /** What /lib/modules/<kv>/build must resolve to: the arch-specific headers tree. */
    dir: string;
    /** What /lib/modules/<kv>/source resolves to: the common headers tree (Debian splits them). */
    sourceDir?: string;
    /** Top-level directories of the headers packages (usr/src/…, usr/lib/linux-kbuild-…) and where they are cached. */
    paths: { guestPath: string; hostPath: string }[];
    bytes: number;
  };
}

/** Suites that can be named as a kernel beyond those of KERNELS: their current linux-image-amd64. */
export const EXTRA_SUITES = ['bookworm-backports'];

/** The suite of each Debian release's `+debN` kernels (trixie on: '6.12.107+deb13'); +deb12 is bookworm-backports. */
const DEB_SUITES: Record<string, string> = { '12': 'bookworm-backports', '13': 'trixie', '14': 'forky' };

/**
 * A kernel by name: a version prefix of KERNELS ('6.1': the suite's current kernel), a suite ('bookworm-backports'),
 * or an exact Debian kernel ('6.1.0-47', '6.12.107+deb13', with or without '-amd64'): pinned, fetched from the
 * suite that has it as long as the archive still does (it keeps a suite's last ABIs only).
 */
export function kernelSpec(name: string): KernelSpec {
  const spec = KERNELS.find((k) => k.name === name);
  if (spec) return spec;
  if (EXTRA_SUITES.includes(name) || KERNELS.some((k) => k.suite === name)) return { name, suite: name };
  const version = name.replace(new RegExp(`-${FLAVOUR}$`), '');
  const newStyle = /^(\d+\.\d+)\.\d+\+deb(\d+)$/.exec(version);
  const oldStyle = /^(\d+\.\d+)\.\d+-\d+$/.exec(version);
  const suite = newStyle ? DEB_SUITES[newStyle[2]] : oldStyle ? KERNELS.find((k) => k.name === oldStyle[1])?.suite : undefined;
  if (suite) return { name: version, suite, release: `${version}-${FLAVOUR}` };
  throw new UsageError(
    `unknown kernel "${name}" (choose one of ${KERNELS.map((k) => k.name).join(', ')}, a suite (${EXTRA_SUITES.join(', ')}), or an exact Debian kernel such as 6.1.0-47 or 6.12.107+deb13)`,
  );
}

// ---------------------------------------------------------------------------------------------------
// Resolving package names from the archive

export interface ResolvedKernel {
  name: string;
  suite: string;
  release: string;
  debianVersion: string;
  /** Every package that together makes the kernel (image, or binary + modules + base on forky). */
  image: PackageRef[];
  /** linux-headers-<kv> and what it depends on among the kernel's own packages (-common, linux-kbuild-…). */
  headers: PackageRef[];
}

/** Looks package names up in the archive: name → candidate stanza (absent when the archive has none). */
export type PackageLookup = (names: string[]) => Promise<Map<string, Stanza>>;

const IMAGE_PARTS = /^linux-(image|binary|modules|base)-\d/;
const HEADER_PARTS = /^linux-(headers|kbuild|base)-\d/;

/** Follow Depends/Pre-Depends from `start`, keeping only packages whose names match `parts`. */
async function closure(start: string, parts: RegExp, lookup: PackageLookup, what: string): Promise<Stanza[]> {
  const found = new Map<string, Stanza>();
  let frontier = [start];
  while (frontier.length) {
    const stanzas = await lookup(frontier);
    const next: string[] = [];
    for (const name of frontier) {
      const stanza = stanzas.get(name);
      if (!stanza) throw new EnvironmentError(`resolve ${what}: the archive has no package ${name}`);
      found.set(name, stanza);
      for (const group of [...parseDepends(stanza['Pre-Depends']), ...parseDepends(stanza.Depends)]) {
        // A group like "linux-image-X | linux-image-X-unsigned": the first alternative of ours wins.
        const dep = group.find((d) => parts.test(d.name));
        if (dep && !found.has(dep.name) && !next.includes(dep.name) && !frontier.includes(dep.name)) next.push(dep.name);
      }
    }
    frontier = next;
  }
  return [...found.values()];
}

/**
 * linux-image-amd64 → its Depends name the real image `linux-image-<kv>` (and `<kv>` is the release);
 * the image's own Depends bring linux-binary-/linux-modules-/linux-base-<kv> where Debian splits it.
 */
export async function resolveKernel(spec: KernelSpec, lookup: PackageLookup): Promise<ResolvedKernel> {
  if (spec.release) {
    const pinned = `linux-image-${spec.release}`;
    if (!(await lookup([pinned])).get(pinned)) {
      throw new EnvironmentError(`resolve kernel ${spec.name}: ${spec.suite} has no ${pinned} (the archive keeps only a suite's latest kernel ABIs; ./lab vm kernels shows the current one)`);
    }
    const image = await closure(pinned, IMAGE_PARTS, lookup, `kernel ${spec.name}`);
    const headers = await closure(`linux-headers-${spec.release}`, HEADER_PARTS, lookup, `headers for ${spec.release}`);
    return { name: spec.name, suite: spec.suite, release: spec.release, debianVersion: image[0].Version, image: image.map(packageRef), headers: headers.map(packageRef) };
  }
  const metaName = `linux-image-${FLAVOUR}`;
  const meta = (await lookup([metaName])).get(metaName);
  if (!meta) throw new EnvironmentError(`resolve kernel ${spec.name}: ${spec.suite} has no ${metaName} package`);
  const imagePattern = new RegExp(`^linux-image-(\\d\\S*-${FLAVOUR})$`);
  const imageName = parseDepends(meta.Depends)
    .flat()
    .map((d) => d.name)
    .find((n) => imagePattern.test(n));
  if (!imageName) throw new EnvironmentError(`resolve kernel ${spec.name}: ${metaName} ${meta.Version} depends on no linux-image-<release>-${FLAVOUR} (Depends: ${meta.Depends ?? 'none'})`);
  const release = imagePattern.exec(imageName)![1];
  const image = await closure(imageName, IMAGE_PARTS, lookup, `kernel ${spec.name}`);
  const headers = await closure(`linux-headers-${release}`, HEADER_PARTS, lookup, `headers for ${release}`);
  return {
    name: spec.name,
    suite: spec.suite,
    release,
    debianVersion: image[0].Version,
    image: image.map(packageRef),
    headers: headers.map(packageRef),
  };
}

// ---------------------------------------------------------------------------------------------------
// Module order

/**
 * Parse `modprobe --show-depends` output: `insmod /path/mod.ko[.xz] [options]` lines in load order,
 * `builtin name` for modules compiled in. Duplicates (shared dependencies) keep their first place.
 */
export function parseShowDepends(text: string): { insmod: string[]; builtin: string[] } {
  const insmod: string[] = [];
  const builtin: string[] = [];
  for (const line of text.split('\n')) {
    const [verb, arg] = line.trim().split(/\s+/);
    if (verb === 'insmod' && arg && !insmod.includes(arg)) insmod.push(arg);
    else if (verb === 'builtin' && arg && !builtin.includes(arg)) builtin.push(arg);
  }
  return { insmod, builtin };
}

/** Where kmod's tools are, also for a user whose PATH lacks /sbin. */
export async function findTool(name: string): Promise<string> {
  for (const dir of [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/sbin', '/usr/bin', '/bin']) {
    const path = join(dir, name);
    if (await stat(path).then((s) => s.isFile(), () => false)) return path;
  }
  throw new EnvironmentError(`find ${name}: not installed (apt-get install ${name === 'dpkg-deb' ? 'dpkg' : 'kmod'})`);
}

/** The .ko files that load `modules` and their dependencies, in modprobe's order (root-relative paths made absolute). */
export async function moduleLoadOrder(kernel: CachedKernel, modules: string[]): Promise<{ insmod: string[]; builtin: string[] }> {
  const root = join(kernel.dir, 'root');
  const r = await execa(await findTool('modprobe'), ['-d', root, '-S', kernel.release, '--show-depends', '-a', ...modules], { reject: false, timeout: 30_000 });
  if (r.exitCode !== 0) throw new EnvironmentError(`resolve modules ${modules.join(' ')} for ${kernel.release}: ${r.stderr.trim() || r.shortMessage}`);
  return parseShowDepends(r.stdout);
}

// ---------------------------------------------------------------------------------------------------
// Cache units: root/ + manifest.json, written to a temporary directory and renamed into place

export interface ManifestEntry {
  size?: number;
  sha256?: string;
  link?: string;
}

export interface Manifest {
  schema: 1;
  kind: 'kernel' | 'headers' | 'qemu';
  name: string;
  suite: string;
  release: string;
  debianVersion: string;
  packages: PackageRef[];
  createdAt: string;
  bytes: number;
  /** Paths inside root/: for a kernel vmlinuz, modules, config; for headers build, source, top. */
  paths: Record<string, string>;
  files: Record<string, ManifestEntry>;
}

/**
 * SHA-256 of a file, read synchronously: over a headers tree (16 000 small files) this takes 0.3 s,
 * where streams or the promise API took 2–7 s.
 */
function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Every file and symlink under `root` (root-relative paths), files with size and SHA-256. */
async function walk(root: string): Promise<Record<string, ManifestEntry>> {
  const out: Record<string, ManifestEntry> = {};
  const files: string[] = [];
  const visit = (rel: string) => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isSymbolicLink()) out[path] = { link: readlinkSync(join(root, path)) };
      else if (entry.isDirectory()) visit(path);
      else if (entry.isFile()) files.push(path);
    }
  };
  visit('');
  for (const path of files) out[path] = { size: lstatSync(join(root, path)).size, sha256: sha256File(join(root, path)) };
  return out;
}

/** Record every file of `unitDir/root` with its size and hash, and every symlink with its target. */
export async function writeManifest(unitDir: string, meta: Omit<Manifest, 'schema' | 'createdAt' | 'bytes' | 'files'>): Promise<Manifest> {
  const files = await walk(join(unitDir, 'root'));
  const bytes = Object.values(files).reduce((sum, f) => sum + (f.size ?? 0), 0);
  const manifest: Manifest = { schema: 1, ...meta, createdAt: new Date().toISOString(), bytes, files };
  await writeFile(join(unitDir, 'manifest.json'), JSON.stringify(manifest));
  return manifest;
}

export type Verdict = { ok: true; manifest: Manifest } | { ok: false; reason: string };

/**
 * Check a cache unit against its manifest: every file present with its size (and, with `full`, its
 * hash), every symlink with its target. A unit without a readable manifest is incomplete.
 */
export async function verifyUnit(unitDir: string, opts: { full?: boolean } = {}): Promise<Verdict> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(unitDir, 'manifest.json'), 'utf8')) as Manifest;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ENOENT' ? 'no manifest.json (a fetch did not finish)' : `unreadable manifest.json (${(err as Error).message})` };
  }
  if (manifest.schema !== 1 || !manifest.files) return { ok: false, reason: 'manifest.json has an unknown format' };
  const root = join(unitDir, 'root');
  // Synchronous stats on purpose: a headers tree has ~16 000 files, checked in 90 ms this way and in
  // about 3 s through the promise API.
  const toHash: string[] = [];
  for (const [path, want] of Object.entries(manifest.files)) {
    const full = join(root, path);
    let st: Stats;
    try {
      st = lstatSync(full);
    } catch {
      return { ok: false, reason: `${path} is missing` };
    }
    if (want.link !== undefined) {
      if (!st.isSymbolicLink() || readlinkSync(full) !== want.link) return { ok: false, reason: `${path} is not the symlink to ${want.link}` };
      continue;
    }
    if (!st.isFile() || st.size !== want.size) return { ok: false, reason: `${path} has ${st.size} bytes, expected ${want.size}` };
    if (opts.full) toHash.push(path);
  }
  const mismatch = toHash.find((path) => sha256File(join(root, path)) !== manifest.files[path].sha256);
  if (mismatch) return { ok: false, reason: `${mismatch} does not match its SHA-256` };
  return { ok: true, manifest };
}

// ---------------------------------------------------------------------------------------------------
// Fetching

/** Progress lines go here; `transient` lines (download percentages) may be overwritten by the next one. */
export type ProgressFn = (line: string, transient?: boolean) => void;

/** The default progress printer: stderr, one line redrawn in place on a terminal, every 25 % otherwise. */
export function stderrProgress(): ProgressFn {
  let shown = false;
  let lastQuarter = -1;
  return (line, transient) => {
    const tty = process.stderr.isTTY;
    if (transient) {
      if (tty) {
        process.stderr.write(`\r\x1b[Klab: ${line}`);
        shown = true;
        return;
      }
      const quarter = Math.floor(Number(/(\d+)%/.exec(line)?.[1] ?? 0) / 25);
      if (quarter === lastQuarter) return;
      lastQuarter = quarter;
    } else {
      lastQuarter = -1;
    }
    process.stderr.write(`${shown ? '\r\x1b[K' : ''}lab: ${line}\n`);
    shown = false;
  };
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

function kernelsRoot(): string {
  return join(cacheDir(), 'kernels');
}

function aptRoot(): string {
  return join(cacheDir(), 'apt');
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** First existing path among `candidates` (root-relative), or undefined. */
async function firstExisting(root: string, candidates: string[]): Promise<string | undefined> {
  for (const c of candidates) if (await exists(join(root, c))) return c;
  return undefined;
}

/** Resolve a symlink found at `root/linkPath` as it would resolve in an installed system, as a root-relative path. */
async function resolveInRoot(root: string, linkPath: string): Promise<string | undefined> {
  const target = await readlink(join(root, linkPath)).catch(() => undefined);
  if (target === undefined) return undefined;
  const rel = target.startsWith('/') ? posix.normalize(target).slice(1) : posix.normalize(posix.join(posix.dirname(linkPath), target));
  return (await stat(join(root, rel)).then((s) => s.isDirectory(), () => false)) ? rel : undefined;
}

/** Download `packages` with `apt`, check them, unpack them into `unitTmp/root`. */
export async function downloadAndUnpack(apt: PrivateApt, packages: PackageRef[], unitTmp: string, label: string, progress: ProgressFn): Promise<void> {
  const debs = join(unitTmp, 'debs');
  const root = join(unitTmp, 'root');
  await mkdir(debs, { recursive: true });
  await mkdir(root, { recursive: true });
  const total = packages.reduce((sum, p) => sum + p.size, 0);
  progress(`fetching ${label}: ${packages.map((p) => p.name).join(' ')} (${mb(total)})`);
  const started = Date.now();
  let lastPercent = -1;
  await aptDownload(apt, packages, debs, (percent) => {
    const whole = Math.floor(percent);
    if (whole === lastPercent) return;
    lastPercent = whole;
    progress(`fetching ${label}: ${String(whole).padStart(3)}% of ${mb(total)}`, true);
  });
  progress(`fetched ${label}: ${mb(total)} in ${((Date.now() - started) / 1000).toFixed(1)} s; unpacking`);
  const dpkgDeb = await findTool('dpkg-deb');
  const files = await readdir(debs);
  for (const p of packages) {
    const file = files.find((f) => f.startsWith(`${p.name}_`) && f.endsWith('.deb'));
    if (!file) throw new EnvironmentError(`download ${p.name}: apt-get reported success but left no .deb`);
    const path = join(debs, file);
    const size = (await stat(path)).size;
    if (size !== p.size || sha256File(path) !== p.sha256) throw new EnvironmentError(`download ${p.name}: ${file} does not match the archive's size and SHA-256 (run again)`);
    const r = await execa(dpkgDeb, ['-x', path, root], { reject: false, timeout: 10 * 60_000, cleanup: true });
    if (r.exitCode !== 0) throw new EnvironmentError(`unpack ${file}: ${r.stderr.trim() || r.shortMessage} (is the disk full? df -h ${cacheDir()})`);
  }
  await rm(debs, { recursive: true, force: true });
}

/** Move a finished temporary unit into place, replacing an old one. */
async function install(tmp: string, unitDir: string): Promise<void> {
  const old = `${unitDir}.old-${process.pid}`;
  if (await exists(unitDir)) await rename(unitDir, old);
  await rename(tmp, unitDir);
  await rm(old, { recursive: true, force: true });
}

async function newTmp(unitDir: string): Promise<string> {
  // Leftovers of an interrupted fetch: we hold the lock, so nobody else is writing them.
  for (const name of await readdir(dirname(unitDir)).catch(() => [] as string[])) {
    if (name.startsWith(`${basename(unitDir)}.tmp-`) || name.startsWith(`${basename(unitDir)}.old-`)) await rm(join(dirname(unitDir), name), { recursive: true, force: true });
  }
  const tmp = `${unitDir}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`;
  await mkdir(tmp, { recursive: true });
  return tmp;
}

/** Build a cache unit in a temporary directory and move it into place only when `build` finished. */
export async function buildUnit(unitDir: string, build: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = await newTmp(unitDir);
  try {
    await build(tmp);
    await install(tmp, unitDir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

async function fetchKernelUnit(apt: PrivateApt, resolved: ResolvedKernel, unitDir: string, progress: ProgressFn): Promise<void> {
  await buildUnit(unitDir, async (tmp) => {
    await downloadAndUnpack(apt, resolved.image, tmp, `kernel ${resolved.name} (${resolved.release})`, progress);
    const root = join(tmp, 'root');
    const kv = resolved.release;
    const inPackages = resolved.image.map((p) => p.name).join(', ');
    // trixie and later ship modules under usr/lib/modules; depmod -b and modprobe -d look in lib/modules.
    if (!(await exists(join(root, 'lib/modules'))) && (await exists(join(root, 'usr/lib/modules')))) {
      await mkdir(join(root, 'lib'), { recursive: true });
      await symlink('../usr/lib/modules', join(root, 'lib/modules'));
    }
    const modules = await firstExisting(root, [`usr/lib/modules/${kv}`, `lib/modules/${kv}`]);
    if (!modules || !(await exists(join(root, modules, 'kernel')))) throw new EnvironmentError(`unpack kernel ${resolved.name}: no modules directory for ${kv} in ${inPackages}`);
    const vmlinuz = await firstExisting(root, [`boot/vmlinuz-${kv}`, `${modules}/vmlinuz`]);
    if (!vmlinuz) throw new EnvironmentError(`unpack kernel ${resolved.name}: no vmlinuz for ${kv} in ${inPackages}`);
    const config = await firstExisting(root, [`boot/config-${kv}`, `${modules}/config`]);
    const r = await execa(await findTool('depmod'), ['-b', root, kv], { reject: false, timeout: 120_000 });
    if (r.exitCode !== 0) throw new EnvironmentError(`depmod ${kv}: ${r.stderr.trim() || r.shortMessage}`);
    const paths: Record<string, string> = { vmlinuz, modules };
    if (config) paths.config = config;
    await writeManifest(tmp, { kind: 'kernel', name: resolved.name, suite: resolved.suite, release: kv, debianVersion: resolved.debianVersion, packages: resolved.image, paths });
  });
}

async function fetchHeadersUnit(apt: PrivateApt, resolved: ResolvedKernel, unitDir: string, progress: ProgressFn): Promise<void> {
  await buildUnit(unitDir, async (tmp) => {
    await downloadAndUnpack(apt, resolved.headers, tmp, `headers for ${resolved.release}`, progress);
    const root = join(tmp, 'root');
    const kv = resolved.release;
    const linkDir = (await firstExisting(root, [`usr/lib/modules/${kv}`, `lib/modules/${kv}`])) ?? `lib/modules/${kv}`;
    const build = (await resolveInRoot(root, `${linkDir}/build`)) ?? (await firstExisting(root, [`usr/src/linux-headers-${kv}`]));
    if (!build) throw new EnvironmentError(`unpack headers for ${kv}: no build tree (lib/modules/${kv}/build) in ${resolved.headers.map((p) => p.name).join(', ')}`);
    const paths: Record<string, string> = { build };
    const source = await resolveInRoot(root, `${linkDir}/source`);
    if (source) paths.source = source;
    await writeManifest(tmp, { kind: 'headers', name: resolved.name, suite: resolved.suite, release: kv, debianVersion: resolved.debianVersion, packages: resolved.headers, paths });
  });
}

/** Top-level entries a headers package installs under /usr/src and /usr/lib (not modules), for the guest to link. */
async function headerTopPaths(root: string): Promise<{ guestPath: string; hostPath: string }[]> {
  const out: { guestPath: string; hostPath: string }[] = [];
  for (const dir of ['usr/src', 'usr/lib']) {
    for (const name of await readdir(join(root, dir)).catch(() => [] as string[])) {
      if (dir === 'usr/lib' && name === 'modules') continue;
      out.push({ guestPath: `/${dir}/${name}`, hostPath: join(root, dir, name) });
    }
  }
  return out;
}

/**
 * The verified cached kernel (and its headers), or undefined. A unit that fails verification is
 * reported through `progress` and removed, so that the next fetch starts clean.
 */
export async function readCachedKernel(name: string, opts: { progress?: ProgressFn; full?: boolean; keepBroken?: boolean } = {}): Promise<CachedKernel | undefined> {
  const spec = kernelSpec(name);
  const unitDir = join(kernelsRoot(), spec.name);
  if (!(await exists(unitDir))) return undefined;
  const kernel = await verifyUnit(unitDir, { full: opts.full });
  if (!kernel.ok) {
    opts.progress?.(`the cached kernel ${name} is incomplete (${kernel.reason}); it will be fetched again`);
    if (!opts.keepBroken) await rm(unitDir, { recursive: true, force: true });
    return undefined;
  }
  const m = kernel.manifest;
  const root = join(unitDir, 'root');
  // The kernel image is what every boot reads: check its hash every time, it costs milliseconds.
  if (!opts.full && sha256File(join(root, m.paths.vmlinuz)) !== m.files[m.paths.vmlinuz]?.sha256) {
    opts.progress?.(`the cached kernel ${name} is damaged (${m.paths.vmlinuz} does not match its SHA-256); it will be fetched again`);
    if (!opts.keepBroken) await rm(unitDir, { recursive: true, force: true });
    return undefined;
  }
  const cached: CachedKernel = {
    name: spec.name,
    suite: spec.suite,
    release: m.release,
    debianVersion: m.debianVersion,
    dir: unitDir,
    vmlinuz: join(root, m.paths.vmlinuz),
    modulesDir: join(root, m.paths.modules),
    config: m.paths.config ? join(root, m.paths.config) : undefined,
    bytes: m.bytes,
  };
  const headersDir = join(unitDir, 'headers');
  if (await exists(headersDir)) {
    const headers = await verifyUnit(headersDir, { full: opts.full });
    if (headers.ok && headers.manifest.release === m.release) {
      const hroot = join(headersDir, 'root');
      cached.headers = {
        dir: join(hroot, headers.manifest.paths.build),
        sourceDir: headers.manifest.paths.source ? join(hroot, headers.manifest.paths.source) : undefined,
        paths: await headerTopPaths(hroot),
        bytes: headers.manifest.bytes,
      };
    } else {
      opts.progress?.(`the cached headers for ${name} are incomplete (${headers.ok ? 'another release' : headers.reason}); they will be fetched again`);
      if (!opts.keepBroken) await rm(headersDir, { recursive: true, force: true });
    }
  }
  return cached;
}

/** Run `fn` with the suite's private apt, holding the suite's lock (apt refuses concurrent users of one lists dir). */
export async function withApt<T>(suite: string, fn: (apt: PrivateApt) => Promise<T>): Promise<T> {
  return withLock(join(aptRoot(), `${suite}.lock`), async () => fn(await openPrivateApt(aptRoot(), suite)));
}

export interface EnsureKernelOptions {
  /** Also fetch linux-headers-<kv> (+ -common, linux-kbuild-…) so that BCC can compile. */
  headers?: boolean;
  /** Ask the archive for its current kernel even when one is cached; fetch it if it is newer. */
  refresh?: boolean;
  onProgress?: ProgressFn;
}

/** The cached kernel `name`, fetched first when absent or incomplete. A warm cache touches no network. */
export async function ensureKernel(name: string, opts: EnsureKernelOptions = {}): Promise<CachedKernel> {
  const spec = kernelSpec(name);
  const progress = opts.onProgress ?? stderrProgress();
  const satisfied = (k: CachedKernel | undefined): boolean => Boolean(k) && !opts.refresh && (!opts.headers || Boolean(k?.headers));
  // Without the lock a unit may be mid-replacement: read it, but leave any repair to the locked path.
  const warm = await readCachedKernel(name, { keepBroken: true });
  if (warm && satisfied(warm)) return warm;
  const unitDir = join(kernelsRoot(), spec.name);
  await mkdir(kernelsRoot(), { recursive: true });
  return withLock(
    join(kernelsRoot(), `${spec.name}.lock`),
    async () => {
      let cached = await readCachedKernel(name, { progress });
      if (cached && satisfied(cached)) return cached;
      const wantHeaders = Boolean(opts.headers || cached?.headers);
      await withApt(spec.suite, async (apt) => {
        await aptUpdate(apt, progress);
        const resolved = await resolveKernel(spec, (names) => aptShow(apt, names));
        if (!cached || cached.debianVersion !== resolved.debianVersion || cached.release !== resolved.release) {
          if (cached) progress(`the archive moved on: ${spec.suite} now has ${resolved.release} (${resolved.debianVersion}), cached is ${cached.release} (${cached.debianVersion})`);
          await fetchKernelUnit(apt, resolved, unitDir, progress);
          cached = await readCachedKernel(name, { progress });
        }
        if (wantHeaders && !cached?.headers) {
          await fetchHeadersUnit(apt, resolved, join(unitDir, 'headers'), progress);
          cached = await readCachedKernel(name, { progress });
        }
      });
      if (!cached) throw new EnvironmentError(`fetch kernel ${name}: the cache at ${unitDir} did not verify after fetching (is the disk full? df -h ${cacheDir()})`);
      if (wantHeaders && !cached.headers) throw new EnvironmentError(`fetch headers for ${cached.release}: the cache at ${unitDir}/headers did not verify after fetching`);
      return cached;
    },
    { onWait: () => progress(`waiting for another process that is fetching kernel ${name}`) },
  );
}

export interface KernelListing {
  name: string;
  suite: string;
  /** What the archive offers now (from the private package lists). */
  release?: string;
  debianVersion?: string;
  /** Why the archive could not be asked, when it could not. */
  archiveError?: string;
  cached: boolean;
  cachedRelease?: string;
  cachedDebianVersion?: string;
  cachedBytes?: number;
  headers: boolean;
  headersBytes?: number;
  dir?: string;
}

/**
 * Every kernel the lab can fetch, what the archive resolves it to, and what is cached.
 * The package lists are downloaded only when missing or with `refresh`; `offline` never downloads.
 */
export async function listKernels(opts: { refresh?: boolean; offline?: boolean; onProgress?: ProgressFn } = {}): Promise<KernelListing[]> {
  const progress = opts.onProgress ?? stderrProgress();
  const out: KernelListing[] = [];
  for (const spec of KERNELS) {
    const cached = await readCachedKernel(spec.name, { progress, keepBroken: true });
    const row: KernelListing = { name: spec.name, suite: spec.suite, cached: Boolean(cached), headers: Boolean(cached?.headers) };
    if (cached) {
      Object.assign(row, { cachedRelease: cached.release, cachedDebianVersion: cached.debianVersion, cachedBytes: cached.bytes, headersBytes: cached.headers?.bytes, dir: cached.dir });
    }
    try {
      await withApt(spec.suite, async (apt) => {
        if (opts.refresh || (!opts.offline && !(await listsPresent(apt)))) await aptUpdate(apt, progress);
        if (!(await listsPresent(apt))) throw new Error('no package lists yet (run without --offline)');
        const resolved = await resolveKernel(spec, (names) => aptShow(apt, names));
        Object.assign(row, { release: resolved.release, debianVersion: resolved.debianVersion });
      });
    } catch (err) {
      row.archiveError = (err as Error).message;
    }
    out.push(row);
  }
  return out;
}
