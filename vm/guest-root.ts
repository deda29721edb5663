// A guest root that holds the host's programs and none of its data: what a guest running untrusted code
// (a student's, when grading) is booted on. The host's /usr is shared read-only; /etc is a copy of the
// few files programs read (users, the dynamic linker's cache, Debian's alternatives: /usr/bin/cc is a
// link through /etc/alternatives). Nothing else of the host — its home folders, the project, the class
// folder, other runs — is exported to the guest at all, so no root inside it can reach them.

import { cp, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { RootPart } from './qemu.js';

/** What of the host's /etc the tools (node, clang, cc, bpftool, bpftrace) read. */
export const ETC_ENTRIES = ['passwd', 'group', 'hosts', 'nsswitch.conf', 'ld.so.cache', 'ld.so.conf', 'ld.so.conf.d', 'alternatives', 'localtime'];

/** Copies the /etc entries into `dir`/etc and returns the root's parts: /usr and that /etc. */
export async function programsOnlyRoot(dir: string): Promise<RootPart[]> {
  const etc = path.join(dir, 'etc');
  await mkdir(etc, { recursive: true });
  for (const name of ETC_ENTRIES) {
    const from = path.join('/etc', name);
    if (existsSync(from)) await cp(from, path.join(etc, name), { recursive: true, verbatimSymlinks: true });
  }
  return [
    { host: '/usr', guest: '/usr' },
    { host: etc, guest: '/etc' },
  ];
}
