# SPDX-License-Identifier: Apache-2.0
"""skiff images: import, overlay rootfs, export, store operations.

Every test uses a private temp store (`skiff --store <tmp>`), never
/var/lib/skiff; podman, buildah and skopeo use the session's private storage
(scripts/podman-env.sh with per-session directories, see image_fixtures).
Containers run through the runtime under test from `skiff image bundle`
(cgroupsPath set to /skiff-test/<id> so the conftest leak checks cover them).
After each test: no mount left under the store or the test directory, and
no file or directory in the store named after a container id the test used.

What is asserted is what the real tools and the kernel see: container
output, the merged overlay view (`skiff image mount`), skopeo's and podman's
view of exported images, and the store directory before and after a
rejected import.
"""
import gzip
import io
import json
import os
import shutil
import stat
import tarfile

import pytest

import clients
from image_fixtures import (C, D, F, FIFO, H, L, MK_EXAMPLE, OPQ, PATH_ENV, REPO, WH,  # noqa: F401
                            OciImage, grep_err, layer_tar, listing_diff, sha256,
                            store_listing)
from image_fixtures import base_layer, podman_img, skiff  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.root]

EXAMPLE_BUILD = os.path.join(REPO, "examples", "images", "build.sh")


def export(skiff, name, path):
    """`skiff image export NAME PATH`: PATH ending in .tar is an oci-archive,
    anything else an OCI layout directory."""
    return skiff.ok("export", name, path)


# ================================================================ round trips

@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_podman_save_import_run_export_load(podman_img, skiff, tmp_path, fmt):
    """podman save -> skiff import -> run -> skiff export (dir and archive)
    -> skopeo inspect and podman load accept it with identical layers."""
    src = str(tmp_path / f"two-{fmt}.tar")
    podman_img.podman("save", "--format", fmt, "-o", src, "localhost/skiff-img:two").check()
    src_layers = podman_img.layer_digests(f"{fmt}:{src}")
    src_diffs = podman_img.diff_ids("localhost/skiff-img:two")
    assert len(src_layers) == 2

    r = skiff.imp(src)
    assert skiff.find("localhost/skiff-img:two"), f"imported image not listed: {skiff.ls_json()}"

    r, cfg = skiff.run("localhost/skiff-img:two")
    assert r.rc == 0 and r.out == "second layer\n", r
    assert cfg["process"]["args"] == ["cat", "/hello.txt"]
    assert "GREETING=hi" in cfg["process"]["env"]
    assert cfg["process"]["cwd"] == "/tmp"
    r, _ = skiff.run("localhost/skiff-img:two", args=["sh", "-c", "echo $GREETING $(pwd); cat /hello.txt"])
    assert r.rc == 0 and r.out == "hi /tmp\nsecond layer\n", r

    out_dir = str(tmp_path / "exp-dir")
    out_tar = str(tmp_path / "exp.tar")
    export(skiff, "localhost/skiff-img:two", out_dir)
    export(skiff, "localhost/skiff-img:two", out_tar)
    assert os.path.isfile(os.path.join(out_dir, "oci-layout")), os.listdir(out_dir)
    with tarfile.open(out_tar) as tf:
        assert "oci-layout" in [n.lstrip("./") for n in tf.getnames()]
    for ref in (f"oci:{out_dir}", f"oci-archive:{out_tar}"):
        podman_img.skopeo("inspect", ref).check()
        assert podman_img.layer_digests(ref) == src_layers, f"{ref}: layer digests changed"

    for i, (ref, path) in enumerate((("oci-dir", out_dir), ("oci-archive", out_tar))):
        r = podman_img.podman("load", "-i", path).check()
        loaded = [line.split("Loaded image:")[-1].strip() for line in r.out.splitlines() if "Loaded image" in line]
        assert loaded, f"podman load {ref}: {r!r}"
        assert podman_img.diff_ids(loaded[-1]) == src_diffs, f"podman load {ref}: diffIDs differ"


def test_podman_multi_image_archive(podman_img, skiff, tmp_path):
    src = str(tmp_path / "multi.tar")
    podman_img.podman("save", "-m", "--format", "docker-archive", "-o", src,
                      "localhost/skiff-img:one", "localhost/skiff-img:two").check()
    skiff.imp(src)
    assert skiff.find("localhost/skiff-img:one"), skiff.ls_json()
    assert skiff.find("localhost/skiff-img:two"), skiff.ls_json()
    r, _ = skiff.run("localhost/skiff-img:one")
    assert r.rc == 0 and r.out == "from-podman hi /tmp\n", r


