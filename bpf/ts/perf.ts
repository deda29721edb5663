// Reading what programs send to user space, from memory the kernel shares with us:
//  - a perf event array (bpf_perf_event_output, helper 25): one perf ring per CPU, each a
//    perf_event_mmap_page followed by 2^n data pages of perf records (SAMPLE, and LOST when it overflowed);
//  - a BPF ring buffer (bpf_ringbuf_output, helper 130; 5.8+): one ring shared by all CPUs, a consumer
//    page we write, a producer page and the data pages (mapped twice in a row, so no record wraps).
//
// Both readers drain on demand (`poll()`) and, unless told not to, whenever an fd turns readable: koffi's
// libuv poll handle puts the fds in Node's own epoll set, so nothing spins while idle and a sample is read
// as soon as the kernel wakes us (perf: wakeup_events = 1; ring buffer: after each committed record).

import {
  BPF_RINGBUF_BUSY_BIT,
  BPF_RINGBUF_DISCARD_BIT,
  BPF_RINGBUF_HDR_SZ,
  encodeAttr,
  PERF_COUNT_SW_BPF_OUTPUT,
  PERF_EVENT_IOC_DISABLE,
  PERF_EVENT_IOC_ENABLE,
  PERF_FLAG_FD_CLOEXEC,
  PERF_RECORD_LOST,
  PERF_RECORD_SAMPLE,
  PERF_SAMPLE_RAW,
  PERF_TYPE_SOFTWARE,
  PerfEventAttr,
  PerfEventMmapPage,
} from './attr.js';
import { roundUp } from './codec.js';
import { BpfError, check, errno } from './errors.js';
import { KernelObject, weakly } from './lifetime.js';
import { possibleCpus, type BpfMap } from './map.js';
import { MAP_SHARED, PAGE_SIZE, PROT_READ, PROT_WRITE, sys, type Watch } from './syscall.js';

export interface ReaderOptions {
  /** Called once per sample, in order per CPU (perf) or globally (ring buffer). The Buffer is a copy. */
  onSample: (sample: Buffer, cpu: number | undefined) => void;
  /** Called when the kernel reports records it had to drop (perf only: a full ring). */
  onLost?: (count: number, cpu: number | undefined) => void;
  /** Drain whenever the kernel signals data (default). false: only when poll() is called. */
  watch?: boolean;
}

/** One mmap'ed region, unmapped on close. */
interface Mapping {
  addr: bigint;
  length: number;
  mem: Buffer;
}

function mapShared(fd: number, length: number, prot: number, offset: number, target: string): Mapping {
  const addr = sys().mmap(length, prot, MAP_SHARED, fd, offset);
  if (addr < 0n) throw BpfError.fromErrno('mmap', Number(-addr), { target });
  return { addr, length, mem: sys().view(addr, length) };
}

// Head and tail words are shared with the kernel: Atomics gives the ordering perf's and the ring buffer's
// documentation ask for (load-acquire of the producer position, store-release of ours).
function u64At(mem: Buffer, offset: number): BigUint64Array {
  const at = mem.byteOffset + offset;
  if (at % 8 !== 0) throw new Error(`internal: u64 at unaligned offset ${at}`);
  return new BigUint64Array(mem.buffer, at, 1);
}

interface PerfRing {
  cpu: number;
  fd: number;
  mapping: Mapping;
  head: BigUint64Array;
  tail: BigUint64Array;
  dataOffset: number;
  dataSize: number;
  watch?: Watch;
}

// Module-level, not arrows in the methods: an arrow made next to one that uses `this` shares its context,
// and so would keep the reader alive from libuv's watch (see weakly()).
const pollReader = (r: { poll(): number }): void => {
  r.poll();
};

/** Reader of a BPF_MAP_TYPE_PERF_EVENT_ARRAY: one BPF-output perf event and ring per CPU. */
export class PerfBufferReader extends KernelObject {
  #rings: PerfRing[] = [];
  /** Records the kernel dropped because a ring was full (from PERF_RECORD_LOST). */
  lost = 0;
  /** Samples delivered so far. */
  samples = 0;

  private constructor(
    readonly map: BpfMap<number, number>,
    readonly pages: number,
    private readonly opts: ReaderOptions,
  ) {
    super();
  }

