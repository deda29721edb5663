// BPF maps from user space: create, look up, update, delete, walk the keys, read the kernel's info, close.
// Keys and values go through codecs (codec.ts), so `counts.lookup(pid)` reads a number, not bytes.

import { readFileSync } from 'node:fs';
import { cString, Cmd, MapCreateAttr, MapElemAttr, MapInfo, MapType, readU32, UpdateFlag, type MapTypeName, type UpdateFlagName } from './attr.js';
import { bpfCommand, bpfCommandRaw, checkObjectName, objectInfo, raiseMemlockOnce } from './command.js';
import { FdOwner } from './lifetime.js';
import { perCpu, u32, type Codec } from './codec.js';
import { BpfError, errno } from './errors.js';
import { sys } from './syscall.js';

const ARRAY_TYPES = new Set<MapTypeName>(['array', 'percpu_array', 'perf_event_array', 'prog_array']);
const PER_CPU_TYPES = new Set<MapTypeName>(['percpu_array', 'percpu_hash', 'lru_percpu_hash']);

export interface MapSpec<K, V> {
  /** Up to 15 characters of [A-Za-z0-9_.]: how `bpftool map list` shows it. */
  name: string;
  type: MapTypeName;
  key: Codec<K>;
  /** For a per-CPU map: the value of ONE CPU; the map then reads and writes an array of them. */
  value: Codec<V>;
  maxEntries: number;
  /** BPF_F_* map flags (BPF_F_NO_PREALLOC = 1, …). */
  flags?: number;
}

export interface MapInfoResult {
  type: number;
  /** The name of the type, where this layer knows it ("hash", "array", …). */
  typeName: string | undefined;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
}

type PerCpuType = 'percpu_array' | 'percpu_hash' | 'lru_percpu_hash';

/** Create a map. A per-CPU map's values are arrays with one entry per possible CPU. */
export function createMap<K, V>(spec: MapSpec<K, V> & { type: PerCpuType }): BpfMap<K, V[]>;
export function createMap<K, V>(spec: MapSpec<K, V>): BpfMap<K, V>;
export function createMap<K, V>(spec: MapSpec<K, V>): BpfMap<K, V> | BpfMap<K, V[]> {
  const where = { map: spec.name };
  const bad = checkObjectName(spec.name);
  if (bad) throw BpfError.usage('map_create', 'bad name', bad, where);
  if (!Number.isInteger(spec.maxEntries) || spec.maxEntries <= 0) {
    throw BpfError.usage('map_create', 'bad max entries', `${spec.maxEntries} is not a positive integer`, where);
  }
  if (ARRAY_TYPES.has(spec.type) && spec.key.size !== 4) {
    throw BpfError.usage('map_create', 'wrong key size', `${spec.type} map keys are 4-byte u32 indexes, not ${spec.key.describe}`, where);
  }
  raiseMemlockOnce();
  const { ret: fd } = bpfCommand(
    Cmd.map_create,
    MapCreateAttr,
    {
      map_type: MapType[spec.type],
      key_size: spec.key.size,
      value_size: spec.value.size,
      max_entries: spec.maxEntries,
      map_flags: spec.flags ?? 0,
      map_name: spec.name,
    },
    'map_create',
    where,
  );
  const value = PER_CPU_TYPES.has(spec.type) ? perCpu(spec.value, possibleCpus()) : spec.value;
  return new BpfMap<K, any>(fd, spec.name, spec.type, spec.key, value, spec.maxEntries, spec.flags ?? 0);
}

/** A BPF_MAP_TYPE_PERF_EVENT_ARRAY with one slot per possible CPU (perf.ts fills it). */
export function createPerfEventArray(name: string): BpfMap<number, number> {
  return createMap({ name, type: 'perf_event_array', key: u32, value: u32, maxEntries: possibleCpus() });
}

const EMPTY: Codec<never> = {
  size: 0,
  align: 1,
  describe: 'void',
  encode: () => Buffer.alloc(0),
  decode: () => {
    throw new Error('a ring buffer has no values to decode');
  },
};