def legacy_docker_archive(src, dst):
    """Rewrite a docker-archive as its older form: no manifest.json, only
    <id>/{VERSION,json,layer.tar} per layer and `repositories`."""
    with tarfile.open(src) as tin, tarfile.open(dst, "w") as tout:
        names = tin.getnames()
        assert "repositories" in names
        for m in tin.getmembers():
            if m.name == "manifest.json" or "/" not in m.name and m.name != "repositories" and not m.isdir():
                continue
            if m.issym() or m.islnk():
                target = os.path.normpath(os.path.join(os.path.dirname(m.name), m.linkname)) if m.issym() \
                    else m.linkname
                data = tin.extractfile(target).read()
                ti = tarfile.TarInfo(m.name)
                ti.size, ti.mode, ti.mtime = len(data), 0o644, m.mtime
                tout.addfile(ti, io.BytesIO(data))
            elif m.isfile():
                tout.addfile(m, tin.extractfile(m))
            else:
                tout.addfile(m)


def test_docker_archive_legacy_repositories_form(podman_img, skiff, tmp_path):
    src = str(tmp_path / "two.tar")
    podman_img.podman("save", "--format", "docker-archive", "-o", src, "localhost/skiff-img:two").check()
    old = str(tmp_path / "legacy.tar")
    legacy_docker_archive(src, old)
    with tarfile.open(old) as tf:
        assert "manifest.json" not in tf.getnames()
    skiff.imp(old)
    e = skiff.find("localhost/skiff-img:two")
    assert e, f"legacy docker-archive: image not named from `repositories`: {skiff.ls_json()}"
    r, _ = skiff.run("localhost/skiff-img:two", args=["cat", "/hello.txt"])
    assert r.rc == 0 and r.out == "second layer\n", r


@pytest.mark.skipif(shutil.which("buildah") is None, reason="buildah not installed")
def test_buildah_from_scratch_commit(podman_img, skiff, tmp_path, rootfs):
    ctr = f"skiff-bh-{os.getpid()}"
    podman_img.buildah("from", "--name", ctr, "scratch").check()
    try:
        podman_img.buildah("copy", ctr, rootfs, "/").check()
        podman_img.buildah("config", "--cmd", "echo built-by-buildah", "--env", "B=1", ctr).check()
        podman_img.buildah("commit", "-q", ctr, "localhost/skiff-bh:1").check()
    finally:
        podman_img.buildah("rm", ctr)
    for fmt in ("oci-archive", "docker-archive"):
        out = str(tmp_path / f"bh-{fmt}.tar")
        podman_img.podman("save", "--format", fmt, "-o", out, "localhost/skiff-bh:1").check()
        skiff.imp(out, name=f"bh-{fmt}:1")
        r, cfg = skiff.run(f"bh-{fmt}:1")
        assert r.rc == 0 and r.out == "built-by-buildah\n", r
        assert "B=1" in cfg["process"]["env"]
    podman_img.podman("rmi", "localhost/skiff-bh:1")


