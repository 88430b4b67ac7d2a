#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Differential conformance suite: ringpub-server against a real redis-server.

Every scenario in scenarios/ runs on both servers at once, on fresh
connections, and every reply, pushed message and connection state is compared
byte for byte. redis-server is the reference. The only tolerated differences
are the ones a scenario declares with a `differ` line, which names its reason
and masks one narrow thing (an integer, one map key, a regex inside a string,
INFO fields). `--self-test` runs redis against redis, which must pass too.

Scenario format (see scenarios/README.md for the full reference):

    === name                      starts a scenario (a file contains several)
    # text                        comment; the first ones describe the scenario
    conn a                        opens connection a on both servers
    a> SUBSCRIBE "x y" z          sends a command (split like redis-cli)
    a raw "PING\\r\\n" "chunk2"   sends raw bytes, one write per token
    a< [N] [set|unordered|sorted|sorted-pairs] [sort-at PATH] ["substring"]
    a< until "substring"          reads frames up to one containing substring
    a? closed|open|silent|closed-after-output   probes the connection state
    a close                       closes connection a from the client side
    differ "reason" KIND ARGS     tolerates one difference in the next read
    sleep MS                      pauses (at most 3000 ms)
    isolate                       runs on freshly started servers

Standard library only; run with /usr/bin/python3.
"""

import argparse
import concurrent.futures
import fnmatch
import os
import re
import select
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import rpserver  # noqa: E402  (the project's server starter, found through sys.path)

READ_TIMEOUT = 2.0          # seconds to wait for one expected frame
DEGRADED_READ_TIMEOUT = 0.3  # after a side already timed out once in a scenario
CLOSE_TIMEOUT = 1.0         # seconds to wait for EOF in `? closed`
QUIET_TIME = 0.1            # seconds of silence for `? open` and `? silent`
END_DRAIN_TIME = 0.06       # seconds to collect leftover bytes after the last step
RAW_CHUNK_PAUSE = 0.03      # pause between the writes of a split raw send
MAX_SLEEP_MS = 3000
MAX_UNTIL_FRAMES = 10000
CLEANUP_TIMEOUT = 2.0       # seconds for a server to drop a closed client's subscriptions
MAX_DIFFS_SHOWN = 3
DIFF_CONTEXT = 120          # bytes shown on each side of the first difference of long frames
DRAIN_TIMEOUT = 5.0         # seconds to read a dropped client's remaining output in `? closed-after-output`

# Lines that AddressSanitizer, LeakSanitizer and UBSan write to a server's log.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

# Probe states: closed (EOF without further bytes), open and silent (no bytes
# and no EOF for QUIET_TIME), closed-after-output (bytes are read and dropped
# until EOF, for a client the server drops while output is still queued).
PROBE_STATES = ("closed", "open", "silent", "closed-after-output")


class ScenarioError(Exception):
    """A scenario file that cannot be parsed."""


# ---------------------------------------------------------------------------
# Argument splitting, as redis-cli (sdssplitargs) splits a command line.

_HEX = "0123456789abcdefABCDEF"
_REPEAT = re.compile(r"^\{(.+)\*(\d+)\}$", re.S)


def _unescape_repeat_unit(text):
    """Decode the unit of a {UNIT*N} token: plain characters, \\xHH, \\r, \\n, \\t and \\\\."""
    out = bytearray()
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 3 < len(text) and text[i + 1] == "x" \
                and text[i + 2] in _HEX and text[i + 3] in _HEX:
            out.append(int(text[i + 2:i + 4], 16))
            i += 4
        elif text[i] == "\\" and i + 1 < len(text) and text[i + 1] in "rnt\\":
            out += {"r": b"\r", "n": b"\n", "t": b"\t", "\\": b"\\"}[text[i + 1]]
            i += 2
        else:
            out += text[i].encode()
            i += 1
    return bytes(out)


def _after_closing_quote(line, i):
    """Return the index after the closing quote at i; like redis-cli, reject a quote followed by text."""
    if i + 1 < len(line) and not line[i + 1].isspace():
        raise ScenarioError("closing quote must be followed by a space")
    return i + 1


def split_args(line, with_quoted=False):
    """Split a line into byte tokens the way redis-cli does.

    Double quotes allow \\xHH, \\n, \\r, \\t, \\b, \\a and \\<char>; single
    quotes allow \\'. A closing quote must be followed by a space or the end
    of the line. Two extensions: an unquoted token that starts with '#' ends
    the line (a trailing comment), and an unquoted {UNIT*N} token is UNIT
    repeated N times (UNIT may use \\xHH). Raises ScenarioError on
    unbalanced quotes. With with_quoted, returns (token, was_quoted) pairs.
    """
    tokens = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i].isspace():
            i += 1
        if i >= n:
            return tokens
        if line[i] == "#":
            return tokens
        cur = bytearray()
        in_dq = in_sq = False
        quoted = False
        start = i
        while True:
            if in_dq:
                if i >= n:
                    raise ScenarioError("unbalanced double quotes")
                c = line[i]
                if c == "\\" and i + 3 < n and line[i + 1] == "x" and line[i + 2] in _HEX and line[i + 3] in _HEX:
                    cur.append(int(line[i + 2:i + 4], 16))
                    i += 3
                elif c == "\\" and i + 1 < n:
                    i += 1
                    cur += {"n": b"\n", "r": b"\r", "t": b"\t", "b": b"\b", "a": b"\a"}.get(
                        line[i], line[i].encode())
                elif c == '"':
                    i = _after_closing_quote(line, i)
                    break
                else:
                    cur += c.encode()
                i += 1
            elif in_sq:
                if i >= n:
                    raise ScenarioError("unbalanced single quotes")
                c = line[i]
                if c == "\\" and i + 1 < n and line[i + 1] == "'":
                    cur += b"'"
                    i += 1
                elif c == "'":
                    i = _after_closing_quote(line, i)
                    break
                else:
                    cur += c.encode()
                i += 1
            else:
                if i >= n or line[i].isspace():
                    break
                c = line[i]
                if c == '"':
                    in_dq = quoted = True
                elif c == "'":
                    in_sq = quoted = True
                else:
                    cur += c.encode()
                i += 1
        token = bytes(cur)
        if not quoted:
            m = _REPEAT.match(line[start:i])
            if m:
                token = _unescape_repeat_unit(m.group(1)) * int(m.group(2))
        tokens.append((token, quoted) if with_quoted else token)


def encode_command(args):
    """Encode byte arguments as a RESP multibulk request."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


