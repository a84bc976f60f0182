# SPDX-License-Identifier: Apache-2.0
"""Fixtures and builders for the image tests (tests/system/test_image.py).

  skiff        Skiff: runs $SKIFF_BUILD/skiff --store <private temp store>
               (never /var/lib/skiff); its teardown fails the test if an
               overlay mount is left under the store or the test's directory,
               or if a container id the test mounted or bundled still names
               anything in the store (its upper/work dirs)
  podman_img   session podman + buildah with private storage (the
               scripts/podman-env.sh setup with per-session directories);
               images: localhost/skiff-img:one (podman import of the busybox
               rootfs with CMD/ENV/WORKDIR) and localhost/skiff-img:two (a
               COPY on top of it: two layers); teardown resets the storage
  base_layer   the busybox rootfs as an uncompressed tar (bytes), the bottom
               layer of every hand-built image
  OciImage     builds OCI layouts by hand (tarfile + hashlib + gzip/zstd):
               layers from entry lists (F, D, L, H, C, FIFO, WH, OPQ),
               a config, a manifest, an index; helpers to corrupt them
  store_listing  recursive listing of a directory (path, type, mode, size,
               link target) to prove a failed import changed nothing
"""
import contextlib
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile

import pytest

import clients
from conftest import BUILD, CGROUP_PARENT, REPO, mountinfo

# SKIFF_TEST_SKIFF: another skiff binary (or a stand-in) to validate the tests
SKIFF = os.environ.get("SKIFF_TEST_SKIFF") or os.path.abspath(os.path.join(BUILD, "skiff"))
ENV_SCRIPT = os.path.join(REPO, "scripts", "podman-env.sh")
MK_EXAMPLE = os.path.join(REPO, "scripts", "mk-example-image.sh")
TIMEOUT = 120

MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    "none": "application/vnd.oci.image.layer.v1.tar",
}
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------- the store

def store_listing(root):
    """Sorted (relpath, type, mode, size, linktarget) for everything under
    root (not following symlinks); [] if root does not exist."""
    res = []
    if not os.path.exists(root):
        return res
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for n in sorted(dirs) + sorted(files):
            p = os.path.join(d, n)
            st = os.lstat(p)
            kind = "l" if os.path.islink(p) else "d" if os.path.isdir(p) else "f"
            res.append((os.path.relpath(p, root), kind, oct(st.st_mode), st.st_size if kind == "f" else 0,
                        os.readlink(p) if kind == "l" else ""))
    return res


def listing_diff(before, after):
    b, a = set(before), set(after)
    return {"removed": sorted(b - a)[:20], "added": sorted(a - b)[:20]}


def mounts_under(*prefixes):
    res = []
    for m in mountinfo():
        if any(m["mountpoint"] == p or m["mountpoint"].startswith(p.rstrip("/") + "/") for p in prefixes):
            res.append(m)
    return res


def paths_naming(root, needle):
    """Paths under root whose name contains needle (container ids)."""
    res = []
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            if needle in n:
                res.append(os.path.join(d, n))
    return res


def normalize(name):
    """A reference normalized as docker does (skiff does the same):
    busybox -> docker.io/library/busybox:latest, a/b:1 -> docker.io/a/b:1,
    localhost/x -> localhost/x:latest."""
    if "@" in name:
        return name
    first, _, rest = name.partition("/")
    if not rest or ("." not in first and ":" not in first and first != "localhost"):
        name = "docker.io/" + name
        first, _, rest = name.partition("/")
    if first == "docker.io" and "/" not in rest:
        name = f"docker.io/library/{rest}"
    if ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return name