  /**
   * Open one perf event per possible CPU (PERF_COUNT_SW_BPF_OUTPUT), map 1 + `pages` pages of each
   * (`pages` a power of two; 8 by default = 32 KiB per CPU), and put its fd in the map at the CPU's index.
   */
  static open(map: BpfMap<number, number>, opts: ReaderOptions & { pages?: number }): PerfBufferReader {
    const pages = opts.pages ?? 8;
    if (!Number.isInteger(Math.log2(pages))) {
      throw BpfError.usage('mmap', 'bad page count', `${pages} data pages is not a power of two`, { target: `perf buffer of map "${map.name}"` });
    }
    const reader = new PerfBufferReader(map, pages, opts);
    try {
      const cpus = Math.min(possibleCpus(), map.maxEntries);
      for (let cpu = 0; cpu < cpus; cpu++) reader.#openCpu(cpu);
      if (reader.#rings.length === 0) throw BpfError.fromErrno('perf_event_open', errno.ENODEV!, { target: 'BPF output on any CPU' });
      if (opts.watch !== false) drainOnceWatched(weakly(reader, pollReader));
    } catch (err) {
      reader.close();
      throw err;
    }
    return reader;
  }

  #openCpu(cpu: number): void {
    const target = `BPF output on CPU ${cpu}`;
    const attr = encodeAttr(PerfEventAttr, {
      type: PERF_TYPE_SOFTWARE,
      config: PERF_COUNT_SW_BPF_OUTPUT,
      sample_period: 1,
      sample_type: PERF_SAMPLE_RAW,
      wakeup_events: 1,
    });
    attr.writeUInt32LE(attr.length, PerfEventAttr.fields.size.offset);
    const fd = this.syscalls.perfEventOpen(attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
    // A possible CPU that is offline has no events: skip it, as libbpf does.
    if (fd === -errno.ENODEV) return;
    this.holdFd(check('perf_event_open', fd, { target }));
    const mapping = mapShared(fd, (1 + this.pages) * PAGE_SIZE, PROT_READ | PROT_WRITE, 0, `perf buffer of CPU ${cpu}`);
    this.holdMapping(mapping.addr, mapping.length);
    const page = mapping.mem;
    // data_offset/data_size exist since 4.1; before that, data starts on the second page.
    const dataOffset = Number(page.readBigUInt64LE(PerfEventMmapPage.fields.data_offset.offset)) || PAGE_SIZE;
    const dataSize = Number(page.readBigUInt64LE(PerfEventMmapPage.fields.data_size.offset)) || this.pages * PAGE_SIZE;
    const ring: PerfRing = {
      cpu,
      fd,
      mapping,
      head: u64At(page, PerfEventMmapPage.fields.data_head.offset),
      tail: u64At(page, PerfEventMmapPage.fields.data_tail.offset),
      dataOffset,
      dataSize,
    };
    this.#rings.push(ring);
    check('perf_ioctl', this.syscalls.ioctl(fd, PERF_EVENT_IOC_ENABLE, 0), { target });
    this.map.update(cpu, fd);
    if (this.opts.watch !== false) ring.watch = this.holdWatch(this.syscalls.watch(fd, weakly(this, PerfBufferReader.#drainer(ring))));
  }

  // Static: the callback must reach the reader only through weakly()'s WeakRef.
  static #drainer(ring: PerfRing): (r: PerfBufferReader) => void {
    return (r) => {
      r.#drain(ring);
    };
  }

  /** Read every record now in every ring; returns the number of samples delivered. */
  poll(): number {
    let n = 0;
    for (const ring of this.#rings) n += this.#drain(ring);
    return n;
  }

  #drain(ring: PerfRing): number {
    if (this.closed) return 0;
    const mem = ring.mapping.mem;
    const head = Atomics.load(ring.head, 0);
    let tail = Atomics.load(ring.tail, 0);
    let delivered = 0;
    try {
      while (tail < head) {
        const start = Number(tail % BigInt(ring.dataSize));
        // Records are 8-byte aligned, so the 8-byte header never wraps; the body may.
        const headerAt = ring.dataOffset + start;
        const type = mem.readUInt32LE(headerAt);
        const size = mem.readUInt16LE(headerAt + 6);
        if (size < 8) throw new Error(`read perf buffer of CPU ${ring.cpu}: corrupt record of ${size} bytes at ${start}`);
        const record = copyWrapped(mem, ring.dataOffset, ring.dataSize, start, size);
        tail += BigInt(size);
        if (type === PERF_RECORD_SAMPLE) {
          // PERF_SAMPLE_RAW: u32 size, then the bytes (padded by the kernel so the record stays 8-aligned).
          const rawSize = record.readUInt32LE(8);
          this.samples++;
          delivered++;
          this.opts.onSample(record.subarray(12, 12 + rawSize), ring.cpu);
        } else if (type === PERF_RECORD_LOST) {
          // u64 id, u64 lost
          const count = Number(record.readBigUInt64LE(16));
          this.lost += count;
          this.opts.onLost?.(count, ring.cpu);
        }
        // A callback may close the reader: the ring is unmapped then, and must not be touched again.
        if (this.closed) return delivered;
      }
    } finally {
      if (!this.closed) Atomics.store(ring.tail, 0, tail);
    }
    return delivered;
  }

  /**
   * close(): take the fds out of the map and disable the events; then (KernelObject) stop watching,
   * unmap and close. Idempotent. A reader dropped without close() only gets the second half: the map
   * may be gone by then, and holds the events only until it is closed itself.
   */
  protected override beforeRelease(): void {
    for (const ring of this.#rings) {
      // The map holds its own reference to the event: remove it, or the event lives as long as the map.
      if (!this.map.closed) {
        try {
          this.map.delete(ring.cpu);
        } catch {
          // already gone
        }
      }
      this.syscalls.ioctl(ring.fd, PERF_EVENT_IOC_DISABLE, 0);
    }
    this.#rings = [];
  }
}

/**
 * libuv adds a new fd to epoll on its next poll phase, and perf's poll() clears the "data ready" flag when
 * asked — so a sample written before that moment would wait for the next wakeup. One drain right after
 * the poll phase (setImmediate runs there) picks it up.
 */
function drainOnceWatched(drain: () => void): void {
  setImmediate(drain);
}

/** size bytes from a ring of dataSize bytes at base, starting at start and wrapping to the beginning. */
export function copyWrapped(mem: Buffer, base: number, dataSize: number, start: number, size: number): Buffer {
  const out = Buffer.alloc(size);
  const first = Math.min(size, dataSize - start);
  mem.copy(out, 0, base + start, base + start + first);
  if (first < size) mem.copy(out, first, base, base + size - first);
  return out;
}

/** Reader of a BPF_MAP_TYPE_RINGBUF. close() stops watching and unmaps; the map stays open (its owner closes it). */
export class RingBufferReader extends KernelObject {
  #consumer: Mapping;
  #producer: Mapping;
  #consumerPos: BigUint64Array;
  #producerPos: BigUint64Array;
  #mask: bigint;
  /** Always 0: a full ring buffer makes bpf_ringbuf_output fail in the program, which must count it. */
  readonly lost = 0;
  /** Records the program reserved and then discarded. */
  discarded = 0;
  samples = 0;

  private constructor(
    readonly map: BpfMap<never, never>,
    private readonly opts: ReaderOptions,
  ) {
    super();
    const size = map.maxEntries;
    const target = `ring buffer of map "${map.name}"`;
    this.#mask = BigInt(size - 1);
    try {
      // Page 0: the consumer position, ours to write. Then, read-only: the producer position page and the
      // data pages, which the kernel maps twice in a row so a record can always be read in one piece.
      this.#consumer = mapShared(map.fd, PAGE_SIZE, PROT_READ | PROT_WRITE, 0, target);
      this.holdMapping(this.#consumer.addr, this.#consumer.length);
      this.#producer = mapShared(map.fd, PAGE_SIZE + 2 * size, PROT_READ, PAGE_SIZE, target);
      this.holdMapping(this.#producer.addr, this.#producer.length);
    } catch (err) {
      this.close();
      throw err;
    }
    this.#consumerPos = u64At(this.#consumer.mem, 0);
    this.#producerPos = u64At(this.#producer.mem, 0);
    if (opts.watch !== false) {
      this.holdWatch(this.syscalls.watch(map.fd, weakly(this, pollReader)));
      drainOnceWatched(weakly(this, pollReader));
    }
  }

  static open(map: BpfMap<never, never>, opts: ReaderOptions): RingBufferReader {
    if (map.type !== 'ringbuf') {
      throw BpfError.usage('mmap', 'not a ring buffer', `map "${map.name}" is a ${map.type} map`, { target: `map "${map.name}"` });
    }
    return new RingBufferReader(map, opts);
  }

  /** Read every committed record now; returns the number of samples delivered. */
  poll(): number {
    if (this.closed) return 0;
    const mem = this.#producer.mem;
    let consumer = Atomics.load(this.#consumerPos, 0);
    let delivered = 0;
    try {
      for (;;) {
        const producer = Atomics.load(this.#producerPos, 0);
        if (consumer >= producer) break;
        const at = PAGE_SIZE + Number(consumer & this.#mask);
        const header = Atomics.load(new Uint32Array(mem.buffer, mem.byteOffset + at, 1), 0);
        // BUSY: reserved but not yet committed; records after it must wait too.
        if (header & BPF_RINGBUF_BUSY_BIT) break;
        const length = header & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
        consumer += BigInt(roundUp(length + BPF_RINGBUF_HDR_SZ, 8));
        if (header & BPF_RINGBUF_DISCARD_BIT) {
          this.discarded++;
        } else {
          const start = at + BPF_RINGBUF_HDR_SZ;
          this.samples++;
          delivered++;
          this.opts.onSample(Buffer.from(mem.subarray(start, start + length)), undefined);
        }
        // A callback may close the reader: the ring is unmapped then, and must not be touched again.
        if (this.closed) return delivered;
        Atomics.store(this.#consumerPos, 0, consumer);
      }
    } finally {
      if (!this.closed) Atomics.store(this.#consumerPos, 0, consumer);
    }
    return delivered;
  }
}

export const openPerfBuffer = PerfBufferReader.open;
export const openRingBuffer = RingBufferReader.open;
