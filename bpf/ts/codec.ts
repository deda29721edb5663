// Typed views of map keys and values: a codec turns a JavaScript value into the exact bytes a BPF program
// sees and back. Structs are laid out as C lays them out (each field at its natural alignment, the whole
// padded to the largest), so a codec and the program's C struct agree byte for byte.

export interface Codec<T> {
  /** Bytes in the map (key_size / value_size). */
  readonly size: number;
  /** C alignment, for laying out structs. */
  readonly align: number;
  /** A short C-like description, for messages and notebooks: "u32", "char[16]", "struct { u32 pid; … }". */
  readonly describe: string;
  encode(value: T): Buffer;
  decode(bytes: Buffer): T;
}

export type CodecValue<C> = C extends Codec<infer T> ? T : never;

function integer<T extends number | bigint>(
  describe: string,
  size: number,
  write: (b: Buffer, v: T) => void,
  read: (b: Buffer) => T,
  check: (v: T) => boolean,
): Codec<T> {
  return {
    size,
    align: size,
    describe,
    encode(v) {
      if (!check(v)) throw new RangeError(`encode ${describe}: ${v} is out of range`);
      const b = Buffer.alloc(size);
      write(b, v);
      return b;
    },
    decode: (b) => read(b),
  };
}

export const u8 = integer<number>('u8', 1, (b, v) => b.writeUInt8(v), (b) => b.readUInt8(0), (v) => Number.isInteger(v) && v >= 0 && v < 2 ** 8);
export const u16 = integer<number>('u16', 2, (b, v) => b.writeUInt16LE(v), (b) => b.readUInt16LE(0), (v) => Number.isInteger(v) && v >= 0 && v < 2 ** 16);
export const u32 = integer<number>('u32', 4, (b, v) => b.writeUInt32LE(v), (b) => b.readUInt32LE(0), (v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32);
export const s32 = integer<number>('s32', 4, (b, v) => b.writeInt32LE(v), (b) => b.readInt32LE(0), (v) => Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31);
export const u64 = integer<bigint>('u64', 8, (b, v) => b.writeBigUInt64LE(v), (b) => b.readBigUInt64LE(0), (v) => typeof v === 'bigint' && v >= 0n && v < 2n ** 64n);
export const s64 = integer<bigint>('s64', 8, (b, v) => b.writeBigInt64LE(v), (b) => b.readBigInt64LE(0), (v) => typeof v === 'bigint' && v >= -(2n ** 63n) && v < 2n ** 63n);

/**
 * char[size] holding a NUL-terminated string (comm, filename): decoding stops at the first NUL, encoding
 * pads with NULs and refuses a string that leaves no room for one.
 */
export function cstring(size: number): Codec<string> {
  return {
    size,
    align: 1,
    describe: `char[${size}]`,
    encode(v) {
      const bytes = Buffer.from(v, 'utf8');
      if (bytes.length >= size) throw new RangeError(`encode char[${size}]: "${v}" needs ${bytes.length + 1} bytes with its NUL`);
      const b = Buffer.alloc(size);
      bytes.copy(b);
      return b;
    },
    decode(b) {
      const end = b.indexOf(0);
      return b.subarray(0, end < 0 ? size : end).toString('utf8');
    },
  };
}

/** Raw bytes of a fixed size, for anything without a better codec. */
export function bytes(size: number): Codec<Buffer> {
  return {
    size,
    align: 1,
    describe: `u8[${size}]`,
    encode(v) {
      if (v.length !== size) throw new RangeError(`encode u8[${size}]: got ${v.length} bytes`);
      return Buffer.from(v);
    },
    decode: (b) => Buffer.from(b.subarray(0, size)),
  };
}

export interface StructCodec<T> extends Codec<T> {
  /** Each field's offset, as offsetof() gives it in C. */
  readonly offsets: Record<keyof T & string, number>;
}

/** A C struct of named fields, in the order given: `struct({ pid: u32, comm: cstring(16) })`. */
export function struct<F extends Record<string, Codec<any>>>(fields: F): StructCodec<{ [K in keyof F]: CodecValue<F[K]> }> {
  type T = { [K in keyof F]: CodecValue<F[K]> };
  const offsets = {} as Record<keyof T & string, number>;
  let offset = 0;
  let align = 1;
  for (const [name, codec] of Object.entries(fields)) {
    offset = roundUp(offset, codec.align);
    offsets[name as keyof T & string] = offset;
    offset += codec.size;
    align = Math.max(align, codec.align);
  }
  const size = roundUp(offset, align);
  const entries = Object.entries(fields);
  return {
    size,
    align,
    offsets,
    describe: `struct { ${entries.map(([n, c]) => `${c.describe} ${n};`).join(' ')} }`,
    encode(v) {
      const b = Buffer.alloc(size);
      for (const [name, codec] of entries) {
        if (!(name in v)) throw new TypeError(`encode struct: field ${name} is missing`);
        codec.encode(v[name as keyof T]).copy(b, offsets[name as keyof T & string]);
      }
      return b;
    },
    decode(b) {
      const v = {} as T;
      for (const [name, codec] of entries) {
        const at = offsets[name as keyof T & string];
        v[name as keyof T] = codec.decode(b.subarray(at, at + codec.size));
      }
      return v;
    },
  };
}

/**
 * A per-CPU value: one copy per possible CPU, each padded to 8 bytes — the layout the kernel uses when it
 * hands a per-CPU map's value to user space.
 */
export function perCpu<T>(codec: Codec<T>, cpus: number): Codec<T[]> {
  const stride = roundUp(codec.size, 8);
  return {
    size: stride * cpus,
    align: 8,
    describe: `${codec.describe}[${cpus} CPUs]`,
    encode(values) {
      if (values.length !== cpus) throw new RangeError(`encode per-CPU value: got ${values.length} values for ${cpus} possible CPUs`);
      const b = Buffer.alloc(stride * cpus);
      values.forEach((v, cpu) => codec.encode(v).copy(b, cpu * stride));
      return b;
    },
    decode(b) {
      return Array.from({ length: cpus }, (_, cpu) => codec.decode(b.subarray(cpu * stride, cpu * stride + codec.size)));
    },
  };
}

export const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;
