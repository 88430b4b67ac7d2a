#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Build glob_table.txt: pattern/string pairs with redis-server's results.

Starts a private redis-server on a free 127.0.0.1 port (tests/lib/rpserver.py)
and asks it whether each pattern matches each string:
  - nocase 0: PSUBSCRIBE the pattern and PUBLISH the string; PUBLISH returns
    1 when the pattern matched (the same stringmatchlen() call ringpub copies);
  - nocase 1: CONFIG GET pattern, which matches configuration names with the
    nocase flag set, so only real parameter names serve as strings.
Each output line is "<nocase> <0|1> <pattern hex> <string hex>", where an
empty value is written as "-", followed by a readable comment.

Usage: /usr/bin/python3 tests/pubsub/gen_glob_table.py [output path]
"""

import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import redis  # noqa: E402  (python3-redis from Debian)
import rpserver  # noqa: E402

# Hand-picked pairs: every quirk of redis 7.0 stringmatchlen().
CASES = [
    # Empty pattern and empty string.
    (b"", b""), (b"", b"a"), (b"*", b""), (b"**", b""), (b"?", b""), (b"a", b""), (b"[a]", b""),
    (b"\\", b""), (b"[", b""),
    # Literals and '?'.
    (b"a", b"a"), (b"a", b"b"), (b"abc", b"abc"), (b"abc", b"abcd"), (b"abcd", b"abc"),
    (b"?", b"a"), (b"??", b"a"), (b"a?c", b"abc"), (b"a?c", b"ac"), (b"???", b"abc"),
    # Stars.
    (b"*", b"a"), (b"*", b"anything"), (b"a*", b"a"), (b"a*", b"abc"), (b"*a", b"a"), (b"*a", b"ba"),
    (b"*a", b"ab"), (b"a*b", b"ab"), (b"a*b", b"axxb"), (b"a*b", b"axxbx"), (b"a**b", b"ab"),
    (b"*?", b"a"), (b"?*", b"a"), (b"*?*", b""), (b"a*b*c", b"abc"), (b"a*b*c", b"aXbYc"),
    (b"a*b*c", b"acb"), (b"*ab*", b"xaby"), (b"*ab", b"aab"), (b"a*a*a", b"aaa"), (b"a*a*a", b"aa"),
    (b"a*", b"a*"), (b"*x*", b"abc"), (b"h*llo", b"heeeello"), (b"h*llo", b"hllo"),
    # Escapes outside classes, trailing backslash.
    (b"\\*", b"*"), (b"\\*", b"a"), (b"\\?", b"?"), (b"\\?", b"a"), (b"\\[a]", b"[a]"), (b"\\[a]", b"a"),
    (b"\\a", b"a"), (b"\\\\", b"\\"), (b"\\", b"\\"), (b"a\\", b"a\\"), (b"a\\", b"a"),
    (b"*\\", b"x\\"), (b"\\*a", b"*a"), (b"*\\*", b"ab*"), (b"*\\*", b"ab"),
    # Classes.
    (b"[abc]", b"a"), (b"[abc]", b"c"), (b"[abc]", b"d"), (b"[abc]", b"ab"), (b"h[ae]llo", b"hello"),
    (b"h[ae]llo", b"hillo"), (b"[a]", b"a"), (b"[?]", b"?"), (b"[?]", b"a"), (b"[*]", b"*"),
    (b"[*]", b"a"), (b"[[]", b"["), (b"[[]", b"a"),
    # Negation.
    (b"[^a]", b"a"), (b"[^a]", b"b"), (b"[^abc]", b"d"), (b"[^abc]", b"b"), (b"h[^e]llo", b"hallo"),
    (b"h[^e]llo", b"hello"), (b"[^a-z]", b"A"), (b"[^a-z]", b"m"), (b"[^^]", b"^"), (b"[^^]", b"a"),
    (b"[a^]", b"^"), (b"[a^]", b"a"),
    # Ranges, reversed ranges, odd range ends.
    (b"[a-z]", b"m"), (b"[a-z]", b"A"), (b"[a-z]", b"-"), (b"[z-a]", b"m"), (b"[z-a]", b"a"),
    (b"[z-a]", b"z"), (b"[z-a]", b"-"), (b"[0-9]", b"5"), (b"[9-0]", b"5"), (b"[a-a]", b"a"),
    (b"[a-cx-z]", b"y"), (b"[a-cx-z]", b"m"), (b"[-a]", b"-"), (b"[a-]", b"-"), (b"[a-]", b"]"),
    (b"[a-]", b"_"), (b"[a-]", b"a"), (b"[a-]x", b"x"), (b"[a-]x", b"a"), (b"[a-]x", b"ax"),
    (b"[a-", b"a"), (b"[a-", b"-"), (b"[a-", b"b"), (b"[--0]", b"/"), (b"[]-a]", b"b"),
    (b"[A-z]", b"_"), (b"[Z-a]", b"_"),
    # Escapes inside classes.
    (b"[\\]]", b"]"), (b"[\\]]", b"\\"), (b"[\\]", b"]"), (b"[\\]", b"\\"), (b"[\\", b"\\"),
    (b"[\\", b"x"), (b"[a\\", b"\\"), (b"[a\\", b"a"), (b"[\\a]", b"a"), (b"[\\a-z]", b"-"),
    (b"[\\a-z]", b"c"), (b"[\\a-z]", b"z"), (b"[a\\-z]", b"-"), (b"[a\\-z]", b"c"), (b"[\\^a]", b"^"),
    (b"[^\\]]", b"]"), (b"[^\\]]", b"a"), (b"[\\\\]", b"\\"),
    # Unterminated classes, "[", "[]", "[^]".
    (b"[", b"["), (b"[", b"a"), (b"a[", b"a["), (b"[abc", b"a"), (b"[abc", b"c"), (b"[abc", b"["),
    (b"[abc", b"ab"), (b"[^", b"x"), (b"[^", b"^"), (b"[^", b""), (b"[^a", b"b"), (b"[^a", b"a"),
    (b"[]", b"]"), (b"[]", b"a"), (b"[]", b"[]"), (b"[]a]", b"a"), (b"[]a]", b"]"), (b"[]a]", b"]a]"),
    (b"[^]", b"x"), (b"[^]", b"]"), (b"[^]", b"^"), (b"[^]]", b"a]"), (b"[^]]", b"]"),
    (b"[]]", b"]"), (b"x[]", b"x"),
    # Stars next to classes.
    (b"*[abc]", b"xxb"), (b"*[abc]", b"xxd"), (b"[abc]*", b"bxx"), (b"*[abc]*", b"xbx"),
    (b"*[^a]", b"aaa"), (b"*[^a]", b"aab"), (b"[*]*", b"*x"), (b"*[", b"x["), (b"*[a-", b"xb"),
    (b"*[]*", b"x]x"), (b"*[^]*", b"x"),
    # NUL and high bytes.
    (b"a\x00b", b"a\x00b"), (b"a\x00b", b"a\x00c"), (b"a?b", b"a\x00b"), (b"\x00", b"\x00"),
    (b"\x00*", b"\x00abc"), (b"[\x00]", b"\x00"), (b"\xff", b"\xff"), (b"\xe9t\xe9", b"\xe9t\xe9"),
    (b"[\x80-\xff]", b"\x90"), (b"[\x80-\xff]", b"a"), (b"[a-\xff]", b"\x00"), (b"[a-\xff]", b"b"),
    (b"[a-\xff]", b"\xff"), (b"[a-\xff]", b"\x80"), (b"[\xff-a]", b"Z"), (b"[^\x80-\xff]", b"\x85"),
    (b"*\xff", b"ab\xff"), (b"?", b"\xff"), (b"[\\\xff]", b"\xff"),
]

# Star-heavy patterns that a naive backtracking matcher handles slowly.
LONG_CASES = [
    (b"*a" * 30, b"a" * 4000),
    (b"*a" * 30 + b"b", b"a" * 4000),
    (b"*a" * 30, b"a" * 29),
    (b"a*" * 30 + b"b", b"a" * 200 + b"b"),
    (b"*?" * 40 + b"x", b"?" * 300),
    (b"*[ab]" * 20 + b"c", b"ab" * 500),
    # Redis stops recursing after 1000 nested '*' groups: the 1001st group
    # matches only when it ends the pattern.
    (b"*a" * 1000, b"a" * 1000),
    (b"*a" * 1001, b"a" * 1001),
    (b"a*" * 1001, b"a" * 1001),
    (b"a*" * 1001 + b"a", b"a" * 1002),
    (b"a*" * 1000 + b"a", b"a" * 1001),
    (b"*" * 5000, b"abc"),
    (b"*a" * 1002, b"a"),
]

# CONFIG GET matches with nocase=1 against configuration names. It looks a
# pattern without any of "*?[" up directly instead of matching it, so every
# pattern here contains one of them.
NOCASE_CASES = [
    (b"MAXMEMOR?", b"maxmemory"), (b"MaxMem*", b"maxmemory"), (b"\\Maxmemor?", b"maxmemory"),
    (b"maxmemor?", b"maxmemory"),
    (b"[M]axmemory", b"maxmemory"), (b"[A-Z]axmemory", b"maxmemory"), (b"[a-z]axmemory", b"maxmemory"),
    (b"[Z-a]axmemory", b"maxmemory"), (b"[^M]axmemory", b"maxmemory"), (b"[\\M]axmemory", b"maxmemory"),
    (b"[\\m]axmemory", b"maxmemory"), (b"\\mAXMEMOR?", b"maxmemory"), (b"[N-Z]axmemory", b"maxmemory"),
    (b"*-POLICY", b"maxmemory-policy"), (b"[^A-L]axmemory", b"maxmemory"),
]


def random_cases(rng, n):
    """Short random pairs over the bytes that drive the matcher's branches."""
    pat_alpha = b"ab*?[]^-\\"
    str_alpha = b"ab]^-\\*"
    out = []
    for _ in range(n):
        p = bytes(rng.choice(pat_alpha) for _ in range(rng.randint(0, 7)))
        s = bytes(rng.choice(str_alpha) for _ in range(rng.randint(0, 5)))
        out.append((p, s))
    return out


