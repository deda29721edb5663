// A private apt per Debian suite: its own sources list, lists, cache, state and configuration, so that
// fetching a kernel from bullseye or forky never reads or changes the system's apt setup
// (/etc/apt stays untouched and the system's apt.conf.d snippets do not apply).

import { execa } from 'execa';
import { access, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { EnvironmentError } from '../lib/errors.js';

export const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
/**
 * Debian 12's debian-archive-keyring holds the bullseye, bookworm and trixie keys; forky (testing) is
 * signed by the bookworm and trixie archive keys as well (checked with gpgv on 2026-11-21), so every
 * suite verifies against this one file and nothing is marked trusted.
 */
export const DEFAULT_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** One deb822 stanza as apt-cache prints it: field name → value (continuation lines joined by \n). */
export type Stanza = Record<string, string>;

/** Parse `apt-cache show` output (or any deb822 text) into stanzas. */
export function parseStanzas(text: string): Stanza[] {
  const stanzas: Stanza[] = [];
  let current: Stanza = {};
  let last: string | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (Object.keys(current).length) stanzas.push(current);
      current = {};
      last = undefined;
    } else if (/^[ \t]/.test(line)) {
      if (last) current[last] += '\n' + line.trim();
    } else {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      last = line.slice(0, colon);
      current[last] = line.slice(colon + 1).trim();
    }
  }
  if (Object.keys(current).length) stanzas.push(current);
  return stanzas;
}

export interface Dependency {
  name: string;
  /** `=`, `>=`, `<<`, … when the dependency is versioned. */
  relation?: string;
  version?: string;
}

/** `a (= 1), b | c (>= 2)` → [[a], [b, c]]: each inner list is one alternative group. */
export function parseDepends(value: string | undefined): Dependency[][] {
  if (!value) return [];
  return value
    .split(',')
    .map((group) =>
      group
        .split('|')
        .map((alt) => alt.trim())
        .filter(Boolean)
        .map((alt): Dependency => {
          const m = /^([a-z0-9][a-z0-9+.-]*)(?::[a-z0-9-]+)?\s*(?:\(\s*([<>=]+)\s*([^)\s]+)\s*\))?/.exec(alt);
          if (!m) throw new Error(`parse dependency: "${alt}" is not a Debian package relation`);
          return m[2] ? { name: m[1], relation: m[2], version: m[3] } : { name: m[1] };
        }),
    )
    .filter((group) => group.length > 0);
}

/** What is needed to download and check one package. */
export interface PackageRef {
  name: string;
  version: string;
  /** Size of the .deb in bytes, from the archive's Packages index. */
  size: number;
  sha256: string;
}

export function packageRef(stanza: Stanza): PackageRef {
  const { Package: name, Version: version, Size: size, SHA256: sha256 } = stanza;
  if (!name || !version || !size || !sha256) throw new Error(`read package stanza: missing Package/Version/Size/SHA256 in ${JSON.stringify(stanza).slice(0, 200)}`);
  return { name, version, size: Number(size), sha256 };
}

export interface PrivateApt {
  suite: string;
  /** Holds apt.conf, sources.list, lists/, cache/, status. */
  dir: string;
  configFile: string;
  sourcesFile: string;
  mirror: string;
  keyring: string;
}

/**
 * The apt configuration file given through APT_CONFIG. apt reads that file first, so it can point
 * Dir::Etc::parts at an empty directory and Dir::Etc::main at /dev/null: nothing from /etc/apt applies.
 */
