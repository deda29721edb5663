// SPDX-License-Identifier: GPL-2.0
// execsnoop, cilium/ebpf version, user side: loads execsnoop.bpf.c — the libbpf variant's kernel side, built by
// bpf2go with EXECSNOOP_RINGBUF so that its events come through a ring buffer — attaches its five tracepoints
// and prints one line per exec from ringbuf.Reader, exactly as execsnoop.c prints it (the same reader parses
// both): the header "PCOMM PID PPID RET SYSCALL ARGS", then "%-16s %-7d %-7d %3d %-8s " and the arguments,
// quoted only when needed ('...', or $'...' with \xHH for a control character or bytes that are not UTF-8), a
// cut one ending in "...", a final unquoted "..." when argv had more than MAX_ARGS entries, an unquoted
// <unreadable> for an argument the kernel side could not read. SIGINT or SIGTERM: detach, print what is still
// in the ring, exit 0. Errors: stderr, exit 1.
//
// CO-RE without libbpf: cilium/ebpf reads the running kernel's BTF and relocates the task_struct and mm_struct
// field offsets itself. Built with CGO_ENABLED=0: one static binary, no libbpf, libelf or libc.
package main

// bpf2go, run by ./lab's build in build/bpf/go/execsnoop: BPF_SOURCE is bpf/execsnoop/execsnoop.bpf.c and
// BPF_CFLAGS adds -DEXECSNOOP_RINGBUF. It writes bpfObjects (Execs, Scratch, Events, the five programs) and,
// from the map value's BTF, bpfEvent: struct event of execsnoop.h as a Go struct.
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc $BPF_CLANG -cflags $BPF_CFLAGS -target bpfel bpf $BPF_SOURCE

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// execsnoop.h's constants (bpf2go turns types into Go, not macros).
const (
	maxArgs         = 20
	argSize         = 128
	syscallExecve   = 1
	syscallExecveat = 2
	unreadableMark  = "<unreadable>"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func hint(err error, otherwise string) string {
	if errors.Is(err, os.ErrPermission) {
		return "run as root or grant CAP_BPF+CAP_PERFMON"
	}
	return otherwise
}

// With LAB_PHASES=1, one "lab-phase NAME MS" line on stderr per start-up phase, the ms since the previous one
// (the first: since the process started): ./lab bench shows where the time goes, as it does for execsnoop.c.
var phaseLast = -1.0

func boottimeMs() float64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	return float64(ts.Sec)*1e3 + float64(ts.Nsec)/1e6
}

func phase(name string) {
	if os.Getenv("LAB_PHASES") != "1" {
		return
	}
	now := boottimeMs()
	if phaseLast < 0 {
		// field 22 of /proc/self/stat, starttime in clock ticks since boot (USER_HZ, 100 on Linux)
		stat, _ := os.ReadFile("/proc/self/stat")
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		start, _ := strconv.ParseFloat(fields[19], 64)
		phaseLast = start * 10
	}
	fmt.Fprintf(os.Stderr, "lab-phase %s %.1f\n", name, now-phaseLast)
	phaseLast = now
}

// mountDebugTracing: cilium/ebpf 0.9.1 (Debian 12's) looks for tracefs at /sys/kernel/debug/tracing only, where
// mounting debugfs brings it (later releases try /sys/kernel/tracing first). A machine that mounts tracefs
// alone, as the development machine does, has nothing there: mount debugfs, as root. The mount stays.
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

// BTF kinds newer than cilium/ebpf 0.9.1, which fails on them ("unknown kind"): DECL_TAG and TYPE_TAG (5.16)
// and ENUM64 (6.0). Every Debian kernel from 6.1 has them in its BTF, and CO-RE needs that BTF.
const (
	kindInt     = 1
	kindEnum    = 6
	kindConst   = 10
	kindDeclTag = 17
	kindTypeTag = 18
	kindEnum64  = 19
)

