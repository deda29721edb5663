// Unit tests: package resolution from captured `apt-cache show` text, cache verification, module order.
// No network, no root: the fixtures were captured from Debian's archive on 2026-11-21.

import t, { type Test } from 'tap';
import { mkdir, mkdtemp, readFile, rm, symlink, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnvironmentError, UsageError } from '../../lib/errors.js';
import { parseStanzas, type Stanza } from '../../vm/apt.js';
import { cacheDir, kernelSpec, parseShowDepends, readCachedKernel, resolveKernel, verifyUnit, writeManifest, KERNELS, type PackageLookup } from '../../vm/kernels.js';

const fixtures = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures');

async function fixtureLookup(suite: string): Promise<PackageLookup> {
  const index = new Map<string, Stanza>();
  for (const s of parseStanzas(await readFile(join(fixtures, `apt-cache-show.${suite}.txt`), 'utf8'))) index.set(s.Package, s);
  return async (names) => new Map(names.filter((n) => index.has(n)).map((n) => [n, index.get(n)!]));
}

const names = (refs: { name: string }[]) => refs.map((r) => r.name).sort();

t.test('package names resolve from the archive for each suite', async (t) => {
  const cases = [
    {
      suite: 'bullseye',
      release: '5.10.0-32-amd64',
      version: '5.10.223-1',
      image: ['linux-image-5.10.0-32-amd64'],
      headers: ['linux-headers-5.10.0-32-amd64', 'linux-headers-5.10.0-32-common', 'linux-kbuild-5.10'],
    },
    {
      suite: 'bookworm',
      release: '6.1.0-50-amd64',
      version: '6.1.176-1',
      image: ['linux-image-6.1.0-50-amd64'],
      headers: ['linux-headers-6.1.0-50-amd64', 'linux-headers-6.1.0-50-common', 'linux-kbuild-6.1'],
    },
    {
      suite: 'trixie',
      release: '6.12.107+deb13-amd64',
      version: '6.12.107-1',
      image: ['linux-image-6.12.107+deb13-amd64'],
      headers: ['linux-headers-6.12.107+deb13-amd64', 'linux-headers-6.12.107+deb13-common', 'linux-kbuild-6.12.107+deb13'],
    },
    {
      // forky: linux-image-<kv> is only a meta package; the kernel is in linux-binary-, modules in linux-modules-.
      suite: 'forky',
      release: '7.2.12+deb14-amd64',
      version: '7.2.12-1',
      image: ['linux-base-7.2.12+deb14-amd64', 'linux-binary-7.2.12+deb14-amd64', 'linux-image-7.2.12+deb14-amd64', 'linux-modules-7.2.12+deb14-amd64'],
      headers: ['linux-base-7.2.12+deb14-amd64', 'linux-headers-7.2.12+deb14-amd64', 'linux-headers-7.2.12+deb14-common', 'linux-kbuild-7.2.12+deb14'],
    },
  ];
  for (const c of cases) {
    const spec = KERNELS.find((k) => k.suite === c.suite)!;
    const r = await resolveKernel(spec, await fixtureLookup(c.suite));
    t.equal(r.release, c.release, `${c.suite}: linux-image-amd64 leads to ${c.release}`);
    t.equal(r.debianVersion, c.version, `${c.suite}: Debian version`);
    t.same(names(r.image), c.image, `${c.suite}: kernel packages`);
    t.same(names(r.headers), c.headers, `${c.suite}: header packages (no gcc, no linux-compiler-*, no meta packages)`);
    for (const p of [...r.image, ...r.headers]) {
      t.ok(p.size > 0 && /^[0-9a-f]{64}$/.test(p.sha256) && p.version === c.version, `${p.name} carries its size, SHA-256 and version`);
    }
  }
});

t.test('a package missing from the archive is an environment error naming it', async (t) => {
  const full = await fixtureLookup('bookworm');
  const lookup: PackageLookup = async (wanted) => {
    const found = await full(wanted);
    found.delete('linux-kbuild-6.1');
    return found;
  };
  await t.rejects(resolveKernel(kernelSpec('6.1'), lookup), { constructor: EnvironmentError, message: /linux-kbuild-6\.1/ });
  await t.rejects(resolveKernel(kernelSpec('6.1'), async () => new Map()), { constructor: EnvironmentError, message: /no linux-image-amd64/ });
});

t.test('an unknown kernel name is a usage error listing the known ones', async (t) => {
  t.throws(() => kernelSpec('4.19'), { constructor: UsageError, message: /5\.10, 6\.1, 6\.12, 7\.2/ });
});

