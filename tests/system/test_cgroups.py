# SPDX-License-Identifier: Apache-2.0
"""linux.resources and linux.cgroupsPath: what lands in the kernel's cgroup
files, what the container feels (fork failures, denied devices, allowed
CPUs), and `update` changing limits of a running container.

Assertions read the file of whichever cgroup version holds the controller on
this host (controller_dir), so the same tests run on v1, hybrid and v2.
"""
import json
import os

import pytest

from conftest import cgroup_mounts, controller_dir, proc_status, read
from test_lifecycle import wait_output

pytestmark = pytest.mark.root

MiB = 1024 * 1024


def cg_file(b, controller, v1name, v2name):
    d, v = controller_dir(controller, b.cgroups_path)
    if d is None:
        pytest.skip(f"host has no {controller} controller")
    return os.path.join(d, v1name if v == 1 else v2name), v


def cg_value(b, controller, v1name, v2name):
    path, v = cg_file(b, controller, v1name, v2name)
    return read(path).strip(), v


def running(b, script="echo ready; sleep 300"):
    b.sh(script)
    st = b.create_started()
    if "ready" in script:
        wait_output(b, "ready")
    return st


def test_cgroup_path_is_cgroups_path(bundle):
    """The container is in cgroupsPath in every hierarchy the host mounts."""
    st = running(bundle, "sleep 300")
    lines = read(f"/proc/{st['pid']}/cgroup").splitlines()
    paths = {line.split(":", 2)[1]: line.split(":", 2)[2] for line in lines}
    assert paths, lines
    for ctl, path in paths.items():
        assert path == bundle.cgroups_path, f"hierarchy {ctl or 'unified'} has {path}"
    for mnt, ctl, v in cgroup_mounts():
        procs = os.path.join(mnt, bundle.cgroups_path.lstrip("/"), "cgroup.procs")
        assert os.path.exists(procs), f"no {procs}"
        assert str(st["pid"]) in read(procs).split(), procs


def test_memory_limit(bundle):
    bundle.resources()["memory"] = {"limit": 64 * MiB}
    running(bundle)
    val, _ = cg_value(bundle, "memory", "memory.limit_in_bytes", "memory.max")
    assert int(val) == 64 * MiB


def test_memory_limit_enforced(bundle):
    """A container writing more than its memory limit to tmpfs gets OOM-killed
    or fails: it cannot hold 48 MiB under a 16 MiB limit (no swap)."""
    bundle.resources()["memory"] = {"limit": 16 * MiB, "swap": 16 * MiB}
    bundle.mount("/mnt/tmp", "tmpfs", "tmpfs", ["size=64m"])
    bundle.sh("dd if=/dev/zero of=/mnt/tmp/fill bs=1M count=48 2>/dev/null; echo rc=$?; "
              "wc -c < /mnt/tmp/fill")
    r = bundle.run()
    # either dd or the whole container was killed by the OOM killer
    assert "rc=0" not in r.out or int(r.out.split()[-1]) < 48 * MiB, r


