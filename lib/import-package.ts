// import() of a package kept out of the CLI bundle (esbuild, the chart libraries). ./lab runs the bundle from V8's
// code cache (harness/commands/cli-start.cjs), and in Node 20 a script compiled from a cache read from disk has no import():
// it throws ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING. cli-start hands in its own import() under this symbol; run
// from the sources (tsx, the tests) there is none and the module's own import() serves.
const STARTER_IMPORT = Symbol.for('ebpf-lab.import');

export function importPackage<T>(name: string): Promise<T> {
  const fromStarter = (globalThis as Record<symbol, ((name: string) => Promise<unknown>) | undefined>)[STARTER_IMPORT];
  return (fromStarter ? fromStarter(name) : import(name)) as Promise<T>;
}
