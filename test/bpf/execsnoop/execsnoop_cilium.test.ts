// The Go execsnoop's own logic, in Go: bpf/execsnoop/execsnoop_cilium_test.go (the kernel BTF rewritten into the
// kinds cilium/ebpf 0.9.1 reads) run with `go test` in a scratch copy of the package bpf2go completed in
// build/bpf/go/execsnoop — offline, against Debian's packaged sources, as the build itself.
import t from 'tap';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { projectRoot } from '../../../harness/engine/paths.js';
import { tool } from '../../../harness/engine/tools.js';

const built = path.join(projectRoot, 'build/bpf/go');

t.test('go test: the kernel BTF rewritten for cilium/ebpf 0.9.1 keeps every type id, and this kernel\'s task_struct', async (t) => {
  const go = await tool('cilium-go');
  if (!go.installed) return t.plan(0, go.reason);
  if (!existsSync(path.join(built, 'execsnoop/bpf_bpfel.go'))) return t.plan(0, 'build/bpf/go/execsnoop is not built: run ./lab setup');
  const dir = await mkdtemp(path.join(tmpdir(), 'execsnoop-cilium-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await cp(path.join(built, 'go.mod'), path.join(dir, 'go.mod'));
  for (const f of ['execsnoop/bpf_bpfel.go', 'execsnoop/bpf_bpfel.o']) await cp(path.join(built, f), path.join(dir, f));
  for (const f of ['execsnoop_cilium.go', 'execsnoop_cilium_test.go']) await cp(path.join(projectRoot, 'bpf/execsnoop', f), path.join(dir, 'execsnoop', f));
  const r = await execa('go', ['test', '-count=1', '-v', '.'], {
    cwd: path.join(dir, 'execsnoop'),
    reject: false,
    timeout: 100_000,
    env: { GOPROXY: 'off', GOFLAGS: '-mod=mod', CGO_ENABLED: '0', GOCACHE: path.join(built, '.cache'), GOPATH: path.join(built, '.gopath') },
  });
  t.equal(r.exitCode, 0, `go test passed:\n${r.stdout}\n${r.stderr}`);
  for (const name of ['TestSanitizedBTFParsesWithTheSameIDs', 'TestTruncatedBTFIsAnError']) t.match(r.stdout, new RegExp(`--- PASS: ${name} `), name);
  // the machine's own BTF: read (PASS) where /sys/kernel/btf/vmlinux exists, else a skip that says so
  t.match(r.stdout, existsSync('/sys/kernel/btf/vmlinux') ? /--- PASS: TestThisKernelsBTF / : /--- SKIP: TestThisKernelsBTF /);
});
