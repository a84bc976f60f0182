#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# mk-example-image.sh - build a small OCI image layout, offline, from Debian's
# busybox-static plus static binaries, for skiff's examples, tests and demo.
#
# Usage: scripts/mk-example-image.sh NAME[:TAG] OUTDIR [options] [--cmd ARG...]
#
#   --bin PATH          add a static executable as /usr/local/bin/<basename>
#                       (repeatable; a dynamically linked one is refused)
#   --file SRC:DEST     add a regular file at absolute path DEST (repeatable)
#   --entrypoint ARG    append ARG to the Entrypoint (repeatable)
#   --env K=V           append to Env (repeatable; PATH is always set first)
#   --workdir DIR       WorkingDir (default /)
#   --user USER         User (name or uid[:gid]; default unset = root)
#   --expose PORT[/P]   ExposedPorts entry (repeatable; /tcp if no protocol)
#   --label K=V         Labels entry (repeatable)
#   --cmd ARG...        every remaining argument is the Cmd
#                       (default: sh, or nothing when --entrypoint is given)
#
# OUTDIR becomes an OCI image layout (image-spec v1.0): oci-layout,
# index.json (one manifest, annotated org.opencontainers.image.ref.name=
# NAME:TAG, ":latest" added when NAME has no tag) and blobs/sha256/ holding
# the config, the manifest and two gzip layers:
#   layer 1 (base)  the busybox root filesystem of scripts/mk-busybox-rootfs.sh
#                   (bin/busybox and its applet links, etc/passwd, etc/group
#                   with root, app 1000 and nobody, etc/hosts, /tmp 1777,
#                   /home/app owned by 1000:1000)
#   layer 2 (app)   /usr/local/bin/<each --bin>, each --file, and
#                   /etc/skiff-image holding NAME:TAG
# OUTDIR is replaced if it exists (it must be empty or an OCI layout).
#
# Deterministic: same inputs, same digests. Every entry has mtime
# $SOURCE_DATE_EPOCH (default 0), numeric owner 0:0 (1000:1000 for home/app),
# fixed modes, name-sorted order, no atime/ctime pax records; gzip -n (no name,
# no timestamp); JSON is written with sorted keys and no whitespace; the
# config's created time is SOURCE_DATE_EPOCH. Runs without root.
#
# Needs: sh, GNU tar, gzip, sha256sum, /usr/bin/python3 (for JSON), busybox
# ($BUSYBOX, default /bin/busybox, from busybox-static), readelf (binutils,
# optional: checks that --bin files are static).
set -eu

PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)
BUSYBOX=${BUSYBOX:-/bin/busybox}
EPOCH=${SOURCE_DATE_EPOCH:-0}
export BUSYBOX

