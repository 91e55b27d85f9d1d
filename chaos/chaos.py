#!/usr/bin/env python3
"""The seeded fault run behind `./flashtix chaos` (see README, "Chaos").

./flashtix chaos starts its own PostgreSQL and RabbitMQ, then runs this script, which starts two
instances of each service on them, sells one event through the whole flow while injecting the faults
the seed picks (kill -9 and restart of service instances, PostgreSQL stopped fast or its postmaster
killed, the broker killed, an inventory instance paused past its callers' deadline), waits for the
system to settle and checks the books. It prints one JSON summary and exits 1 on any violation.
Infrastructure faults go through `flashtix __chaos ACTION` (chaos/chaos.sh), so the recipe of the
embedded PostgreSQL and RabbitMQ exists once, in embedded/.
"""

import argparse
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

SERVICES = ("inventory", "orders", "payments", "notifications")
TOKENS = ("tok_ok", "tok_ok", "tok_ok", "tok_decline", "tok_slow")
# How long orders waits for inventory in all (core::ClientOptions::total_timeout): a pause past it is
# a caller that gave up.
CALLER_DEADLINE_S = 5.0


def log(*parts):
    print("chaos:", *parts, file=sys.stderr, flush=True)


class Cluster:
    """The service instances (two of each) and the hooks into the infrastructure."""

    def __init__(self, args):
        self.args = args
        self.ports = json.loads(args.ports)  # {"inventory": [p1, p2], ...}
        self.procs = {}  # (service, index) -> Popen
        self.paused = set()

    # The run's credentials, from ./flashtix chaos; every other FLASHTIX_ variable of the caller is dropped.
    CREDENTIALS = ("FLASHTIX_ADMIN_TOKEN_SHA256", "FLASHTIX_SERVICE_TOKEN_SHA256", "FLASHTIX_INVENTORY_TOKEN_FILE")

    def env_of(self, service, index):
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLASHTIX_") or k in self.CREDENTIALS}
        env.update({
            # With their passwords, so from the environment ./flashtix chaos set, not from the command line.
            "FLASHTIX_DATABASE_URL": os.environ["FLASHTIX_DATABASE_URL"],
            "FLASHTIX_AMQP_URL": os.environ["FLASHTIX_AMQP_URL_" + service.upper()],
            "FLASHTIX_LISTEN_ADDRESS": "127.0.0.1",
            "FLASHTIX_PORT": str(self.ports[service][index]),
            "FLASHTIX_LOG_LEVEL": "info",
            # Every buyer of the run is on 127.0.0.1: one address must not be throttled as one client.
            "FLASHTIX_RATE_LIMIT_PER_SECOND": "1000000000",
            "FLASHTIX_RATE_LIMIT_BURST": "1000000000",
        })
        if service == "orders":
            # Each orders instance has its own inventory instance, so pausing one leaves a path open.
            env["FLASHTIX_INVENTORY_URL"] = f"http://127.0.0.1:{self.ports['inventory'][index]}"
            env["FLASHTIX_HOLD_SECONDS"] = str(self.args.hold_seconds)
        if service == "payments":
            env["FLASHTIX_GATEWAY_SLOW_DELAY_MS"] = "2000"
            env["FLASHTIX_REFUND_INTERVAL_MS"] = "300"
        return env

    def start(self, service, index):
        path = os.path.join(self.args.logs, f"{service}-{index + 1}.log")
        out = open(path, "ab")
        out.write(f"---- {time.strftime('%H:%M:%S')} chaos starts {service}-{index + 1}\n".encode())
        out.flush()
        proc = subprocess.Popen([os.path.join(self.args.bin_dir, f"flashtix-{service}")], env=self.env_of(service, index),
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        self.procs[(service, index)] = proc

    def healthy(self, service, index):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.ports[service][index], timeout=1)
            conn.request("GET", "/health")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except OSError:
            return False

    def wait_healthy(self, timeout=60):
        deadline = time.monotonic() + timeout
        for key in self.procs:
            while not self.healthy(*key):
                if self.procs[key].poll() is not None:
                    self.start(*key)
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{key[0]}-{key[1] + 1} did not answer /health within {timeout}s")
                time.sleep(0.2)

    def kill9(self, service, index):
        proc = self.procs[(service, index)]
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()

    def pause(self, index):
        self.procs[("inventory", index)].send_signal(signal.SIGSTOP)
        self.paused.add(index)

    def resume(self, index):
        self.procs[("inventory", index)].send_signal(signal.SIGCONT)
        self.paused.discard(index)

    def revive_all(self):
        for index in list(self.paused):
            self.resume(index)
        for key, proc in self.procs.items():
            if proc.poll() is not None:
                log(f"{key[0]}-{key[1] + 1} is not running; starting it")
                self.start(*key)

    def stop_all(self):
        self.revive_all()
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()

    def infra(self, action):
        """pg-stop-fast, pg-kill, pg-start, rabbit-kill, rabbit-start, queues."""
        done = subprocess.run([self.args.ctl, "__chaos", action], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"flashtix __chaos {action} failed: {done.stderr.strip()[-500:]}")
        return done.stdout

    def sql(self, query, retries=60):
        """Rows of `query` as lists of text, run as the database owner; retried while PostgreSQL restarts."""
        for attempt in range(retries):
            done = subprocess.run(json.loads(self.args.psql) + ["-c", query], capture_output=True, text=True)
            if done.returncode == 0:
                return [line.split("\t") for line in done.stdout.splitlines() if line]
            if attempt + 1 == retries:
                raise RuntimeError(f"psql failed: {done.stderr.strip()}")
            time.sleep(0.5)
        return []