def test_example_image_builder_deterministic_and_valid(tmp_path):
    """scripts/mk-example-image.sh: same inputs give the same digests;
    skopeo and umoci read the layout."""
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    args = ["--env", "X=1", "--expose", "8080", "--workdir", "/tmp", "--cmd", "sh", "-c", "echo hi"]
    ra = clients.run([MK_EXAMPLE, "ex/one", a] + args).check()
    rb = clients.run([MK_EXAMPLE, "ex/one", b] + args).check()
    assert ra.out == rb.out and ra.out.startswith("sha256:")
    assert store_listing(a) == store_listing(b)
    for root, _, files in os.walk(a):
        for n in files:
            p = os.path.join(root, n)
            with open(p, "rb") as f1, open(os.path.join(b, os.path.relpath(p, a)), "rb") as f2:
                assert f1.read() == f2.read(), p
    idx = json.load(open(os.path.join(a, "index.json")))
    assert idx["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "ex/one:latest"
    if shutil.which("skopeo"):
        cfg = json.loads(clients.run(["skopeo", "inspect", "--config", f"oci:{a}"]).check().out)
        assert cfg["config"]["Cmd"] == ["sh", "-c", "echo hi"]
        assert cfg["config"]["ExposedPorts"] == {"8080/tcp": {}}
        assert cfg["config"]["WorkingDir"] == "/tmp"
        assert len(cfg["rootfs"]["diff_ids"]) == 2
    if shutil.which("umoci"):
        clients.run(["umoci", "unpack", "--image", f"{a}:ex/one:latest", str(tmp_path / "bun")]).check()
        st = os.stat(tmp_path / "bun" / "rootfs" / "home" / "app")
        assert (st.st_uid, st.st_gid) == (1000, 1000)
        assert os.path.isfile(tmp_path / "bun" / "rootfs" / "bin" / "busybox")
        shutil.rmtree(tmp_path / "bun")


def test_example_image_imports_and_runs(skiff, tmp_path):
    """examples/images/build.sh (busybox + a static binary): Entrypoint, Cmd,
    Env, WorkingDir and User "app" (resolved via the image's /etc/passwd)."""
    lay = str(tmp_path / "hello")
    clients.run([EXAMPLE_BUILD, lay], timeout=120).check()
    skiff.imp(lay)
    assert skiff.find("skiff-example/hello:latest"), skiff.ls_json()
    r, cfg = skiff.run("skiff-example/hello:latest")
    assert r.rc == 0, r
    assert r.out == "hi from skiff-example/hello:latest: uid=1000 gid=1000 cwd=/home/app args=world\n", r
    assert cfg["process"]["args"] == ["/usr/local/bin/hello", "world"]


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_layer_compressions(skiff, tmp_path, base_layer, compression):
    top = layer_tar([D("etc"), F("etc/msg", f"compressed {compression}\n")])
    img = OciImage([base_layer, top], {"Env": [PATH_ENV], "Cmd": ["cat", "/etc/msg"]},
                   compression=compression).write(str(tmp_path / "lay"))
    skiff.imp(img.dir, name="comp:1")
    r, _ = skiff.run("comp:1")
    assert r.rc == 0 and r.out == f"compressed {compression}\n", r


def test_index_with_platforms_picks_linux_amd64(skiff, tmp_path, base_layer):
    lay = str(tmp_path / "multi")
    imgs = []
    manifests = []
    for arch in ("arm64", "amd64", "s390x"):
        i = OciImage([base_layer, layer_tar([F("arch", arch + "\n")])],
                     {"Env": [PATH_ENV], "Cmd": ["cat", "/arch"]}, arch=arch)
        i.dir = lay
        os.makedirs(os.path.join(lay, "blobs", "sha256"), exist_ok=True)
        manifests.append(i.image_manifest())
        imgs.append(i)
    imgs[0].write(lay, manifests=manifests)
    skiff.imp(lay, name="plat:1")
    r, _ = skiff.run("plat:1")
    assert r.rc == 0 and r.out == "amd64\n", r


def test_rootfs_tarball_and_directory_with_config(skiff, tmp_path, rootfs, base_layer):
    tarp = str(tmp_path / "rootfs.tar")
    with open(tarp, "wb") as f:
        f.write(base_layer)
    opts = ["--entrypoint", "/bin/echo", "--cmd", "plain-rootfs", "--env", "K=V", "--workdir", "/tmp",
            "--user", "1000:1000", "--expose", "8080"]
    skiff.imp(tarp, *opts, name="plain-tar:1")
    skiff.imp(rootfs, *opts, name="plain-dir:1")
    for name in ("plain-tar:1", "plain-dir:1"):
        r, cfg = skiff.run(name)
        assert r.rc == 0 and r.out == "plain-rootfs\n", r
        assert cfg["process"]["args"] == ["/bin/echo", "plain-rootfs"]
        assert "K=V" in cfg["process"]["env"]
        assert cfg["process"]["cwd"] == "/tmp"
        assert (cfg["process"]["user"]["uid"], cfg["process"]["user"]["gid"]) == (1000, 1000)
        assert "8080" in json.dumps(skiff.inspect(name))
        r, _ = skiff.run(name, args=["sh", "-c", "id -u; id -g; pwd; echo $K"])
        assert r.rc == 0 and r.out == "1000\n1000\n/tmp\nV\n", r


def test_import_quiet_when_not_a_terminal(skiff, tmp_path, base_layer):
    img = OciImage([base_layer]).write(str(tmp_path / "q"))
    r = skiff.imp(img.dir, name="quiet:1")
    assert "\r" not in r.err and "%" not in r.err, f"progress output without a terminal: {r!r}"


# ============================================================ layer semantics

def build(skiff, tmp_path, base_layer, layers, name, config=None):
    img = OciImage([base_layer] + [layer_tar(l) for l in layers], config).write(str(tmp_path / name))
    skiff.imp(img.dir, name=f"{name}:1")
    return f"{name}:1"


def test_whiteouts_and_opaque_dirs_across_three_layers(skiff, tmp_path, base_layer, tracker):
    l1 = [D("w"), D("w/a"), F("w/a/f1", "one"), F("w/a/f2", "two"),
          D("w/b"), F("w/b/x", "x"), D("w/b/sub"), F("w/b/sub/y", "y"),
          D("w/gone"), F("w/gone/z", "z"), F("w/keep", "keep"),
          D("w/o"), F("w/o/old", "old")]
    l2 = [D("w"), D("w/a"), WH("w/a/f1"),
          D("w/b"), OPQ("w/b"), F("w/b/new", "new"),
          WH("w/gone"), WH("w/never-existed"),
          D("w/o"), OPQ("w/o")]
    l3 = [D("w"), D("w/a"), F("w/a/f1", "back"),
          D("w/b"), WH("w/b/new"),
          D("w/o"), F("w/o/fresh", "fresh")]
    name = build(skiff, tmp_path, base_layer, [l1, l2, l3], "wh")
    with skiff.mounted(name, tracker.new_id()) as root:
        w = os.path.join(root, "w")
        assert sorted(os.listdir(w)) == ["a", "b", "keep", "o"]
        assert sorted(os.listdir(os.path.join(w, "a"))) == ["f1", "f2"]
        assert open(os.path.join(w, "a", "f1")).read() == "back"
        assert open(os.path.join(w, "a", "f2")).read() == "two"
        assert os.listdir(os.path.join(w, "b")) == [], "opaque dir (layer 2) then whiteout (layer 3)"
        assert sorted(os.listdir(os.path.join(w, "o"))) == ["fresh"]
        assert not os.path.lexists(os.path.join(w, "gone"))
    # and the same seen from inside a container
    r, _ = skiff.run(name, args=["sh", "-c", "cd /w && find . | sort"])
    assert r.rc == 0, r
    assert r.out.split() == [".", "./a", "./a/f1", "./a/f2", "./b", "./keep", "./o", "./o/fresh"], r


def test_hard_links(skiff, tmp_path, base_layer, tracker):
    l1 = [D("h"), F("h/orig", "v1", mode=0o640), H("h/link", "h/orig"), H("h/link2", "h/orig")]
    l2 = [D("h"), F("h/orig", "v2"), F("h/new", "n"), H("h/newlink", "h/new")]
    l3 = [D("h2"), F("h2/a", "a3"), H("h2/b", "h2/a")]
    name = build(skiff, tmp_path, base_layer, [l1, l2, l3], "hl")
    with skiff.mounted(name, tracker.new_id()) as root:
        h = os.path.join(root, "h")
        s_link, s_link2 = os.stat(os.path.join(h, "link")), os.stat(os.path.join(h, "link2"))
        assert (s_link.st_ino, s_link.st_dev) == (s_link2.st_ino, s_link2.st_dev), "links in one layer share an inode"
        # 3 names in layer 1; overlay may or may not count the hidden one
        assert s_link.st_nlink >= 2 and stat.S_IMODE(s_link.st_mode) == 0o640
        assert open(os.path.join(h, "link")).read() == "v1"
        assert open(os.path.join(h, "orig")).read() == "v2", "layer 2 replaced orig alone"
        s_new, s_nl = os.stat(os.path.join(h, "new")), os.stat(os.path.join(h, "newlink"))
        assert s_new.st_ino == s_nl.st_ino and s_new.st_nlink == 2
        a, b = os.stat(os.path.join(root, "h2", "a")), os.stat(os.path.join(root, "h2", "b"))
        assert a.st_ino == b.st_ino and open(os.path.join(root, "h2", "b")).read() == "a3"


def test_symlink_chain(skiff, tmp_path, base_layer, tracker):
    l1 = [D("s"), F("s/target", "T\n"), F("s/other", "O\n"), L("s/l1", "target"), L("s/l2", "l1"),
          L("s/l3", "/s/l2"), D("s/d"), L("s/d/l4", "../l3"), L("s/dangling", "/no/such/file")]
    l2 = [D("s"), L("s/l1", "other")]
    name = build(skiff, tmp_path, base_layer, [l1], "sl1")
    name2 = build(skiff, tmp_path, base_layer, [l1, l2], "sl2")
    with skiff.mounted(name, tracker.new_id()) as root:
        s = os.path.join(root, "s")
        assert [os.readlink(os.path.join(s, n)) for n in ("l1", "l2", "l3", "d/l4", "dangling")] == \
            ["target", "l1", "/s/l2", "../l3", "/no/such/file"]
    r, _ = skiff.run(name, args=["cat", "/s/d/l4"])
    assert r.rc == 0 and r.out == "T\n", r
    r, _ = skiff.run(name2, args=["cat", "/s/d/l4"])
    assert r.rc == 0 and r.out == "O\n", "layer 2 re-pointed l1"


def test_device_nodes_and_fifo(skiff, tmp_path, base_layer, tracker):
    l1 = [D("devs"), C("devs/null", 1, 3, 0o666), C("devs/zero", 1, 5, 0o640), FIFO("devs/fifo", 0o600)]
    name = build(skiff, tmp_path, base_layer, [l1], "dev")
    with skiff.mounted(name, tracker.new_id()) as root:
        st = os.lstat(os.path.join(root, "devs", "null"))
        assert stat.S_ISCHR(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) == (1, 3)
        assert stat.S_IMODE(st.st_mode) == 0o666
        st = os.lstat(os.path.join(root, "devs", "zero"))
        assert stat.S_ISCHR(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) == (1, 5)
        assert stat.S_IMODE(st.st_mode) == 0o640
        st = os.lstat(os.path.join(root, "devs", "fifo"))
        assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    r, _ = skiff.run(name, args=["sh", "-c", "echo gone > /devs/null && stat -c '%F %t:%T' /devs/null"])
    assert r.rc == 0 and r.out == "character special file 1:3\n", r


def test_xattrs_ownership_modes_mtimes(skiff, tmp_path, base_layer, tracker):
    l1 = [D("x", mode=0o751, uid=7, gid=8, mtime=1500000000),
          F("x/file", "data", mode=0o640, uid=1234, gid=5678, mtime=1234567890,
            xattrs={"user.skiff": "hello", "user.other": "2"}),
          F("x/suid", "#!/bin/sh\n", mode=0o4755), F("x/sticky-none", "", mode=0o600, uid=65534, gid=65534)]
    name = build(skiff, tmp_path, base_layer, [l1], "xat")
    with skiff.mounted(name, tracker.new_id()) as root:
        x = os.path.join(root, "x")
        st = os.lstat(x)
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, int(st.st_mtime)) == (0o751, 7, 8, 1500000000)
        p = os.path.join(x, "file")
        st = os.lstat(p)
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, int(st.st_mtime)) == (0o640, 1234, 5678, 1234567890)
        assert os.getxattr(p, "user.skiff") == b"hello"
        assert os.getxattr(p, "user.other") == b"2"
        assert stat.S_IMODE(os.lstat(os.path.join(x, "suid")).st_mode) == 0o4755
        st = os.lstat(os.path.join(x, "sticky-none"))
        assert (st.st_uid, st.st_gid) == (65534, 65534)
    r, _ = skiff.run(name, args=["stat", "-c", "%a %u %g %Y", "/x/file"])
    assert r.rc == 0 and r.out == "640 1234 5678 1234567890\n", r


