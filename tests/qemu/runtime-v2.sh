# SPDX-License-Identifier: Apache-2.0
# runtime-v2.sh - skiff-runtime on a pure cgroup v2 kernel: a guest script for
# scripts/qemu-cgroup2.sh (busybox sh, run from / by the guest's /init).
#
# Needs /tests/skiff-runtime (a binary argument of qemu-cgroup2.sh) and the
# /bundle tree of tests/qemu/mk-extra.sh (--extra).  Every check reads what
# the kernel shows: interface files under /sys/fs/cgroup, /proc/<pid>/cgroup,
# what a process in the container can open.  It prints one "PASS: name" or
# "FAIL: name: why" line per check, a summary line, and exits 1 on a FAIL.
#
# The values checked here are those tests/qemu/mk-configs.py writes.

RT=/tests/skiff-runtime
CG=/sys/fs/cgroup
PARENT=$CG/skiff-qemu
D=$PARENT/limits
MiB=1048576

# pivot_root(2) refuses a caller whose root is the initramfs itself (a mount
# without a parent), and the runtime should be tested with the pivot_root it
# uses in production, not --no-pivot.  So do what switch_root does: bind /
# onto /newroot, move that mount over /, chroot into it.  A mere chroot into
# /newroot would not do: `exec` enters the container's mount namespace at its
# absolute root, which would then be the initramfs, not the container's root.
if [ "${1:-}" != inner ]; then
	mkdir -p /newroot
	mount -o bind / /newroot || { echo "FAIL: bind mount / for pivot_root"; exit 1; }
	for d in proc sys dev tmp run; do
		mount -o rbind "/$d" "/newroot/$d" || { echo "FAIL: rbind /$d"; exit 1; }
	done
	cd /newroot && mount -o move . / || { echo "FAIL: move /newroot over /"; exit 1; }
	exec chroot . /bin/sh "$0" inner
fi

n_pass=0
n_fail=0
ok() {
	echo "PASS: $1"
	n_pass=$((n_pass + 1))
}
bad() {
	echo "FAIL: $1${2:+: $2}"
	n_fail=$((n_fail + 1))
}

# rt ARGS...: the runtime, bounded; its stderr goes to /tmp/rt.err
rt() {
	timeout 30 "$RT" "$@" 2>/tmp/rt.err
}
rt_err() { tr '\n' ' ' </tmp/rt.err | cut -c1-400; }

# expect NAME FILE WANT: FILE's first line is WANT
expect() {
	local got
	got=$(head -n 1 "$2" 2>&1)
	if [ "$got" = "$3" ]; then ok "$1 ($2: $got)"; else bad "$1" "$2 is '$got', want '$3'"; fi
}

# state_of ID: the "status" field of `state ID`
state_of() {
	rt state "$1" | tr -d ' \n' | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p'
}
pid_of() {
	rt state "$1" | tr -d ' \n' | sed -n 's/.*"pid":\([0-9]*\).*/\1/p'
}

