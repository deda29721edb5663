import t from 'tap';
import { detectTool, probeTimeoutMs, tool, TOOL_NAMES, TOOLS, tools, type Probe } from '../../harness/engine/tools.js';
import { slowdownFor } from '../../harness/engine/requirements.js';

/** A machine described by its answers: commands → output, files that exist, executables on PATH. */
function machine(opts: { outputs?: Record<string, { exitCode?: number; stdout?: string; stderr?: string }>; files?: string[]; path?: Record<string, string> }): Probe {
  return {
    async run(file, args) {
      const out = opts.outputs?.[[file, ...args].join(' ')];
      if (!out) return { exitCode: undefined, stdout: '', stderr: `spawn ${file} ENOENT` };
      return { exitCode: out.exitCode ?? 0, stdout: out.stdout ?? '', stderr: out.stderr ?? '' };
    },
    exists: async (p) => opts.files?.includes(p) ?? false,
    which: async (c) => opts.path?.[c],
  };
}

const debian = machine({
  path: { bpftrace: '/usr/bin/bpftrace', clang: '/usr/bin/clang', bpftool: '/usr/sbin/bpftool', 'pkg-config': '/usr/bin/pkg-config', go: '/usr/bin/go' },
  files: ['/usr/bin/python3', '/usr/sbin/execsnoop-bpfcc', '/usr/sbin/execsnoop.bt', '/usr/sbin/execsnoop', '/usr/share/gocode/src/github.com/cilium/ebpf/go.mod', '/usr/share/gocode/src/golang.org/x/sys/go.mod'],
  outputs: {
    '/usr/bin/bpftrace --version': { stdout: 'bpftrace v0.17.0\n' },
    '/usr/bin/clang --version': { stdout: 'Debian clang version 14.0.6\nTarget: x86_64-pc-linux-gnu\n' },
    '/usr/sbin/bpftool version': { stdout: 'bpftool v7.1.0\nusing libbpf v1.1\nfeatures: libbpf_strict\n' },
    '/usr/bin/pkg-config --modversion libbpf': { stdout: '1.1.2\n' },
    '/usr/bin/pkg-config --variable=libdir libbpf': { stdout: '/usr/lib/x86_64-linux-gnu\n' },
    '/usr/bin/python3 --version': { stdout: 'Python 3.11.2\n' },
    '/usr/bin/python3 -c import bcc; print(bcc.__version__); print(bcc.__file__)': { stdout: '0.26.0\n/usr/lib/python3/dist-packages/bcc/__init__.py\n' },
    'dpkg-query -W -f=${Status}\t${Version} bpfcc-tools': { stdout: 'install ok installed\t0.26.0+ds-1' },
    'dpkg-query -W -f=${Status}\t${Version} bpftrace': { stdout: 'install ok installed\t0.17.0-1' },
    'dpkg-query -W -f=${Status}\t${Version} libbpf-tools': { stdout: 'install ok installed\t0.26.0+ds-1' },
    '/usr/bin/go version': { stdout: 'go version go1.19.8 linux/amd64\n' },
    'dpkg-query -W -f=${Version} golang-github-cilium-ebpf-dev': { stdout: '0.9.1-1' },
  },
});

t.test('each tool\'s version is read from its own output, or its package for upstream scripts', async (t) => {
  const found = Object.fromEntries(await Promise.all(TOOL_NAMES.map(async (n) => [n, await detectTool(n, debian)] as const)));
  t.same(
    Object.fromEntries(Object.entries(found).map(([n, i]) => [n, i.version])),
    {
      bpftrace: '0.17.0',
      python3: '3.11.2',
      bcc: '0.26.0',
      clang: '14.0.6',
      bpftool: '7.1.0',
      libbpf: '1.1.2',
      'upstream-bcc': '0.26.0+ds-1',
      'upstream-bpftrace': '0.17.0-1',
      'upstream-libbpf-tools': '0.26.0+ds-1',
      'cilium-go': 'go 1.19.8, cilium/ebpf 0.9.1-1',
    },
  );
  t.equal(found.bcc!.path, '/usr/lib/python3/dist-packages/bcc/__init__.py');
  t.ok(Object.values(found).every((i) => i.installed && !i.reason));
});