class Skiff:
    """`skiff --store STORE ...` with outputs in files; records the container
    ids given to mount/bundle so the teardown can look for leftovers."""

    def __init__(self, store, workdir, tracker=None):
        self.store, self.workdir, self.tracker = store, workdir, tracker
        self.ids = set()
        self.n = 0

    def __call__(self, *args, timeout=TIMEOUT, env=None):
        argv = [SKIFF, "--store", self.store] + [str(a) for a in args]
        r = clients.run(argv, env=env, timeout=timeout, workdir=self.workdir)
        for bad in ("Sanitizer", "runtime error:"):
            assert bad not in r.err, f"sanitizer report from skiff: {r!r}"
        return r

    def image(self, *args, **kw):
        return self("image", *args, **kw)

    def ok(self, *args, **kw):
        return self.image(*args, **kw).check()

    def imp(self, path, *opts, name=None):
        a = ["import", path, *opts]
        if name:
            a += ["--name", name]
        return self.ok(*a)

    def ls_json(self):
        """`image ls --json` as a list of image dicts."""
        data = json.loads(self.ok("ls", "--json").out)
        if isinstance(data, dict):
            for k in ("images", "Images", "items"):
                if k in data:
                    data = data[k]
                    break
        assert isinstance(data, list), f"image ls --json: want a list, got {data!r}"
        return data

    @staticmethod
    def names_of(entry):
        """Every name:tag an ls --json entry carries."""
        res = []
        for k in ("name", "names", "Name", "Names", "tags", "repoTags", "RepoTags", "ref", "refs"):
            v = entry.get(k)
            if isinstance(v, str):
                res.append(v)
            elif isinstance(v, list):
                res += [x for x in v if isinstance(x, str)]
        return res

    @staticmethod
    def id_of(entry):
        for k in ("id", "Id", "ID", "digest"):
            if isinstance(entry.get(k), str):
                return entry[k]
        raise AssertionError(f"no id in ls entry {entry!r}")

    def find(self, name):
        """The ls --json entry naming name (compared normalized), or None."""
        want = normalize(name)
        for e in self.ls_json():
            if want in {normalize(n) for n in self.names_of(e)}:
                return e
        return None

    def inspect(self, name):
        return json.loads(self.ok("inspect", name).out)

    # ---- rootfs
    def mount(self, name, cid):
        self.ids.add(cid)
        r = self.ok("mount", name, cid)
        path = r.out.strip().splitlines()[-1].strip()
        assert os.path.isdir(path), f"image mount printed {path!r}: not a directory: {r!r}"
        return path

    def umount(self, cid):
        return self.ok("umount", cid)

    @contextlib.contextmanager
    def mounted(self, name, cid):
        path = self.mount(name, cid)
        try:
            yield path
        finally:
            self.umount(cid)

    def bundle(self, name, bdir, cid):
        """`image bundle NAME DIR --id CID`; returns config.json as a dict."""
        self.ids.add(cid)
        self.ok("bundle", name, bdir, "--id", cid)
        with open(os.path.join(bdir, "config.json")) as f:
            return json.load(f)

    def run(self, name, args=None, user=None, cid=None, timeout=60):
        """Bundle image `name`, run it with the runtime under test in the
        foreground (process.args replaced by args if given), then delete the
        container and umount its rootfs. Returns (runtime Result, config)."""
        t = self.tracker
        assert t is not None, "Skiff.run needs the tracker fixture"
        cid = cid or t.new_id()
        t.n += 1
        bdir = os.path.join(self.workdir, f"img-bundle{t.n}")
        os.makedirs(bdir)
        cfg = self.bundle(name, bdir, cid)
        try:
            cfg.setdefault("linux", {})["cgroupsPath"] = f"/{CGROUP_PARENT}/{cid}"
            cfg["process"]["terminal"] = False
            if args is not None:
                cfg["process"]["args"] = list(args)
            if user is not None:
                cfg["process"]["user"] = user
            with open(os.path.join(bdir, "config.json"), "w") as f:
                json.dump(cfg, f, indent=1)
            t.ids.add(cid)
            r = t.rt("run", "--bundle", bdir, cid, timeout=timeout)
            t.rt("delete", "--force", cid)
            t.deleted.add(cid)
        finally:
            self.umount(cid)
        return r, cfg

    # ---- teardown
    def leaks(self):
        problems = []
        left = mounts_under(self.store, self.workdir)
        if left:
            problems.append("mounts left: " + "; ".join(m["line"] for m in left))
            for m in sorted(left, key=lambda m: len(m["mountpoint"]), reverse=True):
                subprocess.run(["umount", "-l", m["mountpoint"]], timeout=30)
        for cid in sorted(self.ids):
            p = paths_naming(self.store, cid)
            if p:
                problems.append(f"container {cid} left {p[:5]}")
        return problems


@pytest.fixture
def skiff(tmp_path, tracker):
    assert os.access(SKIFF, os.X_OK), f"{SKIFF} not built"
    store = str(tmp_path / "store")
    work = str(tmp_path / "work")
    os.makedirs(work)
    s = Skiff(store, work, tracker)
    yield s
    problems = s.leaks()
    assert not problems, "skiff leaked: " + "; ".join(problems)


# ------------------------------------------------------- layer entry kinds

