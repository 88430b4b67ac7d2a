# SPDX-License-Identifier: BSD-3-Clause
"""Integration tests of INFO, CLIENT and COMMAND against redis-server 7.0.

Each test starts from a ringpub-server and a redis-server on free loopback
ports (tests/lib/rpserver.py) and compares what both send, byte for byte
where the bytes cannot differ by nature (ids, addresses, times and memory
figures do). Prints "N passed, N failed" and exits non-zero on any failure.

Environment: RINGPUB_SERVER (the binary), RINGPUB_IO_BACKEND (uring or
epoll). With --self-test, both servers are redis-server, which checks that
the comparisons themselves are stable; tests of ringpub-only behaviour are
skipped then.
"""

import os
import re
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)

import rawresp   # noqa: E402
import rpserver  # noqa: E402
from rawresp import Conn, Error, Map, Verbatim  # noqa: E402

SELF_TEST = "--self-test" in sys.argv

# Fields that ringpub adds to INFO beyond redis 7.0.15's, by section.
RINGPUB_INFO_FIELDS = {
    "server": ["ringpub_version", "io_backend"],
    "stats": ["client_output_buffer_limit_disconnections"],
}

SECTIONS = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "keyspace"]

# CLIENT LIST fields of redis 7.0.15, in order.
CLIENT_FIELDS = ("id addr laddr fd name age idle flags db sub psub ssub multi qbuf qbuf-free argv-mem "
                 "multi-mem rbs rbp obl oll omem tot-mem events cmd user redir resp").split()

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def ringpub_only(fn):
    fn.ringpub_only = True
    return fn


class Failure(AssertionError):
    pass


def check(cond, message):
    if not cond:
        raise Failure(message)


def check_eq(got, want, what):
    if got != want:
        raise Failure("%s: got %r, expected %r" % (what, got, want))


class Pair:
    """A ringpub-server and a redis-server, started together."""

    def __init__(self, args=()):
        if SELF_TEST:
            self.rp = rpserver.Server(kind="redis", args=args)
        else:
            self.rp = rpserver.Server(kind="ringpub", args=args)
        self.redis = rpserver.Server(kind="redis", args=args)
        self.conns = []

    def __enter__(self):
        self.rp.start()
        try:
            self.redis.start()
        except Exception:
            self.rp.stop()
            raise
        return self

    def __exit__(self, *exc):
        for conn in self.conns:
            try:
                conn.close()
            except OSError:
                pass
        problems = []
        for server in (self.rp, self.redis):
            alive = server.alive()
            server.stop()
            log = server.log()
            server.__exit__(None, None, None)
            if not alive:
                problems.append("%s exited during the test; log:\n%s" % (server.kind, log))
            # Sanitizer reports (leaks are found at exit) fail the test too.
            for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
                if marker in log:
                    problems.append("%s log has %r:\n%s" % (server.kind, marker, log[-4000:]))
        if problems and exc[0] is None:
            raise Failure("\n".join(problems))
        return False

    def conn(self, which, proto=2):
        server = self.rp if which == "rp" else self.redis
        conn = Conn(server.port)
        self.conns.append(conn)
        if proto == 3:
            conn.call("HELLO", "3")
        return conn

    def conns_both(self, proto=2):
        return self.conn("rp", proto), self.conn("redis", proto)

    def both(self, *args, proto=2):
        """Run one command on a new connection to each server; return both raw replies."""
        a, b = self.conns_both(proto)
        return a.raw(*args), b.raw(*args)


def same_bytes(pair, *args, proto=2):
    got, want = pair.both(*args, proto=proto)
    check_eq(got, want, "%s (RESP%d)" % (" ".join(map(str, args)), proto))


def parse_info(text):
    """Return [(section, [(field, value), ...]), ...] from INFO text."""
    if isinstance(text, bytes):
        text = text.decode()
    check("\n" not in text.replace("\r\n", ""), "INFO has a bare LF")
    sections = []
    for line in text.split("\r\n"):
        if line.startswith("# "):
            sections.append((line[2:].lower(), []))
        elif line:
            check(sections, "INFO field before any section header: %r" % line)
            name, _, value = line.partition(":")
            sections[-1][1].append((name, value))
    return sections


def info_fields(conn, *sections):
    return dict((name, dict(fields)) for name, fields in parse_info(conn.value("INFO", *sections)))


def client_line_fields(line):
    """Return [(name, value), ...] of one CLIENT LIST line."""
    if isinstance(line, bytes):
        line = line.decode()
    return [tuple(token.split("=", 1)) for token in line.split(" ")]