t.test('a missing tool says so and how to install it', async (t) => {
  const bare = machine({});
  t.same(await detectTool('bpftrace', bare), {
    name: 'bpftrace',
    title: 'bpftrace',
    install: 'apt-get install bpftrace',
    installed: false,
    reason: 'bpftrace: not installed (bpftrace is not on PATH) — apt-get install bpftrace',
  });
  t.equal((await detectTool('upstream-bcc', bare)).reason, 'upstream-bcc: not installed (dpkg says bpfcc-tools is not installed) — apt-get install bpfcc-tools');
  const removed = machine({ outputs: { 'dpkg-query -W -f=${Status}\t${Version} libbpf-tools': { stdout: 'deinstall ok config-files\t0.26.0+ds-1' } } });
  t.equal((await detectTool('upstream-libbpf-tools', removed)).reason, 'upstream-libbpf-tools: not installed (dpkg says libbpf-tools is not installed) — apt-get install libbpf-tools');
  t.equal((await detectTool('libbpf', bare)).reason, 'libbpf: not installed (pkg-config is not on PATH) — apt-get install libbpf-dev pkg-config');
  t.equal(
    (await detectTool('cilium-go', bare)).reason,
    'cilium-go: not installed (go is not on PATH) — apt-get install golang-go golang-github-cilium-ebpf-dev golang-golang-x-sys-dev',
  );
});

t.test('Go without Debian\'s cilium/ebpf sources is no Go front end: nothing to build against offline', async (t) => {
  const goOnly = machine({ path: { go: '/usr/bin/go' }, outputs: { '/usr/bin/go version': { stdout: 'go version go1.19.8 linux/amd64\n' } } });
  t.equal(
    (await detectTool('cilium-go', goOnly)).reason,
    'cilium-go: not installed (/usr/share/gocode/src/github.com/cilium/ebpf/go.mod does not exist) — apt-get install golang-go golang-github-cilium-ebpf-dev golang-golang-x-sys-dev',
  );
});

t.test('a Python without the bcc module gives Python\'s own last words', async (t) => {
  const noBcc = machine({
    outputs: {
      '/usr/bin/python3 -c import bcc; print(bcc.__version__); print(bcc.__file__)': {
        exitCode: 1,
        stderr: 'Traceback (most recent call last):\n  File "<string>", line 1, in <module>\nModuleNotFoundError: No module named \'bcc\'\n',
      },
    },
  });
  t.equal((await detectTool('bcc', noBcc)).reason, "bcc: not installed (/usr/bin/python3 cannot import bcc: ModuleNotFoundError: No module named 'bcc') — apt-get install python3-bpfcc");
});

t.test('a tool that runs but prints no version counts as missing, with its output', async (t) => {
  const broken = machine({ path: { bpftrace: '/usr/bin/bpftrace' }, outputs: { '/usr/bin/bpftrace --version': { exitCode: 1, stderr: 'error while loading shared libraries' } } });
  t.match((await detectTool('bpftrace', broken)).reason, /\/usr\/bin\/bpftrace --version failed: error while loading shared libraries/);
});

t.test('on this machine every tool is either found with a version or missing with an install command', async (t) => {
  const all = await tools();
  for (const name of TOOL_NAMES) {
    const info = all[name];
    if (info.installed) t.ok(info.version && info.path, `${name} ${info.version} at ${info.path}`);
    else t.ok(info.reason?.endsWith(TOOLS[name].install), info.reason ?? name);
  }
  t.equal(tool('bpftrace'), tool('bpftrace'), 'probed once, cached');
});

t.test('a probe waits as much longer as the accelerator is slower: a TCG guest gives import bcc 150 s, the host 15 s', async (t) => {
  t.equal(probeTimeoutMs('none'), 15_000);
  t.equal(probeTimeoutMs(undefined), 15_000, 'the host (no LAB_ACCEL) waits no longer than before');
  for (const accel of ['none', 'kvm', 'tcg'] as const) t.equal(probeTimeoutMs(accel), 15_000 * slowdownFor({ accel }), `${accel}: as slowdownFor says`);
});

t.test('a probe that timed out says so, not "not installed: no output"', async (t) => {
  const slow: Probe = { run: async () => ({ exitCode: undefined, stdout: '', stderr: '', timedOut: true }), exists: async () => true, which: async () => undefined };
  const bcc = await detectTool('bcc', slow);
  t.equal(bcc.installed, false);
  t.match(bcc.reason, /import bcc' did not finish within 15 s/);
});