def F(path, data=b"", mode=0o644, uid=0, gid=0, mtime=1600000000, xattrs=None):
    return ("f", path, data if isinstance(data, bytes) else data.encode(), mode, uid, gid, mtime, xattrs)


def D(path, mode=0o755, uid=0, gid=0, mtime=1600000000):
    return ("d", path, mode, uid, gid, mtime)


def L(path, target):
    """symlink path -> target"""
    return ("l", path, target)


def H(path, target):
    """hard link path -> target (a path in the layer)"""
    return ("h", path, target)


def C(path, major, minor, mode=0o666):
    return ("c", path, major, minor, mode)


def FIFO(path, mode=0o644):
    return ("p", path, mode)


def WH(path):
    """whiteout: hide path of the layers below"""
    d, b = os.path.split(path)
    return F(os.path.join(d, ".wh." + b))


def OPQ(dirpath):
    """opaque directory marker: hide everything below dirpath in lower layers"""
    return F(os.path.join(dirpath, ".wh..wh..opq"))


def layer_tar(entries):
    """An uncompressed PAX tar (bytes) of the entries, in order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for e in entries:
            kind, path = e[0], e[1]
            ti = tarfile.TarInfo(path)
            ti.mtime = 1600000000
            data = None
            if kind == "f":
                _, _, data, ti.mode, ti.uid, ti.gid, ti.mtime, xattrs = e
                ti.size = len(data)
                if xattrs:
                    ti.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in xattrs.items()}
            elif kind == "d":
                _, _, ti.mode, ti.uid, ti.gid, ti.mtime = e
                ti.type = tarfile.DIRTYPE
            elif kind == "l":
                ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, e[2], 0o777
            elif kind == "h":
                ti.type, ti.linkname, ti.mode = tarfile.LNKTYPE, e[2], 0o644
            elif kind == "c":
                ti.type, ti.devmajor, ti.devminor, ti.mode = tarfile.CHRTYPE, e[2], e[3], e[4]
            elif kind == "p":
                ti.type, ti.mode = tarfile.FIFOTYPE, e[2]
            else:
                raise ValueError(kind)
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def compress(data, how):
    if how == "gzip":
        return gzip.compress(data, mtime=0)
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True, check=True).stdout
    assert how == "none"
    return data


class OciImage:
    """An OCI image layout written by hand.

    layers: list of uncompressed tar bytes (bottom first); config: the
    image config's "config" object. write(dir) lays out oci-layout,
    index.json and blobs; afterwards blob(), manifest(), set_manifest() help
    tests to break it."""

    def __init__(self, layers, config=None, compression="gzip", arch="amd64", ref="test:latest"):
        self.layers, self.compression, self.arch, self.ref = layers, compression, arch, ref
        self.config = config if config is not None else {"Env": [PATH_ENV], "Cmd": ["sh"]}
        self.dir = None

    def put(self, data):
        d = sha256(data)
        with open(os.path.join(self.dir, "blobs", "sha256", d), "wb") as f:
            f.write(data)
        return {"digest": "sha256:" + d, "size": len(data)}

    def image_manifest(self, arch=None):
        """Write config and layer blobs; return the manifest descriptor
        (manifest blob written too)."""
        arch = arch or self.arch
        descs, diffs = [], []
        for t in self.layers:
            diffs.append("sha256:" + sha256(t))
            d = self.put(compress(t, self.compression))
            d["mediaType"] = MT_LAYER[self.compression]
            descs.append(d)
        cfg = {"created": "2020-09-13T12:26:40Z", "architecture": arch, "os": "linux",
               "config": self.config, "rootfs": {"type": "layers", "diff_ids": diffs}}
        cd = self.put(json.dumps(cfg).encode())
        cd["mediaType"] = MT_CONFIG
        man = {"schemaVersion": 2, "mediaType": MT_MANIFEST, "config": cd, "layers": descs}
        md = self.put(json.dumps(man).encode())
        md["mediaType"] = MT_MANIFEST
        md["platform"] = {"architecture": arch, "os": "linux"}
        return md

    def write(self, path, manifests=None):
        self.dir = path
        os.makedirs(os.path.join(path, "blobs", "sha256"), exist_ok=True)
        if manifests is None:
            md = self.image_manifest()
            md["annotations"] = {"org.opencontainers.image.ref.name": self.ref}
            manifests = [md]
        self.write_index(manifests)
        with open(os.path.join(path, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
        return self

    def write_index(self, manifests):
        with open(os.path.join(self.dir, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": manifests}, f)

    def index(self):
        with open(os.path.join(self.dir, "index.json")) as f:
            return json.load(f)

    def blob(self, digest):
        return os.path.join(self.dir, "blobs", "sha256", digest.split(":", 1)[-1])

    def manifest(self):
        with open(self.blob(self.index()["manifests"][0]["digest"])) as f:
            return json.load(f)

    def set_manifest(self, man):
        """Store a changed manifest and point the index at it."""
        idx = self.index()
        d = self.put(json.dumps(man).encode())
        idx["manifests"][0].update(d)
        self.write_index(idx["manifests"])

    def layer_blob(self, i):
        return self.blob(self.manifest()["layers"][i]["digest"])


def rootfs_tar(rootfs):
    """The busybox rootfs directory as an uncompressed tar (bytes)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for n in sorted(os.listdir(rootfs)):
            tf.add(os.path.join(rootfs, n), arcname=n)
    return buf.getvalue()