/** A BPF_MAP_TYPE_RINGBUF of `size` bytes: a power of two and a multiple of the page size (4096). */
export function createRingBuffer(name: string, size: number): BpfMap<never, never> {
  if (!Number.isInteger(Math.log2(size)) || size % 4096 !== 0) {
    throw BpfError.usage('map_create', 'bad ring buffer size', `${size} is not a power of two of at least one 4096-byte page`, { map: name });
  }
  return createMap({ name, type: 'ringbuf', key: EMPTY, value: EMPTY, maxEntries: size });
}

export class BpfMap<K, V> extends FdOwner {
  constructor(
    fd: number,
    readonly name: string,
    readonly type: MapTypeName,
    readonly key: Codec<K>,
    /** For a per-CPU map, the codec of the whole array. */
    readonly value: Codec<V>,
    readonly maxEntries: number,
    readonly flags: number,
  ) {
    super(fd);
  }

  protected describe(): string {
    return `map "${this.name}"`;
  }

  /** The value at key; throws BpfError ENOENT ("no such key") when there is none. */
  lookup(key: K | Buffer): V {
    const out = Buffer.alloc(this.value.size);
    const ret = this.#elem(Cmd.map_lookup_elem, 'map_lookup', key, out);
    if (ret < 0) throw BpfError.fromErrno('map_lookup', -ret, { map: this.name });
    return this.value.decode(out);
  }

  /** The value at key, or undefined when there is none. */
  get(key: K | Buffer): V | undefined {
    const out = Buffer.alloc(this.value.size);
    const ret = this.#elem(Cmd.map_lookup_elem, 'map_lookup', key, out);
    if (ret === -errno.ENOENT) return undefined;
    if (ret < 0) throw BpfError.fromErrno('map_lookup', -ret, { map: this.name });
    return this.value.decode(out);
  }

  /** Write value at key: 'any' creates or replaces, 'noexist' only creates, 'exist' only replaces. */
  update(key: K | Buffer, value: V | Buffer, flag: UpdateFlagName = 'any'): void {
    const bytes = this.#encode('map_update', 'value', this.value, value);
    const ret = this.#elem(Cmd.map_update_elem, 'map_update', key, bytes, UpdateFlag[flag]);
    if (ret < 0) throw BpfError.fromErrno('map_update', -ret, { map: this.name });
  }

  delete(key: K | Buffer): void {
    const ret = this.#elem(Cmd.map_delete_elem, 'map_delete', key);
    if (ret < 0) throw BpfError.fromErrno('map_delete', -ret, { map: this.name });
  }

  /**
   * Every key, through BPF_MAP_GET_NEXT_KEY, each yielded once — also when keys are deleted during the
   * walk (cilium's MapIterator). GET_NEXT_KEY from a key that vanished answers the first key again (hash
   * maps) or ENOENT (as at the end): either way the walk starts over and skips the keys it has yielded,
   * compared by their bytes. It gives up after max_entries restarts: a map that churns that fast has no
   * walk to finish.
   */
  *keys(): IterableIterator<K> {
    const seen = new Set<string>();
    // Keys passed since the last restart: meeting one again means the kernel restarted once more.
    let pass: Set<string> | undefined;
    let restarts = 0;
    const restart = () => {
      if (++restarts > this.maxEntries) {
        throw BpfError.usage('map_next_key', 'aborted', `keys kept vanishing: ${this.maxEntries} restarts, as many as max entries`, { map: this.name });
      }
      pass = new Set();
    };
    let previous: Buffer | null = null;
    for (;;) {
      const next = Buffer.alloc(this.key.size);
      const { ret } = bpfCommandRaw(Cmd.map_get_next_key, MapElemAttr, { map_fd: this.fd, key: previous, next_key: next });
      if (ret === -errno.ENOENT) {
        if (previous === null || this.#present(previous)) return; // the end of the map
        restart(); // previous was deleted: start over from the first key
        previous = null;
        continue;
      }
      if (ret < 0) throw BpfError.fromErrno('map_next_key', -ret, { map: this.name });
      previous = next;
      const id = next.toString('hex');
      if (!seen.has(id)) {
        seen.add(id);
        pass = undefined;
        yield this.key.decode(next);
      } else if (pass === undefined || pass.has(id)) {
        restart();
        pass!.add(id);
      } else {
        pass.add(id);
      }
    }
  }

  // Whether key still has a value; a map that cannot say (EOPNOTSUPP: fd arrays) counts as yes.
  #present(key: Buffer): boolean {
    return bpfCommandRaw(Cmd.map_lookup_elem, MapElemAttr, { map_fd: this.fd, key, value: Buffer.alloc(this.value.size) }).ret !== -errno.ENOENT;
  }