def test_file_replaced_by_directory_and_back(skiff, tmp_path, base_layer, tracker):
    l1 = [D("r"), F("r/p", "file1"), D("r/q"), F("r/q/a", "a")]
    l2 = [D("r"), D("r/p"), F("r/p/inner", "in"), F("r/q", "file2")]
    l3 = [D("r"), F("r/p", "file3"), D("r/q"), F("r/q/b", "b")]
    n2 = build(skiff, tmp_path, base_layer, [l1, l2], "rep2")
    n3 = build(skiff, tmp_path, base_layer, [l1, l2, l3], "rep3")
    with skiff.mounted(n2, tracker.new_id()) as root:
        assert os.path.isdir(os.path.join(root, "r/p")) and os.listdir(os.path.join(root, "r/p")) == ["inner"]
        assert os.path.isfile(os.path.join(root, "r/q")) and open(os.path.join(root, "r/q")).read() == "file2"
    with skiff.mounted(n3, tracker.new_id()) as root:
        assert os.path.isfile(os.path.join(root, "r/p")) and open(os.path.join(root, "r/p")).read() == "file3"
        assert os.path.isdir(os.path.join(root, "r/q"))
        assert os.listdir(os.path.join(root, "r/q")) == ["b"], "layer 1's r/q/a must stay hidden"


