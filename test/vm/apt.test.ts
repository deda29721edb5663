// Unit tests for the private apt: deb822 and Depends parsing, the configuration that keeps /etc/apt out,
// apt's download status lines. No network: apt-config reads the generated configuration only.

import t from 'tap';
import { execa } from 'execa';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aptConfText, openPrivateApt, packageRef, parseDepends, parseDlstatus, parseStanzas, sourcesListText } from '../../vm/apt.js';

t.test('deb822 stanzas parse with continuation lines and blank-line separators', async (t) => {
  const text = 'Package: a\nVersion: 1\nDescription: short\n more\n .\n end\n\n\nPackage: b\nDepends: c (>= 2)\n';
  t.same(parseStanzas(text), [
    { Package: 'a', Version: '1', Description: 'short\nmore\n.\nend' },
    { Package: 'b', Depends: 'c (>= 2)' },
  ]);
});

t.test('Depends parse into alternative groups with versions', async (t) => {
  t.same(parseDepends('linux-base (>= 4.12~), linux-image-6.12.107+deb13-amd64 (= 6.12.107-1) | linux-image-6.12.107+deb13-amd64-unsigned (= 6.12.107-1), gcc-14, libc6:amd64'), [
    [{ name: 'linux-base', relation: '>=', version: '4.12~' }],
    [
      { name: 'linux-image-6.12.107+deb13-amd64', relation: '=', version: '6.12.107-1' },
      { name: 'linux-image-6.12.107+deb13-amd64-unsigned', relation: '=', version: '6.12.107-1' },
    ],
    [{ name: 'gcc-14' }],
    [{ name: 'libc6' }],
  ]);
  t.same(parseDepends(undefined), []);
  t.throws(() => parseDepends('(= 1)'), /not a Debian package relation/);
});

t.test('a package stanza without its hash is refused', async (t) => {
  t.same(packageRef({ Package: 'p', Version: '1', Size: '10', SHA256: 'ab' }), { name: 'p', version: '1', size: 10, sha256: 'ab' });
  t.throws(() => packageRef({ Package: 'p', Version: '1', Size: '10' }), /missing Package\/Version\/Size\/SHA256/);
});

t.test('the sources list verifies with the keyring and relaxes only the date when told', async (t) => {
  t.equal(sourcesListText('bookworm', { mirror: 'http://m/debian', keyring: '/k.gpg', checkValidUntil: true }), 'deb [signed-by=/k.gpg] http://m/debian bookworm main\n');
  t.equal(sourcesListText('forky', { mirror: 'http://m/debian', keyring: '/k.gpg', checkValidUntil: false }), 'deb [signed-by=/k.gpg check-valid-until=no] http://m/debian forky main\n');
  t.notMatch(sourcesListText('forky', { mirror: 'http://m/debian', keyring: '/k.gpg', checkValidUntil: false }), /trusted/);
});

t.test('the private apt configuration reads nothing from /etc/apt', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'lab-apt-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const apt = await openPrivateApt(root, 'bookworm', { mirror: 'http://m/debian', keyring: '/k.gpg' });
  t.equal(await readFile(apt.configFile, 'utf8'), aptConfText(apt.dir, { sandboxAsRoot: process.getuid?.() === 0 }));
  // apt-config prints the configuration apt would use with ours; nothing may point into /etc/apt.
  const r = await execa('apt-config', ['dump'], { env: { APT_CONFIG: apt.configFile }, reject: false });
  t.equal(r.exitCode, 0, 'apt-config accepts it');
  const dump = r.stdout;
  const value = (key: string) => new RegExp(`^${key} "([^"]*)";$`, 'mi').exec(dump)?.[1];
  for (const key of ['Dir::Etc', 'Dir::Etc::SourceList', 'Dir::Etc::SourceParts', 'Dir::Etc::parts', 'Dir::State', 'Dir::State::Lists', 'Dir::State::status', 'Dir::Cache']) {
    t.equal(value(key)?.startsWith(apt.dir), true, `${key} is private`);
  }
  t.notMatch(dump, /^Dir::Etc\S* "\/etc/m, 'no Dir::Etc value points into /etc');
  t.match(dump, /^Dir::Etc::main "\/dev\/null";/m, 'no /etc/apt/apt.conf');
  t.notMatch(dump, /NeverAutoRemove/, "the system's apt.conf.d snippets are not read");
  t.match(dump, /^APT::Architecture "amd64";/m);
});

t.test("apt's status-fd download lines give a percentage", async (t) => {
  t.same(parseDlstatus('dlstatus:2:15.3715:Retrieving file 2 of 3'), { percent: 15.3715, text: 'Retrieving file 2 of 3' });
  t.equal(parseDlstatus('pmstatus:dpkg-exec:0:Running dpkg'), undefined);
});