// sanitizeKernelBTF rewrites a raw BTF blob (/sys/kernel/btf/vmlinux) into the kinds cilium/ebpf 0.9.1 knows,
// type ids unchanged, as libbpf does for an old kernel: a TYPE_TAG becomes a CONST of the same type (a qualifier
// either way), a DECL_TAG (an annotation nothing refers to) a one-byte INT, an ENUM64 an 8-byte ENUM of the
// values' low 32 bits. None of them is a struct field CO-RE looks up, so the relocations come out the same.
func sanitizeKernelBTF(raw []byte) ([]byte, error) {
	le := binary.LittleEndian
	if len(raw) < 24 || le.Uint16(raw) != 0xeb9f {
		return nil, errors.New("not little-endian raw BTF (magic 0xeb9f)")
	}
	hdrLen := le.Uint32(raw[4:])
	typeOff, typeLen := le.Uint32(raw[8:]), le.Uint32(raw[12:])
	strOff, strLen := le.Uint32(raw[16:]), le.Uint32(raw[20:])
	start, end := hdrLen+typeOff, hdrLen+typeOff+typeLen
	if uint64(hdrLen)+uint64(strOff)+uint64(strLen) > uint64(len(raw)) || uint64(end) > uint64(len(raw)) {
		return nil, errors.New("BTF header points past the end of the blob")
	}
	in := raw[start:end]
	out := make([]byte, 0, len(in))
	for off := 0; off < len(in); {
		if off+12 > len(in) {
			return nil, fmt.Errorf("type at offset %d: cut short", off)
		}
		info := le.Uint32(in[off+4:])
		kind, vlen := (info>>24)&0x1f, int(info&0xffff)
		var extra int
		switch kind {
		case 1, 14, kindDeclTag: // INT, VAR, DECL_TAG: one u32
			extra = 4
		case 3: // ARRAY
			extra = 12
		case 4, 5, 15, kindEnum64: // STRUCT, UNION, DATASEC, ENUM64: 12 bytes a member
			extra = 12 * vlen
		case kindEnum, 13: // ENUM, FUNC_PROTO: 8 bytes a member
			extra = 8 * vlen
		case 2, 7, 8, 9, kindConst, 11, 12, 16, kindTypeTag: // the kinds with nothing after the header
		default:
			return nil, fmt.Errorf("type at offset %d: unknown BTF kind %d", off, kind)
		}
		if off+12+extra > len(in) {
			return nil, fmt.Errorf("type at offset %d: cut short", off)
		}
		rec := append([]byte(nil), in[off:off+12+extra]...)
		switch kind {
		case kindTypeTag:
			le.PutUint32(rec[0:], 0)
			le.PutUint32(rec[4:], kindConst<<24)
		case kindDeclTag:
			le.PutUint32(rec[0:], 0)
			le.PutUint32(rec[4:], kindInt<<24)
			le.PutUint32(rec[8:], 1) // size: 1 byte
			le.PutUint32(rec[12:], 8) // encoding: unsigned, 8 bits at offset 0
		case kindEnum64:
			enum := make([]byte, 12+8*vlen)
			copy(enum, rec[:12])
			le.PutUint32(enum[4:], kindEnum<<24|uint32(vlen))
			for i := 0; i < vlen; i++ {
				copy(enum[12+8*i:], rec[12+12*i:12+12*i+8]) // name_off, val_lo32
			}
			rec = enum
		}
		out = append(out, rec...)
		off += 12 + extra
	}
	blob := make([]byte, 0, int(hdrLen)+len(out)+int(strLen))
	blob = append(blob, raw[:hdrLen]...)
	le.PutUint32(blob[8:], 0)
	le.PutUint32(blob[12:], uint32(len(out)))
	le.PutUint32(blob[16:], uint32(len(out)))
	blob = append(blob, out...)
	return append(blob, raw[hdrLen+strOff:hdrLen+strOff+strLen]...), nil
}