def test_layers_unpacked_once_and_uppers_private(skiff, tmp_path, base_layer, tracker):
    n1 = build(skiff, tmp_path, base_layer, [[F("one", "1")]], "share1")
    n2 = build(skiff, tmp_path, base_layer, [[F("two", "2")]], "share2")
    bb = os.path.getsize("/bin/busybox")

    def unpacked_busyboxes():
        """bin/busybox files in the store, not looking into mount points."""
        res = []
        for d, dirs, files in os.walk(skiff.store):
            dirs[:] = [x for x in dirs if not os.path.ismount(os.path.join(d, x))]
            p = os.path.join(d, "busybox")
            if "busybox" in files and os.path.isfile(p) and not os.path.islink(p) and os.path.getsize(p) == bb:
                res.append(p)
        return res

    a, b = tracker.new_id(), tracker.new_id()
    with skiff.mounted(n1, a) as ra, skiff.mounted(n2, b) as rb:
        copies = unpacked_busyboxes()
        assert len(copies) == 1, f"base layer unpacked {len(copies)} times: {copies}"
        assert os.path.exists(os.path.join(ra, "one")) and not os.path.exists(os.path.join(ra, "two"))
        with open(os.path.join(ra, "written"), "w") as f:
            f.write("a")
        os.unlink(os.path.join(ra, "etc", "hosts"))
        assert not os.path.exists(os.path.join(rb, "written"))
        assert os.path.exists(os.path.join(rb, "etc", "hosts"))
    assert unpacked_busyboxes() == copies
    # a new container of the same image starts clean: the old upper is gone
    with skiff.mounted(n1, a) as ra:
        assert not os.path.exists(os.path.join(ra, "written"))
        assert os.path.exists(os.path.join(ra, "etc", "hosts"))