# ---------------------------------------------------------------------------
# RESP2/RESP3 frame reader.

AGGREGATE_TYPES = b"*%~>|"
LINE_TYPES = b"+-:_#,("
BLOB_TYPES = b"$!="


class Frame:
    """One RESP value: its type byte, its payload and, for aggregates, children.

    value: bytes for simple types and blobs (None for $-1 and *-1), the
    header text for aggregates. children: list for aggregates; a map's and an
    attribute's pairs are flattened, and an attribute's last child is the value
    it annotates. raw: the exact bytes received.
    """

    __slots__ = ("type", "value", "children", "raw", "streamed")

    def __init__(self, ftype, value=None, children=None):
        self.type = ftype
        self.value = value
        self.children = children
        self.raw = b""
        self.streamed = False

    def encode(self):
        """Encode the frame canonically (non-streamed), from its parsed content."""
        parts = []
        stack = [(self, 0)]
        while stack:
            f, state = stack.pop()
            t = bytes([f.type])
            if f.children is None:
                if f.type in BLOB_TYPES:
                    if f.value is None:
                        parts.append(t + b"-1\r\n")
                    else:
                        parts.append(t + b"%d\r\n%s\r\n" % (len(f.value), f.value))
                elif f.type == ord("*") and f.value is None:
                    parts.append(b"*-1\r\n")
                else:
                    parts.append(t + f.value + b"\r\n")
                continue
            n = len(f.children)
            if f.type in b"%|":
                n = (n - (1 if f.type == ord("|") else 0)) // 2
            parts.append(t + b"%d\r\n" % n)
            for child in reversed(f.children):
                stack.append((child, 0))
        return b"".join(parts)


class ProtocolViolation(Exception):
    """The server sent bytes that are not valid RESP."""


def _read_line(buf, pos):
    end = buf.find(b"\r\n", pos)
    if end < 0:
        return None, pos
    return bytes(buf[pos:end]), end + 2


def parse_frame(buf, pos=0):
    """Parse one complete frame from buf[pos:].

    Returns (frame, end) or None if more bytes are needed. Nesting is handled
    with an explicit stack. Raises ProtocolViolation on bytes that are not RESP.
    """
    start = pos
    stack = []   # [frame, remaining children or -1 when streamed]
    while True:
        if pos >= len(buf):
            return None
        t = buf[pos]
        line, nxt = _read_line(buf, pos + 1)
        if line is None:
            return None
        frame = None
        if t in LINE_TYPES:
            if t == ord("_") and line != b"":
                raise ProtocolViolation("null frame with payload %r" % line)
            frame = Frame(t, line)
            pos = nxt
        elif t in BLOB_TYPES:
            if line == b"?" and t == ord("$"):
                data = bytearray()
                pos = nxt
                while True:
                    chunk_hdr, after = _read_line(buf, pos)
                    if chunk_hdr is None:
                        return None
                    if not chunk_hdr.startswith(b";"):
                        raise ProtocolViolation("streamed string chunk without ';'")
                    clen = int(chunk_hdr[1:])
                    if clen == 0:
                        pos = after
                        break
                    if len(buf) < after + clen + 2:
                        return None
                    data += buf[after:after + clen]
                    pos = after + clen + 2
                frame = Frame(t, bytes(data))
                frame.streamed = True
            else:
                try:
                    length = int(line)
                except ValueError:
                    raise ProtocolViolation("invalid blob length %r" % line)
                if length == -1:
                    frame = Frame(t, None)
                    pos = nxt
                elif length < 0:
                    raise ProtocolViolation("negative blob length %d" % length)
                else:
                    if len(buf) < nxt + length + 2:
                        return None
                    if buf[nxt + length:nxt + length + 2] != b"\r\n":
                        raise ProtocolViolation("blob not followed by CRLF")
                    frame = Frame(t, bytes(buf[nxt:nxt + length]))
                    pos = nxt + length + 2
        elif t in AGGREGATE_TYPES:
            pos = nxt
            if line == b"?":
                frame = Frame(t, line, [])
                frame.streamed = True
                stack.append([frame, -1])
                continue
            try:
                count = int(line)
            except ValueError:
                raise ProtocolViolation("invalid aggregate length %r" % line)
            if count == -1 and t == ord("*"):
                frame = Frame(t, None)
            elif count < 0:
                raise ProtocolViolation("negative aggregate length %d" % count)
            else:
                if t == ord("%"):
                    count *= 2
                elif t == ord("|"):
                    count = count * 2 + 1
                frame = Frame(t, line, [])
                if count > 0:
                    stack.append([frame, count])
                    continue
        elif t == ord(".") and stack and stack[-1][1] == -1:
            pos = nxt
            frame = stack.pop()[0]
        else:
            raise ProtocolViolation("invalid type byte %r" % chr(t))

        # Attach the finished frame to its parents, completing them in turn.
        while stack:
            parent = stack[-1]
            parent[0].children.append(frame)
            if parent[1] == -1:
                frame = None
                break
            parent[1] -= 1
            if parent[1] > 0:
                frame = None
                break
            frame = stack.pop()[0]
        if frame is not None and not stack:
            frame.raw = bytes(buf[start:pos])
            return frame, pos