def wait_for(cond, timeout=5.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(interval)
    return cond()


# ---- INFO ------------------------------------------------------------------------------


@test
def info_section_fields_are_redis_fields():
    with Pair() as pair:
        rp, redis = pair.conns_both()
        for section in SECTIONS:
            got = parse_info(rp.value("INFO", section))
            want = parse_info(redis.value("INFO", section))
            check_eq([name for name, _ in got], [section], "sections of INFO %s" % section)
            rp_names = [name for name, _ in got[0][1]]
            redis_names = [name for name, _ in want[0][1]]
            extra = [n for n in rp_names if n not in redis_names]
            allowed = [] if SELF_TEST else RINGPUB_INFO_FIELDS.get(section, [])
            check_eq(extra, allowed, "fields of section %s beyond redis's" % section)
            # redis's fields come in redis's order, and ringpub's own after them.
            common = [n for n in rp_names if n in redis_names]
            check_eq(common, [n for n in redis_names if n in common], "order of section %s" % section)
            check_eq(rp_names[len(common):], allowed, "ringpub fields at the end of %s" % section)


@test
def info_default_all_everything_sections():
    with Pair() as pair:
        rp = pair.conn("rp")
        for args in [(), ("default",), ("all",), ("everything",), ("ALL", "nosuch")]:
            names = [name for name, _ in parse_info(rp.value("INFO", *args))]
            if SELF_TEST:
                names = [name for name in names if name in SECTIONS]
            check_eq(names, SECTIONS, "sections of INFO %s" % " ".join(args))


@test
def info_sections_in_fixed_order_once():
    with Pair() as pair:
        for proto in (2, 3):
            rp, redis = pair.conns_both(proto)
            args = ("CLIENTS", "server", "clients", "Keyspace")
            got = [name for name, _ in parse_info(rp.value("INFO", *args))]
            want = [name for name, _ in parse_info(redis.value("INFO", *args))]
            check_eq(got, want, "sections of INFO %s" % " ".join(args))
            check_eq(got, ["server", "clients", "keyspace"], "sections")


@test
def info_unknown_and_keyspace_bytes():
    with Pair() as pair:
        for proto in (2, 3):
            same_bytes(pair, "INFO", "nosuch", proto=proto)
            same_bytes(pair, "INFO", "nosuch", "other", proto=proto)
            same_bytes(pair, "INFO", "keyspace", proto=proto)
            same_bytes(pair, "INFO", "", proto=proto)


@test
def info_reply_types():
    with Pair() as pair:
        rp2, rp3 = pair.conn("rp"), pair.conn("rp", 3)
        raw2 = rp2.raw("INFO", "cpu")
        raw3, value3 = rp3.call("INFO", "cpu")
        check(raw2.startswith(b"$"), "RESP2 INFO is a bulk string: %r" % raw2[:20])
        check(isinstance(value3, Verbatim) and value3.format == b"txt",
              "RESP3 INFO is a txt verbatim string: %r" % raw3[:20])
        check(raw2.endswith(b"\r\n\r\n"), "INFO text ends with CRLF: %r" % raw2[-10:])


@test
def info_server_values():
    with Pair() as pair:
        rp = pair.conn("rp")
        server = info_fields(rp, "server")["server"]
        check_eq(int(server["process_id"]), pair.rp.proc.pid, "process_id")
        check_eq(int(server["tcp_port"]), pair.rp.port, "tcp_port")
        check(re.fullmatch(r"[0-9a-f]{40}", server["run_id"]), "run_id is 40 hex digits: %r" % server["run_id"])
        check(int(server["uptime_in_seconds"]) < 60, "uptime_in_seconds of a new server")
        check(abs(int(server["server_time_usec"]) / 1e6 - time.time()) < 60, "server_time_usec is now")
        check(os.path.isabs(server["executable"]), "executable is absolute: %r" % server["executable"])
        check_eq(server["redis_mode"], "standalone", "redis_mode")
        if not SELF_TEST:
            check(server["io_backend"] in ("io_uring", "epoll"), "io_backend: %r" % server["io_backend"])
            check_eq(server["multiplexing_api"], server["io_backend"], "multiplexing_api")
            want = os.environ.get("RINGPUB_IO_BACKEND")
            if want:
                check_eq(server["io_backend"], {"uring": "io_uring"}.get(want, want), "io_backend")


@test
def info_memory_and_cpu_values():
    with Pair() as pair:
        rp = pair.conn("rp")
        info = info_fields(rp, "memory", "cpu")
        memory, cpu = info["memory"], info["cpu"]
        check(int(memory["used_memory"]) > 0, "used_memory > 0")
        check(int(memory["used_memory_rss"]) > 0, "used_memory_rss > 0")
        check(int(memory["used_memory_peak"]) >= int(memory["used_memory"]), "used_memory_peak >= used_memory")
        check(re.fullmatch(r"[0-9.]+[BKMGTP]", memory["used_memory_human"]), "used_memory_human format")
        for name, value in cpu.items():
            check(re.fullmatch(r"\d+\.\d{6}", value), "%s format: %r" % (name, value))


@test
def info_pubsub_counters_follow_subscriptions():
    with Pair() as pair:
        for which in ("rp", "redis"):
            conn, sub = pair.conn(which), pair.conn(which)
            sub.send("SUBSCRIBE", "a", "b")
            sub.read(), sub.read()
            sub.send("PSUBSCRIBE", "p*")
            sub.read()
            sub.send("SSUBSCRIBE", "s")
            sub.read()
            stats = info_fields(conn, "stats")["stats"]
            check_eq((stats["pubsub_channels"], stats["pubsub_patterns"], stats["pubsubshard_channels"]),
                     ("2", "1", "1"), "%s counters after subscribing" % which)
            sub.send("UNSUBSCRIBE")
            sub.read(), sub.read()
            sub.send("PUNSUBSCRIBE")
            sub.read()
            sub.send("SUNSUBSCRIBE")
            sub.read()
            stats = info_fields(conn, "stats")["stats"]
            check_eq((stats["pubsub_channels"], stats["pubsub_patterns"], stats["pubsubshard_channels"]),
                     ("0", "0", "0"), "%s counters after unsubscribing" % which)


KEYSPACE_LINE_RE = re.compile(r"^db(\d+):keys=(\d+),expires=(\d+),avg_ttl=(\d+)$")


@test
def info_keyspace_lines_match_redis():
    with Pair() as pair:
        lines = {}
        for which in ("rp", "redis"):
            conn = pair.conn(which)
            conn.value("XADD", "a", "1-1", "f", "v")
            conn.value("XADD", "b", "1-1", "f", "v")
            conn.value("EXPIRE", "b", "100")
            conn.value("SELECT", "2")
            conn.value("XADD", "c", "1-1", "f", "v")
            text = conn.value("INFO", "keyspace").decode()
            lines[which] = [KEYSPACE_LINE_RE.match(line) for line in text.split("\r\n")[1:] if line]
            check(all(lines[which]), "%s keyspace lines: %r" % (which, text))
        for which in ("rp", "redis"):
            check_eq([m.group(1, 2, 3) for m in lines[which]], [("0", "2", "1"), ("2", "1", "0")],
                     "%s keyspace databases, keys and expires" % which)
        # redis estimates avg_ttl in its expiry cycle (0 until that runs);
        # ringpub averages the remaining TTLs at once.
        if not SELF_TEST:
            check(0 < int(lines["rp"][0].group(4)) <= 100000, "avg_ttl of db0: %r" % lines["rp"][0].group(0))
        check_eq(lines["rp"][1].group(4), "0", "avg_ttl of a database without expiries")


@test
def info_blocked_clients_and_expired_keys_follow_state():
    with Pair() as pair:
        for which in ("rp", "redis"):
            conn, blocked = pair.conn(which), pair.conn(which)
            blocked.send("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
            check(wait_for(lambda: info_fields(conn, "clients")["clients"]["blocked_clients"] == "1"),
                  "%s blocked_clients while XREAD BLOCK waits" % which)
            conn.value("XADD", "s", "1-1", "f", "v")
            blocked.read()
            check(wait_for(lambda: info_fields(conn, "clients")["clients"]["blocked_clients"] == "0"),
                  "%s blocked_clients after XADD woke the reader" % which)

            conn.value("XADD", "e", "1-1", "f", "v")
            conn.value("PEXPIRE", "e", "20")
            check_eq(info_fields(conn, "stats")["stats"]["expired_keys"], "0", "%s expired_keys before" % which)
            # EXISTS removes the key once its time has passed, if the expiry cycle did not.
            check(wait_for(lambda: conn.value("EXISTS", "e") == 0), "%s key expires" % which)
            check_eq(info_fields(conn, "stats")["stats"]["expired_keys"], "1", "%s expired_keys after" % which)


@test
def client_list_flags_blocked_reader():
    with Pair() as pair:
        for which in ("rp", "redis"):
            conn, blocked = pair.conn(which), pair.conn(which)
            blocked_id = blocked.value("CLIENT", "ID")
            blocked.send("XREAD", "BLOCK", "0", "STREAMS", "blockflag", "$")
            check(wait_for(lambda: info_fields(conn, "clients")["clients"]["blocked_clients"] == "1"),
                  "%s reader blocked" % which)
            row = dict(client_line_fields(conn.value("CLIENT", "LIST", "ID", blocked_id).decode().strip()))
            check_eq(row["flags"], "b", "%s flags of a client blocked in XREAD" % which)
            check_eq(row["cmd"], "xread", "%s cmd of a client blocked in XREAD" % which)
            conn.value("XADD", "blockflag", "1-1", "f", "v")
            blocked.read()
            row = dict(client_line_fields(conn.value("CLIENT", "LIST", "ID", blocked_id).decode().strip()))
            check_eq(row["flags"], "N", "%s flags once the reader was served" % which)
            conn.value("DEL", "blockflag")


@test
def info_persistence_fields_with_aof():
    with Pair(args=["--appendonly", "yes"]) as pair:
        rp, redis = pair.conns_both()
        got = info_fields(rp, "persistence")["persistence"]
        want = info_fields(redis, "persistence")["persistence"]
        extra = [n for n in got if n not in want]
        check_eq(extra, [], "persistence fields beyond redis's")
        check_eq([n for n in want if n in got], list(got), "order of the persistence fields")
        for name in ("loading", "aof_enabled", "aof_rewrite_in_progress", "aof_last_bgrewrite_status",
                     "aof_last_write_status", "aof_current_size", "aof_base_size"):
            check(name in got, "INFO persistence has %s" % name)
        check_eq((got["aof_enabled"], got["loading"]), ("1", "0"), "aof_enabled and loading")

        rp.value("XADD", "s", "1-1", "f", "v")
        check(wait_for(lambda: int(info_fields(rp, "persistence")["persistence"]["aof_current_size"]) > 0),
              "aof_current_size grows with a write")
        check_eq(rp.value("BGREWRITEAOF"), b"Background append only file rewriting started", "BGREWRITEAOF")

        def rewrite_done():
            fields = info_fields(rp, "persistence")["persistence"]
            return fields["aof_rewrite_in_progress"] == "0" and fields["aof_rewrites"] == "1"

        check(wait_for(rewrite_done, timeout=10.0), "aof_rewrites counts the finished rewrite")
        fields = info_fields(rp, "persistence")["persistence"]
        check_eq((fields["aof_last_bgrewrite_status"], fields["aof_current_rewrite_time_sec"]), ("ok", "-1"),
                 "state after the rewrite")
        check(int(fields["aof_last_rewrite_time_sec"]) >= 0, "aof_last_rewrite_time_sec is set")


@test
def info_client_and_command_counters():
    with Pair() as pair:
        conn = pair.conn("rp")
        before = info_fields(conn, "clients", "stats")
        extra = [pair.conn("rp") for _ in range(3)]
        for c in extra:
            c.raw("PING")
        after = info_fields(conn, "clients", "stats")
        check_eq(int(after["clients"]["connected_clients"]),
                 int(before["clients"]["connected_clients"]) + 3, "connected_clients with 3 more")
        check(int(after["stats"]["total_connections_received"])
              >= int(before["stats"]["total_connections_received"]) + 3, "total_connections_received")
        check(int(after["stats"]["total_commands_processed"])
              >= int(before["stats"]["total_commands_processed"]) + 4, "total_commands_processed")
        check(int(after["stats"]["total_net_input_bytes"]) > int(before["stats"]["total_net_input_bytes"]),
              "total_net_input_bytes grows")
        for c in extra:
            c.close()
        check(wait_for(lambda: int(info_fields(conn, "clients")["clients"]["connected_clients"])
                       == int(before["clients"]["connected_clients"])), "connected_clients after closing")


@test
def info_instantaneous_ops_sampled():
    with Pair() as pair:
        conn, load = pair.conn("rp"), pair.conn("rp")
        batch = rawresp.encode(["PING"]) * 200
        # Long enough for several 100 ms samples; bounded in rounds too.
        deadline = time.monotonic() + 1.2
        rounds = 0
        while time.monotonic() < deadline and rounds < 20000:
            load.send_raw(batch)
            for _ in range(200):
                load.read()
            rounds += 1
        stats = info_fields(conn, "stats")["stats"]
        check(int(stats["instantaneous_ops_per_sec"]) > 0,
              "instantaneous_ops_per_sec after %d pings: %s" % (rounds * 200, stats["instantaneous_ops_per_sec"]))
        check(float(stats["instantaneous_input_kbps"]) > 0, "instantaneous_input_kbps")


# ---- CLIENT ---------------------------------------------------------------------------------


@test
def client_list_fields_match_redis():
    with Pair() as pair:
        for proto in (2, 3):
            for which in ("rp", "redis"):
                conn = pair.conn(which, proto)
                for args in (("CLIENT", "LIST"), ("CLIENT", "INFO"), ("CLIENT", "LIST", "TYPE", "normal")):
                    raw, value = conn.call(*args)
                    if proto == 3:
                        check(isinstance(value, Verbatim) and value.format == b"txt", "%s is txt verbatim" % (args,))
                    else:
                        check(raw.startswith(b"$"), "%s is a bulk string" % (args,))
                    lines = value.decode().split("\n")
                    check_eq(lines[-1], "", "%s ends with a newline" % (args,))
                    for line in lines[:-1]:
                        check_eq([k for k, _ in client_line_fields(line)], CLIENT_FIELDS,
                                 "%s fields of %s" % (which, " ".join(args)))


@test
def client_info_values():
    with Pair() as pair:
        for proto in (2, 3):
            rp, redis = pair.conns_both(proto)
            rp.raw("CLIENT", "SETNAME", "conn-a")
            redis.raw("CLIENT", "SETNAME", "conn-a")
            got = dict(client_line_fields(rp.value("CLIENT", "INFO").decode().strip()))
            want = dict(client_line_fields(redis.value("CLIENT", "INFO").decode().strip()))
            check_eq(int(got["id"]), rp.value("CLIENT", "ID"), "id= is CLIENT ID")
            local = rp.sock.getsockname()
            check_eq(got["addr"], "%s:%d" % local[:2], "addr= is the peer address")
            check_eq(got["laddr"], "127.0.0.1:%d" % pair.rp.port, "laddr= is the listening address")
            for field in ("name", "flags", "db", "sub", "psub", "ssub", "multi", "argv-mem", "multi-mem",
                          "cmd", "user", "redir", "resp", "events", "obl", "oll", "omem"):
                check_eq(got[field], want[field], "CLIENT INFO %s= (RESP%d)" % (field, proto))


@test
def client_list_subscription_counts_and_flags():
    with Pair() as pair:
        for proto in (2, 3):
            rows = {}
            for which in ("rp", "redis"):
                conn, sub = pair.conn(which), pair.conn(which, proto)
                sub_id = sub.value("CLIENT", "ID")
                sub.send("SUBSCRIBE", "a", "b", "c")
                for _ in range(3):
                    sub.read()
                sub.send("PSUBSCRIBE", "x*", "y*")
                sub.read(), sub.read()
                sub.send("SSUBSCRIBE", "s")
                sub.read()
                row = dict(client_line_fields(conn.value("CLIENT", "LIST", "ID", sub_id).decode().strip()))
                rows[which] = row
                check_eq((row["sub"], row["psub"], row["ssub"], row["flags"]), ("3", "2", "1", "P"),
                         "%s subscriber counts (RESP%d)" % (which, proto))
                pubsub = conn.value("CLIENT", "LIST", "TYPE", "pubsub").decode().strip().split("\n")
                check_eq([dict(client_line_fields(l))["id"] for l in pubsub], [str(sub_id)],
                         "%s CLIENT LIST TYPE pubsub" % which)
                normal = conn.value("CLIENT", "LIST", "TYPE", "normal").decode()
                check("id=%d " % sub_id not in normal, "%s subscriber not in TYPE normal" % which)
                sub.close()
                check(wait_for(lambda: not conn.value("CLIENT", "LIST", "TYPE", "pubsub")),
                      "%s subscriber gone after closing" % which)
            check_eq(rows["rp"]["cmd"], rows["redis"]["cmd"], "cmd= of the subscriber")


@test
def client_list_filters_and_errors_bytes():
    with Pair() as pair:
        for proto in (2, 3):
            for args in [("CLIENT", "LIST", "TYPE", "master"), ("CLIENT", "LIST", "TYPE", "replica"),
                         ("CLIENT", "LIST", "TYPE", "slave"), ("CLIENT", "LIST", "TYPE", "PUBSUB"),
                         ("CLIENT", "LIST", "TYPE", "foo"), ("CLIENT", "LIST", "TYPE"),
                         ("CLIENT", "LIST", "ID"), ("CLIENT", "LIST", "ID", "999999"),
                         ("CLIENT", "LIST", "ID", "0", "-1"), ("CLIENT", "LIST", "ID", "1", "abc"),
                         ("CLIENT", "LIST", "ID", "3", "TYPE", "normal"), ("CLIENT", "LIST", "foo"),
                         ("CLIENT", "LIST", "TYPE", "normal", "ID", "3"),
                         ("CLIENT", "LIST", "TYPE", "a\r\nb")]:
                same_bytes(pair, *args, proto=proto)


@test
def client_list_id_repeats_and_order():
    with Pair() as pair:
        for which in ("rp", "redis"):
            a, b = pair.conn(which), pair.conn(which)
            ida, idb = a.value("CLIENT", "ID"), b.value("CLIENT", "ID")
            text = a.value("CLIENT", "LIST", "ID", idb, ida, idb, 999999).decode()
            ids = [dict(client_line_fields(l))["id"] for l in text.strip().split("\n")]
            check_eq(ids, [str(idb), str(ida), str(idb)], "%s CLIENT LIST ID order" % which)


@test
def client_setname_getname_bytes():
    with Pair() as pair:
        for proto in (2, 3):
            rp, redis = pair.conns_both(proto)
            for args in [("CLIENT", "GETNAME"), ("CLIENT", "SETNAME", "a b"), ("CLIENT", "SETNAME", "a\nb"),
                         ("CLIENT", "SETNAME", "caf\xe9"), ("CLIENT", "SETNAME", "\x7f"),
                         ("CLIENT", "SETNAME", "ok-name!~"), ("CLIENT", "GETNAME"),
                         ("CLIENT", "SETNAME"), ("CLIENT", "SETNAME", "a", "b"),
                         ("CLIENT", "SETNAME", ""), ("CLIENT", "GETNAME"), ("CLIENT", "GETNAME", "x")]:
                check_eq(rp.raw(*args), redis.raw(*args), "%r (RESP%d)" % (args, proto))


@test
def client_id_and_misc_errors_bytes():
    with Pair() as pair:
        for proto in (2, 3):
            for args in [("CLIENT",), ("CLIENT", "nosuch"), ("CLIENT", "ID", "x"), ("CLIENT", "INFO", "x"),
                         ("CLIENT", "REPLY"), ("CLIENT", "REPLY", "maybe"), ("CLIENT", "NO-EVICT", "maybe"),
                         ("CLIENT", "NO-EVICT", "on"), ("CLIENT", "NO-EVICT", "OFF"), ("CLIENT", "NO-EVICT"),
                         ("CLIENT", "KILL"), ("CLIENT", "HELP", "x")]:
                same_bytes(pair, *args, proto=proto)


@test
def client_no_evict_flag():
    with Pair() as pair:
        for which in ("rp", "redis"):
            conn = pair.conn(which)
            conn.raw("CLIENT", "NO-EVICT", "on")
            check_eq(dict(client_line_fields(conn.value("CLIENT", "INFO").decode().strip()))["flags"], "e",
                     "%s flags with NO-EVICT on" % which)
            conn.raw("CLIENT", "NO-EVICT", "off")
            check_eq(dict(client_line_fields(conn.value("CLIENT", "INFO").decode().strip()))["flags"], "N",
                     "%s flags with NO-EVICT off" % which)


@test
def client_cmd_field_is_last_command():
    with Pair() as pair:
        rows = {}
        for which in ("rp", "redis"):
            conn, other = pair.conn(which), pair.conn(which)
            other_id = other.value("CLIENT", "ID")
            fields = {}
            for args in (("PING",), ("CLIENT", "GETNAME"), ("ECHO", "x"), ("PUBSUB", "NUMPAT")):
                other.raw(*args)
                row = dict(client_line_fields(conn.value("CLIENT", "LIST", "ID", other_id).decode().strip()))
                fields[args] = row["cmd"]
            rows[which] = fields
            self_row = dict(client_line_fields(conn.value("CLIENT", "INFO").decode().strip()))
            check_eq(self_row["cmd"], "client|info", "%s cmd= of the caller" % which)
        check_eq(rows["rp"], rows["redis"], "cmd= after each command")


@test
def client_kill_old_form():
    with Pair() as pair:
        for which in ("rp", "redis"):
            conn, victim = pair.conn(which), pair.conn(which)
            addr = dict(client_line_fields(victim.value("CLIENT", "INFO").decode().strip()))["addr"]
            check_eq(conn.raw("CLIENT", "KILL", "127.0.0.1:1"), b"-ERR No such client\r\n", "%s unknown addr" % which)
            check_eq(conn.raw("CLIENT", "KILL", addr), b"+OK\r\n", "%s kill by addr" % which)
            victim.read_pending(0.5)
            check(victim.closed, "%s victim closed" % which)
            # The old form may kill the caller: it gets +OK, then EOF.
            own = dict(client_line_fields(conn.value("CLIENT", "INFO").decode().strip()))["addr"]
            conn.send("CLIENT", "KILL", own)
            conn.send("PING")
            check_eq(conn.read_pending(0.5), b"+OK\r\n", "%s reply to killing itself" % which)
            check(conn.closed, "%s closed after killing itself" % which)


@test
def client_kill_filters():
    with Pair() as pair:
        for which in ("rp", "redis"):
            conn, sub, normal = pair.conn(which), pair.conn(which), pair.conn(which)
            my_id, normal_id = conn.value("CLIENT", "ID"), normal.value("CLIENT", "ID")
            sub.send("SUBSCRIBE", "x")
            sub.read()
            port = pair.rp.port if which == "rp" else pair.redis.port
            replies = [
                conn.raw("CLIENT", "KILL", "ID", 999999),
                conn.raw("CLIENT", "KILL", "ID", my_id),
                conn.raw("CLIENT", "KILL", "TYPE", "master"),
                conn.raw("CLIENT", "KILL", "ADDR", "127.0.0.1:1", "SKIPME", "no"),
                conn.raw("CLIENT", "KILL", "LADDR", "127.0.0.1:1"),
                conn.raw("CLIENT", "KILL", "TYPE", "pubsub"),
            ]
            check_eq(replies, [b":0\r\n"] * 5 + [b":1\r\n"], "%s kill replies" % which)
            sub.read_pending(0.5)
            check(sub.closed, "%s subscriber killed by TYPE pubsub" % which)
            check_eq(conn.raw("CLIENT", "KILL", "USER", "default", "ID", normal_id), b":1\r\n",
                     "%s kill by USER and ID" % which)
            normal.read_pending(0.5)
            check(normal.closed, "%s client killed by ID" % which)
            check_eq(conn.raw("CLIENT", "KILL", "LADDR", "127.0.0.1:%d" % port, "SKIPME", "yes"), b":0\r\n",
                     "%s LADDR with only the caller left" % which)
            conn.send("CLIENT", "KILL", "LADDR", "127.0.0.1:%d" % port, "SKIPME", "NO")
            conn.send("PING")
            check_eq(conn.read_pending(0.5), b":1\r\n", "%s reply to killing itself by LADDR" % which)
            check(conn.closed, "%s closed after SKIPME no" % which)


@test
def client_kill_errors_bytes():
    with Pair() as pair:
        for proto in (2, 3):
            for args in [("CLIENT", "KILL", "ID"), ("CLIENT", "KILL", "ID", "x"), ("CLIENT", "KILL", "ID", "0"),
                         ("CLIENT", "KILL", "ID", "-5"), ("CLIENT", "KILL", "foo", "bar"),
                         ("CLIENT", "KILL", "TYPE", "foo"), ("CLIENT", "KILL", "SKIPME", "maybe"),
                         ("CLIENT", "KILL", "USER", "nobody"), ("CLIENT", "KILL", "ID", "1", "SKIPME"),
                         ("CLIENT", "KILL", "MAXAGE", "5"), ("CLIENT", "KILL", "TYPE", "x\ry")]:
                same_bytes(pair, *args, proto=proto)


@test
def client_reply_modes_bytes():
    script = [("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "ON"), ("PING",), ("CLIENT", "REPLY", "OFF"),
              ("PING",), ("CLIENT", "REPLY", "SKIP"), ("PING",), ("NOSUCHCMD",), ("CLIENT", "REPLY", "ON"),
              ("PING",), ("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "OFF"), ("PING",),
              ("CLIENT", "REPLY", "ON"), ("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "SKIP"), ("PING",),
              ("ECHO", "last")]
    with Pair() as pair:
        for proto in (2, 3):
            out = {}
            for which in ("rp", "redis"):
                conn = pair.conn(which, proto)
                conn.send_raw(b"".join(rawresp.encode(list(args)) for args in script))
                data = b""
                deadline = time.monotonic() + 5
                while not data.endswith(b"last\r\n") and time.monotonic() < deadline:
                    data += conn.read_pending(0.2)
                out[which] = data
            check_eq(out["rp"], out["redis"], "replies of the CLIENT REPLY script (RESP%d)" % proto)


@test
@ringpub_only
def client_setinfo_accepted():
    with Pair() as pair:
        rp, redis = pair.conns_both()
        check(redis.raw("CLIENT", "SETINFO", "LIB-NAME", "x").startswith(b"-ERR unknown subcommand"),
              "redis 7.0 rejects CLIENT SETINFO")
        check_eq(rp.raw("CLIENT", "SETINFO", "LIB-NAME", "redis-py"), b"+OK\r\n", "SETINFO LIB-NAME")
        check_eq(rp.raw("CLIENT", "SETINFO", "lib-ver", "5.0.1"), b"+OK\r\n", "SETINFO LIB-VER")
        check_eq(rp.raw("CLIENT", "SETINFO", "LIB-VER", ""), b"+OK\r\n", "SETINFO with an empty value")
        check(rp.raw("CLIENT", "SETINFO", "LIB-NAME", "a b").startswith(b"-ERR "), "SETINFO rejects a space")
        check(rp.raw("CLIENT", "SETINFO", "nosuch", "x").startswith(b"-ERR "), "SETINFO rejects an attribute")
        check_eq(rp.raw("CLIENT", "SETINFO", "LIB-NAME"),
                 b"-ERR wrong number of arguments for 'client|setinfo' command\r\n", "SETINFO arity")


# ---- COMMAND --------------------------------------------------------------------------------


def implemented_commands(conn):
    """Top-level command names of a server, from COMMAND LIST and COMMAND COUNT."""
    names = [n.decode() for n in conn.value("COMMAND", "LIST")]
    return [n for n in names if "|" not in n]


def info_entry_bytes(conn, name):
    """The raw bytes of the single COMMAND INFO entry for name."""
    raw = conn.raw("COMMAND", "INFO", name)
    check(raw.startswith(b"*1\r\n"), "COMMAND INFO %s reply: %r" % (name, raw[:40]))
    return raw[4:]


NOTES_RE = re.compile(rb"\$5\r\nnotes\r\n\$(\d+)\r\n")


def mask_notes(raw):
    """Replace the text of every key spec note in a COMMAND INFO reply with
    "<note>" and return (masked bytes, [note texts]). The notes are prose, and
    ringpub words its own."""
    out, notes, pos = [], [], 0
    for match in NOTES_RE.finditer(raw):
        if match.start() < pos:
            continue
        start = match.end()
        end = start + int(match.group(1))
        out.append(raw[pos:match.start()] + b"$5\r\nnotes\r\n$6\r\n<note>")
        notes.append(raw[start:end])
        pos = end
    out.append(raw[pos:])
    return b"".join(out), notes


def split_info_entry(raw):
    """Split one COMMAND INFO entry into its bytes: the first nine fields, the
    header of the tenth (the subcommands), and a list of subcommand entries."""
    _, end = rawresp.parse(raw)
    # Skip the array header and nine fields; the tenth is the subcommands.
    pos = raw.index(b"\r\n") + 2
    for _ in range(9):
        _, pos = rawresp.parse(raw, pos)
    head = raw[:pos]
    subs_header_end = raw.index(b"\r\n", pos) + 2
    subs = []
    p = subs_header_end
    while p < end:
        _, q = rawresp.parse(raw, p)
        subs.append(raw[p:q])
        p = q
    return head, raw[pos:subs_header_end], subs


@test
def command_count_matches_list():
    with Pair() as pair:
        rp = pair.conn("rp")
        names = implemented_commands(rp)
        check_eq(rp.value("COMMAND", "COUNT"), len(names), "COMMAND COUNT")
        everything = rp.value("COMMAND")
        check(isinstance(everything, list), "COMMAND without arguments: %r" % (everything,))
        check_eq(len(everything), len(names), "entries of COMMAND")
        check_eq(sorted(e[0].decode() for e in rp.value("COMMAND", "INFO")), sorted(names),
                 "names of COMMAND INFO")
        check(len(names) >= 10, "at least the core commands: %r" % names)


@test
def command_info_matches_redis_for_every_command():
    with Pair() as pair:
        for proto in (2, 3):
            rp, redis = pair.conns_both(proto)
            for name in implemented_commands(rp):
                got, got_notes = mask_notes(info_entry_bytes(rp, name))
                want, want_notes = mask_notes(info_entry_bytes(redis, name))
                check_eq(len(got_notes), len(want_notes), "key spec notes of %s" % name)
                for ours, theirs in zip(got_notes, want_notes):
                    check(ours, "COMMAND INFO %s has a key spec note" % name)
                    if not SELF_TEST:
                        check(ours != theirs, "COMMAND INFO %s key spec note is ringpub's own" % name)
                got_head, got_subs_header, got_subs = split_info_entry(got)
                want_head, want_subs_header, want_subs = split_info_entry(want)
                check_eq(got_head, want_head, "COMMAND INFO %s (RESP%d)" % (name, proto))
                if not want_subs:
                    check_eq(got_subs_header, want_subs_header, "COMMAND INFO %s subcommands" % name)
                    continue
                # redis orders subcommands by a randomly seeded hash table,
                # so compare them as a set.
                extra = set(got_subs) - set(want_subs)
                if name == "client" and not SELF_TEST:
                    extra = {e for e in extra if not e.startswith(b"*10\r\n$14\r\nclient|setinfo\r\n")}
                check_eq(extra, set(), "COMMAND INFO %s subcommands not like redis's (RESP%d)" % (name, proto))
                # The subcommands of each container are each its own COMMAND INFO entry.
                for sub in got_subs:
                    sub_name = rawresp.parse(sub)[0][0].decode()
                    check_eq(mask_notes(info_entry_bytes(rp, sub_name))[0], sub, "COMMAND INFO %s" % sub_name)


@test
def command_info_unknown_and_case():
    with Pair() as pair:
        for proto in (2, 3):
            for args in [("COMMAND", "INFO", "nosuch"), ("COMMAND", "INFO", "PING", "nosuch", "ping"),
                         ("COMMAND", "INFO", "CLIENT|ID"), ("COMMAND", "INFO", "client|nosuch"),
                         ("COMMAND", "INFO", "client|id|x"), ("COMMAND", "INFO", "|"),
                         ("COMMAND", "COUNT", "x"), ("COMMAND", "nosuch"), ("COMMAND", "HELP", "x"),
                         ("COMMAND", "DOCS", "nosuch"), ("COMMAND", "DOCS", "client|nosuch")]:
                same_bytes(pair, *args, proto=proto)


@test
def command_docs_structure_matches_redis():
    with Pair() as pair:
        rp, redis = pair.conns_both(3)
        for name in implemented_commands(rp):
            got = rp.value("COMMAND", "DOCS", name)
            want = redis.value("COMMAND", "DOCS", name)
            check_eq(len(got), 1, "COMMAND DOCS %s entries" % name)
            check_eq(got[0][0], want[0][0], "COMMAND DOCS %s name" % name)
            got_doc, want_doc = dict(got[0][1]), dict(want[0][1])
            check_eq(list(k for k, _ in got[0][1]), list(k for k, _ in want[0][1]), "COMMAND DOCS %s keys" % name)
            for key in (b"since", b"group", b"arguments"):
                check_eq(got_doc.get(key), want_doc.get(key), "COMMAND DOCS %s %s" % (name, key.decode()))
            if b"history" in want_doc:
                check_eq([v for v, _ in got_doc[b"history"]], [v for v, _ in want_doc[b"history"]],
                         "COMMAND DOCS %s history versions" % name)
            check(got_doc[b"summary"], "COMMAND DOCS %s has a summary" % name)
            if not SELF_TEST:
                check(got_doc[b"summary"] != want_doc[b"summary"], "COMMAND DOCS %s summary is ringpub's own" % name)
            if b"subcommands" in want_doc:
                want_subs = dict(want_doc[b"subcommands"])
                for sub_name, sub_doc in got_doc[b"subcommands"]:
                    if sub_name == b"client|setinfo" and not SELF_TEST:
                        continue
                    check(sub_name in want_subs, "redis has %s" % sub_name)
                    for key in (b"since", b"group", b"arguments"):
                        check_eq(dict(sub_doc).get(key), dict(want_subs[sub_name]).get(key),
                                 "COMMAND DOCS %s %s" % (sub_name.decode(), key.decode()))


@test
def command_docs_resp2_shape():
    with Pair() as pair:
        rp, redis = pair.conns_both(2)
        got = rp.value("COMMAND", "DOCS", "nosuch", "subscribe", "client|kill")
        want = redis.value("COMMAND", "DOCS", "nosuch", "subscribe", "client|kill")
        check_eq([got[0], got[2]], [want[0], want[2]], "names in RESP2 COMMAND DOCS")
        for i in (1, 3):
            check_eq(got[i][0::2], want[i][0::2], "RESP2 COMMAND DOCS keys")
            check_eq(got[i][got[i].index(b"arguments") + 1], want[i][want[i].index(b"arguments") + 1],
                     "RESP2 COMMAND DOCS arguments")


@test
def command_list_filters_match_redis():
    with Pair() as pair:
        rp, redis = pair.conns_both()
        ours = set(n.decode() for n in rp.value("COMMAND", "LIST"))
        for args in [("PATTERN", "client*"), ("PATTERN", "*|i*"), ("PATTERN", "CLIENT|ID"), ("PATTERN", "p[a-u]*"),
                     ("ACLCAT", "pubsub"), ("ACLCAT", "PUBSUB"), ("ACLCAT", "connection"), ("ACLCAT", "@pubsub"),
                     ("ACLCAT", "nosuch"), ("MODULE", "x")]:
            got = [n.decode() for n in rp.value("COMMAND", "LIST", "FILTERBY", *args)]
            want = [n.decode() for n in redis.value("COMMAND", "LIST", "FILTERBY", *args)]
            check_eq(len(got), len(set(got)), "no duplicates in FILTERBY %s" % (args,))
            if not SELF_TEST:
                want = [n for n in want if n in ours] + [n for n in got if n == "client|setinfo"]
            check_eq(sorted(got), sorted(want), "COMMAND LIST FILTERBY %s %s" % args)
        for args in [("COMMAND", "LIST", "FILTERBY"), ("COMMAND", "LIST", "FILTERBY", "PATTERN"),
                     ("COMMAND", "LIST", "foo"), ("COMMAND", "LIST", "FILTERBY", "foo", "x"),
                     ("COMMAND", "LIST", "FILTERBY", "MODULE", "x", "y")]:
            same_bytes(pair, *args)


@test
def command_getkeys_errors_bytes():
    with Pair() as pair:
        for args in [("COMMAND", "GETKEYS"), ("COMMAND", "GETKEYS", "publish", "a", "b"),
                     ("COMMAND", "GETKEYS", "spublish", "a", "b"), ("COMMAND", "GETKEYS", "ssubscribe", "a", "b"),
                     ("COMMAND", "GETKEYS", "nosuch", "a"), ("COMMAND", "GETKEYS", "client", "nosuch"),
                     ("COMMAND", "GETKEYS", "ping", "a", "b", "c"), ("COMMAND", "GETKEYS", "ping"),
                     ("COMMAND", "GETKEYSANDFLAGS", "spublish", "a", "b"), ("COMMAND", "GETKEYSANDFLAGS", "x")]:
            same_bytes(pair, *args)


# Command lines for COMMAND GETKEYS: keys found by index and by keyword
# specs, ranges running to the end or in pairs, and each error in turn.
GETKEYS_CASES = [
    "del a b c", "DEL a", "unlink x y", "exists k", "type a", "type a b", "expire k 10", "expire k",
    "pexpireat k 1 xx gt", "ttl k", "pttl k", "expiretime k", "pexpiretime k", "persist k", "keys *",
    "scan 0", "flushall async", "xadd s * a b", "xadd s", "xrange s - +", "xrevrange s + - count 1",
    "xlen s", "xdel s 1-1 2-2", "xtrim s maxlen 1", "xsetid s 1-1", "xread streams a 0",
    "xread count 1 streams a b 0 0", "xread streams a b 0", "xread count 1 block 0",
    "xread block 1 streams", "xread streams streams 0", "xread count streams streams a 0",
    "XREAD Streams a 0", "xread streams a b c d e", "xread block 0 streams a", "xread streams a",
    "publish ch m", "client kill a", "config get x",
]


@test
def command_getkeys_matches_redis():
    with Pair() as pair:
        for proto in (2, 3):
            rp, redis = pair.conns_both(proto)
            for line in GETKEYS_CASES:
                for sub in ("GETKEYS", "GETKEYSANDFLAGS"):
                    args = ("COMMAND", sub) + tuple(line.split())
                    check_eq(rp.raw(*args), redis.raw(*args), "%s (RESP%d)" % (" ".join(args), proto))


@test
def help_replies_shape():
    """CLIENT HELP and COMMAND HELP keep redis's frame around ringpub's own lines."""
    with Pair() as pair:
        conn = pair.conn("rp")
        for name in ("CLIENT", "COMMAND"):
            raw, lines = conn.call(name, "HELP")
            check(raw.startswith(b"*") and b"\r\n$" not in raw, "%s HELP is an array of simple strings" % name)
            check_eq(lines[0], b"%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:" % name.encode(),
                     "first line of %s HELP" % name)
            check_eq(lines[-2:], [b"HELP", b"    Prints this help."], "last lines of %s HELP" % name)


@test
def redis_py_reads_introspection():
    """redis-py 4.3.4 parses INFO, CLIENT LIST and CLIENT INFO of ringpub."""
    import redis
    with Pair() as pair:
        r = redis.Redis(port=pair.rp.port)
        try:
            info = r.info()
            check("connected_clients" in info and "used_memory" in info, "redis-py INFO keys")
            check_eq(r.info("stats")["pubsub_channels"], 0, "redis-py INFO stats")
            clients = r.client_list()
            check(clients and "id" in clients[0], "redis-py CLIENT LIST")
            check_eq(r.client_info()["cmd"], "client|info", "redis-py CLIENT INFO")
            check_eq(r.client_setname("py"), True, "redis-py CLIENT SETNAME")
            check_eq(r.client_getname(), "py", "redis-py CLIENT GETNAME")
        finally:
            r.close()


def main():
    passed = failed = skipped = 0
    only = [a for a in sys.argv[1:] if not a.startswith("--")]
    for fn in TESTS:
        if only and fn.__name__ not in only:
            continue
        if SELF_TEST and getattr(fn, "ringpub_only", False):
            skipped += 1
            continue
        started = time.monotonic()
        try:
            fn()
        except Exception as exc:  # report every failure, then go on
            failed += 1
            print("FAIL %s (%.1fs): %s" % (fn.__name__, time.monotonic() - started, exc))
            if not isinstance(exc, Failure):
                traceback.print_exc()
        else:
            passed += 1
            print("ok   %s (%.1fs)" % (fn.__name__, time.monotonic() - started))
    print("%d passed, %d failed%s" % (passed, failed, ", %d skipped" % skipped if skipped else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