# =================================================================== bad input

def good_image(tmp_path, base_layer, name, content):
    top = layer_tar([D("app"), F("app/ok", content)])
    return OciImage([base_layer, top], {"Env": [PATH_ENV], "Cmd": ["sh"]}).write(str(tmp_path / name))


def hostile_image(tmp_path, base_layer, entries, name="hostile"):
    return OciImage([base_layer, layer_tar(entries)]).write(str(tmp_path / name))


def break_corrupt_gzip(img, tmp_path, base_layer):
    """A layer whose digest is right but whose gzip stream is damaged."""
    man = img.manifest()
    good = gzip.compress(layer_tar([F("x", os.urandom(50000).hex())]), mtime=0)
    bad = bytearray(good)
    for i in range(40, len(bad) - 40, 97):
        bad[i] ^= 0x5A
    d = img.put(bytes(bad))
    man["layers"][1].update(d)
    img.set_manifest(man)
    return [r"gzip|deflate|decompress|corrupt|damaged|invalid"]


def break_digest_mismatch(img, tmp_path, base_layer):
    """A valid gzip layer of the right size under another layer's digest."""
    p = img.layer_blob(1)
    size = os.path.getsize(p)
    for i in range(1000):
        other = gzip.compress(layer_tar([D("app"), F("app/ok", f"{i:03}")]), mtime=0)
        if len(other) == size:
            break
    assert len(other) == size
    with open(p, "wb") as f:
        f.write(other)
    return [r"digest", r"mismatch|does not match|expected"]


