# SPDX-License-Identifier: Apache-2.0
"""`spec` (the default config.json, also --rootless) and `features` (what
the runtime supports, as JSON)."""
import json
import os

import pytest


def host_ns(kind):
    return os.readlink(f"/proc/self/ns/{kind}")


def test_spec_writes_config_in_cwd(rt, tmp_path):
    d = tmp_path / "b"
    d.mkdir()
    r = rt("spec", cwd=str(d))
    assert r.rc == 0, r
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["ociVersion"].startswith("1.")
    assert cfg["process"]["args"] == ["sh"]
    assert cfg["root"]["path"] == "rootfs"
    types = {n["type"] for n in cfg["linux"]["namespaces"]}
    assert {"pid", "mount", "ipc", "uts", "network"} <= types
    assert "user" not in types
    assert {m["destination"] for m in cfg["mounts"]} >= {"/proc", "/dev", "/dev/pts", "/sys"}
    assert r.out == ""


def test_spec_bundle_option(rt, tmp_path):
    r = rt("spec", "--bundle", str(tmp_path))
    assert r.rc == 0, r
    assert json.loads((tmp_path / "config.json").read_text())["process"]["args"] == ["sh"]


def test_spec_refuses_to_overwrite(rt, tmp_path):
    (tmp_path / "config.json").write_text("keep me")
    r = rt("spec", cwd=str(tmp_path))
    assert r.rc != 0
    assert "config.json" in r.errors(), r
    assert (tmp_path / "config.json").read_text() == "keep me"


def test_spec_rootless(rt, tmp_path):
    r = rt("spec", "--rootless", cwd=str(tmp_path))
    assert r.rc == 0, r
    cfg = json.loads((tmp_path / "config.json").read_text())
    types = {n["type"] for n in cfg["linux"]["namespaces"]}
    assert "user" in types
    assert cfg["linux"]["uidMappings"][0]["hostID"] == os.getuid()
    assert cfg["linux"]["uidMappings"][0]["containerID"] == 0
    assert cfg["linux"]["gidMappings"][0]["hostID"] == os.getgid()
    assert "network" not in types  # rootless keeps the host network


@pytest.mark.root
def test_spec_output_runs(rt, bundle, rootfs):
    """The config `spec` writes runs a container once given a rootfs, no
    terminal and a command."""
    r = rt("spec", "--bundle", bundle.path)
    assert r.rc == 0, r
    cfg = json.loads(open(os.path.join(bundle.path, "config.json")).read())
    cfg["root"]["path"] = rootfs
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["sh", "-c", "echo $$; readlink /proc/self/ns/pid; cat /proc/sys/kernel/hostname"]
    cfg["linux"]["cgroupsPath"] = bundle.cgroups_path
    bundle.config = cfg
    r = bundle.run()
    assert r.rc == 0, r
    pid1, ns, hostname = r.out.split()
    assert pid1 == "1"
    assert ns != host_ns("pid")
    assert hostname == cfg["hostname"]


def test_features(rt):
    r = rt("features")
    assert r.rc == 0, r
    f = json.loads(r.out)
    assert f["ociVersionMin"].startswith("1.0")
    assert f["ociVersionMax"].startswith("1.")
    assert tuple(int(x) for x in f["ociVersionMax"].split("-")[0].split(".")[:2]) >= (1, 0)
    assert {"pid", "network", "mount", "user", "ipc", "uts", "cgroup"} <= set(f["linux"]["namespaces"])
    assert f["linux"]["seccomp"]["enabled"] is True
    assert "SCMP_ACT_ERRNO" in f["linux"]["seccomp"]["actions"]
    assert "CAP_SYS_ADMIN" in f["linux"]["capabilities"]
    assert "bind" in f["mountOptions"] or "rbind" in f["mountOptions"]
    hooks = set(f["hooks"])
    assert {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"} <= hooks