# ---------------------------------------------------------------------------
# Declared differences: each turns a frame into a normalized copy.

MASK = b"<masked>"


def _copy(frame):
    """Deep copy of a frame tree, without recursion."""
    top = Frame(frame.type, frame.value, None if frame.children is None else [])
    work = [(frame, top)]
    while work:
        src, dst = work.pop()
        if src.children is None:
            continue
        for child in src.children:
            c = Frame(child.type, child.value, None if child.children is None else [])
            dst.children.append(c)
            work.append((child, c))
    return top


def _walk(frame):
    stack = [frame]
    while stack:
        f = stack.pop()
        yield f
        if f.children:
            stack.extend(f.children)


def mask_integer(frame, _args):
    for f in _walk(frame):
        if f.type == ord(":"):
            f.value = MASK


def mask_key(frame, args):
    """Mask the value after each map key (RESP3 map or RESP2 flat pair array) named in args."""
    keys = set(args)
    for f in _walk(frame):
        if f.type not in b"%*" or not f.children or len(f.children) % 2:
            continue
        for i in range(0, len(f.children), 2):
            k = f.children[i]
            if k.children is None and k.value in keys:
                f.children[i + 1] = Frame(ord("+"), MASK)


def mask_regex(frame, args):
    """Replace every match of each regex inside string payloads with <masked>."""
    patterns = [re.compile(a) for a in args]
    for f in _walk(frame):
        if f.children is None and f.value is not None and f.type != ord(":"):
            for p in patterns:
                f.value = p.sub(MASK, f.value)


def _info_lines(frame):
    payload = frame.value or b""
    if frame.type == ord("="):
        payload = payload[4:]
    return payload.split(b"\r\n")


def _set_info_lines(frame, lines):
    payload = b"\r\n".join(lines)
    if frame.type == ord("="):
        payload = frame.value[:4] + payload
    frame.value = payload


def info_ignore(frame, args):
    """Drop the INFO fields whose names match any of the globs in args."""
    globs = [a.decode() for a in args]
    kept = []
    for line in _info_lines(frame):
        name = line.split(b":", 1)[0].decode("latin-1")
        if b":" in line and not line.startswith(b"#") and any(fnmatch.fnmatchcase(name, g) for g in globs):
            continue
        kept.append(line)
    _set_info_lines(frame, kept)


def info_only(frame, args):
    """Keep only the INFO fields whose names match one of the globs in args, and the section headers."""
    globs = [a.decode() for a in args]
    kept = []
    for line in _info_lines(frame):
        name = line.split(b":", 1)[0].decode("latin-1")
        if b":" in line and not line.startswith(b"#") and not any(fnmatch.fnmatchcase(name, g) for g in globs):
            continue
        kept.append(line)
    _set_info_lines(frame, kept)


def info_ignore_section(frame, args):
    """Drop whole INFO sections (header, fields and the blank line after them) by name, case-insensitively."""
    names = {a.lower() for a in args}
    kept = []
    skipping = False
    for line in _info_lines(frame):
        if line.startswith(b"# "):
            skipping = line[2:].strip().lower() in names
        if not skipping:
            kept.append(line)
        elif line == b"":
            skipping = False
    _set_info_lines(frame, kept)


def help_text(frame, _args):
    """Keep a HELP reply's first line and whether every line is a simple string.

    The lines after the first are each server's own prose about the
    subcommands it has, so they are not compared.
    """
    if frame.children is None or not frame.children:
        return
    all_simple = all(c.type == ord("+") for c in frame.children)
    frame.children = [frame.children[0], Frame(ord("+"), b"<every line a simple string>" if all_simple
                                               else b"<some lines are not simple strings>")]


def info_names(frame, _args):
    """Keep INFO section headers and field names, dropping every value."""
    lines = []
    for line in _info_lines(frame):
        lines.append(line.split(b":", 1)[0] + (b":" + MASK if b":" in line else b""))
    _set_info_lines(frame, lines)


def count_only(frame, _args):
    """Compare only the type and element count of an aggregate (not its elements)."""
    if frame.children is not None:
        frame.children = [Frame(ord("+"), MASK)] * len(frame.children)


DIFFER_KINDS = {
    "mask-integer": (mask_integer, 0),
    "mask-key": (mask_key, 1),
    "mask-regex": (mask_regex, 1),
    "info-ignore": (info_ignore, 1),
    "info-names": (info_names, 0),
    "info-ignore-section": (info_ignore_section, 1),
    "info-only": (info_only, 1),
    "help-text": (help_text, 0),
    "count-only": (count_only, 0),
    # Compared in compare(): the candidate may send exactly these bytes instead.
    "accept-alternative": (lambda frame, args: None, 1),
}


class Differ:
    """One declared difference: its reason, its kind (a key of DIFFER_KINDS) and the kind's arguments."""

    def __init__(self, reason, kind, args, where):
        self.reason = reason
        self.kind = kind
        self.args = args
        self.where = where

    def apply(self, frame):
        DIFFER_KINDS[self.kind][0](frame, self.args)


# ---------------------------------------------------------------------------
# Scenarios.

class Step:
    """One line of a scenario. kind: conn, send, raw, read, probe, close, sleep."""

    def __init__(self, lineno, kind, conn=None, **kw):
        self.lineno = lineno
        self.kind = kind
        self.conn = conn
        self.count = 1
        self.mode = "list"        # list, set, sorted, sorted-pairs, until
        self.expect = None        # bytes the reference's frames must contain
        self.until = None
        self.differs = []
        self.sort_paths = []      # (pairwise, [child index, ...]) of aggregates to sort
        self.state = None
        self.data = None
        self.chunks = None
        self.ms = 0
        self.text = ""
        for k, v in kw.items():
            setattr(self, k, v)