# wait_status ID STATUS: polls `state` for up to 10 s
wait_status() {
	local i=0
	while [ $i -lt 100 ]; do
		[ "$(state_of "$1")" = "$2" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

echo "runtime-v2: $("$RT" --version 2>&1 | head -n 1); controllers: $(cat $CG/cgroup.subtree_control)"
# What joins the container (init and exec: the ASan runtime until it execs)
# lives under memory.max, 32 MiB after update: keep ASan's quarantine small.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=8:malloc_context_size=10}

# ---- limits: create + start a sleeping container, read the limits back ----
bundle=/bundle/limits
hugetlb=0
if grep -qw hugetlb $CG/cgroup.subtree_control; then hugetlb=1; else bundle=/bundle/limits-nohuge; fi

if rt create -b "$bundle" limits && rt start limits; then
	ok "create+start limits"
	running=1
else
	bad "create+start limits" "$(rt_err)"
	running=0
fi

if [ $running = 1 ]; then
	pid=$(pid_of limits)
	expect "memory.max from memory.limit" $D/memory.max $((64 * MiB))
	expect "memory.swap.max from memory.swap - memory.limit" $D/memory.swap.max $((64 * MiB))
	expect "memory.high from unified" $D/memory.high $((48 * MiB))
	expect "cpu.max from cpu.quota/period" $D/cpu.max "50000 100000"
	expect "cpu.weight from cpu.shares 512" $D/cpu.weight 20
	expect "cpuset.cpus" $D/cpuset.cpus 0
	expect "pids.max" $D/pids.max 20
	if [ -e $D/io.weight ]; then
		expect "io.weight from blockIO.weight 500" $D/io.weight "default 4950"
	elif [ -e $D/io.bfq.weight ]; then
		expect "io.bfq.weight from blockIO.weight 500" $D/io.bfq.weight "default 500"
	else
		bad "io weight" "neither io.weight nor io.bfq.weight in $D ($(ls $D | grep '^io' | tr '\n' ' '))"
	fi
	if [ $hugetlb = 1 ]; then
		expect "hugetlb.2MB.max" $D/hugetlb.2MB.max $((8 * MiB))
	else
		echo "runtime-v2: no hugetlb controller: hugepage limit not tested"
	fi

	cg=$(cat /proc/$pid/cgroup 2>&1)
	if [ "$cg" = "0::/skiff-qemu/limits" ]; then
		ok "/proc/$pid/cgroup is 0::/skiff-qemu/limits"
	else
		bad "/proc/<pid>/cgroup" "/proc/$pid/cgroup is '$cg'"
	fi
	if grep -qx "$pid" $D/cgroup.procs; then
		ok "init pid $pid in cgroup.procs"
	else
		bad "init pid in cgroup.procs" "pid '$pid' not in '$(cat $D/cgroup.procs | tr '\n' ' ')'"
	fi
	s=$(state_of limits)
	[ "$s" = running ] && ok "state running" || bad "state running" "status '$s' ($(rt_err))"

	# cgroup namespace + the spec's cgroup mount: the container sees its own
	# cgroup as the root of a cgroup2 mount.
	in_cg=$(rt exec limits cat /proc/self/cgroup)
	[ "$in_cg" = "0::/" ] && ok "cgroupns: /proc/self/cgroup is 0::/ inside" ||
		bad "cgroupns: /proc/self/cgroup inside" "'$in_cg' ($(rt_err))"
	in_max=$(rt exec limits cat /sys/fs/cgroup/memory.max)
	[ "$in_max" = $((64 * MiB)) ] && ok "cgroup mount: /sys/fs/cgroup/memory.max inside is $in_max" ||
		bad "cgroup mount: /sys/fs/cgroup/memory.max inside" "'$in_max' ($(rt_err))"
	in_fs=$(rt exec limits sh -c 'grep " /sys/fs/cgroup " /proc/self/mounts')
	case "$in_fs" in
	*" cgroup2 "*) ok "cgroup mount inside is cgroup2" ;;
	*) bad "cgroup mount inside is cgroup2" "'$in_fs' ($(rt_err))" ;;
	esac

	# exec lands in the container's root, under its device program
	r=$(rt exec limits sh -c 'if [ -e /bundle ]; then echo host-root; else hostname; fi')
	[ "$r" = skiff-qemu ] && ok "exec: in the container's root and uts namespace" ||
		bad "exec: in the container's root" "'$r' ($(rt_err))"
	kmsg_write() { # the outcome of writing /dev/kmsg in the limits container
		rt exec limits sh -c 'e=$( { echo skiff-qemu >/dev/kmsg; } 2>&1 ) && echo ok || echo "$e"'
	}
	null_write() {
		rt exec limits sh -c 'e=$( { echo x >/dev/null; } 2>&1 ) && echo ok || echo "$e"'
	}
	r=$(kmsg_write)
	case "$r" in
	*"Operation not permitted"*) ok "devices: exec'd write to /dev/kmsg denied (deny-all + defaults)" ;;
	*) bad "devices: exec'd write to /dev/kmsg denied" "'$r' ($(rt_err))" ;;
	esac
	r=$(rt ps limits)
	echo "$r" | grep -qw "$pid" && ok "ps lists init pid $pid" || bad "ps lists init pid" "'$r' ($(rt_err))"

	# exec joins the container's cgroup
	rm -f /tmp/exec.pid
	if rt exec -d --pid-file /tmp/exec.pid limits sleep 1000; then
		epid=$(cat /tmp/exec.pid 2>/dev/null)
		if [ -n "$epid" ] && grep -qx "$epid" $D/cgroup.procs; then
			ok "exec: pid $epid in cgroup.procs ($(grep 0:: /proc/$epid/cgroup))"
		else
			bad "exec joins the cgroup" "pid '$epid' ($(cat /proc/$epid/cgroup 2>&1)) not in '$(cat $D/cgroup.procs | tr '\n' ' ')'"
		fi
	else
		bad "exec -d" "$(rt_err)"
	fi

	# pause / resume: the v2 freezer
	if rt pause limits; then
		f=$(grep '^frozen ' $D/cgroup.events)
		[ "$f" = "frozen 1" ] && ok "pause: cgroup.events $f" || bad "pause: cgroup.events" "'$f'"
		s=$(state_of limits)
		[ "$s" = paused ] && ok "pause: state paused" || bad "pause: state paused" "status '$s'"
	else
		bad "pause" "$(rt_err)"
	fi
	if rt resume limits; then
		s=$(state_of limits)
		[ "$s" = running ] && ok "resume: state running" || bad "resume: state running" "status '$s'"
	else
		bad "resume" "$(rt_err)"
	fi
	f=$(grep '^frozen ' $D/cgroup.events)
	[ "$f" = "frozen 0" ] && ok "resume: cgroup.events $f" || bad "resume: cgroup.events" "'$f'"

	# update, live
	if rt update --memory 32m --pids-limit 10 limits; then
		expect "update: memory.max" $D/memory.max $((32 * MiB))
		expect "update: pids.max" $D/pids.max 10
		echo "runtime-v2: after update: memory.swap.max $(cat $D/memory.swap.max) memory.high $(cat $D/memory.high) cpu.max $(cat $D/cpu.max)"
	else
		bad "update --memory 32m --pids-limit 10" "$(rt_err)"
	fi

	# the limits hold: pids.max 10 stops forks, memory.max 32M OOM-kills
	r=$(rt exec limits sh -c 'i=0; while [ $i -lt 15 ]; do sleep 1000 </dev/null >/dev/null 2>&1 & i=$((i + 1)); done; echo started' 2>&1)
	n=$(wc -l <$D/cgroup.procs)
	ev=$(grep '^max ' $D/pids.events)
	if [ "$n" -le 10 ] && [ "$ev" != "max 0" ]; then
		ok "pids.max 10 enforced ($n procs, pids.events $ev)"
	else
		bad "pids.max 10 enforced" "$n procs, pids.events '$ev', exec said '$(echo "$r" | tail -n 2 | tr '\n' ' ')'"
	fi
	# the container's init (sleep) reaps nothing: the killed sleeps stay
	# zombies and keep their pids charged, so raise the limit again
	for p in $(cat $D/cgroup.procs); do [ "$p" = "$pid" ] || [ "$p" = "$epid" ] || kill -9 "$p"; done
	rt update --pids-limit 100 limits || bad "update --pids-limit 100" "$(rt_err)"
	ev0=$(grep '^oom_kill ' $D/memory.events)
	rt exec limits dd if=/dev/zero of=/dev/null bs=100M count=1 >/dev/null
	rc=$?
	ev=$(grep '^oom_kill ' $D/memory.events)
	[ "$ev0" = "oom_kill 0" ] && [ "$ev" = "oom_kill 1" ] && [ $rc = 137 ] &&
		ok "memory.max enforced: 100M dd killed (exit $rc, memory.events $ev)" ||
		bad "memory.max enforced" "dd exit $rc, memory.events '$ev0' -> '$ev' ($(rt_err))"

	# an update without devices keeps the device program; one with devices
	# replaces it (the old program detached: attached programs must all allow)
	r=$(kmsg_write)
	case "$r" in
	*"Operation not permitted"*) ok "update without devices keeps the device program" ;;
	*) bad "update without devices keeps the device program" "kmsg write: '$r'" ;;
	esac
	if rt update -r /bundle/update-devices.json limits; then
		r=$(kmsg_write)
		[ "$r" = ok ] && ok "update -r devices: /dev/kmsg now writable (old program detached)" ||
			bad "update -r devices: /dev/kmsg now writable" "'$r' ($(rt_err))"
		r=$(null_write)
		[ "$r" = ok ] && ok "update -r devices: /dev/null still writable (default devices kept)" ||
			bad "update -r devices: /dev/null still writable (default devices kept)" "'$r' ($(rt_err))"
	else
		bad "update -r /bundle/update-devices.json" "$(rt_err)"
	fi

	# kill --all + delete: no process, no cgroup
	if rt kill --all limits KILL; then
		if wait_status limits stopped; then ok "kill --all: stopped"; else bad "kill --all: stopped" "status '$(state_of limits)'"; fi
	else
		bad "kill --all" "$(rt_err)"
	fi
	if rt delete limits; then
		[ ! -d $D ] && ok "delete: $D removed" || bad "delete: $D removed" "still there, procs '$(cat $D/cgroup.procs | tr '\n' ' ')'"
	else
		bad "delete" "$(rt_err)"
	fi
	[ -z "$epid" ] || [ ! -d /proc/$epid ] && ok "kill --all: exec'd pid gone" ||
		bad "kill --all: exec'd pid gone" "pid $epid: $(cat /proc/$epid/status | head -n 3 | tr '\n' ' ')"