  /** [key, value] for every key that still has a value when it is read. */
  *entries(): IterableIterator<[K, V]> {
    for (const key of this.keys()) {
      const value = this.get(key);
      if (value !== undefined) yield [key, value];
    }
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  /** What the kernel knows about the map (BPF_OBJ_GET_INFO_BY_FD). */
  info(): MapInfoResult {
    const { buf } = objectInfo(this.fd, MapInfo, { map: this.name });
    const type = readU32(MapInfo, buf, 'type');
    return {
      type,
      typeName: Object.entries(MapType).find(([, n]) => n === type)?.[0],
      id: readU32(MapInfo, buf, 'id'),
      keySize: readU32(MapInfo, buf, 'key_size'),
      valueSize: readU32(MapInfo, buf, 'value_size'),
      maxEntries: readU32(MapInfo, buf, 'max_entries'),
      flags: readU32(MapInfo, buf, 'map_flags'),
      name: cString(buf.subarray(MapInfo.fields.name.offset, MapInfo.fields.name.offset + MapInfo.fields.name.size)),
    };
  }

  #encode<T>(op: 'map_lookup' | 'map_update' | 'map_delete', what: 'key' | 'value', codec: Codec<T>, v: T | Buffer): Buffer {
    const size = codec.size;
    if (Buffer.isBuffer(v)) {
      // Raw bytes bypass the codec, so their size is the one thing to check before the kernel sees them.
      if (v.length !== size) {
        throw BpfError.usage(op, `wrong ${what} size`, `got ${v.length} bytes, the map's ${what}s are ${size} bytes: ${codec.describe}`, {
          map: this.name,
        });
      }
      return v;
    }
    let bytes: Buffer;
    try {
      bytes = codec.encode(v as T);
    } catch (err) {
      throw BpfError.usage(op, `bad ${what}`, (err as Error).message, { map: this.name });
    }
    if (bytes.length !== size) {
      throw BpfError.usage(op, `wrong ${what} size`, `the codec made ${bytes.length} bytes, the map's ${what}s are ${size} bytes`, { map: this.name });
    }
    return bytes;
  }

  #elem(cmd: number, op: 'map_lookup' | 'map_update' | 'map_delete', key: K | Buffer, value?: Buffer, flags = 0): number {
    const keyBytes = this.#encode(op, 'key', this.key, key);
    return bpfCommandRaw(cmd, MapElemAttr, {
      map_fd: this.fd,
      key: keyBytes,
      ...(value ? { value } : {}),
      ...(flags ? { flags } : {}),
    }).ret;
  }
}

let cpus: number | undefined;

/**
 * How many CPUs the kernel may ever bring up — the length of a per-CPU value and of a perf event array.
 * It is the highest index in /sys/devices/system/cpu/possible plus one ("0-3" → 4, "0,2-3" → 4).
 */
export function possibleCpus(text?: string): number {
  if (text === undefined && cpus !== undefined) return cpus;
  const list = text ?? readFileSync('/sys/devices/system/cpu/possible', 'utf8');
  const highest = Math.max(
    ...list
      .trim()
      .split(',')
      .map((range) => Number(range.split('-').pop())),
  );
  if (!Number.isInteger(highest) || highest < 0) throw new Error(`read possible CPUs: cannot parse "${list.trim()}"`);
  if (text === undefined) cpus = highest + 1;
  return highest + 1;
}
