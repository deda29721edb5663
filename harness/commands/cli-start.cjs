'use strict';
// How ./lab starts its CLI: the bundle build/js/cli.cjs, compiled with the V8 code cache ./lab writes beside it
// when it bundles (build/js/cli.cjs.cache). The bundle holds every command, ~0.9 MB, and V8 parses all of it at
// each start; from the cache it does not: ~20 ms on the host, ~0.2 s in a TCG guest, of every ./lab. A cache
// V8 rejects (another Node) is ignored and the bundle compiles as usual.
//
//   node harness/commands/cli-start.cjs ARGS…                     run the CLI
//   LAB_CODE_CACHE=write node harness/commands/cli-start.cjs      compile it and write its cache (./lab's build step)

const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

const CLI_BUNDLE = path.join(__dirname, '..', '..', 'build', 'js', 'cli.cjs');

/** The bundle as a script V8 compiled, from the cache when it has one it accepts. */
function compile(bundle, cachedData) {
  return new vm.Script(Module.wrap(fs.readFileSync(bundle, 'utf8')), {
    filename: bundle,
    cachedData,
  });
}

function writeCache(bundle) {
  fs.writeFileSync(`${bundle}.cache`, compile(bundle).createCachedData());
}

/** Runs a CommonJS bundle as if node had been started on it; returns whether V8 took its cache. */
function start(bundle) {
  let cachedData;
  try {
    cachedData = fs.readFileSync(`${bundle}.cache`);
  } catch {
    // no cache: compile from source
  }
  const script = compile(bundle, cachedData);
  // A script compiled from a cache read from disk has no import() in Node 20 (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING,
  // even with importModuleDynamically): the bundle imports the packages kept out of it through this one
  // (lib/import-package.ts). Bare names resolve from here as from build/js: the same node_modules.
  globalThis[Symbol.for('ebpf-lab.import')] = (name) => import(name);
  process.argv[1] = bundle;
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, Module.createRequire(bundle), mod, bundle, path.dirname(bundle));
  return cachedData !== undefined && !script.cachedDataRejected;
}

module.exports = { start, writeCache };

if (require.main === module) {
  if (process.env.LAB_CODE_CACHE === 'write') writeCache(CLI_BUNDLE);
  else start(CLI_BUNDLE);
}