@pytest.fixture(scope="session")
def base_layer(rootfs):
    return rootfs_tar(rootfs)


# ----------------------------------------------------------------- podman

class PodmanImg:
    """podman / buildah / skopeo with the session's private storage."""

    def __init__(self, env, workdir):
        self.env, self.workdir = env, workdir

    def __call__(self, tool, *args, timeout=TIMEOUT):
        return clients.run([tool] + [str(a) for a in args], env=self.env, timeout=timeout,
                           workdir=self.workdir)

    def podman(self, *args, **kw):
        return self("podman", *args, **kw)

    def buildah(self, *args, **kw):
        return self("buildah", *args, **kw)

    def skopeo(self, *args, **kw):
        return self("skopeo", *args, **kw)

    def raw_manifest(self, ref):
        """The manifest skopeo reads from ref (transport:path)."""
        return json.loads(self.skopeo("inspect", "--raw", ref).check().out)

    def layer_digests(self, ref):
        return [l["digest"] for l in self.raw_manifest(ref)["layers"]]

    def diff_ids(self, image):
        return json.loads(self.podman("image", "inspect", image).check().out)[0]["RootFS"]["Layers"]


@pytest.fixture(scope="session")
def podman_img(rootfs, tmp_path_factory):
    if not (shutil.which("podman") and shutil.which("skopeo")):
        pytest.skip("podman or skopeo not installed")
    pid = os.getpid()
    extra = {
        "SKIFF_PODMAN_DIR": f"/var/tmp/skiff-podman-img-{pid}",
        "SKIFF_PODMAN_RUN": f"/run/skiff-podman-img-{pid}",
        "SKIFF_PODMAN_CGROUP_PARENT": f"/skiff-podman-img-{pid}",
    }
    env = clients.sourced_env(ENV_SCRIPT, extra)
    work = str(tmp_path_factory.mktemp("podman-img"))
    p = PodmanImg(env, work)
    try:
        tarpath = os.path.join(work, "rootfs.tar")
        with open(tarpath, "wb") as f:
            f.write(rootfs_tar(rootfs))
        p.podman("import", "-q", "--change", 'CMD ["sh", "-c", "echo from-podman $GREETING $(pwd)"]',
                 "--change", "ENV GREETING=hi", "--change", "WORKDIR /tmp",
                 tarpath, "localhost/skiff-img:one").check()
        ctx = os.path.join(work, "ctx")
        os.makedirs(ctx)
        with open(os.path.join(ctx, "hello.txt"), "w") as f:
            f.write("second layer\n")
        with open(os.path.join(ctx, "Containerfile"), "w") as f:
            f.write('FROM localhost/skiff-img:one\nCOPY hello.txt /hello.txt\nCMD ["cat", "/hello.txt"]\n')
        p.podman("build", "-q", "--pull=never", "-t", "localhost/skiff-img:two", ctx, timeout=180).check()
        yield p
    finally:
        r = clients.bash_fn(ENV_SCRIPT, "skiff_podman_cleanup", env, timeout=120)
        assert r.rc == 0, f"skiff_podman_cleanup failed: {r!r}"
        for d in (env["SKIFF_PODMAN_DIR"], env["SKIFF_PODMAN_RUN"]):
            assert not os.path.exists(d), f"{d} left behind"
            assert not clients.mounts_under(d), f"mounts left under {d}"


def grep_err(r, *patterns):
    """Assert the failed command's stderr matches every regex (case-insensitive)."""
    assert r.rc != 0, f"expected a failure: {r!r}"
    for p in patterns:
        assert re.search(p, r.err, re.I), f"stderr does not match {p!r}: {r!r}"
