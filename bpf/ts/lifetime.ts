// Kernel objects that close themselves. Every map, program, link and reader owns kernel resources — fds,
// mmap'ed rings, libuv watches — and gives them back exactly once: by close() (or `using`, through
// Symbol.dispose), by the scope it was opened in, or, when it was dropped without either, by a finalizer
// (cilium's internal/sys/fd.go does the same with runtime.SetFinalizer).
//
//   const s = scope();
//   const counts = createMap(…); const prog = loadProgram(…); const link = attachTracepoint(prog, …);
//   s.close(); // the link, then the program, then the map

import { BpfError } from './errors.js';
import { sys, type Syscalls, type Watch } from './syscall.js';

// Node before 20.4 has no Symbol.dispose; Node's own polyfill uses this registered symbol, so its handles agree.
(Symbol as unknown as { dispose?: symbol }).dispose ??= Symbol.for('nodejs.dispose');

/**
 * What it takes to release an object's resources. It must never reference the object: the finalizer
 * registry holds it strongly, and an object reachable from its own held value is never collected.
 */
export interface Held {
  /** The implementation that opened them, so a fake's fd numbers never reach the real close(). */
  sys: Syscalls;
  watches: Watch[];
  mappings: { addr: bigint; length: number }[];
  fds: number[];
}

/** Stop watching, unmap, close — each resource once (a second call finds the lists empty). */
export function release(held: Held): void {
  for (const w of held.watches.splice(0)) w.close();
  for (const m of held.mappings.splice(0)) held.sys.munmap(m.addr, m.length);
  for (const fd of held.fds.splice(0)) held.sys.close(fd);
}

/** The safety net for objects dropped without close(). Exported for tests only. */
export const finalizer = new FinalizationRegistry<Held>((held) => {
  try {
    release(held);
  } catch {
    // No caller to tell, and a throw here would end the process: the rest of held stays unreleased.
  }
});

/**
 * Something that owns kernel resources. Subclasses hand each resource over with hold*() as soon as they
 * have it, so a failure half-way through opening still releases what was opened.
 */
export abstract class KernelObject {
  readonly #held: Held = { sys: sys(), watches: [], mappings: [], fds: [] };
  #closed = false;

  constructor() {
    finalizer.register(this, this.#held, this);
    enroll(this);
  }

  protected holdFd(fd: number): number {
    this.#held.fds.push(fd);
    return fd;
  }

  protected holdMapping(addr: bigint, length: number): void {
    this.#held.mappings.push({ addr, length });
  }

  protected holdWatch(watch: Watch): Watch {
    this.#held.watches.push(watch);
    return watch;
  }

  /** Runs once, before the resources are released (a perf reader takes its fds out of the map first). */
  protected beforeRelease(): void {}

  /** The syscalls this object was opened with: its own fds go back through them. */
  protected get syscalls(): Syscalls {
    return this.#held.sys;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Release everything this object owns. Idempotent: a second call never closes a reused fd number. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    finalizer.unregister(this);
    leaveScope(this);
    try {
      this.beforeRelease();
    } finally {
      release(this.#held);
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Something the kernel handed us one fd for (a map, a program, a perf event): the fd until close(). */
export abstract class FdOwner extends KernelObject {
  #fd: number;

  constructor(fd: number) {
    super();
    this.#fd = this.holdFd(fd);
  }

  /** What it is, for messages: `map "counts"`. */
  protected abstract describe(): string;

  /** Runs just before the fd is closed (a perf event disables itself first). */
  protected beforeClose(_fd: number): void {}

  protected override beforeRelease(): void {
    this.beforeClose(this.#fd);
  }

  /** The file descriptor; using it after close() is an error that says so. */
  get fd(): number {
    if (this.closed) throw BpfError.usage('use', 'closed', 'it was closed with close()', { target: this.describe() });
    return this.#fd;
  }
}

/**
 * A callback that reaches target only while something else keeps target alive. libuv holds a watch's
 * callback until the watch is closed: a callback holding its reader would keep the reader from ever
 * being collected, and its finalizer (which closes the watch) from ever running.
 */
export function weakly<T extends object>(target: T, fn: (target: T) => void): () => void {
  const ref = new WeakRef(target);
  return () => {
    const t = ref.deref();
    if (t) fn(t);
  };
}

interface Closable {
  close(): void;
}

const active: Scope[] = [];

/** Objects opened while a scope is active, to be closed together, newest first. */
export class Scope {
  // A Set: an object closed early leaves it at once, so a long-lived scope does not pin closed objects.
  readonly #owned = new Set<Closable>();
  #closed = false;

  /** Add something else to close with this scope (a tool object, a child process, …); returns it. */
  add<T extends Closable>(o: T): T {
    if (this.#closed) throw new Error('add to scope: closed (the scope was closed already)');
    this.#owned.add(o);
    return o;
  }

  /** @internal */
  forget(o: Closable): void {
    this.#owned.delete(o);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Close everything opened in the scope, newest first, and stop collecting. Throws the first error after closing the rest. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const at = active.lastIndexOf(this);
    if (at >= 0) active.splice(at, 1);
    const owned = [...this.#owned].reverse();
    this.#owned.clear();
    let first: unknown;
    for (const o of owned) {
      try {
        o.close();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

const scopeOf = new WeakMap<Closable, Scope>();

function enroll(o: KernelObject): void {
  const s = active.at(-1);
  if (!s) return;
  s.add(o);
  scopeOf.set(o, s);
}

function leaveScope(o: KernelObject): void {
  scopeOf.get(o)?.forget(o);
}

/**
 * Open a scope: every map, program, link and reader created until its close() joins it (the innermost
 * scope, when several are open). For a notebook cell or a lab check: `const s = scope(); …; s.close()`.
 */
export function scope(): Scope {
  const s = new Scope();
  active.push(s);
  return s;
}

/**
 * Run fn in a scope and close the scope afterwards, also when fn throws or its promise rejects. For an
 * async fn the scope stays active until the promise settles: anything opened meanwhile, by fn or by other
 * code running between its awaits, joins it.
 */
export function withScope<T>(fn: (s: Scope) => Promise<T>): Promise<T>;
export function withScope<T>(fn: (s: Scope) => T): T;
export function withScope<T>(fn: (s: Scope) => T | Promise<T>): T | Promise<T> {
  const s = scope();
  let result: T | Promise<T>;
  try {
    result = fn(s);
  } catch (err) {
    closeAfterError(s);
    throw err;
  }
  if (isThenable(result)) {
    return Promise.resolve(result).then(
      (value) => {
        s.close();
        return value;
      },
      (err: unknown) => {
        closeAfterError(s);
        throw err;
      },
    );
  }
  s.close();
  return result;
}

// fn's own error is the one worth reporting; a failure to close after it would only hide it.
function closeAfterError(s: Scope): void {
  try {
    s.close();
  } catch {
    // ignored: fn's error wins
  }
}

function isThenable<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}
