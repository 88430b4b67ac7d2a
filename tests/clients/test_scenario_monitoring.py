#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Scenario: an operator inspecting a running pub/sub deployment.

A set of services subscribe to order and payment channels and patterns. The
operator reads the picture back with redis-py (a dashboard) and with
redis-cli (a shell): PUBSUB NUMSUB with and without channels, NUMPAT,
CHANNELS with a pattern, INFO clients and CLIENT LIST's sub=/psub= counts.
"""

import harness
from harness import test, wait_until


def start_services(ctx):
    """Subscribe the deployment's services; return their redis-py PubSub objects by name."""
    services = {}
    layout = {
        "billing": (["orders", "payments"], []),
        "shipping": (["orders"], []),
        "mailer": (["orders"], ["orders.*"]),
        "auditor": ([], ["orders.*", "payments.*"]),
    }
    for name, (channels, patterns) in layout.items():
        client = ctx.redis(client_name=name)
        p = client.pubsub()
        if channels:
            p.subscribe(*channels)
        if patterns:
            p.psubscribe(*patterns)
        for _ in range(len(channels) + len(patterns)):
            assert p.get_message(timeout=5)["type"] in ("subscribe", "psubscribe")
        services[name] = p
    return services


def client_list_by_name(rows):
    return {c["name"]: c for c in rows if c["name"]}


@test(timeout=30)
def dashboard_with_redis_py(ctx):
    services = start_services(ctx)
    dash = ctx.redis(client_name="dashboard")

    assert dash.pubsub_numsub("orders", "payments", "refunds") == [(b"orders", 3), (b"payments", 1), (b"refunds", 0)]
    assert dash.pubsub_numsub() == []
    # NUMPAT counts distinct patterns: orders.* has two subscribers but counts once.
    assert dash.pubsub_numpat() == 2
    assert sorted(dash.pubsub_channels()) == [b"orders", b"payments"]
    assert dash.pubsub_channels("pay*") == [b"payments"]
    assert dash.pubsub_channels("orders.*") == []

    clients = dash.info("clients")
    assert clients["connected_clients"] == 5, clients

    rows = client_list_by_name(dash.client_list())
    assert sorted(rows) == ["auditor", "billing", "dashboard", "mailer", "shipping"], sorted(rows)
    expected = {"billing": ("2", "0"), "shipping": ("1", "0"), "mailer": ("1", "1"), "auditor": ("0", "2"),
                "dashboard": ("0", "0")}
    for name, (sub, psub) in expected.items():
        assert (rows[name]["sub"], rows[name]["psub"]) == (sub, psub), f"{name}: {rows[name]}"
    assert rows["dashboard"]["cmd"] == "client|list", rows["dashboard"]
    assert "P" in rows["billing"]["flags"], rows["billing"]      # P marks a pub/sub subscriber
    assert "P" not in rows["dashboard"]["flags"], rows["dashboard"]

    # An order event reaches the channel subscribers and both pattern holders.
    assert dash.publish("orders.created", "o-1") == 2
    assert dash.publish("orders", "o-2") == 3

    # When the mailer goes away the counts follow.
    services.pop("mailer").close()
    wait_until(lambda: dash.pubsub_numsub("orders") == [(b"orders", 2)], what="mailer's subscription gone")
    assert dash.pubsub_numpat() == 2     # the auditor is still subscribed to orders.*
    assert dash.publish("orders.created", "o-3") == 1
    assert "mailer" not in client_list_by_name(dash.client_list())
    assert dash.info("clients")["connected_clients"] == 4
    for p in services.values():
        p.close()


@test(timeout=30)
def shell_with_redis_cli(ctx):
    services = start_services(ctx)

    def cli(*args):
        proc = ctx.cli(*args)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.decode().split("\n")[:-1]

    assert cli("PUBSUB", "NUMSUB", "orders", "payments", "refunds") == ["orders", "3", "payments", "1",
                                                                       "refunds", "0"]
    assert cli("PUBSUB", "NUMPAT") == ["2"]
    assert sorted(cli("PUBSUB", "CHANNELS", "*s")) == ["orders", "payments"]
    assert cli("PUBSUB", "CHANNELS", "ord?rs") == ["orders"]

    info = cli("INFO", "clients")
    # Four services and redis-cli itself.
    assert "connected_clients:5\r" in info, info
    stats = dict(line.rstrip("\r").split(":", 1) for line in cli("INFO", "stats") if ":" in line)
    assert stats.get("pubsub_channels") == "2", stats.get("pubsub_channels")
    assert stats.get("pubsub_patterns") == "2", stats.get("pubsub_patterns")

    rows = [dict(kv.split("=", 1) for kv in row.split(" ")) for row in cli("CLIENT", "LIST")]
    by_name = {row["name"]: row for row in rows if row["name"]}
    assert (by_name["billing"]["sub"], by_name["billing"]["psub"]) == ("2", "0")
    assert (by_name["auditor"]["sub"], by_name["auditor"]["psub"]) == ("0", "2")
    assert (by_name["mailer"]["sub"], by_name["mailer"]["psub"]) == ("1", "1")
    unnamed = [row for row in rows if not row["name"]]
    assert len(unnamed) == 1, unnamed
    assert unnamed[0]["cmd"] == "client|list", unnamed

    # CLIENT LIST ID narrows the listing to chosen connections.
    billing_id = by_name["billing"]["id"]
    only = cli("CLIENT", "LIST", "ID", billing_id)
    assert len(only) == 1, only
    assert f"id={billing_id} " in only[0], only
    assert " name=billing " in only[0], only
    for p in services.values():
        p.close()


if __name__ == "__main__":
    raise SystemExit(harness.main())
