// SPDX-License-Identifier: GPL-2.0
// sanitizeKernelBTF against BTF written by hand (each kind cilium/ebpf 0.9.1 lacks, between types it knows),
// then against this machine's own /sys/kernel/btf/vmlinux. Run by test/bpf/execsnoop/execsnoop_cilium.test.ts
// (go test in a copy of build/bpf/go/execsnoop).
package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// rawBTF is a little-endian BTF blob: the header, the type records, the strings.
func rawBTF(types []uint32, strs string) []byte {
	var tb bytes.Buffer
	binary.Write(&tb, binary.LittleEndian, types)
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, struct {
		Magic                            uint16
		Version, Flags                   uint8
		HdrLen, TypeOff, TypeLen, StrOff uint32
		StrLen                           uint32
	}{0xeb9f, 1, 0, 24, 0, uint32(tb.Len()), uint32(tb.Len()), uint32(len(strs))})
	b.Write(tb.Bytes())
	b.WriteString(strs)
	return b.Bytes()
}

const strs = "\x00int\x00tag\x00e64\x00BIG\x00SMALL\x00s\x00p\x00"

// offsets into strs
const (
	sInt = 1 + 4*iota
	sTag
	sE64
	sBig
	sSmall = 17
	sS     = 23
	sP     = 25
)

func kindInfo(kind, vlen uint32) uint32 { return kind<<24 | vlen }

func TestSanitizedBTFParsesWithTheSameIDs(t *testing.T) {
	types := []uint32{
		// [1] INT "int" size 4, 32 bits signed
		sInt, kindInfo(1, 0), 4, 1<<24 | 32,
		// [2] TYPE_TAG "tag" -> 1
		sTag, kindInfo(kindTypeTag, 0), 1,
		// [3] PTR -> 2
		0, kindInfo(2, 0), 2,
		// [4] STRUCT "s" size 8, one member "p" of type 3 at bit 0
		sS, kindInfo(4, 1), 8, sP, 3, 0,
		// [5] DECL_TAG "tag" on 4, member 0
		sTag, kindInfo(kindDeclTag, 0), 4, 0,
		// [6] ENUM64 "e64" size 8: BIG = 1<<32 | 7, SMALL = 3
		sE64, kindInfo(kindEnum64, 2), 8, sBig, 7, 1, sSmall, 3, 0,
		// [7] INT "int" again, after the rewritten records: its id must still be 7
		sInt, kindInfo(1, 0), 4, 1<<24 | 32,
	}
	raw := rawBTF(types, strs)
	if _, err := btf.LoadSpecFromReader(bytes.NewReader(raw)); err == nil || !strings.Contains(err.Error(), "unknown kind") {
		t.Fatalf("cilium/ebpf 0.9.1 should refuse the raw blob with \"unknown kind\", got %v", err)
	}
	clean, err := sanitizeKernelBTF(raw)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(clean))
	if err != nil {
		t.Fatalf("load the sanitized blob: %v", err)
	}
	want := map[btf.TypeID]string{1: "*btf.Int", 2: "*btf.Const", 3: "*btf.Pointer", 4: "*btf.Struct", 5: "*btf.Int", 6: "*btf.Enum", 7: "*btf.Int"}
	for id, kind := range want {
		typ, err := spec.TypeByID(id)
		if err != nil {
			t.Fatalf("type %d: %v", id, err)
		}
		if got := kindOf(typ); got != kind {
			t.Errorf("type %d is %s, want %s", id, got, kind)
		}
	}
	s, _ := spec.TypeByID(4)
	member := s.(*btf.Struct).Members[0]
	if member.Name != "p" {
		t.Errorf("struct s's member is %q, want \"p\"", member.Name)
	}
	// the pointer now reaches int through a CONST where the TYPE_TAG was
	if c, ok := member.Type.(*btf.Pointer).Target.(*btf.Const); !ok || c.Type.(*btf.Int).Name != "int" {
		t.Errorf("p points at %v, want const int", member.Type.(*btf.Pointer).Target)
	}
	e, _ := spec.TypeByID(6)
	enum := e.(*btf.Enum)
	if enum.Name != "e64" || enum.Size != 8 || len(enum.Values) != 2 || enum.Values[0].Name != "BIG" || enum.Values[0].Value != 7 || enum.Values[1].Name != "SMALL" || enum.Values[1].Value != 3 {
		t.Errorf("enum e64 is %+v, want size 8, BIG = 7 (the low 32 bits), SMALL = 3", enum)
	}
	if len(clean) != len(raw)-2*4 {
		t.Errorf("sanitized blob is %d bytes, want %d: an ENUM64 member is 12 bytes, an ENUM member 8", len(clean), len(raw)-8)
	}
}

func kindOf(t btf.Type) string {
	switch t.(type) {
	case *btf.Int:
		return "*btf.Int"
	case *btf.Const:
		return "*btf.Const"
	case *btf.Pointer:
		return "*btf.Pointer"
	case *btf.Struct:
		return "*btf.Struct"
	case *btf.Enum:
		return "*btf.Enum"
	}
	return "other"
}

func TestTruncatedBTFIsAnError(t *testing.T) {
	raw := rawBTF([]uint32{sInt, kindInfo(1, 0), 4, 1<<24 | 32}, strs)
	// the header says the types are 4 bytes longer than the blob holds
	binary.LittleEndian.PutUint32(raw[12:], 20)
	if _, err := sanitizeKernelBTF(raw[:len(raw)-len(strs)]); err == nil {
		t.Fatal("a blob cut short should be an error")
	}
}

// This machine's kernel BTF: what execsnoop-cilium-go loads on every run, task_struct's fields included.
func TestThisKernelsBTF(t *testing.T) {
	raw, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil {
		t.Skipf("no kernel BTF here: %v", err)
	}
	clean, err := sanitizeKernelBTF(raw)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(clean))
	if err != nil {
		t.Fatalf("load the sanitized kernel BTF: %v", err)
	}
	var task *btf.Struct
	if err := spec.TypeByName("task_struct", &task); err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, m := range task.Members {
		found[m.Name] = true
	}
	for _, name := range []string{"real_parent", "mm", "tgid"} {
		if !found[name] {
			t.Errorf("task_struct has no member %s", name)
		}
	}
}