class Scenario:
    def __init__(self, path, name, lineno):
        self.path = path
        self.name = name
        self.lineno = lineno
        self.steps = []
        self.isolate = False
        self.description = []

    @property
    def full_name(self):
        rel = os.path.relpath(self.path, os.path.join(HERE, "scenarios"))
        return rel[:-4] + "/" + self.name if rel.endswith(".txt") else rel + "/" + self.name


_CONN_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_STEP = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)(>|<|\?| raw\b| close\b)(.*)$", re.S)
# A scenario that changes server-wide state runs on freshly started servers.
_NEEDS_ISOLATION = re.compile(rb"^(config\s+(set|resetstat)|client\s+(kill|pause))", re.I)


def parse_scenario_file(path):
    """Parse one scenario file into a list of Scenario objects."""
    scenarios = []
    current = None
    pending_differs = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for lineno, line in enumerate(lines, 1):
        stripped = line.strip()
        where = "%s:%d" % (os.path.relpath(path, HERE), lineno)
        try:
            if stripped.startswith("==="):
                if pending_differs:
                    raise ScenarioError("differ line not followed by a read")
                current = Scenario(path, stripped[3:].strip(), lineno)
                if not current.name:
                    raise ScenarioError("scenario without a name")
                scenarios.append(current)
                continue
            if not stripped:
                continue
            if stripped.startswith("#"):
                if current is not None and not current.steps:
                    current.description.append(stripped.lstrip("# "))
                continue
            if current is None:
                raise ScenarioError("step before the first '=== name' line")
            _parse_step(current, stripped, lineno, pending_differs, where)
        except ScenarioError as e:
            raise ScenarioError("%s: %s" % (where, e))
    if pending_differs:
        raise ScenarioError("%s: differ line at the end of the file" % path)
    for sc in scenarios:
        conns = set()
        for st in sc.steps:
            if st.kind == "conn":
                if st.conn in conns:
                    raise ScenarioError("%s:%d: connection %s opened twice" % (path, st.lineno, st.conn))
                conns.add(st.conn)
            elif st.conn is not None and st.conn not in conns:
                raise ScenarioError("%s:%d: connection %s used before 'conn %s'" % (path, st.lineno, st.conn, st.conn))
            if st.kind == "send" and _NEEDS_ISOLATION.match(b" ".join(st.data)):
                sc.isolate = True
    return scenarios


def _parse_step(sc, text, lineno, pending_differs, where):
    words = text.split()
    if words[0] == "conn":
        if len(words) != 2 or not _CONN_NAME.match(words[1]):
            raise ScenarioError("expected 'conn NAME'")
        sc.steps.append(Step(lineno, "conn", words[1], text=text))
        return
    if words[0] == "isolate":
        sc.isolate = True
        return
    if words[0] == "sleep":
        if len(words) != 2 or not words[1].isdigit() or int(words[1]) > MAX_SLEEP_MS:
            raise ScenarioError("expected 'sleep MS' with MS <= %d" % MAX_SLEEP_MS)
        sc.steps.append(Step(lineno, "sleep", ms=int(words[1]), text=text))
        return
    if words[0] == "differ":
        toks = split_args(text)
        if len(toks) < 3:
            raise ScenarioError('invalid differ line: expected differ "reason" KIND [ARGS]')
        reason, kind, args = toks[1].decode(), toks[2].decode(), toks[3:]
        if kind not in DIFFER_KINDS:
            raise ScenarioError("unknown differ kind %r: expected one of %s" % (kind, ", ".join(DIFFER_KINDS)))
        if len(args) < DIFFER_KINDS[kind][1]:
            raise ScenarioError("differ %s needs an argument" % kind)
        if len(reason) < 10:
            raise ScenarioError("differ needs a reason of at least a few words")
        pending_differs.append(Differ(reason, kind, args, where))
        return

    m = _STEP.match(text)
    if not m:
        raise ScenarioError("unrecognized line %r" % text)
    conn, op, rest = m.group(1), m.group(2).strip(), m.group(3)
    if op == ">":
        args = split_args(rest)
        if not args:
            raise ScenarioError("empty command")
        sc.steps.append(Step(lineno, "send", conn, data=args, text=text))
    elif op == "raw":
        chunks = split_args(rest)
        if not chunks:
            raise ScenarioError("raw needs at least one chunk")
        sc.steps.append(Step(lineno, "raw", conn, chunks=chunks, text=text))
    elif op == "close":
        sc.steps.append(Step(lineno, "close", conn, text=text))
    elif op == "?":
        state = rest.strip()
        if state not in PROBE_STATES:
            raise ScenarioError("expected one of: %s" % ", ".join("? " + p for p in PROBE_STATES))
        sc.steps.append(Step(lineno, "probe", conn, state=state, text=text))
    elif op == "<":
        st = Step(lineno, "read", conn, text=text)
        toks = split_args(rest, with_quoted=True)
        i = 0
        while i < len(toks):
            t, quoted = toks[i]
            if quoted:
                st.expect = t
            elif t.isdigit():
                st.count = int(t)
            elif t in (b"set", b"sorted", b"sorted-pairs", b"unordered"):
                st.mode = t.decode()
            elif t in (b"until", b"sort-at", b"sort-pairs-at"):
                if i + 1 >= len(toks):
                    raise ScenarioError("%s needs an argument" % t.decode())
                arg = toks[i + 1][0]
                if t == b"until":
                    st.mode = "until"
                    st.until = arg
                else:
                    if not re.match(rb"^\d+(\.\d+)*$", arg):
                        raise ScenarioError("%s needs a path of child indexes such as 0.9" % t.decode())
                    st.sort_paths.append((t == b"sort-pairs-at", [int(x) for x in arg.split(b".")]))
                i += 1
            else:
                raise ScenarioError("unknown read option %r: quote an expected substring" % t.decode("latin-1"))
            i += 1
        st.differs = list(pending_differs)
        pending_differs.clear()
        sc.steps.append(st)
    if op != "<" and pending_differs:
        raise ScenarioError("a differ line must be followed by a read line")


