#!/bin/bash
# Run inside a guest by `./lab vm stress`: attach and detach the project's tracers on the syscall
# tracepoints, many at once as `./lab compare` does, while every vCPU is busy making syscalls.
#
# Why this shape: the first probe on a syscall tracepoint flips static keys and sets a work flag on
# every thread, so the kernel rewrites the code of syscall_trace_enter (text_poke: an int3 first, then
# the new bytes) while the other vCPU runs through it. Under QEMU 7.2's multi-threaded TCG a block
# translated before the write can keep running after it: the guest dies on the int3 or livelocks.
# Each cycle here makes that rewrite happen (last tracer out, first tracer in), and tracefs toggles
# of a syscall event make it happen again many times a cycle, at no start-up cost.
#
# usage: attach-stress.sh CYCLES   (from the project's root; prints one line per cycle, then "done")
set -u
cycles=${1:-6}
cd "$(dirname "$0")/.." || exit 2
tracing=/sys/kernel/tracing
work=$(mktemp -d)

# Syscalls, without end, on every vCPU: reads and writes of one byte, and execs; niced, so that they take
# only what the tracers leave and a cycle's length stays the tracers' start-up.
busy=()
for _ in $(seq "$(nproc)"); do
	nice -n 19 dd if=/dev/zero of=/dev/null bs=1 count=2000000000 2>/dev/null &
	busy+=($!)
done
(while :; do /bin/true; done) &
busy+=($!)
renice -n 19 -p "${busy[-1]}" >/dev/null
cleanup() { kill "${busy[@]}" 2>/dev/null; kill $(jobs -p) 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# The project's tracers that start fastest under TCG: libbpf's execsnoop and counter, the ts counter.
tracers=("build/bpf/execsnoop" "build/bpf/counter" "node build/js/counter.cjs")
for c in $(seq "$cycles"); do
	pids=()
	for i in "${!tracers[@]}"; do
		${tracers[$i]} >"$work/$i.out" 2>&1 &
		pids+=($!)
	done
	# attached once each has printed its header (its first line)
	for _ in $(seq 600); do
		ready=0
		for i in "${!tracers[@]}"; do [ -s "$work/$i.out" ] && ready=$((ready + 1)); done
		[ "$ready" -eq "${#tracers[@]}" ] && break
		sleep 0.1
	done
	kill -INT "${pids[@]}" 2>/dev/null
	wait "${pids[@]}" 2>/dev/null
	# nothing attached now: each enable is a first probe again, each disable a last one
	for _ in $(seq 20); do
		echo 1 >"$tracing/events/syscalls/sys_enter_openat/enable"
		echo 0 >"$tracing/events/syscalls/sys_enter_openat/enable"
	done
	echo "cycle $c: $ready of ${#tracers[@]} tracers attached"
done
echo done