die() { echo "mk-example-image: $*" >&2; exit 1; }
usage() { sed -n '4,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

[ $# -ge 2 ] || usage
case $1 in -*|'') usage ;; esac
case $2 in -*|'') usage ;; esac
NAME=$1
OUT=$2
shift 2
case ${NAME##*/} in *:*) ;; *) NAME=$NAME:latest ;; esac

# Options are collected into newline-free records for python (one per line,
# KIND<TAB>VALUE); an argument with a newline is refused.
REC=$(mktemp -d "${TMPDIR:-/tmp}/mk-example-image.XXXXXX")
trap 'rm -rf "$REC"' EXIT INT TERM
: >"$REC/opts"
rec() {
	case $2 in *'
'*) die "argument with a newline: $2" ;; esac
	printf '%s\t%s\n' "$1" "$2" >>"$REC/opts"
}
APP=$REC/app
mkdir -p "$APP"
nfiles=0
while [ $# -gt 0 ]; do
	case $1 in
	--bin)
		[ $# -ge 2 ] || usage
		[ -f "$2" ] && [ -x "$2" ] || die "--bin $2: not an executable file"
		if command -v readelf >/dev/null 2>&1; then
			if readelf -l "$2" 2>/dev/null | grep -q 'Requesting program interpreter'; then
				die "--bin $2: dynamically linked (the image has no libc); build it with -static"
			fi
		fi
		mkdir -p "$APP/usr/local/bin"
		cp "$2" "$APP/usr/local/bin/$(basename "$2")"
		chmod 0755 "$APP/usr/local/bin/$(basename "$2")"
		nfiles=$((nfiles + 1))
		shift 2 ;;
	--file)
		[ $# -ge 2 ] || usage
		src=${2%%:*}
		dst=${2#*:}
		[ "$src" != "$2" ] || die "--file $2: want SRC:DEST"
		[ -f "$src" ] || die "--file $2: $src is not a regular file"
		case $dst in /*) ;; *) die "--file $2: DEST must be absolute" ;; esac
		case /$dst/ in */../*|*/./*) die "--file $2: DEST must not contain . or .." ;; esac
		mkdir -p "$APP$(dirname "$dst")"
		cp "$src" "$APP$dst"
		if [ -x "$src" ]; then chmod 0755 "$APP$dst"; else chmod 0644 "$APP$dst"; fi
		nfiles=$((nfiles + 1))
		shift 2 ;;
	--entrypoint|--env|--workdir|--user|--expose|--label)
		[ $# -ge 2 ] || usage
		rec "${1#--}" "$2"
		shift 2 ;;
	--cmd)
		shift
		rec cmdset ""
		for a in "$@"; do rec cmd "$a"; done
		set -- ;;
	-h|--help) usage ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done

if [ -e "$OUT" ]; then
	if [ -f "$OUT/oci-layout" ] || [ -z "$(ls -A "$OUT" 2>/dev/null)" ]; then
		rm -rf "$OUT"
	else
		die "$OUT exists and is not an OCI layout; not replacing it"
	fi
fi

# ---- layer trees ---------------------------------------------------------
umask 022
BASE=$REC/base
# mk-busybox-rootfs.sh chowns home/app, which needs root; the tar below sets
# every owner explicitly, so without root a no-op chown stands in for it.
if [ "$(id -u)" = 0 ]; then
	"$HERE/mk-busybox-rootfs.sh" "$BASE" >/dev/null
else
	mkdir -p "$REC/shim"
	printf '#!/bin/sh\nexit 0\n' >"$REC/shim/chown"
	chmod 0755 "$REC/shim/chown"
	PATH=$REC/shim:$PATH "$HERE/mk-busybox-rootfs.sh" "$BASE" >/dev/null
fi
chmod 0755 "$BASE" "$BASE/bin" "$BASE/etc" "$BASE/proc" "$BASE/sys" "$BASE/dev" \
	"$BASE/root" "$BASE/home" "$BASE/home/app" "$BASE/run" "$BASE/usr"
chmod 0700 "$BASE/root"
chmod 1777 "$BASE/tmp"

mkdir -p "$APP/etc"
printf '%s\n' "$NAME" >"$APP/etc/skiff-image"
chmod 0644 "$APP/etc/skiff-image"
find "$APP" -type d -exec chmod 0755 {} +

# GNU tar, reproducible: sorted, fixed mtime and owners, pax without
# atime/ctime and with a pid-free extended header name.
TARFLAGS="--format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime
--sort=name --mtime=@$EPOCH --numeric-owner --owner=0 --group=0 --no-acls --no-xattrs --no-selinux"

# tarball DIR OUT.tar [owner-1000 paths...]: everything in DIR as 0:0, then
# the named paths (relative, ./x) appended with owner 1000:1000.
tarball() {
	dir=$1 out=$2
	shift 2
	excl=""
	for p in "$@"; do excl="$excl --exclude=$p"; done
	# shellcheck disable=SC2086
	tar -C "$dir" $TARFLAGS $excl -cf "$out" .
	for p in "$@"; do
		# shellcheck disable=SC2086
		tar -C "$dir" $TARFLAGS --owner=1000 --group=1000 --no-recursion -rf "$out" "$p"
	done
}

mkdir -p "$OUT/blobs/sha256"
BL=$OUT/blobs/sha256
tarball "$BASE" "$REC/base.tar" ./home/app
tarball "$APP" "$REC/app.tar"

# blob FILE -> prints "digest size" and moves FILE into the blob store
blob() {
	d=$(sha256sum "$1" | cut -d' ' -f1)
	s=$(wc -c <"$1" | tr -d ' ')
	mv -f "$1" "$BL/$d"
	chmod 0644 "$BL/$d"
	echo "$d $s"
}
diff_base=$(sha256sum "$REC/base.tar" | cut -d' ' -f1)
diff_app=$(sha256sum "$REC/app.tar" | cut -d' ' -f1)
gzip -n -6 "$REC/base.tar"
gzip -n -6 "$REC/app.tar"
layer_base=$(blob "$REC/base.tar.gz")
layer_app=$(blob "$REC/app.tar.gz")
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)

# ---- config, manifest, index (python for the JSON only) -----------------
"$PY" - "$REC/opts" "$OUT" "$NAME" "$EPOCH" "$ARCH" "$diff_base" "$diff_app" \
	"$layer_base" "$layer_app" "$nfiles" <<'EOF'
import datetime, hashlib, json, os, sys

opts, out, name, epoch, arch, diff_base, diff_app, lbase, lapp, nfiles = sys.argv[1:]
entry, cmd, env, labels, ports = [], [], [], {}, {}
workdir, user, cmdset = "/", None, False
with open(opts) as f:
    for line in f:
        k, v = line.rstrip("\n").split("\t", 1)
        if k == "entrypoint":
            entry.append(v)
        elif k == "cmdset":
            cmdset = True
        elif k == "cmd":
            cmd.append(v)
        elif k == "env":
            if "=" not in v:
                sys.exit(f"mk-example-image: --env {v}: want K=V")
            env.append(v)
        elif k == "workdir":
            if not v.startswith("/"):
                sys.exit(f"mk-example-image: --workdir {v}: must be absolute")
            workdir = v
        elif k == "user":
            user = v
        elif k == "expose":
            p = v if "/" in v else v + "/tcp"
            num, proto = p.split("/", 1)
            if not num.isdigit() or not 0 < int(num) < 65536 or proto not in ("tcp", "udp", "sctp"):
                sys.exit(f"mk-example-image: --expose {v}: want PORT[/tcp|udp|sctp]")
            ports[p] = {}
        elif k == "label":
            if "=" not in v:
                sys.exit(f"mk-example-image: --label {v}: want K=V")
            a, b = v.split("=", 1)
            labels[a] = b
if not cmdset and not entry:
    cmd = ["sh"]
path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
if not any(e.startswith("PATH=") for e in env):
    env.insert(0, path)

def dump(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()

def put(data):
    d = hashlib.sha256(data).hexdigest()
    p = os.path.join(out, "blobs", "sha256", d)
    with open(p, "wb") as f:
        f.write(data)
    os.chmod(p, 0o644)
    return {"digest": "sha256:" + d, "size": len(data)}

created = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
cfg = {"Env": env, "WorkingDir": workdir, "Labels": labels or None}
if entry:
    cfg["Entrypoint"] = entry
if cmd or cmdset:
    cfg["Cmd"] = cmd
if ports:
    cfg["ExposedPorts"] = ports
if user:
    cfg["User"] = user
cfg = {k: v for k, v in cfg.items() if v is not None}
config = {
    "created": created,
    "architecture": arch,
    "os": "linux",
    "config": cfg,
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_base, "sha256:" + diff_app]},
    "history": [
        {"created": created, "created_by": "mk-example-image.sh: busybox-static base"},
        {"created": created, "created_by": f"mk-example-image.sh: app layer ({nfiles} files)"},
    ],
}
cdesc = put(dump(config))
cdesc["mediaType"] = "application/vnd.oci.image.config.v1+json"
layers = []
for l in (lbase, lapp):
    d, s = l.split()
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                   "digest": "sha256:" + d, "size": int(s)})
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": cdesc, "layers": layers}
mdesc = put(dump(manifest))
mdesc["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
mdesc["annotations"] = {"org.opencontainers.image.ref.name": name}
mdesc["platform"] = {"architecture": arch, "os": "linux"}
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
         "manifests": [mdesc]}
with open(os.path.join(out, "index.json"), "wb") as f:
    f.write(dump(index))
with open(os.path.join(out, "oci-layout"), "wb") as f:
    f.write(dump({"imageLayoutVersion": "1.0.0"}))
print(mdesc["digest"])
EOF