def break_truncated_blob(img, tmp_path, base_layer):
    p = img.layer_blob(1)
    size = os.path.getsize(p)
    with open(p, "r+b") as f:
        f.truncate(size // 2)
    return [r"truncat|short|size|unexpected end"]


def break_missing_blob(img, tmp_path, base_layer):
    os.unlink(img.layer_blob(1))
    return [r"missing|not found|no such"]


def break_media_type(img, tmp_path, base_layer):
    man = img.manifest()
    man["layers"][1]["mediaType"] = "application/vnd.example.not-a-layer"
    img.set_manifest(man)
    return [r"media ?type", r"vnd\.example\.not-a-layer"]


def break_diff_id(img, tmp_path, base_layer):
    man = img.manifest()
    cfg = json.load(open(img.blob(man["config"]["digest"])))
    cfg["rootfs"]["diff_ids"][1] = "sha256:" + "0" * 64
    d = img.put(json.dumps(cfg).encode())
    man["config"].update(d)
    img.set_manifest(man)
    return [r"diff_?id|uncompressed|digest"]


def break_truncated_archive(img, tmp_path, base_layer):
    """An oci-archive cut short in the middle of its last blob, a big layer
    of its own (the import path is replaced by it)."""
    man = img.manifest()
    big = gzip.compress(layer_tar([F("big", os.urandom(400000))]), mtime=0)
    d = img.put(big)
    man["layers"][1].update(d)
    img.set_manifest(man)
    arc = str(tmp_path / "cut.tar")
    with tarfile.open(arc, "w") as tf:
        tf.add(os.path.join(img.dir, "oci-layout"), arcname="oci-layout")
        tf.add(os.path.join(img.dir, "index.json"), arcname="index.json")
        tf.add(os.path.join(img.dir, "blobs"), arcname="blobs", recursive=False)
        tf.add(os.path.join(img.dir, "blobs", "sha256"), arcname="blobs/sha256", recursive=False)
        last = d["digest"].split(":")[1]
        for n in sorted(os.listdir(os.path.join(img.dir, "blobs", "sha256")), key=lambda n: n == last):
            tf.add(os.path.join(img.dir, "blobs", "sha256", n), arcname=f"blobs/sha256/{n}")
    size = os.path.getsize(arc)
    with open(arc, "r+b") as f:
        f.truncate(size - 200000)
    img.dir = arc
    return [r"truncat|unexpected end|short|premature"]


HOSTILE = {
    "dotdot": ([F("../escaped-file", "x")], [r"\.\./escaped-file|\.\."]),
    "dotdot-deep": ([D("a"), F("a/../../escaped-file2", "x")], [r"escaped-file2", r"\.\."]),
    "absolute": ([F("/abs-escaped-file", "x")], [r"abs-escaped-file", r"absolute"]),
    "symlink-escape": ([L("esc-link", "../../../../../../../../../../HOSTDIR"), F("esc-link/pwned", "x")],
                       [r"esc-link"]),
    "symlink-escape-abs": ([L("esc-abs", "HOSTDIR"), F("esc-abs/pwned", "x")], [r"esc-abs"]),
    "hardlink-escape": ([H("esc-hardlink", "../../../../../../../../../../HOSTDIR/secret")],
                        [r"esc-hardlink"]),
    "hardlink-absolute": ([H("esc-hardlink-abs", "HOSTDIR/secret")], [r"esc-hardlink-abs"]),
}

BREAKERS = {
    "corrupt-gzip": break_corrupt_gzip,
    "digest-mismatch": break_digest_mismatch,
    "truncated-blob": break_truncated_blob,
    "missing-blob": break_missing_blob,
    "wrong-mediatype": break_media_type,
    "diff-id-mismatch": break_diff_id,
    "truncated-archive": break_truncated_archive,
}


def assert_store_unchanged_after_failed_import(skiff, path, patterns, name="broken:1"):
    before = store_listing(skiff.store)
    assert before, "store should hold the good image already"
    r = skiff.image("import", path, "--name", name)
    grep_err(r, *patterns)
    after = store_listing(skiff.store)
    assert after == before, f"store changed by a rejected import: {listing_diff(before, after)}"
    assert skiff.find(name) is None
    return r


@pytest.mark.parametrize("case", sorted(BREAKERS))
def test_bad_input_rejected_store_unchanged(skiff, tmp_path, base_layer, case):
    ok = good_image(tmp_path, base_layer, "good", "ok")
    skiff.imp(ok.dir, name="good:1")
    # the broken image shares the good one's base layer; its own layer (the
    # one that gets broken) is new to the store
    img = good_image(tmp_path, base_layer, "bad", "bad")
    patterns = BREAKERS[case](img, tmp_path, base_layer)
    assert_store_unchanged_after_failed_import(skiff, img.dir, patterns)
    # the store still works
    r, _ = skiff.run("good:1", args=["cat", "/app/ok"])
    assert r.rc == 0 and r.out == "ok", r


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_layer_refused_store_unchanged(skiff, tmp_path, base_layer, case):
    ok = good_image(tmp_path, base_layer, "good", "ok")
    skiff.imp(ok.dir, name="good:1")
    hostdir = str(tmp_path / "hostdir")
    os.makedirs(hostdir)
    with open(os.path.join(hostdir, "secret"), "w") as f:
        f.write("secret")
    entries, patterns = HOSTILE[case]
    entries = [tuple(x.replace("HOSTDIR", hostdir.lstrip("/") if x.startswith("..") else hostdir)
                     if isinstance(x, str) else x for x in e) for e in entries]
    img = hostile_image(tmp_path, base_layer, entries)
    assert_store_unchanged_after_failed_import(skiff, img.dir, patterns)
    assert sorted(os.listdir(hostdir)) == ["secret"], "something was written outside the layer"
    assert os.stat(os.path.join(hostdir, "secret")).st_nlink == 1, "host file got hard-linked"
    for p in ("/escaped-file", "/escaped-file2", "/abs-escaped-file",
              str(tmp_path / "escaped-file"), os.path.join(skiff.store, "escaped-file")):
        assert not os.path.exists(p), f"{p} written by a hostile layer"


# ================================================================= image ops

def test_ls_json_and_inspect(skiff, tmp_path, base_layer):
    a = OciImage([base_layer], {"Env": [PATH_ENV, "A=1"], "Cmd": ["true"], "Labels": {"l": "v"},
                                "ExposedPorts": {"80/tcp": {}}}).write(str(tmp_path / "a"))
    skiff.imp(a.dir, name="ops/a:1")
    b = OciImage([base_layer, layer_tar([F("b", "b" * 100000)])]).write(str(tmp_path / "b"))
    skiff.imp(b.dir, name="ops/b:2")
    text = skiff.ok("ls").out
    assert "ops/a" in text and "ops/b" in text, text
    ea, eb = skiff.find("ops/a:1"), skiff.find("ops/b:2")
    assert ea and eb, skiff.ls_json()
    assert skiff.id_of(ea) != skiff.id_of(eb)
    for e in (ea, eb):
        keys = {k.lower() for k in e}
        assert {"size", "created"} <= keys, f"ls --json entry lacks size/created: {e}"
    size = {k.lower(): v for k, v in ea.items()}["size"], {k.lower(): v for k, v in eb.items()}["size"]
    assert isinstance(size[0], int) and isinstance(size[1], int) and size[1] > size[0] > 500000, size
    ins = json.dumps(skiff.inspect("ops/a:1"))
    for want in ('"A=1"', '"80/tcp"', '"l"', '"true"', sha256(base_layer)):
        assert want in ins, f"inspect lacks {want}: {ins[:2000]}"
    r = skiff.image("inspect", "ops/nope:1")
    grep_err(r, r"ops/nope")


def test_tag_and_rm(skiff, tmp_path, base_layer):
    a = OciImage([base_layer], {"Env": [PATH_ENV], "Cmd": ["echo", "tagged"]}).write(str(tmp_path / "a"))
    skiff.imp(a.dir, name="t/a:1")
    skiff.ok("tag", "t/a:1", "t/other:2")
    e1, e2 = skiff.find("t/a:1"), skiff.find("t/other:2")
    assert e1 and e2 and skiff.id_of(e1) == skiff.id_of(e2)
    r, _ = skiff.run("t/other:2")
    assert r.rc == 0 and r.out == "tagged\n", r
    skiff.ok("rm", "t/a:1")
    assert skiff.find("t/a:1") is None and skiff.find("t/other:2")
    skiff.ok("rm", "t/other:2")
    assert skiff.find("t/other:2") is None
    grep_err(skiff.image("rm", "t/other:2"), r"t/other")


def test_rm_refuses_image_in_use_unless_forced(skiff, tmp_path, base_layer, tracker):
    a = OciImage([base_layer], {"Env": [PATH_ENV], "Cmd": ["true"]}).write(str(tmp_path / "a"))
    skiff.imp(a.dir, name="inuse:1")
    cid = tracker.new_id()
    root = skiff.mount("inuse:1", cid)
    try:
        before = store_listing(skiff.store)
        r = skiff.image("rm", "inuse:1")
        grep_err(r, r"in use|used by", r"inuse")
        assert store_listing(skiff.store) == before
        assert skiff.find("inuse:1")
        skiff.ok("rm", "--force", "inuse:1")
        assert skiff.find("inuse:1") is None
        assert os.path.isfile(os.path.join(root, "bin", "busybox")), "forced rm broke a mounted rootfs"
    finally:
        skiff.umount(cid)


def test_prune_frees_and_reports(skiff, tmp_path, base_layer):
    """An image that lost its last name to `tag` is dangling: prune removes
    it (and its own layer and blobs), reports what it freed, keeps what a
    named image uses; a second prune has nothing to do."""
    def du():
        return sum(os.lstat(os.path.join(d, f)).st_size for d, _, fs in os.walk(skiff.store) for f in fs)

    keep = OciImage([base_layer, layer_tar([F("keep", "k")])], {"Env": [PATH_ENV], "Cmd": ["cat", "/keep"]})
    keep.write(str(tmp_path / "keep"))
    drop_layer = layer_tar([F("drop", os.urandom(300000).hex())])
    drop = OciImage([base_layer, drop_layer]).write(str(tmp_path / "drop"))
    skiff.imp(keep.dir, name="p/keep:1")
    skiff.imp(drop.dir, name="p/x:1")
    drop_id = skiff.id_of(skiff.find("p/x:1"))
    skiff.ok("tag", "p/keep:1", "p/x:1")  # moves the name: the drop image is dangling
    assert skiff.id_of(skiff.find("p/x:1")) == skiff.id_of(skiff.find("p/keep:1"))
    du0 = du()
    r = skiff.ok("prune")
    du1 = du()
    assert du0 - du1 > 500000, f"prune freed only {du0 - du1} bytes"
    text = r.out + r.err
    assert any(ch in text for ch in "123456789"), f"prune did not report what it freed: {r!r}"
    assert drop_id not in json.dumps(skiff.ls_json())
    drop_hex = [sha256(drop_layer), drop.manifest()["layers"][1]["digest"].split(":")[1]]
    for d, dirs, files in os.walk(skiff.store):
        for n in dirs + files:
            assert not any(h in n for h in drop_hex), f"prune left {os.path.join(d, n)}"
    assert sha256(base_layer) in json.dumps(skiff.inspect("p/keep:1"))
    r, _ = skiff.run("p/keep:1")
    assert r.rc == 0 and r.out == "k", r
    before = store_listing(skiff.store)
    skiff.ok("prune")
    assert store_listing(skiff.store) == before, "second prune changed the store"