def load_scenarios(root):
    files = []
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            if name.endswith(".txt"):
                files.append(os.path.join(dirpath, name))
    scenarios = []
    seen = set()
    for path in sorted(files):
        for sc in parse_scenario_file(path):
            if sc.full_name in seen:
                raise ScenarioError("%s:%d: duplicate scenario name %s" % (path, sc.lineno, sc.full_name))
            seen.add(sc.full_name)
            scenarios.append(sc)
    return scenarios


# ---------------------------------------------------------------------------
# Running one scenario against one server.

class Observation:
    """What one step saw. frames: list of Frame; status: ok, timeout, closed, bad-resp, open, data."""

    def __init__(self, step, status, frames=(), detail=b""):
        self.step = step
        self.status = status
        self.frames = list(frames)
        self.detail = detail


class Conn:
    def __init__(self, port):
        self.sock = rpserver.connect(port)
        self.buf = bytearray()
        self.eof = False

    def fill(self, deadline):
        """Receive more bytes. Returns False at EOF or when the deadline passes."""
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        r, _, _ = select.select([self.sock], [], [], remaining)
        if not r:
            return False
        try:
            data = self.sock.recv(1 << 20)
        except (ConnectionResetError, ConnectionAbortedError):
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def read_frame(self, timeout):
        """Returns (status, frame): ok, timeout, closed or bad-resp."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                parsed = parse_frame(self.buf)
            except ProtocolViolation as e:
                return "bad-resp", str(e).encode()
            if parsed is not None:
                frame, end = parsed
                del self.buf[:end]
                return "ok", frame
            if not self.fill(deadline):
                return ("closed" if self.eof else "timeout"), None

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError:
            pass   # the probe or read that follows reports the closed connection

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def run_scenario(port, sc):
    """Run every step of sc on the server at port; return the list of observations."""
    conns = {}
    obs = []
    read_timeout = READ_TIMEOUT
    try:
        for st in sc.steps:
            if st.kind == "conn":
                conns[st.conn] = Conn(port)
            elif st.kind == "sleep":
                time.sleep(st.ms / 1000.0)
            elif st.kind == "send":
                conns[st.conn].send(encode_command(st.data))
            elif st.kind == "raw":
                for i, chunk in enumerate(st.chunks):
                    if i:
                        time.sleep(RAW_CHUNK_PAUSE)
                    conns[st.conn].send(chunk)
            elif st.kind == "close":
                conns[st.conn].close()
                conns[st.conn].eof = True
            elif st.kind == "read":
                o = _read_step(conns[st.conn], st, read_timeout)
                if o.status == "timeout":
                    read_timeout = DEGRADED_READ_TIMEOUT
                obs.append(o)
            elif st.kind == "probe":
                obs.append(_probe(conns[st.conn], st))
        obs.extend(_end_check(conns, sc))
    finally:
        for c in conns.values():
            c.close()
    return obs


def _read_step(conn, st, timeout):
    frames = []
    limit = st.count if st.mode != "until" else MAX_UNTIL_FRAMES
    while len(frames) < limit:
        status, frame = conn.read_frame(timeout)
        if status != "ok":
            return Observation(st, status, frames, frame or b"")
        frames.append(frame)
        if st.mode == "until" and st.until in frame.raw:
            break
    return Observation(st, "ok", frames)


def _probe(conn, st):
    """Observe whether the connection is closed, quiet, or has bytes pending."""
    if st.state == "closed-after-output":
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while conn.fill(deadline):
            conn.buf.clear()
        conn.buf.clear()
        return Observation(st, "closed" if conn.eof else "open")
    if conn.buf:
        data = bytes(conn.buf)
        conn.buf.clear()
        return Observation(st, "data", detail=data)
    wait = CLOSE_TIMEOUT if st.state == "closed" else QUIET_TIME
    deadline = time.monotonic() + wait
    while conn.fill(deadline):
        pass
    if conn.buf:
        data = bytes(conn.buf)
        conn.buf.clear()
        status = "data"
        if conn.eof:
            data += b" <then closed>"
        return Observation(st, status, detail=data)
    return Observation(st, "closed" if conn.eof else "open")


def _end_check(conns, sc):
    """After the last step, report each connection's unread bytes and state."""
    deadline = time.monotonic() + END_DRAIN_TIME
    live = {name: c for name, c in conns.items() if not c.eof}
    while live:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        r, _, _ = select.select([c.sock for c in live.values()], [], [], remaining)
        if not r:
            break
        for name, c in list(live.items()):
            if c.sock in r:
                c.fill(time.monotonic() + 0.001)
                if c.eof:
                    del live[name]
    out = []
    for name in sorted(conns):
        c = conns[name]
        st = Step(0, "end", name, text="(end of scenario: connection %s)" % name)
        if c.buf:
            out.append(Observation(st, "data", detail=bytes(c.buf)))
        else:
            out.append(Observation(st, "closed" if c.eof else "open"))
    return out


# ---------------------------------------------------------------------------
# Comparison and reporting.

def escape(data, limit=400):
    """Render bytes as a double-quoted string with C escapes, shortened past limit."""
    def esc(b):
        s = []
        for ch in b:
            if ch == 0x5c:
                s.append("\\\\")
            elif ch == 0x22:
                s.append('\\"')
            elif ch == 0x0d:
                s.append("\\r")
            elif ch == 0x0a:
                s.append("\\n")
            elif ch == 0x09:
                s.append("\\t")
            elif 0x20 <= ch < 0x7f:
                s.append(chr(ch))
            else:
                s.append("\\x%02x" % ch)
        return "".join(s)
    if len(data) > limit:
        return '"%s" ... (%d bytes) ... "%s"' % (esc(data[:limit - 80]), len(data), esc(data[-60:]))
    return '"%s"' % esc(data)


