// Which of the compared tools are installed here, their versions, and how to install the missing ones.
// Each answer is probed once per process; a missing tool becomes a variant's skip reason, verbatim.

import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

export type ToolName =
  | 'bpftrace'
  | 'python3'
  | 'bcc'
  | 'clang'
  | 'bpftool'
  | 'libbpf'
  | 'upstream-bcc'
  | 'upstream-bpftrace'
  | 'upstream-libbpf-tools'
  | 'cilium-go';

export interface ToolInfo {
  name: ToolName;
  /** What it is: "bpftrace", "BCC's Python module". */
  title: string;
  installed: boolean;
  /** The tool's own version ("0.17.0"), or its Debian package's for scripts without one. */
  version?: string;
  /** The executable, script or module found. */
  path?: string;
  /** The command that installs it: "apt-get install bpftrace". */
  install: string;
  /** Why it counts as missing, with the install command — ready to be a skip reason. */
  reason?: string;
}

/** What detection needs from the machine; tests give canned answers. */
export interface Probe {
  /** Run a command; a command that cannot start gives exitCode undefined, one that ran too long timedOut. */
  run(file: string, args: string[]): Promise<{ exitCode: number | undefined; stdout: string; stderr: string; timedOut?: boolean }>;
  exists(path: string): Promise<boolean>;
  /** The path of an executable on PATH, or undefined. */
  which(command: string): Promise<string | undefined>;
}

// Debian's Python: the one python3-bpfcc installs its module for (PATH may hold a different python3).
export const SYSTEM_PYTHON = '/usr/bin/python3';

type Found = { path: string; version: string } | { missing: string };

interface ToolSpec {
  title: string;
  install: string;
  detect(p: Probe): Promise<Found>;
}

const firstMatch = (re: RegExp, text: string): string | undefined => re.exec(text)?.[1];

/** A command on PATH whose `args` print a version that `re` picks out. */
function versionedCommand(command: string, args: string[], re: RegExp): ToolSpec['detect'] {
  return async (p) => {
    const path = await p.which(command);
    if (!path) return { missing: `${command} is not on PATH` };
    const r = await p.run(path, args);
    const version = firstMatch(re, `${r.stdout}\n${r.stderr}`);
    if (r.exitCode !== 0 || !version) return { missing: `${path} ${args.join(' ')} failed: ${oneLine(r.stderr || r.stdout)}` };
    return { path, version };
  };
}

/**
 * Upstream's tools as a Debian package ships them (each example's variants name their own scripts in it):
 * installed when dpkg says so, versioned by the package.
 */
function debianPackage(pkg: string, dir: string): ToolSpec['detect'] {
  return async (p) => {
    const r = await p.run('dpkg-query', ['-W', '-f=${Status}\t${Version}', pkg]);
    const [status, version] = r.stdout.trim().split('\t');
    if (r.exitCode !== 0 || status !== 'install ok installed' || !version) return { missing: `dpkg says ${pkg} is not installed` };
    return { path: dir, version };
  };
}

/** Where golang-github-cilium-ebpf-dev and golang-golang-x-sys-dev put their sources (bpf/go.mod replaces onto them). */
export const GOCODE = '/usr/share/gocode/src';

