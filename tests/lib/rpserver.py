# SPDX-License-Identifier: BSD-3-Clause
"""Start ringpub-server or a reference redis-server on a free loopback port.

Tests import this module to run the real servers, never mocks. Both servers
are told to listen on 127.0.0.1 only, and are stopped by the PID this module
started.

Environment:
  RINGPUB_SERVER      path of the ringpub-server binary (required for kind="ringpub")
  RINGPUB_IO_BACKEND  "uring" or "epoll": passed as --io-backend when set
  REDIS_SERVER        path of redis-server (default: the one on PATH)
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time


def free_port():
    """Return a TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ping(port, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"*1\r\n$4\r\nPING\r\n")
                if s.recv(64).startswith((b"+PONG", b"-NOAUTH")):
                    return True
        except OSError:
            pass
        time.sleep(0.02)
    return False


class Server:
    """A server process on 127.0.0.1:port. Use as a context manager."""

    def __init__(self, kind="ringpub", args=(), port=None, backend=None, start_timeout=10.0):
        self.kind = kind
        self.port = port if port is not None else free_port()
        self.workdir = tempfile.mkdtemp(prefix=f"rp-{kind}-")
        self.log_path = os.path.join(self.workdir, "server.log")
        if kind == "ringpub":
            binary = os.environ.get("RINGPUB_SERVER")
            if not binary:
                raise RuntimeError("RINGPUB_SERVER is not set: point it at the ringpub-server binary")
            cmd = [binary, "--bind", "127.0.0.1", "--port", str(self.port)]
            backend = backend or os.environ.get("RINGPUB_IO_BACKEND")
            if backend:
                cmd += ["--io-backend", backend]
        elif kind == "redis":
            binary = os.environ.get("REDIS_SERVER") or shutil.which("redis-server") or "/usr/bin/redis-server"
            cmd = [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                   "--appendonly", "no", "--dir", self.workdir, "--daemonize", "no"]
        else:
            raise ValueError(f"unknown server kind {kind!r}: expected 'ringpub' or 'redis'")
        self.cmd = cmd + list(args)
        self.start_timeout = start_timeout
        self.proc = None

    def start(self):
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.workdir)
        if not _ping(self.port, self.start_timeout):
            self.stop()
            raise RuntimeError(f"{self.kind} did not answer PING on port {self.port}; log:\n{self.log()}")
        return self

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10.0):
        """Send SIGTERM, wait, and return the exit status (SIGKILL after timeout)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        status = self.proc.returncode
        self.proc = None
        return status

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
        return False


def connect(port, timeout=5.0):
    """Return a raw socket to 127.0.0.1:port."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s
