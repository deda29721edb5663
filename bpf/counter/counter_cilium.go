// SPDX-License-Identifier: GPL-2.0
// counter, cilium/ebpf version, user side: the course's main.go (cilium's examples/kprobe). bpf2go compiled
// counter_cilium.bpf.c and wrote bpf_bpfel.go beside this file: the object embedded in the binary, and Go
// types named after the C ones (bpfObjects, its KprobeMap, PerPid, KprobeExecve, TracepointExecve).
// Attaches one program — the sys_enter_execve tracepoint, or with --kprobe the kprobe the course uses — and
// prints the maps when told to stop, as counter.c does.
//
// Output (stdout): once attached, "Counting execve calls... Hit Ctrl-C to end."; on SIGINT or SIGTERM,
// "PID     COUNT", one "%-7d %d" line per process (by pid), then "TOTAL   <n>", exit 0.
// Errors: stderr, exit 1; bad usage: exit 2.
//
// Built with CGO_ENABLED=0: a static binary that talks to the kernel through bpf() itself. cilium/ebpf
// is a loader of its own, written in Go — no libbpf, no libelf, no libc: what libbpf does for counter.c
// (parse the ELF, create the maps, relocate, load, attach) is done here by Go code.
package main

// The course's go:generate line. ./lab's build runs it in build/bpf/go/counter with BPF_SOURCE naming the C
// file, BPF_CLANG clang and BPF_CFLAGS the include path of vmlinux.h. -target bpfel: one object for every
// little-endian machine (the course's default builds a big-endian one too).
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc $BPF_CLANG -cflags $BPF_CFLAGS -target bpfel bpf $BPF_SOURCE

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

// hint is the usual cause of an error: permissions, otherwise the step's own.
func hint(err error, otherwise string) string {
	if errors.Is(err, os.ErrPermission) {
		return "run as root or grant CAP_BPF+CAP_PERFMON"
	}
	return otherwise
}

// kprobesAvailable: cilium/ebpf attaches a kprobe through the perf "kprobe" PMU (4.17+), else through
// tracefs's kprobe_events; a kernel built without CONFIG_KPROBES has neither.
func kprobesAvailable() bool {
	for _, p := range []string{"/sys/bus/event_source/devices/kprobe/type", "/sys/kernel/tracing/kprobe_events", "/sys/kernel/debug/tracing/kprobe_events"} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// mountDebugTracing makes /sys/kernel/debug/tracing exist: cilium/ebpf 0.9.1 (Debian 12's) looks for tracefs
// there only, where mounting debugfs brings it (later releases try /sys/kernel/tracing first). Machines that
// mount tracefs alone, as the development machine does, have nothing there: mount debugfs, as root. The mount
// stays for everyone, as `mount -t debugfs debugfs /sys/kernel/debug` would.
func mountDebugTracing() error {
	if _, err := os.Stat("/sys/kernel/debug/tracing/events"); err == nil {
		return nil
	}
	err := unix.Mount("debugfs", "/sys/kernel/debug", "debugfs", 0, "")
	if err != nil && !errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("mount debugfs on /sys/kernel/debug: %w", err)
	}
	if _, err := os.Stat("/sys/kernel/debug/tracing/events"); err != nil {
		return fmt.Errorf("no tracefs under /sys/kernel/debug/tracing after mounting debugfs: %w", err)
	}
	return nil
}

func printCounts(objs *bpfObjects) error {
	counts := map[uint32]uint64{}
	var pid uint32
	var count uint64
	iter := objs.PerPid.Iterate()
	for iter.Next(&pid, &count) {
		counts[pid] = count
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("read per_pid: %w", err)
	}
	pids := make([]uint32, 0, len(counts))
	for p := range counts {
		pids = append(pids, p)
	}
	sort.Slice(pids, func(i, j int) bool { return pids[i] < pids[j] })
	fmt.Printf("%-7s %s\n", "PID", "COUNT")
	for _, p := range pids {
		fmt.Printf("%-7d %d\n", p, counts[p])
	}
	var total uint64
	if err := objs.KprobeMap.Lookup(uint32(0), &total); err != nil {
		return fmt.Errorf("read total: %w", err)
	}
	fmt.Printf("%-7s %d\n", "TOTAL", total)
	return nil
}

func main() {
	kprobe := flag.Bool("kprobe", false, "attach the course's kprobe on the execve syscall instead of the tracepoint")
	flag.Usage = func() { fmt.Fprintf(os.Stderr, "usage: %s [--kprobe] (Ctrl-C prints the counts)\n", os.Args[0]) }
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	// Caught from here on, so a stop request never ends the process before the counts.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)

	// Before 5.11 BPF memory counts against RLIMIT_MEMLOCK; from 5.11 (memcg accounting) this does nothing.
	if err := rlimit.RemoveMemlock(); err != nil {
		fail("remove memlock limit: %v", err)
	}
	if *kprobe && !kprobesAvailable() {
		fail("attach kprobe sys_execve: kprobes are not available on this kernel (CONFIG_KPROBES is not set; run without --kprobe to use the tracepoint)")
	}

	// The course's three lines: bpfObjects and loadBpfObjects are bpf2go's, from the C names. Both
	// programs load (a kprobe program needs no kprobes until it is attached); one is attached.
	objs := bpfObjects{}
	if err := loadBpfObjects(&objs, nil); err != nil {
		var verr *ebpf.VerifierError
		if errors.As(err, &verr) {
			fail("load counter_cilium.bpf.c: %+v", verr)
		}
		fail("load counter_cilium.bpf.c: %v (%s)", err, hint(err, "is the kernel built with CONFIG_BPF_SYSCALL?"))
	}
	defer objs.Close()

	if err := mountDebugTracing(); err != nil {
		fail("attach: %v (%s)", err, hint(err, "mount -t debugfs debugfs /sys/kernel/debug"))
	}
	var attached link.Link
	var err error
	if *kprobe {
		// "sys_execve" as the course writes it: there is no such function since 4.17, and link.Kprobe,
		// finding none, retries with the platform prefix: __x64_sys_execve on x86-64.
		attached, err = link.Kprobe("sys_execve", objs.KprobeExecve, nil)
	} else {
		attached, err = link.Tracepoint("syscalls", "sys_enter_execve", objs.TracepointExecve, nil)
	}
	if err != nil {
		what := "tracepoint syscalls/sys_enter_execve"
		if *kprobe {
			what = "kprobe sys_execve"
		}
		fail("attach %s: %v (%s)", what, err, hint(err, "is tracefs mounted? mount -t tracefs tracefs /sys/kernel/tracing"))
	}

	// The course reads the total once a second; here it is read once, when told to stop.
	fmt.Println("Counting execve calls... Hit Ctrl-C to end.")
	<-stop
	// Detach first, so the counts printed are final.
	attached.Close()
	if err := printCounts(&objs); err != nil {
		fail("%v", err)
	}
}