def normalize(o):
    """Turn an observation into the byte strings compared for it, applying its differs.

    Returns (frames, tail): the bytes of each frame, masked or reordered as
    the step specifies, and a marker for a read that did not complete.
    """
    st = o.step
    parts = []
    reorder = st.kind == "read" and st.mode in ("sorted", "sorted-pairs")
    for f in o.frames:
        if st.kind != "read" or not (st.differs or st.sort_paths or (reorder and f.children is not None)):
            parts.append(f.raw)
            continue
        g = _copy(f)
        for d in st.differs:
            d.apply(g)
        for pairwise, path in st.sort_paths:
            _sort_at(g, path, pairwise)
        if reorder and g.children is not None:
            items = [c.encode() for c in g.children]
            if st.mode == "sorted-pairs":
                items = [items[i] + items[i + 1] for i in range(0, len(items) - 1, 2)]
            items.sort()
            parts.append(bytes([g.type]) + (g.value or b"") + b"\r\n" + b"".join(items))
        else:
            parts.append(g.encode())
    if st.kind == "read" and st.mode == "set":
        parts.sort()
    elif st.kind == "read" and st.mode == "unordered":
        parts = _unordered_parts(o.frames, st.differs)
    tail = b""
    if o.status != "ok":
        tail = b"<" + o.status.encode() + b">" + (b" " + o.detail if o.detail else b"")
    return parts, tail


def _sort_at(frame, path, pairwise):
    """Sort the children of the aggregate at path (child indexes from frame), pairwise for maps.

    Used where redis lists entries in hash table order, such as the
    subcommands of COMMAND INFO and COMMAND DOCS. A path that does not lead to
    an aggregate leaves the frame as it is, so the comparison shows the
    difference.
    """
    node = frame
    for index in path:
        if node.children is None or index >= len(node.children):
            return
        node = node.children[index]
    if not node.children:
        return
    if pairwise:
        pairs = [node.children[i:i + 2] for i in range(0, len(node.children) - 1, 2)]
        pairs.sort(key=lambda pair: pair[0].encode() + pair[1].encode())
        node.children = [child for pair in pairs for child in pair]
    else:
        node.children.sort(key=lambda child: child.encode())


def _unordered_parts(frames, differs):
    """Split frames into a sorted set with integers masked, plus their integers in arrival order.

    Unsubscribing from all channels confirms them in the server's hash table
    order, which redis does not define. The counts must still go down one by
    one, so they are compared in order.
    """
    masked = []
    counts = []
    for f in frames:
        g = _copy(f)
        for d in differs:
            d.apply(g)
        counts.extend(x.value for x in _walk(g) if x.type == ord(":"))
        mask_integer(g, [])
        masked.append(g.encode())
    masked.sort()
    return masked + [b"integers in order: " + b" ".join(counts)]


def compare(sc, ref_obs, cand_obs, names):
    """Return a list of difference reports (strings) for one scenario."""
    reports = []
    rel = os.path.relpath(sc.path, HERE)
    for i in range(max(len(ref_obs), len(cand_obs))):
        r = ref_obs[i] if i < len(ref_obs) else None
        c = cand_obs[i] if i < len(cand_obs) else None
        st = (r or c).step
        where = "%s:%d" % (rel, st.lineno) if st.lineno else rel
        if r is not None:
            problem = _reference_problem(r)
            if problem:
                reports.append("%s  %s\n    scenario error: %s" % (where, st.text, problem))
                continue
        if r is None or c is None:
            reports.append("%s  %s\n    one side has no observation" % (where, st.text))
            continue
        rp, rt = normalize(r)
        cp, ct = normalize(c)
        if rp == cp and rt == ct:
            continue
        alternatives = [d.args[0] for d in st.differs if d.kind == "accept-alternative"]
        if alternatives and not ct and b"".join(f.raw for f in c.frames) in alternatives:
            continue
        lines = ["%s  %s" % (where, st.text)]
        for d in st.differs:
            lines.append("    (declared: %s: %s)" % (d.kind, d.reason))
        n = max(len(rp), len(cp))
        for k in range(n):
            a = rp[k] if k < len(rp) else None
            b = cp[k] if k < len(cp) else None
            if a == b:
                continue
            label = " frame %d" % (k + 1) if n > 1 else ""
            lines.append("    %-8s%s: %s" % (names[0], label, escape(a) if a is not None else "(none)"))
            lines.append("    %-8s%s: %s" % (names[1], label, escape(b) if b is not None else "(none)"))
            if a is not None and b is not None and max(len(a), len(b)) > DIFF_CONTEXT * 2:
                lines.extend(_diff_window(a, b, names))
        if rt != ct:
            lines.append("    %-8s then: %s" % (names[0], escape(rt) if rt else "(nothing)"))
            lines.append("    %-8s then: %s" % (names[1], escape(ct) if ct else "(nothing)"))
        reports.append("\n".join(lines))
    return reports


