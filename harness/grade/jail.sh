#!/bin/sh
# jail.sh SCRATCH CAPS COMMAND [ARG…] — run a student's command the way every one of them runs when
# graded. Started by `unshare --mount --propagation private` (harness/grade/jail.ts): this script makes
# the mounts below in that mount namespace of its own, then becomes (exec) `unshare --pid` of itself
# --relay, whose one child, --init, is pid 1 of a new pid namespace (a pid namespace dies with its
# first process: the relay forks nothing else). Every step is exec'd, so the process the grader started
# is the relay, and its SIGINT reaches the command.
#
#  - Every mount is read-only except SCRATCH (the student's copy of their files); /tmp and /dev are new
#    and empty but for null, zero, full, random, urandom: no virtio port, no /dev/kmsg.
#  - The command is pid 2 of its pid namespace: it cannot see, signal or read (/proc/PID/environ, fd)
#    the grader's processes, which are outside it; pid 1 is this script's --init, which passes SIGINT
#    and SIGTERM on (a pid 1 would ignore them) and whose end ends everything in the namespace.
#  - It keeps uid 0 (bpftrace 0.17 insists) but only the capabilities CAPS (e.g. +bpf,+perfmon), none
#    inheritable, no new privileges: no mount, no unmount, no ptrace of a process with more.
set -u

# A shell starts an asynchronous command with SIGINT ignored, and a signal ignored on entry cannot be
# trapped: so the relay passes SIGINT on to the init as SIGUSR1, and the init starts the command through
# `env --default-signal`, which gives it SIGINT back.
relay_signals() {
	trap 'kill -USR1 "$child" 2>/dev/null' INT
	trap 'kill -TERM "$child" 2>/dev/null' TERM
}
init_signals() {
	trap 'kill -INT "$child" 2>/dev/null' USR1
	trap 'kill -TERM "$child" 2>/dev/null' TERM
}

# Wait for $child through the signals passed on; exit with its status. A status above 128 may be a trap
# interrupting the wait rather than the child's end: ask again once the child is gone.
wait_child() {
	while :; do
		wait "$child"
		status=$?
		if [ "$status" -le 128 ]; then exit "$status"; fi
		if ! kill -0 "$child" 2>/dev/null; then
			wait "$child" 2>/dev/null
			again=$?
			[ "$again" -eq 127 ] || status=$again
			exit "$status"
		fi
	done
}

if [ "${1:-}" = --relay ]; then
	shift
	relay_signals
	# killed with the relay: and a pid namespace's processes all die with its pid 1
	# (an asynchronous command's stdin is /dev/null unless given: give it ours)
	exec 3<&0
	setpriv --pdeathsig KILL -- /bin/sh "$0" --init "$@" <&3 3<&- &
	child=$!
	wait_child
fi

if [ "${1:-}" = --init ]; then
	caps=$2
	shift 2
	mount -t proc -o nosuid,nodev,noexec proc /proc || exit 126
	mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys || exit 126
	if [ -e /proc/sysrq-trigger ]; then mount --bind /dev/null /proc/sysrq-trigger || exit 126; fi
	init_signals
	exec 3<&0
	setpriv --bounding-set="-all,$caps" --inh-caps=-all --no-new-privs -- env --default-signal=INT,QUIT -- "$@" <&3 3<&- &
	child=$!
	wait_child
fi

scratch=$1
caps=$2
shift 2
mount --bind "$scratch" "$scratch" || exit 126
while read -r _ _ _ _ point _; do
	[ "$point" = "$scratch" ] || mount -o remount,bind,ro "$point" 2>/dev/null
done </proc/self/mountinfo
mount -t tmpfs -o nosuid,nodev,mode=1777,size=256m jail-tmp /tmp || exit 126
mount -t tmpfs -o nosuid,mode=0755,size=64k jail-dev /dev || exit 126
node() { mknod -m 666 "/dev/$1" c "$2" "$3" || exit 126; }
node null 1 3
node zero 1 5
node full 1 7
node random 1 8
node urandom 1 9
ln -s /proc/self/fd /dev/fd && ln -s fd/0 /dev/stdin && ln -s fd/1 /dev/stdout && ln -s fd/2 /dev/stderr
mkdir /dev/shm && mount -t tmpfs -o nosuid,nodev,mode=1777,size=64m jail-shm /dev/shm || exit 126
# the working directory again through its path: the one inherited is the mount under the new bind
cd "$(pwd -P)" || exit 126
# A mount still writable would be one the student could write (a remount that failed). Only the last
# mount on a point is reachable, and what was under /tmp and /dev is covered by the new ones.
if awk -v s="$scratch" '{ rw[$5] = ($6 ~ /^rw/) } END {
	for (p in rw) if (rw[p] && p != s && p != "/tmp" && p != "/dev" && p != "/dev/shm" && p !~ /^\/(tmp|dev)\//) { print p; bad = 1 }
	exit !bad }' /proc/self/mountinfo >&2; then
	echo "jail: the mounts above stayed writable" >&2
	exit 126
fi
# locked memory: kernels before 5.11 charge BPF maps to RLIMIT_MEMLOCK, and raising it needs a capability the student lacks
ulimit -l unlimited 2>/dev/null || ulimit -l "$(ulimit -H -l)"
exec unshare --pid -- /bin/sh "$0" --relay "$caps" "$@"