class Buyers:
    """The crowd: threads that each send orders to a random orders instance and keep every answer."""

    def __init__(self, cluster, rng, event_id, stop_at):
        self.cluster = cluster
        self.event_id = event_id
        self.stop_at = stop_at
        self.lock = threading.Lock()
        self.answers = []  # {"status", "order_id", "code", "key"}
        self.seeds = [rng.randrange(1 << 30) for _ in range(cluster.args.buyers)]

    def post(self, rng, body, key):
        port = self.cluster.ports["orders"][rng.randrange(2)]
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
            conn.request("POST", "/orders", json.dumps(body), headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            conn.close()
        except OSError as error:
            return {"status": 0, "order_id": None, "code": f"transport: {error.__class__.__name__}", "key": key}
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = {}
        order_id = parsed.get("order_id") if isinstance(parsed, dict) else None
        code = parsed.get("code") if isinstance(parsed, dict) else None
        return {"status": response.status, "order_id": order_id, "code": code, "key": key}

    def buyer(self, seed, number):
        rng = random.Random(seed)
        sequence = 0
        while time.monotonic() < self.stop_at:
            sequence += 1
            body = {"event_id": self.event_id, "quantity": rng.choice((1, 1, 1, 2)),
                    "payment_token": rng.choice(TOKENS), "customer_email": f"buyer{number}@example.com"}
            keyed = rng.random() < 0.5
            key = f"chaos-{number}-{sequence}-{seed}" if keyed else None
            # Keyed buyers retry what failed in transit or with a 5xx, with the same key, as a client should.
            for _attempt in range(3 if keyed else 1):
                answer = self.post(rng, body, key)
                with self.lock:
                    self.answers.append(answer)
                if 200 <= answer["status"] < 300 or 400 <= answer["status"] < 500:
                    break
                time.sleep(0.3)
            time.sleep(rng.uniform(0.0, 0.05))

    def run(self):
        threads = [threading.Thread(target=self.buyer, args=(seed, i), daemon=True) for i, seed in enumerate(self.seeds)]
        for thread in threads:
            thread.start()
        return threads


def fault_plan(rng, duration):
    """(start second, fault, (service, instance)) in time order, all chosen by the seed: every kind of
    fault and a kill -9 of every instance once, in a shuffled order, as far as the run is long enough,
    then more picked at random."""
    each_once = [("kill9", (service, index)) for service in SERVICES for index in (0, 1)]
    each_once += [("pg-stop-fast", (None, 0)), ("pg-kill", (None, 0)), ("rabbit-kill", (None, 0)),
                  ("pause-inventory", (None, 0)), ("pause-inventory", (None, 1))]
    rng.shuffle(each_once)
    kinds = ["kill9", "kill9", "pg-stop-fast", "pg-kill", "rabbit-kill", "pause-inventory"]
    plan, at = [], 2.0
    while at < duration - 3:
        if each_once:
            kind, target = each_once.pop(0)
        else:
            kind = rng.choice(kinds)
            target = (rng.choice(SERVICES), rng.randrange(2)) if kind == "kill9" else (None, rng.randrange(2))
        plan.append((round(at, 2), kind, target))
        at += rng.uniform(2.0, 3.5) + (CALLER_DEADLINE_S if kind == "pause-inventory" else 0)
    return plan


def inject(cluster, plan, started, injected):
    for at, kind, (service, index) in plan:
        delay = started + at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        name = f"{service}-{index + 1}" if service else f"inventory-{index + 1}" if kind == "pause-inventory" else ""
        log(f"t={time.monotonic() - started:5.1f}s {kind} {name}".rstrip())
        try:
            if kind == "kill9":
                cluster.kill9(service, index)
                time.sleep(1.0)
                cluster.start(service, index)
            elif kind == "pause-inventory":
                cluster.pause(index)
                time.sleep(CALLER_DEADLINE_S + 1.5)
                cluster.resume(index)
            elif kind in ("pg-stop-fast", "pg-kill"):
                cluster.infra(kind)
                time.sleep(1.5)
                cluster.infra("pg-start")
            elif kind == "rabbit-kill":
                cluster.infra(kind)
                time.sleep(1.0)
                cluster.infra("rabbit-start")
            injected.append({"at_s": at, "fault": kind, "target": name or None})
        except Exception as error:  # a fault that could not be injected is reported, not hidden
            injected.append({"at_s": at, "fault": kind, "target": name or None, "error": str(error)})


def settle(cluster, deadline_s):
    """Waits until nothing is in flight: no pending order, payment or refund, no hold HELD, every outbox
    published and every queue empty."""
    deadline = time.monotonic() + deadline_s
    query = ("SELECT (SELECT count(*) FROM orders.orders WHERE status = 'PENDING_PAYMENT') + "
             "(SELECT count(*) FROM payments.payments WHERE status = 'pending' OR (refund_due AND status = 'succeeded')) + "
             "(SELECT count(*) FROM inventory.reservations WHERE status = 'HELD') + "
             "(SELECT count(*) FROM orders.outbox WHERE published_at IS NULL) + "
             "(SELECT count(*) FROM payments.outbox WHERE published_at IS NULL) + "
             "(SELECT count(*) FROM inventory.outbox WHERE published_at IS NULL)")
    while time.monotonic() < deadline:
        cluster.revive_all()
        # And nothing left in a queue: an event published may not have been consumed yet.
        if int(cluster.sql(query)[0][0]) == 0 and not any(depth for name, depth in queue_depths(cluster)
                                                         if not name.endswith(".dead")):
            return True
        time.sleep(1.0)
    return False


def queue_depths(cluster):
    """(queue, messages ready or unacknowledged) for every queue of the broker."""
    depths = []
    for line in cluster.infra("queues").splitlines():
        name, _, depth = line.partition(" ")
        if depth.strip().isdigit():
            depths.append((name, int(depth)))
    return depths


def check_books(cluster, answers):
    violations = []

    def expect(rows, what):
        if rows:
            violations.append({"check": what, "examples": rows[:5], "count": len(rows)})

    expect(cluster.sql(open(cluster.args.ledger_sql).read()), "the ledger balances for every event, available >= 0")
    expect(cluster.sql(
        "SELECT r.reservation_key, r.status FROM inventory.reservations r "
        " LEFT JOIN orders.orders o ON o.id::text = r.reservation_key "
        " WHERE r.status = 'HELD' AND (o.id IS NULL OR o.status <> 'PENDING_PAYMENT' OR r.expires_at < now())"),
        "every HELD hold belongs to a PENDING_PAYMENT order inside its hold time")
    expect(cluster.sql(
        "SELECT r.reservation_key, r.status FROM inventory.reservations r "
        " LEFT JOIN orders.orders o ON o.id::text = r.reservation_key "
        " WHERE r.status IN ('HELD', 'CONFIRMED') AND o.id IS NULL"),
        "no hold without an order (nothing held for a request that got a non-2xx answer)")
    expect(cluster.sql(
        "SELECT o.id, o.status, r.status FROM orders.orders o "
        " LEFT JOIN inventory.reservations r ON r.reservation_key = o.id::text "
        " WHERE (o.status = 'CONFIRMED') <> (r.status IS NOT DISTINCT FROM 'CONFIRMED')"),
        "an order is CONFIRMED exactly when its hold is sold")
    expect(cluster.sql(
        "SELECT o.id, paid.n, told.n FROM orders.orders o "
        " CROSS JOIN LATERAL (SELECT count(*) AS n FROM payments.payments p "
        "                      WHERE p.order_id = o.id AND p.status = 'succeeded' AND NOT p.refund_due) paid "
        " CROSS JOIN LATERAL (SELECT count(*) AS n FROM notifications.notifications t "
        "                      WHERE t.order_id = o.id AND t.kind = 'order.confirmed') told "
        " WHERE o.status = 'CONFIRMED' AND (paid.n <> 1 OR told.n <> 1)"),
        "a CONFIRMED order has one succeeded, unrefunded payment and one notification")
    expect(cluster.sql(
        "SELECT o.id, o.status, p.status FROM orders.orders o JOIN payments.payments p ON p.order_id = o.id "
        " WHERE o.status IN ('CANCELLED', 'EXPIRED') AND p.status = 'succeeded'"),
        "every unsold order that was charged is refunded")
    stuck = cluster.sql("SELECT id, status FROM orders.orders WHERE status NOT IN ('CONFIRMED', 'CANCELLED', 'EXPIRED')")
    expect(stuck, "every order ends CONFIRMED, CANCELLED or EXPIRED")
    known = {row[0] for row in cluster.sql("SELECT id::text FROM orders.orders")}
    lost = [a["order_id"] for a in answers if 200 <= a["status"] < 300 and a["order_id"] not in known]
    expect(lost, "every 2xx answer survived (its order exists)")
    expect(cluster.sql(
        "SELECT 'outbox of ' || s, n FROM (SELECT 'orders' AS s, count(*) AS n FROM orders.outbox WHERE published_at IS NULL "
        " UNION ALL SELECT 'payments', count(*) FROM payments.outbox WHERE published_at IS NULL "
        " UNION ALL SELECT 'inventory', count(*) FROM inventory.outbox WHERE published_at IS NULL) o WHERE n > 0"),
        "every outbox is published")
    dead = [[name, depth] for name, depth in queue_depths(cluster) if name.endswith(".dead") and depth]
    expect(dead, "the dead-letter queues are empty")
    return violations


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("ctl", "bin-dir", "logs", "psql", "ports", "ledger-sql"):
        parser.add_argument("--" + name, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--buyers", type=int, default=16)
    parser.add_argument("--tickets", type=int, default=0, help="the event's stock (default: 40 a second of load)")
    parser.add_argument("--hold-seconds", type=int, default=20)
    parser.add_argument("--settle-seconds", type=float, default=120)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    # Enough stock to last about the run, so that faults land while tickets are still being sold.
    args.tickets = args.tickets or max(200, int(40 * args.duration))

    cluster = Cluster(args)
    summary = {"seed": args.seed, "duration_s": args.duration}
    try:
        for service in SERVICES:
            for index in (0, 1):
                cluster.start(service, index)
        cluster.wait_healthy()
        event_id = int(cluster.sql(
            f"INSERT INTO inventory.events (name, total_tickets, available_tickets) "
            f"VALUES ('chaos {args.seed}', {args.tickets}, {args.tickets}) RETURNING id")[0][0])
        # Priced, so that every order is charged through the gateway (a free one would not be).
        cluster.sql(f"UPDATE inventory.ticket_types SET price_minor = 2500 WHERE event_id = {event_id} AND is_default "
                    f"RETURNING id")
        plan = fault_plan(rng, args.duration)
        started = time.monotonic()
        buyers = Buyers(cluster, rng, event_id, started + args.duration)
        threads = buyers.run()
        injected = []
        inject(cluster, plan, started, injected)
        for thread in threads:
            thread.join()
        log(f"load and faults over after {time.monotonic() - started:.1f}s; waiting for the system to settle")
        cluster.revive_all()
        cluster.wait_healthy()
        settled = settle(cluster, args.settle_seconds)
        violations = check_books(cluster, buyers.answers)
        if not settled:
            violations.append({"check": f"the system settles within {args.settle_seconds:.0f}s", "count": 1})
        answers = buyers.answers
        statuses = {}
        for answer in answers:
            label = str(answer["status"]) + (f" {answer['code']}" if answer["code"] and answer["status"] >= 300 else "")
            statuses[label] = statuses.get(label, 0) + 1
        books = cluster.sql(
            "SELECT status, count(*), coalesce(sum(quantity), 0) FROM orders.orders GROUP BY status ORDER BY status")
        event = cluster.sql(f"SELECT total_tickets, available_tickets, sold_tickets FROM inventory.events WHERE id = {event_id}")[0]
        # Holds no order was recorded for that came back by expiry: a process killed between its reserve
        # and its record (the expiry is then the guard); given-back ones are RELEASED.
        orphans = cluster.sql(
            "SELECT r.status, count(*) FROM inventory.reservations r "
            " LEFT JOIN orders.orders o ON o.id::text = r.reservation_key WHERE o.id IS NULL GROUP BY r.status")
        summary.update({
            "faults": injected,
            "requests": len(answers),
            "answers": dict(sorted(statuses.items())),
            "orders": {row[0]: {"orders": int(row[1]), "tickets": int(row[2])} for row in books},
            "event": {"total": int(event[0]), "available": int(event[1]), "sold": int(event[2])},
            "holds_without_an_order": {row[0]: int(row[1]) for row in orphans},
            "violations": violations,
        })
    finally:
        cluster.stop_all()
    print(json.dumps(summary, indent=2))
    if summary.get("violations"):
        log(f"{len(summary['violations'])} violation(s); replay with: ./flashtix chaos --seed {args.seed} "
            f"--duration {args.duration:g}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