export const TOOLS: Record<ToolName, ToolSpec> = {
  bpftrace: {
    title: 'bpftrace',
    install: 'apt-get install bpftrace',
    detect: versionedCommand('bpftrace', ['--version'], /bpftrace v?(\d[^\s]*)/),
  },
  python3: {
    title: "Debian's Python 3",
    install: 'apt-get install python3',
    detect: async (p) => {
      if (!(await p.exists(SYSTEM_PYTHON))) return { missing: `${SYSTEM_PYTHON} does not exist` };
      const r = await p.run(SYSTEM_PYTHON, ['--version']);
      const version = firstMatch(/Python (\S+)/, `${r.stdout}\n${r.stderr}`);
      return version ? { path: SYSTEM_PYTHON, version } : { missing: `${SYSTEM_PYTHON} --version failed: ${oneLine(r.stderr)}` };
    },
  },
  bcc: {
    title: "BCC's Python module",
    install: 'apt-get install python3-bpfcc',
    detect: async (p) => {
      const r = await p.run(SYSTEM_PYTHON, ['-c', 'import bcc; print(bcc.__version__); print(bcc.__file__)']);
      const [version, path] = r.stdout.trim().split('\n');
      if (r.timedOut) return { missing: `${SYSTEM_PYTHON} -c 'import bcc' did not finish within ${Math.round(probeTimeoutMs() / 1000)} s` };
      if (r.exitCode !== 0 || !version || !path) {
        return { missing: `${SYSTEM_PYTHON} cannot import bcc: ${oneLine(lastLine(r.stderr) || 'no output')}` };
      }
      return { path, version };
    },
  },
  clang: {
    title: 'clang',
    install: 'apt-get install clang',
    detect: versionedCommand('clang', ['--version'], /clang version (\S+)/),
  },
  bpftool: {
    title: 'bpftool',
    install: 'apt-get install bpftool',
    detect: versionedCommand('bpftool', ['version'], /bpftool v?(\d[^\s]*)/),
  },
  libbpf: {
    title: 'libbpf (development files)',
    install: 'apt-get install libbpf-dev pkg-config',
    detect: async (p) => {
      const pkgConfig = await p.which('pkg-config');
      if (!pkgConfig) return { missing: 'pkg-config is not on PATH' };
      const r = await p.run(pkgConfig, ['--modversion', 'libbpf']);
      if (r.exitCode !== 0 || !r.stdout.trim()) return { missing: `pkg-config does not know libbpf: ${oneLine(r.stderr)}` };
      const lib = await p.run(pkgConfig, ['--variable=libdir', 'libbpf']);
      return { path: lib.stdout.trim() || pkgConfig, version: r.stdout.trim() };
    },
  },
  'upstream-bcc': {
    title: "BCC's tools (*-bpfcc)",
    install: 'apt-get install bpfcc-tools',
    detect: debianPackage('bpfcc-tools', '/usr/sbin'),
  },
  'upstream-bpftrace': {
    title: "bpftrace's tools (*.bt)",
    install: 'apt-get install bpftrace',
    detect: debianPackage('bpftrace', '/usr/sbin'),
  },
  'upstream-libbpf-tools': {
    title: 'libbpf-tools',
    install: 'apt-get install libbpf-tools',
    detect: debianPackage('libbpf-tools', '/usr/sbin'),
  },
  // What builds the cilium-go variants (the binaries themselves are static and need nothing): Go, and cilium/ebpf
  // with golang.org/x/sys as Debian packages them, since no module proxy is reachable. Versioned "go 1.19.8,
  // cilium/ebpf 0.9.1-1".
  'cilium-go': {
    title: 'Go with cilium/ebpf (Debian packages)',
    install: 'apt-get install golang-go golang-github-cilium-ebpf-dev golang-golang-x-sys-dev',
    detect: async (p) => {
      const go = await versionedCommand('go', ['version'], /go version go(\S+)/)(p);
      if ('missing' in go) return go;
      for (const mod of ['github.com/cilium/ebpf', 'golang.org/x/sys']) {
        if (!(await p.exists(`${GOCODE}/${mod}/go.mod`))) return { missing: `${GOCODE}/${mod}/go.mod does not exist` };
      }
      const r = await p.run('dpkg-query', ['-W', '-f=${Version}', 'golang-github-cilium-ebpf-dev']);
      const cilium = r.exitCode === 0 && r.stdout.trim() ? r.stdout.trim() : 'unknown';
      return { path: go.path, version: `go ${go.version}, cilium/ebpf ${cilium}` };
    },
  },
};

export const TOOL_NAMES = Object.keys(TOOLS) as ToolName[];

const oneLine = (s: string): string => s.trim().replace(/\s+/g, ' ').slice(0, 200);
const lastLine = (s: string): string => s.trim().split('\n').pop() ?? '';

/**
 * How long a probe command may take: 15 s, times the slowdown requirements.ts's slowdownFor() gives the same
 * accelerator (LAB_ACCEL, set by the VM that runs us): under TCG Python's `import bcc` alone takes longer than
 * 15 s, and a timeout there turned BCC into "not installed". A host run waits no longer than before.
 */
export function probeTimeoutMs(accel = process.env.LAB_ACCEL): number {
  return 15_000 * (accel === 'tcg' ? 10 : accel === 'kvm' ? 1.5 : 1);
}

/** The machine itself: execa for commands (no shell, a timeout, never left behind), PATH lookup, access(). */
export const systemProbe: Probe = {
  async run(file, args) {
    const { execa } = await import('execa'); // on first use: ./lab trace of a ts tool never needs it
    const r = await execa(file, args, { reject: false, timeout: probeTimeoutMs(), cleanup: true, stdin: 'ignore' });
    return { exitCode: r.exitCode, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), timedOut: r.timedOut };
  },
  async exists(path) {
    try {
      await access(path, constants.F_OK);
      return true;
    } catch {
      return false;
    }
  },
  async which(command) {
    for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
      const candidate = join(dir, command);
      try {
        await access(candidate, constants.X_OK);
        return candidate;
      } catch {
        // next directory
      }
    }
    return undefined;
  },
};

/** Detect one tool (uncached). */
export async function detectTool(name: ToolName, probe: Probe = systemProbe): Promise<ToolInfo> {
  const spec = TOOLS[name];
  const base = { name, title: spec.title, install: spec.install };
  let found: Found;
  try {
    found = await spec.detect(probe);
  } catch (err) {
    found = { missing: `detection failed: ${(err as Error).message}` };
  }
  if ('missing' in found) {
    return { ...base, installed: false, reason: `${name}: not installed (${found.missing}) — ${spec.install}` };
  }
  return { ...base, installed: true, version: found.version, path: found.path };
}

const cache = new Map<ToolName, Promise<ToolInfo>>();

/** One tool, probed once per process. */
export function tool(name: ToolName): Promise<ToolInfo> {
  let info = cache.get(name);
  if (!info) {
    info = detectTool(name);
    cache.set(name, info);
  }
  return info;
}

/** Every tool, probed in parallel and cached. */
export async function tools(): Promise<Record<ToolName, ToolInfo>> {
  const infos = await Promise.all(TOOL_NAMES.map((n) => tool(n)));
  return Object.fromEntries(infos.map((i) => [i.name, i])) as Record<ToolName, ToolInfo>;
}

/** Forget cached answers (after `./lab setup` installed something). */
export function clearToolCache(): void {
  cache.clear();
}