export function aptConfText(dir: string, opts: { sandboxAsRoot: boolean }): string {
  const q = (p: string) => JSON.stringify(p);
  const lines = [
    // Dir::Etc itself too: the relative ones (trusted.gpg, auth.conf, …) then resolve in here.
    `Dir::Etc ${q(dir)};`,
    `Dir::Etc::main "/dev/null";`,
    `Dir::Etc::parts ${q(join(dir, 'apt.conf.d'))};`,
    `Dir::Etc::SourceList ${q(join(dir, 'sources.list'))};`,
    `Dir::Etc::SourceParts ${q(join(dir, 'sources.list.d'))};`,
    `Dir::Etc::preferences "/dev/null";`,
    `Dir::Etc::PreferencesParts ${q(join(dir, 'preferences.d'))};`,
    `Dir::Etc::TrustedParts ${q(join(dir, 'trusted.gpg.d'))};`,
    `Dir::State ${q(dir)};`,
    `Dir::State::Lists ${q(join(dir, 'lists'))};`,
    `Dir::State::status ${q(join(dir, 'status'))};`,
    `Dir::Cache ${q(join(dir, 'cache'))};`,
    `Dir::Log ${q(join(dir, 'log'))};`,
    // The kernels are amd64 whatever the host is (QEMU emulates x86-64 anywhere).
    `APT::Architecture "amd64";`,
    `APT::Architectures { "amd64"; };`,
    `Acquire::Languages "none";`,
    // Compressed lists and no source cache: 54 MB per suite instead of 117 MB, apt-cache as fast.
    `Acquire::GzipIndexes "true";`,
    `Dir::Cache::srcpkgcache "";`,
  ];
  // As root, apt drops to the _apt user to download, and _apt cannot write into root's private cache.
  if (opts.sandboxAsRoot) lines.push(`APT::Sandbox::User "root";`);
  return lines.join('\n') + '\n';
}

/** One-line sources.list for a suite's main component, verified with the given keyring. */
export function sourcesListText(suite: string, opts: { mirror: string; keyring: string; checkValidUntil: boolean }): string {
  const options = [`signed-by=${opts.keyring}`];
  if (!opts.checkValidUntil) options.push('check-valid-until=no');
  return `deb [${options.join(' ')}] ${opts.mirror} ${suite} main\n`;
}

function aptEnv(apt: PrivateApt): Record<string, string> {
  // C locale: the error lines we look for are apt's English ones.
  return { APT_CONFIG: apt.configFile, LC_ALL: 'C', LANG: 'C', LANGUAGE: '' };
}

/** Create (or reuse) the private apt tree of a suite under `root`. Nothing is downloaded. */
export async function openPrivateApt(root: string, suite: string, opts: { mirror?: string; keyring?: string } = {}): Promise<PrivateApt> {
  const dir = join(root, suite);
  const apt: PrivateApt = {
    suite,
    dir,
    configFile: join(dir, 'apt.conf'),
    sourcesFile: join(dir, 'sources.list'),
    mirror: opts.mirror ?? process.env.LAB_DEBIAN_MIRROR ?? DEFAULT_MIRROR,
    keyring: opts.keyring ?? process.env.LAB_DEBIAN_KEYRING ?? DEFAULT_KEYRING,
  };
  for (const sub of ['apt.conf.d', 'sources.list.d', 'preferences.d', 'trusted.gpg.d', 'lists/partial', 'cache/archives/partial', 'log']) {
    await mkdir(join(dir, sub), { recursive: true });
  }
  await writeFile(join(dir, 'status'), '', { flag: 'a' });
  await rm(join(dir, 'cache', 'srcpkgcache.bin'), { force: true }); // left by an older configuration
  await writeFile(apt.configFile, aptConfText(dir, { sandboxAsRoot: process.getuid?.() === 0 }));
  return apt;
}

/** True when `apt-get update` already ran for this suite (apt-cache can answer offline). */
export async function listsPresent(apt: PrivateApt): Promise<boolean> {
  const names = await readdir(join(apt.dir, 'lists')).catch(() => [] as string[]);
  return names.some((n) => /_Packages(\.\w+)?$/.test(n));
}

