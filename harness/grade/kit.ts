// The grading kit: everything a grading guest gets of the project, built on the host for one submission.
// The guest's root is the host's programs and this folder only (vm/guest-root.ts): the agent bundled
// with the lab's collector (and nothing the host judges with), jail.sh, koffi, what the workload and a
// libbpf build need from build/, the submission's files, and this run's config. No solution, no check,
// no class folder: they are not in the guest to be found.

import { randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { importPackage } from '../../lib/import-package.js';
import { buildDir, projectRoot } from '../engine/paths.js';
import type { AgentConfig } from './agent.js';
import { BPF_CAPS } from './jail.js';
import type { Lab } from './lab.js';
import { commandLimits } from './sandbox.js';

const AGENT = path.join(projectRoot, 'harness', 'grade', 'agent.ts');
/** From build/bpf: the workload's exec helper, and vmlinux.h for building a libbpf submission. */
const BUILD_FILES = ['exec_helper', 'vmlinux.h'];
const KOFFI = ['koffi', `@koromix/koffi-${process.platform}-${process.arch}`];

export interface Kit {
  dir: string;
  settings: unknown;
  remove: () => Promise<void>;
}

/** Where kits are made on the host (root's, like the scratch folders the agent makes). */
const KIT_PARENT = '/run';

const bundles = new Map<string, Promise<string>>();

/** Where a handout (handout.ts) keeps its agents, bundled beforehand: it has no sources to bundle them from. */
export const PREBUILT_AGENTS = 'agents';

/** `contents` (TypeScript importing the project by path or as ebpf-lab/…) as one ES module for Node, `external` left as imports. */
export async function bundleEsm(contents: string, sourcefile: string, external: string[]): Promise<string> {
  const esbuild = await importPackage<typeof import('esbuild')>('esbuild');
  const r = await esbuild.build({
    stdin: { contents, resolveDir: projectRoot, loader: 'ts', sourcefile },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    write: false,
    external,
    alias: { 'ebpf-lab': projectRoot },
    logLevel: 'silent',
    // CommonJS packages bundled into ESM call require()
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return r.outputFiles[0]!.text;
}

/** The agent with `lab`'s collector, bundled once per lab and process. */
export function agentBundle(lab: Lab<unknown>): Promise<string> {
  let b = bundles.get(lab.id);
  if (!b) {
    const prebuilt = path.join(projectRoot, PREBUILT_AGENTS, `${lab.id}.mjs`);
    b = (async () => {
      if (existsSync(prebuilt)) return readFile(prebuilt, 'utf8');
      return bundleEsm(`import { collect } from ${JSON.stringify(lab.collector)};\nimport { agentMain } from ${JSON.stringify(AGENT)};\nawait agentMain(collect);\n`, `agent-${lab.id}.ts`, ['koffi']);
    })();
    bundles.set(lab.id, b);
    b.catch(() => bundles.delete(lab.id));
  }
  return b;
}

/** Builds the kit for `submission`; the caller removes it. A submission that cannot be prepared throws StudentFailure. */
export async function buildKit(lab: Lab<unknown>, submission: string, opts: { slowdown: number; seed?: string }): Promise<Kit> {
  // not in /tmp: the jail covers /tmp with an empty one, and the student's command runs from the kit
  const dir = await mkdtemp(path.join(KIT_PARENT, 'ebpf-lab-kit-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    // harness/engine/paths.ts finds the project's root by these two files: in the kit, the kit is the root
    await writeFile(path.join(dir, 'lab'), '# a grading kit (harness/grade/kit.ts), not the project\n');
    await writeFile(path.join(dir, 'package.json'), '{ "name": "ebpf-lab-grading-kit", "private": true, "type": "module" }\n');
    await writeFile(path.join(dir, 'agent.mjs'), await agentBundle(lab));
    await cp(path.join(projectRoot, 'harness', 'grade', 'jail.sh'), path.join(dir, 'jail.sh'));
    // koffi, and its native module (a package of its own per platform)
    for (const pkg of KOFFI) await cp(path.join(projectRoot, 'node_modules', pkg), path.join(dir, 'node_modules', pkg), { recursive: true });
    const kitBuild = path.join(dir, 'build', 'bpf');
    await mkdir(kitBuild, { recursive: true });
    for (const f of BUILD_FILES) if (existsSync(path.join(buildDir, f))) await cp(path.join(buildDir, f), path.join(kitBuild, f));
    await cp(submission, path.join(dir, 'student'), { recursive: true, verbatimSymlinks: true });
    const settings = lab.settings?.(opts.seed ?? randomBytes(8).toString('hex'));
    const config: AgentConfig = { lab: lab.id, caps: lab.caps ?? BPF_CAPS, limits: commandLimits(lab), settings, slowdown: opts.slowdown };
    await writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
    await lab.prepare?.(submission, dir);
    return { dir, settings, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}