t.test('modprobe --show-depends output gives the load order, without duplicates, and the built-ins', async (t) => {
  const v61 = [
    'insmod /c/root/lib/modules/6.1.0-50-amd64/kernel/drivers/virtio/virtio.ko ',
    'insmod /c/root/lib/modules/6.1.0-50-amd64/kernel/drivers/virtio/virtio_ring.ko ',
    'insmod /c/root/lib/modules/6.1.0-50-amd64/kernel/drivers/virtio/virtio_pci.ko ',
    'insmod /c/root/lib/modules/6.1.0-50-amd64/kernel/drivers/virtio/virtio.ko ',
    'insmod /c/root/lib/modules/6.1.0-50-amd64/kernel/net/9p/9pnet.ko ',
    'insmod /c/root/lib/modules/6.1.0-50-amd64/kernel/fs/9p/9p.ko ',
    '',
  ].join('\n');
  const dir = '/c/root/lib/modules/6.1.0-50-amd64/kernel';
  t.same(parseShowDepends(v61), {
    insmod: [`${dir}/drivers/virtio/virtio.ko`, `${dir}/drivers/virtio/virtio_ring.ko`, `${dir}/drivers/virtio/virtio_pci.ko`, `${dir}/net/9p/9pnet.ko`, `${dir}/fs/9p/9p.ko`],
    builtin: [],
  });
  const v612 = 'builtin virtio_pci\nbuiltin virtio_console\ninsmod /c/root/lib/modules/6.12.107+deb13-amd64/kernel/fs/netfs/netfs.ko.xz \ninsmod /c/root/lib/modules/6.12.107+deb13-amd64/kernel/fs/overlayfs/overlay.ko.xz redirect_dir=on\n';
  t.same(parseShowDepends(v612), {
    insmod: ['/c/root/lib/modules/6.12.107+deb13-amd64/kernel/fs/netfs/netfs.ko.xz', '/c/root/lib/modules/6.12.107+deb13-amd64/kernel/fs/overlayfs/overlay.ko.xz'],
    builtin: ['virtio_pci', 'virtio_console'],
  });
});

/** A small cache unit: root/ with a file, a nested file and a symlink, plus its manifest. */
async function makeUnit(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lab-unit-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'root/boot'), { recursive: true });
  await mkdir(join(dir, 'root/lib/modules/9.9.9-1-amd64/kernel'), { recursive: true });
  await writeFile(join(dir, 'root/boot/vmlinuz-9.9.9-1-amd64'), 'kernel image bytes');
  await writeFile(join(dir, 'root/lib/modules/9.9.9-1-amd64/kernel/a.ko'), 'module a');
  await symlink('/usr/src/linux-headers-9.9.9-1-amd64', join(dir, 'root/lib/modules/9.9.9-1-amd64/build'));
  await writeManifest(dir, {
    kind: 'kernel',
    name: '6.1',
    suite: 'bookworm',
    release: '9.9.9-1-amd64',
    debianVersion: '9.9.9-1',
    packages: [],
    paths: { vmlinuz: 'boot/vmlinuz-9.9.9-1-amd64', modules: 'lib/modules/9.9.9-1-amd64' },
  });
  return dir;
}

t.test('a complete cache unit verifies against its manifest', async (t) => {
  const dir = await makeUnit(t);
  const v = await verifyUnit(dir, { full: true });
  t.ok(v.ok, 'verifies');
  if (v.ok) {
    t.equal(v.manifest.bytes, 'kernel image bytes'.length + 'module a'.length, 'bytes sum the files');
    t.same(v.manifest.files['lib/modules/9.9.9-1-amd64/build'], { link: '/usr/src/linux-headers-9.9.9-1-amd64' }, 'symlinks are recorded with their target');
  }
});

t.test('a half-written or damaged cache unit is detected', async (t) => {
  let dir = await makeUnit(t);
  await unlink(join(dir, 'manifest.json'));
  t.match(await verifyUnit(dir), { ok: false, reason: /no manifest/ }, 'no manifest: the fetch did not finish');

  dir = await makeUnit(t);
  await unlink(join(dir, 'root/lib/modules/9.9.9-1-amd64/kernel/a.ko'));
  t.match(await verifyUnit(dir), { ok: false, reason: /a\.ko is missing/ }, 'a missing file');

  dir = await makeUnit(t);
  await truncate(join(dir, 'root/boot/vmlinuz-9.9.9-1-amd64'), 3);
  t.match(await verifyUnit(dir), { ok: false, reason: /has 3 bytes, expected 18/ }, 'a truncated file');

  dir = await makeUnit(t);
  await writeFile(join(dir, 'root/lib/modules/9.9.9-1-amd64/kernel/a.ko'), 'module b');
  t.ok((await verifyUnit(dir)).ok, 'the quick check looks at sizes only');
  t.match(await verifyUnit(dir, { full: true }), { ok: false, reason: /a\.ko does not match its SHA-256/ }, 'the full check hashes');

  dir = await makeUnit(t);
  await unlink(join(dir, 'root/lib/modules/9.9.9-1-amd64/build'));
  await symlink('/elsewhere', join(dir, 'root/lib/modules/9.9.9-1-amd64/build'));
  t.match(await verifyUnit(dir), { ok: false, reason: /build is not the symlink/ }, 'a changed symlink');

  dir = await makeUnit(t);
  await writeFile(join(dir, 'manifest.json'), '{"schema": 1, "files": {');
  t.match(await verifyUnit(dir), { ok: false, reason: /unreadable manifest/ }, 'a cut-off manifest');
});

