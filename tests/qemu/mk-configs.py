#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""mk-configs.py - the OCI bundles runtime-v2.sh runs in the QEMU cgroup v2 guest.

usage: /usr/bin/python3 tests/qemu/mk-configs.py DIR

DIR/rootfs is the busybox root (scripts/mk-busybox-rootfs.sh), shared read-only
by every bundle; this writes DIR/<name>/config.json for each bundle below.  The
values here are what the guest script reads back from the kernel, so the two
files change together.
"""
import json
import os
import sys

MiB = 1024 * 1024


def spec(args, cgroups_path, resources=None, extra_linux=None, caps=None, cgroup_mount=True):
    caps = caps or ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
    ]
    if cgroup_mount:
        mounts.append({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                       "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]})
    linux = {
        "cgroupsPath": cgroups_path,
        "resources": resources or {},
        "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "cgroup")],
    }
    linux.update(extra_linux or {})
    return {
        "ociVersion": "1.2.0",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/",
            "capabilities": {k: caps for k in ("bounding", "effective", "permitted")},
            "noNewPrivileges": True,
        },
        "root": {"path": "/bundle/rootfs", "readonly": True},
        "hostname": "skiff-qemu",
        "mounts": mounts,
        "linux": linux,
    }


def limits(hugetlb):
    r = {
        "memory": {"limit": 64 * MiB, "swap": 128 * MiB},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"},
        "pids": {"limit": 20},
        "blockIO": {"weight": 500},
        "unified": {"memory.high": str(48 * MiB)},
        "devices": [{"allow": False, "access": "rwm"}],
    }
    if hugetlb:
        r["hugepageLimits"] = [{"pageSize": "2MB", "limit": 4 * 2 * MiB}]
    return spec(["sleep", "1000"], "/skiff-qemu/limits", r, {"devices": [KMSG]})


# `update -r` of the limits container: its device rules plus /dev/kmsg rw.
UPDATE_DEVICES = {"devices": [
    {"allow": False, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "rw"},
]}


KMSG = {"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11, "fileMode": 0o666,
        "uid": 0, "gid": 0}


# /dev/kmsg (c 1:11) is not among the devices every container gets, so only
# the spec's rules decide it: read allowed, write and mknod denied.
DEVICES_SCRIPT = r"""
e=$( { echo x >/dev/null; } 2>&1 ) && echo "null-write=ok" || echo "null-write=denied:$e"
cat /dev/null && echo "null-read=ok" || echo "null-read=denied"
e=$( { echo skiff-qemu-devtest >/dev/kmsg; } 2>&1 ) && echo "kmsg-write=ok" || echo "kmsg-write=denied:$e"
e=$(head -n 1 /dev/kmsg 2>&1 >/dev/null) && echo "kmsg-read=ok" || echo "kmsg-read=denied:$e"
e=$(mknod /tmp/kmsg2 c 1 11 2>&1) && echo "kmsg-mknod=ok" || echo "kmsg-mknod=denied:$e"
"""


def devices():
    r = {"devices": [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "rw"},
        {"allow": False, "type": "c", "major": 1, "minor": 11, "access": "w"},
    ]}
    lx = {"devices": [KMSG]}
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_SYSLOG", "CAP_MKNOD"]
    return spec(["sh", "-c", DEVICES_SCRIPT], "/skiff-qemu/devices", r, lx, caps)


def badargs():
    return spec(["/nonexistent/binary"], "/skiff-qemu/badargs",
                {"memory": {"limit": 64 * MiB}, "pids": {"limit": 20}})


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: mk-configs.py DIR")
    out = sys.argv[1]
    bundles = {
        "limits": limits(True),
        "limits-nohuge": limits(False),
        "devices": devices(),
        "badargs": badargs(),
    }
    for name, s in bundles.items():
        os.makedirs(os.path.join(out, name), exist_ok=True)
        with open(os.path.join(out, name, "config.json"), "w") as f:
            json.dump(s, f, indent=1)
            f.write("\n")
    with open(os.path.join(out, "update-devices.json"), "w") as f:
        json.dump(UPDATE_DEVICES, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