/** `apt-get update` for the suite. A Release file past its Valid-Until is accepted only after a retry, and said so. */
export async function aptUpdate(apt: PrivateApt, onProgress: (line: string) => void = () => {}): Promise<void> {
  try {
    await access(apt.keyring);
  } catch {
    throw new EnvironmentError(`update ${apt.suite} package lists: no Debian archive keyring at ${apt.keyring} (apt-get install debian-archive-keyring, or set LAB_DEBIAN_KEYRING)`);
  }
  let checkValidUntil = true;
  for (;;) {
    await writeFile(apt.sourcesFile, sourcesListText(apt.suite, { mirror: apt.mirror, keyring: apt.keyring, checkValidUntil }));
    onProgress(`updating the ${apt.suite} package lists from ${apt.mirror}`);
    const r = await execa('apt-get', ['-q', 'update'], { env: aptEnv(apt), reject: false, timeout: 5 * 60_000, cleanup: true, all: true });
    const out = r.all ?? '';
    const failed = r.exitCode !== 0 || /^(E:|W: GPG error)/m.test(out);
    if (!failed) return;
    if (/NO_PUBKEY|is not signed/.test(out)) {
      const key = /NO_PUBKEY ([0-9A-F]+)/.exec(out)?.[1] ?? 'unknown';
      throw new EnvironmentError(
        `update ${apt.suite} package lists: ${apt.keyring} does not hold the key ${key} that signs ${apt.suite} (install a newer debian-archive-keyring, e.g. from backports, or point LAB_DEBIAN_KEYRING at a keyring that has it)`,
      );
    }
    // Testing's Release is valid for one week only, and mirrors lag: a forky Release 15 days past its
    // Valid-Until was served here on 2026-11-21. Its signature is still checked; only the date is relaxed.
    if (checkValidUntil && /is expired/.test(out)) {
      onProgress(`the ${apt.suite} Release file on ${apt.mirror} is past its Valid-Until date (a lagging mirror); retrying with its signature checked but its date ignored`);
      checkValidUntil = false;
      continue;
    }
    const reason = out.split('\n').filter((l) => /^(E|W):/.test(l)).join('; ') || r.shortMessage || `exit code ${r.exitCode}`;
    throw new EnvironmentError(`update ${apt.suite} package lists: ${reason} (is ${apt.mirror} reachable? set LAB_DEBIAN_MIRROR to use another mirror)`);
  }
}

/** The candidate stanza of each named package (absent names are missing from the map). Works offline. */
export async function aptShow(apt: PrivateApt, names: string[]): Promise<Map<string, Stanza>> {
  const result = new Map<string, Stanza>();
  if (names.length === 0) return result;
  const r = await execa('apt-cache', ['show', '--no-all-versions', ...names], { env: aptEnv(apt), reject: false, timeout: 60_000, cleanup: true });
  for (const stanza of parseStanzas(r.stdout)) if (stanza.Package && !result.has(stanza.Package)) result.set(stanza.Package, stanza);
  return result;
}

/** A `dlstatus:<item>:<percent>:<text>` line of APT::Status-Fd, or undefined for other lines. */
export function parseDlstatus(line: string): { percent: number; text: string } | undefined {
  const m = /^dlstatus:[^:]*:([0-9.]+):(.*)$/.exec(line.trim());
  return m ? { percent: Number(m[1]), text: m[2] } : undefined;
}

/**
 * `apt-get download name=version…` into `destDir`, reporting apt's own progress (APT::Status-Fd on fd 3)
 * as a percentage of all bytes.
 */
export async function aptDownload(apt: PrivateApt, packages: PackageRef[], destDir: string, onPercent: (percent: number) => void = () => {}): Promise<void> {
  const specs = packages.map((p) => `${p.name}=${p.version}`);
  const child = execa('apt-get', ['-q', '-o', 'APT::Status-Fd=3', 'download', ...specs], {
    cwd: destDir,
    env: aptEnv(apt),
    reject: false,
    timeout: 30 * 60_000,
    cleanup: true,
    all: true,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  const status = child.stdio[3];
  if (status) {
    createInterface({ input: status as NodeJS.ReadableStream }).on('line', (line) => {
      const d = parseDlstatus(line);
      if (d) onPercent(d.percent);
    });
  }
  const r = await child;
  if (r.exitCode !== 0) {
    const reason = String(r.all ?? '').split('\n').filter((l) => /^(E|W):/.test(l)).join('; ') || r.shortMessage;
    throw new EnvironmentError(`download ${specs.join(' ')}: ${reason} (the archive may have moved on: run again to refresh the package lists)`);
  }
}
