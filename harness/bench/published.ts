// Figures others measured, shown beside ours with their sources: not comparable number for number (other
// machines, other versions), but the same questions, so a student can see whether the ranking holds.

export interface Published {
  what: string;
  figure: string;
  /** The closest of our own measures, by name in the bench report. */
  compare: 'rss' | 'startup' | 'cost' | 'loss';
  source: string;
}

export const PUBLISHED: Published[] = [
  {
    what: "BCC's opensnoop against libbpf-tools' opensnoop, resident memory",
    figure: '80 MB (BCC, Python + LLVM) against 9 MB (libbpf CO-RE)',
    compare: 'rss',
    source: 'Brendan Gregg, "BPF binaries: BTF, CO-RE, and the future of BPF perf tools" (2020), https://www.brendangregg.com/blog/2020-11-04/bpf-co-re-btf-libbpf.html',
  },
  {
    what: 'a trivial kprobe, time to attached',
    figure: '0.25 s with BCC against 0.12 s with bpftrace',
    compare: 'startup',
    source: 'iovisor/bcc issue #2367, https://github.com/iovisor/bcc/issues/2367',
  },
  {
    what: 'a tracepoint program updating a map, cost per event',
    figure: '+35 ns per event (getpid() in a loop, a probe incrementing a hash map; figure as cited in issue 11)',
    compare: 'cost',
    source: 'Cloudflare ebpf_exporter, benchmark/README.md, https://github.com/cloudflare/ebpf_exporter/tree/master/benchmark',
  },
  {
    what: 'BPF ring buffer against perf buffer, throughput',
    figure: 'ringbuf at or above perfbuf throughput, one buffer shared by all CPUs and events kept in order',
    compare: 'loss',
    source: 'the kernel\'s benchmark, tools/testing/selftests/bpf/benchs/bench_ringbufs.c, and Andrii Nakryiko, "BPF ring buffer" (2020), https://nakryiko.com/posts/bpf-ringbuf/',
  },
];