def test_memory_swap(bundle):
    d, v = controller_dir("memory", bundle.cgroups_path)
    if d is None or (v == 1 and not os.path.exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")):
        pytest.skip("no swap accounting on this host")
    bundle.resources()["memory"] = {"limit": 64 * MiB, "swap": 128 * MiB}
    running(bundle)
    if v == 1:
        assert int(read(os.path.join(d, "memory.memsw.limit_in_bytes"))) == 128 * MiB
    else:
        # v2 memory.swap.max is swap only: OCI swap (memory+swap) - limit
        assert int(read(os.path.join(d, "memory.swap.max"))) == 64 * MiB


def test_cpu_shares_quota_period(bundle):
    bundle.resources()["cpu"] = {"shares": 512, "quota": 50000, "period": 100000}
    running(bundle)
    d, v = controller_dir("cpu", bundle.cgroups_path)
    if d is None:
        pytest.skip("host has no cpu controller")
    if v == 1:
        assert read(os.path.join(d, "cpu.shares")).strip() == "512"
        assert read(os.path.join(d, "cpu.cfs_quota_us")).strip() == "50000"
        assert read(os.path.join(d, "cpu.cfs_period_us")).strip() == "100000"
    else:
        # runc's conversion: weight = 1 + (shares - 2) * 9999 / 262142
        assert read(os.path.join(d, "cpu.weight")).strip() == str(1 + (512 - 2) * 9999 // 262142)
        assert read(os.path.join(d, "cpu.max")).split() == ["50000", "100000"]


def test_cpuset(bundle):
    bundle.resources()["cpu"] = {"cpus": "0", "mems": "0"}
    st = running(bundle)
    val, _ = cg_value(bundle, "cpuset", "cpuset.cpus", "cpuset.cpus")
    assert val == "0"
    assert proc_status(read(f"/proc/{st['pid']}/status"))["Cpus_allowed_list"] == "0"


def test_cpuset_seen_inside(bundle):
    if os.cpu_count() < 2:
        pytest.skip("needs two CPUs")
    bundle.resources()["cpu"] = {"cpus": "1", "mems": "0"}
    bundle.sh("grep Cpus_allowed_list /proc/self/status; nproc")
    r = bundle.run()
    assert r.rc == 0, r
    assert r.out.split() == ["Cpus_allowed_list:", "1", "1"]


def test_pids_limit(bundle):
    bundle.resources()["pids"] = {"limit": 20}
    running(bundle)
    val, _ = cg_value(bundle, "pids", "pids.max", "pids.max")
    assert val == "20"


FORK_50 = ("i=0; while [ $i -lt 50 ]; do sleep 30 & i=$((i+1)); echo $i; done; "
           "echo all-forked; exit 0")


def forked(out):
    nums = [int(x) for x in out.split() if x.isdigit()]
    return max(nums) if nums else 0


def test_pids_limit_bounds_fork_bomb(bundle):
    """With pids.max 20, a shell forking 50 sleeps fails before the 20th
    (the shell itself counts) and says it cannot fork."""
    bundle.resources()["pids"] = {"limit": 20}
    bundle.sh(FORK_50)
    r = bundle.run()
    assert "all-forked" not in r.out, r
    assert 10 <= forked(r.out) <= 19, r
    assert "fork" in r.err, r


def test_pids_unlimited_control(bundle):
    """Control for the fork bomb test: without a limit all 50 sleeps run."""
    bundle.sh(FORK_50)
    r = bundle.run()
    assert r.rc == 0, r
    assert forked(r.out) == 50 and "all-forked" in r.out


def test_blkio_weight(bundle):
    bundle.resources()["blockIO"] = {"weight": 300}
    running(bundle)
    d, v = controller_dir("blkio" if controller_dir("blkio", "/")[0] else "io", bundle.cgroups_path)
    if d is None:
        pytest.skip("host has no blkio/io controller")
    names = ["blkio.weight", "blkio.bfq.weight"] if v == 1 else ["io.bfq.weight", "io.weight"]
    files = [os.path.join(d, n) for n in names if os.path.exists(os.path.join(d, n))]
    if not files:
        pytest.skip("no blkio weight file (no CFQ/BFQ) on this host")
    assert read(files[0]).split()[-1] == "300", files[0]


def test_devices_rules(bundle):
    """A device allowed for read only: read works, write gets EPERM."""
    bundle.linux["devices"] = [{"path": "/dev/skt-loopctl", "type": "c", "major": 10, "minor": 237,
                                "fileMode": 0o666, "uid": 0, "gid": 0}]
    bundle.resources()["devices"] = [{"allow": False, "access": "rwm"},
                                     {"allow": True, "type": "c", "major": 10, "minor": 237, "access": "r"}]
    bundle.sh("{ true < /dev/skt-loopctl && echo read-ok; } 2>&1; { echo > /dev/skt-loopctl; } 2>&1; "
              "echo > /dev/null && echo null-ok")
    r = bundle.run()
    assert r.rc == 0, r
    lines = r.out.splitlines()
    assert lines[0] == "read-ok", r
    assert "Operation not permitted" in lines[1], r
    assert lines[2] == "null-ok", "the default devices stay allowed"


def test_devices_denied_by_default(bundle):
    """A device node the cgroup does not allow cannot be opened."""
    bundle.linux["devices"] = [{"path": "/dev/skt-loopctl", "type": "c", "major": 10, "minor": 237,
                                "fileMode": 0o666}]
    bundle.sh("{ true < /dev/skt-loopctl; } 2>&1; ls -l /dev/skt-loopctl | cut -c1")
    r = bundle.run()
    assert r.rc == 0, r
    assert "Operation not permitted" in r.out.splitlines()[0], r
    assert r.out.splitlines()[1] == "c"


class TestUpdate:
    def test_memory_pids_cpu(self, bundle):
        bundle.resources().update({"memory": {"limit": 64 * MiB}, "pids": {"limit": 50},
                                   "cpu": {"quota": 50000, "period": 100000}})
        running(bundle)
        bundle.rt("update", "--memory", str(96 * MiB), "--pids-limit", "30", "--cpu-quota", "20000",
                  bundle.id).check()
        assert int(cg_value(bundle, "memory", "memory.limit_in_bytes", "memory.max")[0]) == 96 * MiB
        assert cg_value(bundle, "pids", "pids.max", "pids.max")[0] == "30"
        q, v = cg_value(bundle, "cpu", "cpu.cfs_quota_us", "cpu.max")
        assert q.split()[0] == "20000"
        assert bundle.status() == "running"

    def test_resources_file(self, bundle):
        running(bundle)
        res = {"memory": {"limit": 80 * MiB}, "pids": {"limit": 25}, "cpu": {"shares": 256}}
        path = os.path.join(bundle.path, "resources.json")
        with open(path, "w") as f:
            json.dump(res, f)
        bundle.rt("update", "--resources", path, bundle.id).check()
        assert int(cg_value(bundle, "memory", "memory.limit_in_bytes", "memory.max")[0]) == 80 * MiB
        assert cg_value(bundle, "pids", "pids.max", "pids.max")[0] == "25"
        d, v = controller_dir("cpu", bundle.cgroups_path)
        if v == 1:
            assert read(os.path.join(d, "cpu.shares")).strip() == "256"

    def test_update_enforced(self, bundle):
        """After update --pids-limit the container cannot fork past it."""
        running(bundle)
        bundle.rt("update", "--pids-limit", "5", bundle.id).check()
        r = bundle.exec(["sh", "-c", "i=0; while [ $i -lt 10 ]; do sleep 3 & i=$((i+1)); echo $i; done; "
                                     "echo all-forked"])
        # init and this shell count: at most 3 sleeps fork
        assert "all-forked" not in r.out, r
        assert forked(r.out) <= 3, r

    def test_update_bad_value(self, bundle):
        bundle.resources()["pids"] = {"limit": 50}
        running(bundle)
        r = bundle.rt("update", "--pids-limit", "skt-junk", bundle.id)
        assert r.rc != 0
        assert "skt-junk" in r.errors() or "pids" in r.errors().lower(), r
        assert cg_value(bundle, "pids", "pids.max", "pids.max")[0] == "50"

    def test_update_unknown_container(self, rt, tracker):
        r = rt("update", "--pids-limit", "5", tracker.new_id())
        assert r.rc != 0
        assert r.errors().strip()


def test_freezer_state_file(bundle):
    running(bundle)
    d, v = controller_dir("freezer", bundle.cgroups_path)
    bundle.rt("pause", bundle.id).check()
    if v == 1:
        assert read(os.path.join(d, "freezer.state")).strip() == "FROZEN"
    else:
        d = os.path.join("/sys/fs/cgroup", bundle.cgroups_path.lstrip("/"))
        assert read(os.path.join(d, "cgroup.freeze")).strip() == "1"
    bundle.rt("resume", bundle.id).check()
    if v == 1:
        assert read(os.path.join(d, "freezer.state")).strip() == "THAWED"
    else:
        assert read(os.path.join(d, "cgroup.freeze")).strip() == "0"
