#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the seed corpus of server_fuzz (fuzz/corpus/server/) and its
libFuzzer dictionary (fuzz/server.dict).

Each seed replays the commands, raw writes, closes and sleeps of one to
three conformance scenarios (tests/conformance/scenarios) from the same
file, in the input format described at the top of server_fuzz.c. Reads and
probes are dropped: the fuzz target checks replies only for well-formed
RESP. A few extra seeds combine features that no single scenario does.

    /usr/bin/python3 fuzz/make_server_corpus.py [--out DIR]

The dictionary contains the command, subcommand, option and setting names
found in server/*.c, and the segment separator. The output directory is
emptied of earlier seeds first. Seeds over
MAX_SEED_BYTES (scenarios with {x*1048576} arguments) are skipped.
"""

import argparse
import glob
import hashlib
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "conformance"))
import conformance  # noqa: E402  (scenario parser and RESP encoder)

SEPARATOR = b"\xfe\xfd"
MAX_CLIENTS = 8
MAX_SEED_BYTES = 4096
# Scenarios packed into one seed, and the size at which packing stops.
MAX_SCENARIOS_PER_SEED = 3
PACK_BYTES = 1500

# Actions of the control byte (bits 3-7), as enum action in server_fuzz.c.
ACTION_FEED = 0
ACTION_TICK = 20
ACTION_STALL = 21
ACTION_PEER_EOF = 22

HEADER_SMALL_OUTPUT_LIMITS = 1 << 3


def control(action, slot):
    return bytes([(action << 3) | slot])


def segment(action, slot, payload=b""):
    return SEPARATOR + control(action, slot) + payload


def scenario_segments(sc, used_slots):
    """Encode one scenario's steps. Connection names map to slots in the
    order the scenario opens them. A slot in used_slots (taken by an earlier
    scenario of the same seed) is closed first, so the scenario starts on a
    fresh client."""
    slots = {}
    out = []
    for st in sc.steps:
        if st.kind == "conn":
            slot = len(slots) % MAX_CLIENTS
            slots[st.conn] = slot
            if used_slots.get(slot):
                out.append(segment(ACTION_PEER_EOF, slot))
            used_slots[slot] = True
        elif st.kind == "send":
            out.append(segment(ACTION_FEED, slots[st.conn], conformance.encode_command(st.data)))
        elif st.kind == "raw":
            for chunk in st.chunks:
                out.append(segment(ACTION_FEED, slots[st.conn], chunk))
        elif st.kind == "close":
            out.append(segment(ACTION_PEER_EOF, slots[st.conn]))
        elif st.kind == "sleep":
            # The tick action advances (byte + 1) * 100 ms.
            steps = max(0, min(255, (st.ms + 99) // 100 - 1))
            out.append(segment(ACTION_TICK, 0, bytes([steps])))
    return out, len(slots)


def cmd(*args):
    return conformance.encode_command([a.encode() if isinstance(a, str) else a for a in args])


def extra_seeds():
    """Seeds that cross features: RESP3 pushes with a RESP2 publisher,
    XREAD BLOCK served by another client (with pipelined input held while
    blocked), CLIENT KILL of a subscriber, and stalled clients over small
    output limits."""
    seeds = {}
    seeds["extra-resp3-push"] = bytes([2]) + b"".join([
        segment(ACTION_FEED, 0, cmd("HELLO", "3") + cmd("SUBSCRIBE", "ch") + cmd("PSUBSCRIBE", "c*")),
        segment(ACTION_FEED, 1, cmd("SUBSCRIBE", "ch")),
        segment(ACTION_FEED, 2, cmd("PUBLISH", "ch", "hello") + cmd("PUBSUB", "NUMSUB", "ch")),
        segment(ACTION_FEED, 0, cmd("CLIENT", "LIST") + cmd("PING")),
        segment(ACTION_FEED, 1, cmd("RESET") + cmd("HELLO", "3", "SETNAME", "n1")),
    ])

    seeds["extra-xread-block"] = bytes([1]) + b"".join([
        segment(ACTION_FEED, 0, cmd("XREAD", "BLOCK", "0", "STREAMS", "s", "$") + cmd("PING")),
        segment(ACTION_FEED, 1, cmd("XADD", "s", "*", "f", "v") + cmd("XLEN", "s")),
        segment(ACTION_FEED, 0, cmd("XREAD", "BLOCK", "300", "STREAMS", "s", "$")),
        segment(ACTION_TICK, 0, bytes([5])),
        segment(ACTION_FEED, 1, cmd("EXPIRE", "s", "1") + cmd("TTL", "s")),
        segment(ACTION_TICK, 0, bytes([20])),
    ])

    seeds["extra-xread-pipelined"] = bytes([3]) + b"".join([
        segment(ACTION_FEED, 0, cmd("HELLO", "3") + cmd("XREAD", "COUNT", "2", "BLOCK", "0", "STREAMS", "s", "t", "$", "0")
                + cmd("PING") + cmd("XLEN", "s")),
        segment(ACTION_FEED, 2, cmd("SELECT", "1") + cmd("XREAD", "BLOCK", "0", "STREAMS", "s", "$")),
        segment(ACTION_FEED, 3, cmd("XREAD", "BLOCK", "50", "STREAMS", "t", "$") + cmd("CLIENT", "LIST")),
        segment(ACTION_FEED, 1, cmd("XADD", "s", "MAXLEN", "1", "*", "f", "v") + cmd("FLUSHALL")
                + cmd("SELECT", "1") + cmd("XADD", "s", "1-1", "a", "b") + cmd("CLIENT", "KILL", "ID", "3")),
        segment(ACTION_TICK, 0, bytes([1])),
        segment(ACTION_FEED, 1, cmd("XTRIM", "s", "MINID", "0") + cmd("XDEL", "s", "1-1") + cmd("SCAN", "0")),
    ])

    seeds["extra-client-kill"] = bytes([2]) + b"".join([
        segment(ACTION_FEED, 0, cmd("CLIENT", "SETNAME", "sub") + cmd("SUBSCRIBE", "a", "b")),
        segment(ACTION_FEED, 1, cmd("CLIENT", "KILL", "ID", "1") + cmd("CLIENT", "KILL", "TYPE", "pubsub")),
        segment(ACTION_FEED, 2, cmd("CLIENT", "KILL", "SKIPME", "no", "TYPE", "normal")),
        segment(ACTION_FEED, 0, cmd("PUBSUB", "CHANNELS")),
    ])

    # Seven matches make each 1 KB publish queue 7 KB for the stalled
    # subscriber, so three publishes pass the 16 KiB allowance plus the 4 KiB
    # hard limit. The stalled normal client gets COMMAND's large reply.
    seeds["extra-output-limit"] = bytes([2 | HEADER_SMALL_OUTPUT_LIMITS]) + b"".join([
        segment(ACTION_FEED, 0, cmd("SUBSCRIBE", "big") + cmd("PSUBSCRIBE", "b*", "bi*", "big*", "*", "?ig", "b?g")),
        segment(ACTION_STALL, 0),
        segment(ACTION_STALL, 2),
        segment(ACTION_FEED, 2, cmd("COMMAND")),
        segment(ACTION_FEED, 1, cmd("PUBLISH", "big", "x" * 1000) * 2),
        segment(ACTION_TICK, 0, bytes([15])),
        segment(ACTION_FEED, 1, cmd("PUBLISH", "big", "y" * 1000) + cmd("PUBSUB", "NUMPAT")),
    ])
    return seeds


def dictionary_words():
    """Names the server compares arguments with: command table entries,
    arg_is() keywords and configuration settings."""
    words = set()
    patterns = (
        re.compile(r'\{"([a-z][a-z0-9|_-]*)", *-?[0-9]+'),     # command tables: {"name", arity,
        re.compile(r'arg_is\([^,()]+, *"([^"]+)"\)'),          # keywords: arg_is(arg, "word")
        re.compile(r'\{"([a-z][a-z0-9-]*)", CFG_'),            # settings: {"name", CFG_TYPE,
    )
    for path in sorted(glob.glob(os.path.join(HERE, "..", "server", "*.c"))):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for pat in patterns:
            words.update(pat.findall(text))
    return sorted(words)


def write_dictionary(path):
    words = dictionary_words()
    with open(path, "w", encoding="ascii") as f:
        f.write("# libFuzzer dictionary of server_fuzz, written by make_server_corpus.py.\n")
        f.write('separator="\\xfe\\xfd"\n')
        for w in words:
            f.write('"%s"\n' % w)
    return len(words)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "corpus", "server"))
    ap.add_argument("--dict", default=os.path.join(HERE, "server.dict"))
    args = ap.parse_args()

    scenarios = conformance.load_scenarios(os.path.join(HERE, "..", "tests", "conformance", "scenarios"))
    seeds = extra_seeds()
    skipped = 0
    pack, pack_size, pack_clients, slot_state, pack_file = [], 0, 1, {}, None

    def flush():
        nonlocal pack, pack_size, pack_clients, slot_state
        if pack:
            body = bytes([min(pack_clients, MAX_CLIENTS) - 1]) + b"".join(pack)
            seeds["scenario-" + hashlib.sha1(body).hexdigest()[:16]] = body
        pack, pack_size, pack_clients, slot_state = [], 0, 1, {}

    packed = 0
    for sc in scenarios:
        segs, _ = scenario_segments(sc, {})
        size = sum(len(s) for s in segs)
        if size + 1 > MAX_SEED_BYTES or any(SEPARATOR in s[3:] for s in segs):
            skipped += 1
            continue
        if pack and (sc.path != pack_file or packed >= MAX_SCENARIOS_PER_SEED or pack_size + size > PACK_BYTES):
            flush()
            packed = 0
        # Encoded again against the pack's slots: reused slots get a close first.
        segs, nconns = scenario_segments(sc, slot_state)
        pack.extend(segs)
        pack_size += size
        pack_clients = max(pack_clients, nconns)
        pack_file = sc.path
        packed += 1
    flush()

    os.makedirs(args.out, exist_ok=True)
    for name in os.listdir(args.out):
        os.unlink(os.path.join(args.out, name))
    for name, body in sorted(seeds.items()):
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(body)
    nwords = write_dictionary(args.dict)
    print("wrote %d words to %s" % (nwords, args.dict))
    print("wrote %d seeds to %s (%d scenarios skipped: over %d bytes or containing the separator)"
          % (len(seeds), args.out, skipped, MAX_SEED_BYTES))


if __name__ == "__main__":
    main()
