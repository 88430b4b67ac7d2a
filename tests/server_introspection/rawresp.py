# SPDX-License-Identifier: BSD-3-Clause
"""Raw RESP2/RESP3 client for the introspection tests.

Each reply comes back twice: as the exact bytes the server sent, for
byte-for-byte comparison between ringpub-server and redis-server, and parsed
into Python values. Parsed aggregates keep their RESP type: a RESP3 map is a
Map (a list of key/value pairs, so order survives), a set is a Set, a push is
a Push, a verbatim string is a Verbatim.
"""

import socket
import time


class Map(list):
    """RESP3 map: a list of (key, value) pairs in the order sent."""


class Set(list):
    """RESP3 set, in the order sent."""


class Push(list):
    """RESP3 push frame."""


class Verbatim(bytes):
    """RESP3 verbatim string; .format is the three-letter format."""
    format = b""


class Error(Exception):
    """An error reply; args[0] is its text without "-" and CRLF."""


class Incomplete(Exception):
    """The buffer ends inside a reply."""


def encode(args):
    """Encode one command as a RESP array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, int):
            arg = str(arg)
        if isinstance(arg, str):
            arg = arg.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


def parse(buf, pos=0):
    """Parse one reply from buf at pos; return (value, next_pos).

    Raise Incomplete when buf ends inside the reply. Error replies are
    returned as Error instances, not raised, so aggregates keep them.
    Nested aggregates are handled with an explicit stack.
    """
    stack = []          # [container, values still expected, type byte, half-read map pair]
    while True:
        end = buf.find(b"\r\n", pos)
        if end < 0:
            raise Incomplete()
        kind, line = buf[pos:pos + 1], buf[pos + 1:end]
        pos = end + 2
        value = None
        container = None
        if kind == b"+":
            value = line
        elif kind in (b"-", b"!"):
            if kind == b"!":
                n = int(line)
                if len(buf) < pos + n + 2:
                    raise Incomplete()
                line = buf[pos:pos + n]
                pos += n + 2
            value = Error(line.decode("utf-8", "replace"))
        elif kind == b":":
            value = int(line)
        elif kind == b",":
            value = float(line)
        elif kind == b"(":
            value = int(line)
        elif kind == b"#":
            value = line == b"t"
        elif kind == b"_":
            value = None
        elif kind in (b"$", b"="):
            n = int(line)
            if n < 0:
                value = None
            else:
                if len(buf) < pos + n + 2:
                    raise Incomplete()
                data = buf[pos:pos + n]
                pos += n + 2
                if kind == b"=":
                    value = Verbatim(data[4:])
                    value.format = data[:3]
                else:
                    value = data
        elif kind in (b"*", b"~", b">", b"%", b"|"):
            n = int(line)
            if n < 0:
                value = None
            else:
                container = {b"*": list, b"~": Set, b">": Push, b"%": Map, b"|": Map}[kind]()
                count = n * 2 if kind in (b"%", b"|") else n
                if count:
                    stack.append([container, count, kind, []])
                    continue
                value = container
        else:
            raise ValueError("unknown RESP type byte %r at %d" % (kind, pos))

        # Hand the finished value to the innermost open aggregate, closing
        # every aggregate that it completes.
        while True:
            if not stack:
                return value, pos
            top = stack[-1]
            if top[2] in (b"%", b"|"):
                top[3].append(value)
                if len(top[3]) == 2:
                    top[0].append(tuple(top[3]))
                    top[3] = []
            else:
                top[0].append(value)
            top[1] -= 1
            if top[1]:
                break
            stack.pop()
            value = top[0]


class Conn:
    """A raw connection to 127.0.0.1:port."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.closed = False

    def close(self):
        self.sock.close()

    def send(self, *args):
        self.sock.sendall(encode(args))

    def send_raw(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        self.sock.settimeout(max(0.001, deadline - time.monotonic()))
        data = self.sock.recv(65536)
        if not data:
            self.closed = True
            raise ConnectionError("connection closed by the server")
        self.buf += data

    def read(self, timeout=5.0):
        """Read one reply; return (raw_bytes, value)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value, end = parse(self.buf)
            except Incomplete:
                if time.monotonic() >= deadline:
                    raise TimeoutError("no complete reply within %.1fs, have %r" % (timeout, self.buf[:200]))
                self._fill(deadline)
                continue
            raw, self.buf = self.buf[:end], self.buf[end:]
            return raw, value

    def call(self, *args, timeout=5.0):
        """Send one command and read its reply; return (raw_bytes, value)."""
        self.send(*args)
        return self.read(timeout)

    def raw(self, *args, timeout=5.0):
        return self.call(*args, timeout=timeout)[0]

    def value(self, *args, timeout=5.0):
        return self.call(*args, timeout=timeout)[1]

    def read_pending(self, wait=0.3):
        """Return every byte that arrives within wait seconds (b"" if none).

        Sets self.closed when the server closed the connection.
        """
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                self._fill(deadline)
            except (socket.timeout, TimeoutError):
                break
            except (ConnectionError, OSError):
                self.closed = True
                break
        data, self.buf = self.buf, b""
        return data