t.test('the cache reader drops an incomplete kernel so that it is fetched again', async (t) => {
  const cache = await mkdtemp(join(tmpdir(), 'lab-cache-'));
  t.teardown(() => rm(cache, { recursive: true, force: true }));
  const saved = process.env.LAB_CACHE_DIR;
  process.env.LAB_CACHE_DIR = cache;
  t.teardown(() => {
    if (saved === undefined) delete process.env.LAB_CACHE_DIR;
    else process.env.LAB_CACHE_DIR = saved;
  });
  const unit = join(cache, 'kernels/6.1');
  await mkdir(join(unit, 'root/boot'), { recursive: true });
  await writeFile(join(unit, 'root/boot/vmlinuz-9.9.9-1-amd64'), 'half');
  const lines: string[] = [];
  t.equal(await readCachedKernel('6.1', { progress: (l) => lines.push(l) }), undefined, 'no kernel');
  t.match(lines.join('\n'), /incomplete \(no manifest\.json/, 'says why');
  t.notOk(await readFile(join(unit, 'root/boot/vmlinuz-9.9.9-1-amd64')).catch(() => undefined), 'the broken unit is gone');

  const good = await makeUnit(t);
  await rm(unit, { recursive: true, force: true });
  await mkdir(join(cache, 'kernels'), { recursive: true });
  await symlink(good, unit);
  const k = await readCachedKernel('6.1');
  t.match(k, { name: '6.1', suite: 'bookworm', release: '9.9.9-1-amd64', debianVersion: '9.9.9-1', vmlinuz: join(unit, 'root/boot/vmlinuz-9.9.9-1-amd64') }, 'a complete unit reads back');
  t.equal(k?.headers, undefined, 'no headers unit, no headers');

  await writeFile(join(good, 'root/boot/vmlinuz-9.9.9-1-amd64'), 'KERNEL IMAGE BYTES');
  t.equal(await readCachedKernel('6.1', { progress: (l) => lines.push(l) }), undefined, 'a kernel image with the right size and the wrong bytes is refused');
  t.match(lines.pop(), /vmlinuz-9\.9\.9-1-amd64 does not match its SHA-256/);
});

t.test('the cache directory follows LAB_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache', async (t) => {
  const saved = { lab: process.env.LAB_CACHE_DIR, xdg: process.env.XDG_CACHE_HOME };
  t.teardown(() => {
    for (const [k, v] of [['LAB_CACHE_DIR', saved.lab], ['XDG_CACHE_HOME', saved.xdg]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  process.env.LAB_CACHE_DIR = '/x/lab';
  process.env.XDG_CACHE_HOME = '/x/xdg';
  t.equal(cacheDir(), '/x/lab');
  delete process.env.LAB_CACHE_DIR;
  t.equal(cacheDir(), '/x/xdg/ebpf-lab');
  delete process.env.XDG_CACHE_HOME;
  t.match(cacheDir(), /\/\.cache\/ebpf-lab$/);
  t.notMatch(cacheDir(), /^\/work\/main/, 'never inside the project');
});

t.test('a kernel is named by version prefix, by suite, or pinned by its exact Debian version', async (t) => {
  t.same(kernelSpec('6.1.0-47'), { name: '6.1.0-47', suite: 'bookworm', release: '6.1.0-47-amd64' });
  t.same(kernelSpec('5.10.0-30-amd64'), { name: '5.10.0-30', suite: 'bullseye', release: '5.10.0-30-amd64' });
  t.same(kernelSpec('6.12.107+deb13'), { name: '6.12.107+deb13', suite: 'trixie', release: '6.12.107+deb13-amd64' });
  t.same(kernelSpec('6.12.57+deb12'), { name: '6.12.57+deb12', suite: 'bookworm-backports', release: '6.12.57+deb12-amd64' });
  t.same(kernelSpec('bookworm-backports'), { name: 'bookworm-backports', suite: 'bookworm-backports' });
  t.throws(() => kernelSpec('6.3.0-1'), { constructor: UsageError, message: /an exact Debian kernel such as 6\.1\.0-47/ }, 'no suite has 6.3');
});

t.test('a pinned kernel resolves to exactly its packages, or says the archive no longer has it', async (t) => {
  const r = await resolveKernel(kernelSpec('6.1.0-50'), await fixtureLookup('bookworm'));
  t.equal(r.release, '6.1.0-50-amd64');
  t.equal(r.debianVersion, '6.1.176-1');
  t.same(names(r.image), ['linux-image-6.1.0-50-amd64']);
  t.same(names(r.headers), ['linux-headers-6.1.0-50-amd64', 'linux-headers-6.1.0-50-common', 'linux-kbuild-6.1']);
  await t.rejects(resolveKernel(kernelSpec('6.1.0-49'), await fixtureLookup('bookworm')), { constructor: EnvironmentError, message: /bookworm has no linux-image-6\.1\.0-49-amd64/ });
});