def show(b):
    text = repr(b)[2:-1]
    return text if len(text) <= 40 else text[:37] + "..."


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                  "glob_table.txt")
    rng = random.Random(20240601)
    pairs = CASES + LONG_CASES + random_cases(rng, 300)
    rows = []
    with rpserver.Server(kind="redis") as srv:
        pub = redis.Redis(port=srv.port, socket_timeout=60)
        sub = redis.Redis(port=srv.port, socket_timeout=60).pubsub()
        version = pub.info("server")["redis_version"]
        for pattern, string in pairs:
            sub.psubscribe(pattern)
            if sub.get_message(timeout=5) is None:
                raise RuntimeError(f"no PSUBSCRIBE confirmation for {pattern!r}")
            started = time.monotonic()
            receivers = pub.publish(string, b"m")
            elapsed = time.monotonic() - started
            if elapsed > 0.05:
                print(f"redis took {elapsed * 1000:.1f} ms on {show(pattern)} vs {show(string)}")
            sub.punsubscribe(pattern)
            for _ in range(3):  # the pmessage, if any, and the unsubscribe confirmation
                if sub.get_message(timeout=0.5) is None:
                    break
            rows.append((0, receivers, pattern, string))
        for pattern, name in NOCASE_CASES:
            reply = pub.execute_command("CONFIG", "GET", pattern)
            names = set(reply[0::2]) if isinstance(reply, list) else set(reply.keys())
            rows.append((1, int(name in names), pattern, name))
        if not srv.alive():
            raise RuntimeError("redis-server exited during the run")

    with open(out_path, "w") as f:
        f.write(f"# Generated by gen_glob_table.py against redis-server {version}. Columns: nocase,\n")
        f.write("# redis's result, pattern hex, string hex (\"-\" when empty), then a readable comment.\n")
        for nocase, match, pattern, string in rows:
            f.write(f"{nocase} {match} {pattern.hex() or '-'} {string.hex() or '-'} # {show(pattern)} | {show(string)}\n")
    print(f"wrote {len(rows)} rows to {out_path}")


if __name__ == "__main__":
    main()
