// The Go variants' module (counter/counter_cilium.go, execsnoop/execsnoop_cilium.go). The Makefile copies it
// with them into build/bpf/go/, where bpf2go writes the generated bindings; it builds nothing here.
// No module proxy is reachable offline: the modules come from Debian's packages, golang-github-cilium-ebpf-dev
// and golang-golang-x-sys-dev, replaced onto their sources in /usr/share/gocode (the build sets GOPROXY=off).
module ebpf-lab/bpf

go 1.19

require (
	github.com/cilium/ebpf v0.9.1
	golang.org/x/sys v0.3.0
)

replace (
	github.com/cilium/ebpf => /usr/share/gocode/src/github.com/cilium/ebpf
	golang.org/x/sys => /usr/share/gocode/src/golang.org/x/sys
)