def _diff_window(a, b, names):
    """Show both byte strings around their first difference, for frames too long to read whole."""
    at = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
    header_end = a.find(b"\r\n") + 2
    if at < header_end and header_end == b.find(b"\r\n") + 2:
        # Only the length in the first line differs there: show where the payloads part.
        at = next((i for i in range(header_end, min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
    lo = max(0, at - DIFF_CONTEXT)
    return ["    first difference at byte %d:" % at,
            "    %-8s: ...%s..." % (names[0], escape(a[lo:at + DIFF_CONTEXT])),
            "    %-8s: ...%s..." % (names[1], escape(b[lo:at + DIFF_CONTEXT]))]


def _reference_problem(o):
    """Check that the reference's observation fits what the scenario states."""
    st = o.step
    if st.kind == "read":
        if o.status != "ok":
            return "the reference server gave %s after %d of the frames the line reads" % (o.status, len(o.frames))
        if st.expect is not None and not any(st.expect in f.raw for f in o.frames):
            return "the reference's reply %s does not contain %s" % (
                escape(b"".join(f.raw for f in o.frames), 200), escape(st.expect))
    elif st.kind == "probe":
        want = {"closed": "closed", "open": "open", "silent": "open", "closed-after-output": "closed"}[st.state]
        if o.status != want:
            return "expected the reference connection %s, got %s %s" % (st.state, o.status, escape(o.detail, 200))
    return None


# ---------------------------------------------------------------------------
# Servers.

class Side:
    """One server under test, restarted on demand."""

    def __init__(self, label, kind, backend=None):
        self.label = label
        self.kind = kind
        self.backend = backend
        self.server = None

    def start(self):
        self.server = rpserver.Server(self.kind, backend=self.backend)
        self.server.start()

    def stop(self):
        """Stop the server; return a problem (non-zero exit, sanitizer report) or None."""
        if self.server is None:
            return None
        status = self.server.stop()
        log = self.server.log()
        self.server.__exit__(None, None, None)
        self.server = None
        problem = []
        if status != 0:
            problem.append("exited with status %s after SIGTERM" % status)
        for marker in SANITIZER_MARKERS:
            at = log.find(marker)
            if at >= 0:
                problem.append("log reports %r:\n%s" % (marker, log[max(0, at - 200):at + 1800]))
                break
        return "; ".join(problem) or None

    def restart(self):
        problem = self.stop()
        self.start()
        return problem

    @property
    def port(self):
        return self.server.port

    def check_clean(self):
        """Wait until no channel, pattern or shard channel is left; return a problem or None."""
        deadline = time.monotonic() + CLEANUP_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if not self.server.alive():
                return "server exited with status %s; log tail:\n%s" % (
                    self.server.proc.poll(), self.server.log()[-2000:])
            try:
                c = Conn(self.port)
                try:
                    c.send(encode_command([b"PUBSUB", b"NUMPAT"]) + encode_command([b"PUBSUB", b"CHANNELS"]) +
                           encode_command([b"PUBSUB", b"SHARDCHANNELS"]))
                    replies = [c.read_frame(1.0) for _ in range(3)]
                finally:
                    c.close()
            except OSError as e:
                last = "cannot connect: %s" % e
                time.sleep(0.05)
                continue
            raw = [f.raw if s == "ok" else s.encode() for s, f in replies]
            if raw == [b":0\r\n", b"*0\r\n", b"*0\r\n"]:
                return None
            last = "subscriptions remain after every client closed: " + " ".join(escape(x) for x in raw)
            time.sleep(0.02)
        return last


def _restart_all(sides, pool):
    """Restart every server, in parallel; return the problems their stops reported."""
    futures = [(s, pool.submit(s.restart)) for s in sides]
    return ["%s %s" % (s.label, fut.result()) for s, fut in futures if fut.result()]


def run_all(scenarios, sides, verbose):
    names = [s.label for s in sides]
    passed = failed = 0
    failures = []
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
    for s in sides:
        s.start()
    fresh = True
    try:
        for sc in scenarios:
            if sc.isolate and not fresh:
                # A problem found while stopping belongs to the scenarios before this one.
                for problem in _restart_all(sides, pool):
                    print("FAIL (before %s): %s" % (sc.full_name, problem))
                    failed += 1
            t0 = time.monotonic()
            futures = [pool.submit(run_scenario, s.port, sc) for s in sides]
            results = []
            errors = []
            for s, fut in zip(sides, futures):
                try:
                    results.append(fut.result())
                except OSError as e:
                    results.append([])
                    errors.append("%s: %s" % (s.label, e))
            reports = compare(sc, results[0], results[1], names) if not errors else [
                "cannot run: " + "; ".join(errors)]
            if sc.isolate:
                # The scenario changed server-wide settings: the next one gets fresh servers.
                reports.extend(_restart_all(sides, pool))
                fresh = True
            else:
                for s in sides:
                    problem = s.check_clean()
                    if problem:
                        reports.append("%s after the scenario: %s" % (s.label, problem))
                        stop_problem = s.restart()
                        if stop_problem:
                            reports.append("%s %s" % (s.label, stop_problem))
                fresh = False
            elapsed = time.monotonic() - t0
            if reports:
                failed += 1
                failures.append(sc.full_name)
                print("FAIL %s  (%s:%d)" % (sc.full_name, os.path.relpath(sc.path, HERE), sc.lineno))
                for rep in reports[:MAX_DIFFS_SHOWN]:
                    print("  " + rep.replace("\n", "\n  "))
                if len(reports) > MAX_DIFFS_SHOWN:
                    print("  ... and %d more differences in this scenario" % (len(reports) - MAX_DIFFS_SHOWN))
            else:
                passed += 1
                if verbose:
                    print("ok   %s  (%.2fs)" % (sc.full_name, elapsed))
            if verbose > 1:
                for o in results[0]:
                    frames, tail = normalize(o)
                    rendered = " ".join(escape(f, 160) for f in frames) or escape(o.detail, 160)
                    print("    %4s %-28s %s %s" % (o.step.lineno or "", o.step.text[:28], o.status, rendered))
            sys.stdout.flush()
    finally:
        pool.shutdown()
        for s in sides:
            problem = s.stop()
            if problem:
                print("FAIL (at shutdown) %s %s" % (s.label, problem))
                failed += 1
    return passed, failed, failures


def list_differences(scenarios):
    rows = []
    for sc in scenarios:
        for st in sc.steps:
            for d in st.differs:
                rows.append((d.reason, d.kind, b" ".join(d.args).decode("latin-1"), sc.full_name))
    by_reason = {}
    for reason, kind, args, name in rows:
        by_reason.setdefault((reason, kind, args), []).append(name)
    for (reason, kind, args), names in sorted(by_reason.items()):
        print("%s | %s %s | %d: %s" % (reason, kind, args, len(names), ", ".join(sorted(set(names)))))


# Frames of every RESP2 and RESP3 type, for --check-runner.
SAMPLE_FRAMES = [
    b"+OK\r\n", b"-ERR x\r\n", b":-12\r\n", b"$3\r\na\r\n\r\n", b"$0\r\n\r\n", b"$-1\r\n", b"*-1\r\n",
    b"*0\r\n", b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n", b"_\r\n", b"#t\r\n", b",1.5\r\n", b",inf\r\n",
    b"(12345678901234567890\r\n", b"!5\r\nERR x\r\n", b"=7\r\ntxt:abc\r\n",
    b"%2\r\n+a\r\n:1\r\n+b\r\n%1\r\n+c\r\n_\r\n", b"~2\r\n+a\r\n+b\r\n",
    b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n",
    b"|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n",
    b"$?\r\n;2\r\nab\r\n;1\r\nc\r\n;0\r\n", b"*?\r\n:1\r\n*?\r\n.\r\n.\r\n",
    b"%?\r\n+k\r\n+v\r\n.\r\n",
]


def check_runner():
    """Check the frame reader and the comparator; returns the number of failed checks."""
    bad = 0
    for sample in SAMPLE_FRAMES:
        whole = parse_frame(sample + b"+next\r\n")
        if whole is None or whole[0].raw != sample or whole[1] != len(sample):
            print("reader: %s not parsed whole" % escape(sample))
            bad += 1
            continue
        for cut in range(len(sample)):
            if parse_frame(sample[:cut]) is not None:
                print("reader: %s parsed from its first %d bytes" % (escape(sample), cut))
                bad += 1
        if not whole[0].streamed and whole[0].encode() != sample:
            print("reader: %s re-encodes as %s" % (escape(sample), escape(whole[0].encode())))
            bad += 1

    for junk in (b"?x\r\n", b"$-2\r\n", b"$3\r\nabcd\r\n", b"*x\r\n"):
        try:
            parse_frame(junk)
            print("reader: %s accepted" % escape(junk))
            bad += 1
        except ProtocolViolation:
            pass

    if split_args('a "b c" \'d\\\'e\' "\\x41\\n" {\\x00*3} # tail') != [b"a", b"b c", b"d'e", b"A\n", b"\0\0\0"]:
        print("split_args: wrong tokens %r" % split_args('a "b c" \'d\\\'e\' "\\x41\\n" {\\x00*3} # tail'))
        bad += 1

    sc = Scenario(os.path.join(HERE, "scenarios", "x.txt"), "check", 1)
    st = Step(3, "read", "a", text="a<")
    ref = [Observation(st, "ok", [parse_frame(b":1\r\n")[0]])]
    cand = [Observation(st, "ok", [parse_frame(b":2\r\n")[0]])]
    if not compare(sc, ref, cand, ("one", "two")):
        print("compare: :1 and :2 reported equal")
        bad += 1

    st.differs = [Differ("integers differ for the check", "mask-integer", [], "x")]
    if compare(sc, ref, cand, ("one", "two")):
        print("compare: mask-integer did not mask :1 against :2")
        bad += 1

    print("runner checks: %d failed" % bad)
    return bad


def main(argv=None):
    ap = argparse.ArgumentParser(description="Run the differential conformance scenarios against "
                                             "redis-server (reference) and ringpub-server.")
    ap.add_argument("--ringpub", metavar="PATH", help="ringpub-server binary (required unless --self-test)")
    ap.add_argument("--redis", metavar="PATH", help="redis-server binary (default: redis-server on PATH)")
    ap.add_argument("--backend", choices=("uring", "epoll"), help="ringpub I/O backend (default: the server's choice)")
    ap.add_argument("--filter", metavar="GLOB", action="append",
                    help="run only scenarios whose group/file/name matches GLOB (repeatable)")
    ap.add_argument("--self-test", action="store_true", help="compare redis-server with itself")
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    ap.add_argument("--check-runner", action="store_true", help="check the frame reader and comparator, then exit")
    ap.add_argument("--list-differences", action="store_true", help="list every declared difference and exit")
    ap.add_argument("-v", "--verbose", action="count", default=0,
                    help="print every scenario, not only failures; -vv also prints the reference's replies")
    args = ap.parse_args(argv)

    if args.check_runner:
        return 1 if check_runner() else 0
    try:
        scenarios = load_scenarios(os.path.join(HERE, "scenarios"))
    except ScenarioError as e:
        print("invalid scenario file: %s" % e, file=sys.stderr)
        return 2
    if args.filter:
        scenarios = [sc for sc in scenarios if any(fnmatch.fnmatchcase(sc.full_name, g) for g in args.filter)]
    if args.list:
        for sc in scenarios:
            print("%s  %s" % (sc.full_name, sc.description[0] if sc.description else ""))
        print("%d scenarios" % len(scenarios))
        return 0
    if args.list_differences:
        list_differences(scenarios)
        return 0
    if not scenarios:
        print("no scenario matches the filter", file=sys.stderr)
        return 2

    if args.redis:
        os.environ["REDIS_SERVER"] = args.redis
    if args.self_test:
        sides = [Side("redis", "redis"), Side("redis-2", "redis")]
    else:
        if not args.ringpub:
            ap.error("--ringpub PATH is required (or use --self-test)")
        os.environ["RINGPUB_SERVER"] = os.path.abspath(args.ringpub)
        sides = [Side("redis", "redis"), Side("ringpub", "ringpub", args.backend)]

    t0 = time.monotonic()
    passed, failed, _ = run_all(scenarios, sides, args.verbose)
    print("time: %.1fs" % (time.monotonic() - t0))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
