# SPDX-License-Identifier: Apache-2.0
"""process.terminal with --console-socket: the runtime sends the pty master
over an AF_UNIX socket (SCM_RIGHTS); the test drives a shell through it."""
import os
import select
import socket
import time

import pytest

pytestmark = pytest.mark.root


def read_until(fd, want, timeout=10):
    """Read the pty master until `want` is in the output, EOF or EIO."""
    buf = b""
    deadline = time.monotonic() + timeout
    while want.encode() not in buf and time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            continue
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO: the slave side is closed
            break
        if not data:
            break
        buf += data
    return buf.decode(errors="replace")


@pytest.fixture
def console_socket(tmp_path):
    path = str(tmp_path / "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(10)
    yield path, srv
    srv.close()


def receive_master(srv):
    conn, _ = srv.accept()
    with conn:
        conn.settimeout(10)
        msg, fds, _, _ = socket.recv_fds(conn, 4096, 4)
    assert len(fds) == 1, f"expected one fd over SCM_RIGHTS, got {fds} with {msg!r}"
    return fds[0]


def test_console_socket(bundle, console_socket):
    path, srv = console_socket
    bundle.process["terminal"] = True
    bundle.process["consoleSize"] = {"height": 31, "width": 101}
    bundle.args("sh")
    bundle.create("--console-socket", path)
    master = receive_master(srv)
    try:
        assert os.path.realpath(f"/proc/self/fd/{master}") in ("/dev/ptmx", "/dev/pts/ptmx") or \
            "ptmx" in os.readlink(f"/proc/self/fd/{master}")
        bundle.start()
        os.write(master, b"echo h''i; tty; stty size; readlink /proc/self/fd/0; exit\n")
        out = read_until(master, "exit-never-printed", timeout=10)
    finally:
        os.close(master)
    lines = [line.strip() for line in out.splitlines()]
    assert "hi" in lines, out  # h''i: the echoed input line does not match
    assert "/dev/pts/0" in lines, out
    assert "31 101" in lines, out
    bundle.wait_status("stopped")


def test_terminal_stdio_is_the_pty(bundle, console_socket):
    """stdin, stdout and stderr of the container process are the pty and it
    is the session leader with the pty as controlling terminal."""
    path, srv = console_socket
    bundle.process["terminal"] = True
    bundle.sh("for i in 0 1 2; do readlink /proc/self/fd/$i; done; "
              "awk '{print \"tty_nr=\" $7 \" sid=\" $6 \" pid=\" $1}' /proc/self/stat; sleep 300")
    bundle.create("--console-socket", path)
    master = receive_master(srv)
    try:
        bundle.start()
        out = read_until(master, "pid=", timeout=10)
        out += read_until(master, "\n", timeout=2)
    finally:
        os.close(master)
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    assert lines[:3] == ["/dev/pts/0"] * 3, out
    stat = dict(kv.split("=") for kv in lines[3].split())
    assert int(stat["tty_nr"]) == (136 << 8) | 0, out  # major 136 (pts), minor 0
    # awk's session is the shell's: pid 1 is the session leader
    assert stat["sid"] == "1", out


def test_exec_tty(bundle, console_socket):
    """exec -d -t with --console-socket gives the exec'd process its own pty
    (runc uses the socket only for detached exec)."""
    path, srv = console_socket
    bundle.create_started()
    r = bundle.exec(["sh", "-c", "tty; echo e''xec-done; sleep 1"], "--detach", "--tty", "--console-socket", path)
    master = receive_master(srv)
    try:
        out = read_until(master, "exec-done", timeout=10)
    finally:
        os.close(master)
    assert r.rc == 0, r
    lines = [line.strip() for line in out.splitlines()]
    assert "/dev/pts/0" in lines and "exec-done" in lines, out


def test_terminal_without_console_socket_fails(bundle, tracker):
    bundle.process["terminal"] = True
    r = bundle.create(check=False)
    assert r.rc != 0
    assert "console" in r.errors().lower() or "tty" in r.errors().lower() or "terminal" in r.errors().lower(), r
    assert tracker.leaks(bundle.id) == []


def test_run_foreground_terminal_without_console_socket(bundle):
    """`run` with process.terminal and no --console-socket proxies its own
    pty: the container gets a tty, the caller's window size, and its exit
    code comes back (as runc run does on a terminal)."""
    import fcntl
    import pty
    import struct
    import termios

    bundle.process["terminal"] = True
    bundle.sh("tty; stty size; exit 3")
    bundle.write()
    bundle.tracker.ids.add(bundle.id)
    argv = bundle.tracker.rt.argv("run", "--bundle", bundle.path, bundle.id)
    pid, master = pty.fork()
    if pid == 0:  # the child: its stdio is the pty slave, 45 rows x 123 cols
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 45, 123, 0, 0))
        os.execv(argv[0], argv)
    out = read_until(master, "zzz-never", timeout=15)
    _, status = os.waitpid(pid, 0)
    os.close(master)
    assert "/dev/pts/" in out, out
    assert "45 123" in out, out
    assert os.WEXITSTATUS(status) == 3, out