fi

# ---- delete --force of a paused container: SIGKILL reaches frozen tasks ----
if rt create -b "$bundle" paused && rt start paused && rt pause paused; then
	ppid=$(pid_of paused)
	if rt delete --force paused; then
		[ ! -d $D ] && [ ! -d /proc/$ppid ] && ok "delete --force paused: no cgroup, no process" ||
			bad "delete --force paused" "cgroup dir: $([ -d $D ] && echo kept || echo gone), pid $ppid: $([ -d /proc/$ppid ] && echo alive || echo gone)"
	else
		bad "delete --force paused" "$(rt_err)"
	fi
else
	bad "create+start+pause 'paused'" "$(rt_err)"
fi

# ---- devices: the eBPF program decides what the container may open ----
# /dev/kmsg (1:11) is not one of the runtime's default devices: the spec
# allows it rw, then denies w (the last matching rule decides each bit).
# /dev/null is a default device (rwm), allowed after the spec's deny-all.
out=$(rt run -b /bundle/devices devices 2>&1)
rc=$?
echo "$out" | sed 's/^/runtime-v2: devices: /'
[ $rc = 0 ] && ok "run devices: exit 0" || bad "run devices" "exit $rc ($(rt_err))"
want_line() { # NAME PATTERN
	if echo "$out" | grep -qx "$2"; then ok "$1"; else bad "$1" "no line '$2' in container output"; fi
}
want_line "devices: write /dev/null allowed (default rule)" "null-write=ok"
want_line "devices: read /dev/null allowed" "null-read=ok"
want_line "devices: read /dev/kmsg allowed by allow-rw rule" "kmsg-read=ok"
want_line "devices: write /dev/kmsg denied by the eBPF program (EPERM)" "kmsg-write=denied:.*Operation not permitted"
want_line "devices: mknod c 1:11 allowed (default 'c *:* m')" "kmsg-mknod=ok"
rt delete devices >/dev/null 2>&1
[ ! -d $PARENT/devices ] && ok "run devices: cgroup removed after exit" ||
	bad "run devices: cgroup removed after exit" "$PARENT/devices still there"

# ---- a failing create leaves no cgroup (and no container) ----
if rt create -b /bundle/badargs badargs; then
	bad "create with a nonexistent args[0] fails" "create succeeded; state '$(state_of badargs)'"
	rt start badargs
	echo "runtime-v2: start badargs: exit $? ($(rt_err))"
	rt delete -f badargs
else
	ok "create with a nonexistent args[0] fails ($(rt_err))"
fi
[ ! -d $PARENT/badargs ] && ok "failed create: no cgroup $PARENT/badargs" ||
	bad "failed create: no cgroup" "$PARENT/badargs exists, procs '$(cat $PARENT/badargs/cgroup.procs | tr '\n' ' ')'"
s=$(rt state badargs)
[ -z "$s" ] && ok "failed create: no state for badargs" || bad "failed create: no state" "state says '$s'"

echo "runtime-v2: left in $PARENT: '$(ls $PARENT 2>&1 | tr '\n' ' ')'; runtime root: '$(ls /run/skiff-runtime 2>&1 | tr '\n' ' ')'"
echo "runtime-v2: SUMMARY pass=$n_pass fail=$n_fail"
[ $n_fail = 0 ]