// kernelTypes is the running kernel's BTF, in kinds cilium/ebpf 0.9.1 can read.
func kernelTypes() (*btf.Spec, error) {
	raw, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil {
		return nil, fmt.Errorf("read the kernel's BTF: %w", err)
	}
	clean, err := sanitizeKernelBTF(raw)
	if err != nil {
		return nil, fmt.Errorf("read the kernel's BTF: %w", err)
	}
	return btf.LoadSpecFromReader(bytes.NewReader(clean))
}

func isPlain(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	for _, c := range s {
		if !(strings.IndexByte("@%+=:,./-_", c) >= 0 || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// hasControl is execsnoop.c's has_control, which tests every byte: a continuation byte is no UTF-8 sequence of
// its own, so any byte from 0x80 up counts, as do the control characters.
func hasControl(s []byte) bool {
	for _, c := range s {
		if c < 0x20 || c >= 0x7f {
			return true
		}
	}
	return false
}

// writeArg writes one argument as a shell would need it typed, then the cut marker: execsnoop.c's print_arg.
func writeArg(w *bufio.Writer, s []byte, cut string) {
	switch {
	case isPlain(s):
		w.Write(s)
		w.WriteString(cut)
	case hasControl(s):
		w.WriteString("$'")
		for i := 0; i < len(s); {
			c := s[i]
			r, n := utf8.DecodeRune(s[i:])
			switch {
			case c == '\n':
				w.WriteString(`\n`)
			case c == '\t':
				w.WriteString(`\t`)
			case c == '\r':
				w.WriteString(`\r`)
			case c == '\\' || c == '\'':
				w.WriteByte('\\')
				w.WriteByte(c)
			case c < 0x20 || c == 0x7f || r == utf8.RuneError && n <= 1:
				fmt.Fprintf(w, `\x%02x`, c)
				n = 1
			default:
				w.Write(s[i : i+n])
			}
			if c < 0x80 {
				n = 1
			}
			i += n
		}
		w.WriteString(cut)
		w.WriteByte('\'')
	default:
		w.WriteByte('\'')
		w.Write(bytes.ReplaceAll(s, []byte("'"), []byte(`'\''`)))
		w.WriteString(cut)
		w.WriteByte('\'')
	}
}

// cString is the bytes of a NUL-terminated char array as bpf2go types it ([N]int8).
func cString(a []int8) []byte {
	b := *(*[]byte)(unsafe.Pointer(&a))
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

func printEvent(w *bufio.Writer, e *bpfEvent) {
	fmt.Fprintf(w, "%-16s %-7d %-7d %3d ", cString(e.Comm[:]), e.Pid, e.Ppid, e.Ret)
	switch {
	case e.Syscall == syscallExecveat && e.Filename[0] != 0:
		fmt.Fprintf(w, "execveat:%-8s ", cString(e.Filename[:]))
	case e.Syscall == syscallExecve:
		fmt.Fprintf(w, "%-8s ", "execve")
	case e.Syscall == syscallExecveat:
		fmt.Fprintf(w, "%-8s ", "execveat")
	default:
		fmt.Fprintf(w, "%-8s ", "?")
	}
	for i := 0; i < int(e.ArgsCount) && i < maxArgs; i++ {
		if i > 0 {
			w.WriteByte(' ')
		}
		if e.ArgsUnreadable>>i&1 != 0 {
			w.WriteString(unreadableMark)
			continue
		}
		cut := ""
		if e.ArgsTruncated>>i&1 != 0 {
			cut = "..."
		}
		writeArg(w, cString(e.Args[i*argSize:(i+1)*argSize]), cut)
	}
	if e.ArgsDropped != 0 {
		w.WriteString(" ...")
	}
	w.WriteByte('\n')
	w.Flush() // one line at a time, as execsnoop.c's line-buffered stdout
}

// ringPositions maps the ring buffer's consumer and producer pages (read-only) to tell when the reader has read
// everything the programs wrote: ringbuf.Reader (0.9.1) can only block for more, and after detaching there is none.
type ringPositions struct{ consumer, producer []byte }

func mapRingPositions(m *ebpf.Map) (*ringPositions, error) {
	page := os.Getpagesize()
	cons, err := unix.Mmap(m.FD(), 0, page, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap the ring's consumer page: %w", err)
	}
	prod, err := unix.Mmap(m.FD(), int64(page), page, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		unix.Munmap(cons)
		return nil, fmt.Errorf("mmap the ring's producer page: %w", err)
	}
	return &ringPositions{cons, prod}, nil
}

func (p *ringPositions) drained() bool {
	load := func(b []byte) uint64 { return atomic.LoadUint64((*uint64)(unsafe.Pointer(&b[0]))) }
	return load(p.consumer) == load(p.producer)
}

func main() {
	if len(os.Args) > 1 {
		fmt.Fprintf(os.Stderr, "usage: %s (Ctrl-C ends)\n", os.Args[0])
		os.Exit(2)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	phase("start")
	if err := rlimit.RemoveMemlock(); err != nil {
		fail("remove memlock limit: %v", err)
	}
	types, err := kernelTypes()
	if err != nil {
		fail("%v (is the kernel built with CONFIG_DEBUG_INFO_BTF?)", err)
	}
	phase("btf")

	objs := bpfObjects{}
	opts := &ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{KernelTypes: types}}
	if err := loadBpfObjects(&objs, opts); err != nil {
		var verr *ebpf.VerifierError
		if errors.As(err, &verr) {
			fail("load execsnoop.bpf.c: %+v", verr)
		}
		fail("load execsnoop.bpf.c: %v (%s)", err, hint(err, "a ring buffer needs 5.8 or later"))
	}
	defer objs.Close()
	phase("load")

	// The reader before the programs, so no event finds the ring without one.
	rd, err := ringbuf.NewReader(objs.Events)
	if err != nil {
		fail("open ring buffer: %v", err)
	}
	positions, err := mapRingPositions(objs.Events)
	if err != nil {
		fail("%v", err)
	}
	if err := mountDebugTracing(); err != nil {
		fail("attach: %v (%s)", err, hint(err, "mount -t debugfs debugfs /sys/kernel/debug"))
	}
	var links []link.Link
	for _, tp := range []struct {
		group, name string
		prog        *ebpf.Program
	}{
		{"sched", "sched_process_exec", objs.HandleExec},
		{"syscalls", "sys_enter_execve", objs.HandleEnterExecve},
		{"syscalls", "sys_enter_execveat", objs.HandleEnterExecveat},
		{"syscalls", "sys_exit_execve", objs.HandleExitExecve},
		{"syscalls", "sys_exit_execveat", objs.HandleExitExecveat},
	} {
		l, err := link.Tracepoint(tp.group, tp.name, tp.prog, nil)
		if err != nil {
			fail("attach tracepoint %s/%s: %v (%s)", tp.group, tp.name, err, hint(err, "is tracefs mounted?"))
		}
		links = append(links, l)
	}
	phase("attach")

	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(w, "%-16s %-7s %-7s %3s %-8s %s\n", "PCOMM", "PID", "PPID", "RET", "SYSCALL", "ARGS")
	w.Flush()
	done := make(chan error, 1)
	go func() {
		var e bpfEvent
		for {
			rec, err := rd.Read()
			if err != nil {
				if errors.Is(err, ringbuf.ErrClosed) {
					err = nil
				}
				done <- err
				return
			}
			if len(rec.RawSample) < binary.Size(&e) {
				continue
			}
			if err := binary.Read(bytes.NewReader(rec.RawSample), binary.LittleEndian, &e); err != nil {
				done <- fmt.Errorf("decode event: %w", err)
				return
			}
			printEvent(w, &e)
		}
	}()
	select {
	case err := <-done:
		fail("read ring buffer: %v", err)
	case <-stop:
	}
	// Detach, then read what is left: the ring is drained when the consumer reaches the producer.
	for _, l := range links {
		l.Close()
	}
	for deadline := time.Now().Add(5 * time.Second); !positions.drained() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	rd.Close()
	if err := <-done; err != nil {
		fail("read ring buffer: %v", err)
	}
}
