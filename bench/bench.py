#!/usr/bin/env python3
"""Number crunching for ./flashtix bench: turns wrk's result line and the database's books into one
result per scenario, samples CPU and PostgreSQL waits during a run, and prints the final table.

Standard library only. ./flashtix bench drives it; each subcommand's --help lists its arguments.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

RESULT_PREFIX = "FLASHTIX_WRK_RESULT "

# Listed in the order they run, and in the order the table shows them.
SCENARIOS = ["ceiling", "hot-orders", "hot-reserve", "sellout", "spread", "buyer-limit", "tiers"]


# ---------------------------------------------------------------------------------------------------
# Database access: psql, so that nothing beyond the standard library is needed.


def psql_rows(psql, url, sql):
    """Runs one statement and returns its rows as lists of strings."""
    out = subprocess.run(
        [psql, "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def schema_exists(psql, url, schema):
    rows = psql_rows(psql, url, f"SELECT count(*) FROM pg_namespace WHERE nspname = '{schema}'")
    return rows[0][0] != "0"


def books(psql, url, mode, ticket_types=None):
    """What the database says was taken: per event totals, holds and orders by status; per ticket type too
    when ticket_types (ids) are given."""
    totals = psql_rows(
        psql,
        url,
        "SELECT count(*), coalesce(sum(total_tickets), 0), coalesce(sum(available_tickets), 0), "
        "coalesce(sum(total_tickets - available_tickets), 0), count(*) FILTER (WHERE available_tickets = 0) "
        "FROM inventory.events",
    )[0]
    result = {
        "events": int(totals[0]),
        "total_tickets": int(totals[1]),
        "available_tickets": int(totals[2]),
        "tickets_taken": int(totals[3]),
        "events_sold_out": int(totals[4]),
        "holds": {},
    }
    for status, count, quantity in psql_rows(
        psql, url, "SELECT status, count(*), sum(quantity) FROM inventory.reservations GROUP BY status"
    ):
        result["holds"][status] = {"count": int(count), "tickets": int(quantity)}
    if mode == "orders" and schema_exists(psql, url, "orders"):
        result["orders"] = {}
        for status, count, quantity in psql_rows(
            psql, url, "SELECT status, count(*), sum(quantity) FROM orders.orders GROUP BY status"
        ):
            result["orders"][status] = {"count": int(count), "tickets": int(quantity)}
        if ticket_types:
            result["orders_amount_minor"] = int(psql_rows(
                psql, url, "SELECT coalesce(sum(amount_minor), 0) FROM orders.orders")[0][0])
        result["idempotency_keys"] = {
            state: int(count)
            for state, count in psql_rows(
                psql, url, "SELECT state, count(*) FROM orders.idempotency_keys GROUP BY state"
            )
        }
    if ticket_types:
        # Each type's books: what its quota has left, what its holds' items hold.
        result["types"] = {}
        for type_id, name, price, quota, available, sold, held in psql_rows(
            psql,
            url,
            "SELECT t.id, t.name, t.price_minor, coalesce(t.quota, -1), coalesce(t.available_tickets, -1), "
            "coalesce(t.sold_tickets, -1), coalesce(h.held, 0) "
            "FROM inventory.ticket_types t LEFT JOIN ("
            # A hold of the default type alone (while it has no quota) stores no items: its quantity is the default's.
            "  SELECT i.type_id, sum(i.quantity) AS held FROM inventory.reservations r, "
            "         unnest(coalesce(r.item_type_ids, ARRAY[(SELECT d.id FROM inventory.ticket_types d "
            "                                                WHERE d.event_id = r.event_id AND d.is_default)]), "
            "                coalesce(r.item_quantities, ARRAY[r.quantity])) AS i(type_id, quantity) "
            "   WHERE r.status = 'HELD' GROUP BY i.type_id) h ON h.type_id = t.id "
            f"WHERE t.id IN ({', '.join(str(int(t)) for t in ticket_types)}) ORDER BY t.id",
        ):
            quota, available = int(quota), int(available)
            result["types"][type_id] = {
                "name": name, "price_minor": int(price), "quota": quota if quota >= 0 else None,
                "available_tickets": available if available >= 0 else None,
                "tickets_taken": quota - available if quota >= 0 else None,
                "sold_tickets": int(sold) if int(sold) >= 0 else None, "held_tickets": int(held),
            }
    return result


# ---------------------------------------------------------------------------------------------------
# One scenario's result


def read_wrk_result(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith(RESULT_PREFIX):
                return json.loads(line[len(RESULT_PREFIX):])
    return None


def count_statuses(statuses, predicate):
    return sum(n for code, n in statuses.items() if predicate(int(code)))


def cmd_result(args):
    wrk = read_wrk_result(args.wrk_output)
    problems = []
    if wrk is None:
        print(f"no result from wrk; its output is in {args.wrk_output}", file=sys.stderr)
        wrk = {"statuses": {}, "sent": 0, "received": 0, "errors": {}, "latency_us": {}, "t_first_ms": 0,
               "t_last_ms": 0, "t_last_ok_ms": 0, "t_first_sold_out_ms": 0}
        problems.append("wrk produced no result")

    statuses = wrk["statuses"]
    ok = count_statuses(statuses, lambda s: 200 <= s < 300)
    sold_out = count_statuses(statuses, lambda s: s == 409)
    non_2xx = count_statuses(statuses, lambda s: not (200 <= s < 300) and s != 409)
    codes = wrk.get("codes", {})
    # Only in a scenario whose sale opens during the run (tiers) are refusals before the opening expected.
    opens_ms = wrk.get("opens_ms", 0) or 0
    not_on_sale = codes.get("409 not_on_sale", 0) if opens_ms else 0
    if codes:
        # A 409 is a sale refused for want of tickets only when its problem code says so.
        other_conflicts = sold_out - codes.get("409 sold_out", 0)
        sold_out -= other_conflicts
        non_2xx += other_conflicts - not_on_sale
    errs = wrk.get("errors", {})
    socket_errors = errs.get("connect", 0) + errs.get("read", 0) + errs.get("write", 0)
    timeouts = errs.get("timeout", 0)
    unanswered = max(0, wrk["sent"] - wrk["received"])
    errors = non_2xx + socket_errors + timeouts + unanswered

    elapsed_s = max(0.0, (wrk["t_last_ms"] - wrk["t_first_ms"]) / 1000.0)
    rps = wrk["received"] / elapsed_s if elapsed_s > 0 else 0.0
    if opens_ms:
        # The sale's figure: the answers received from the opening on, over the time from the opening to
        # the last answer. The refusals before it are counted apart (not_on_sale).
        elapsed_s = max(0.0, (wrk["t_last_ms"] - opens_ms) / 1000.0)
        rps = wrk.get("received_open", 0) / elapsed_s if elapsed_s > 0 else 0.0
    lat = wrk.get("latency_us", {})

    result = {
        "scenario": args.scenario,
        "run": args.run,
        "requests_per_s": round(rps, 1),
        "ok": ok,
        "sold_out": sold_out,
        "errors": errors,
        "latency_ms_p50": round(lat.get("p50", 0) / 1000.0, 3),
        "latency_ms_p99": round(lat.get("p99", 0) / 1000.0, 3),
        "ratio_to_ceiling": None,
        "ledger_ok": False,
        "cores": args.cores,
        "connections": args.connections,
        "duration_s": round(elapsed_s, 2),
        "latency_ms_p90": round(lat.get("p90", 0) / 1000.0, 3),
        "latency_ms_p999": round(lat.get("p999", 0) / 1000.0, 3),
        "latency_ms_max": round(lat.get("max", 0) / 1000.0, 3),
        "requests": wrk["received"],
        "statuses": {k: statuses[k] for k in sorted(statuses)},
        "problem_codes": wrk.get("codes", {}),
        "non_2xx_errors": non_2xx,
        "socket_errors": socket_errors,
        "timeouts": timeouts,
        "unanswered": unanswered,
        "machine_busy_before_pct": args.machine_busy_before,
    }
    if opens_ms:
        result["not_on_sale"] = not_on_sale
        result["opens_after_s"] = round((opens_ms - wrk["t_first_ms"]) / 1000.0, 2) if wrk["t_first_ms"] else None
        result["requests_before_opening"] = wrk["received"] - wrk.get("received_open", 0)
        result["ratio_to_hot_orders"] = None
        if args.hot_orders_rps and args.hot_orders_rps > 0:
            result["ratio_to_hot_orders"] = round(rps / args.hot_orders_rps, 3)
    if args.ceiling_rps and args.ceiling_rps > 0:
        result["ratio_to_ceiling"] = round(rps / args.ceiling_rps, 4)
    if args.scenario == "ceiling":
        result["ratio_to_ceiling"] = 1.0

    notes = []
    if args.mode == "health":
        # Nothing is sold: the ledger only has to be as it was.
        result["ledger_ok"] = args.check_rc == 0
        if args.check_rc != 0:
            problems.append("./flashtix check found a broken ledger")
    else:
        ticket_types = [t for t in (args.ticket_types or "").split(",") if t]
        db = books(args.psql, args.database_url, args.mode, ticket_types)
        told = ok * args.quantity
        taken = db["tickets_taken"]
        held = db["holds"].get("HELD", {}).get("tickets", 0)
        result["tickets_taken"] = taken
        result["tickets_told_ok"] = told
        ledger_ok = True
        if args.check_rc != 0:
            problems.append("./flashtix check found a broken ledger (available + held + sold != total)")
            ledger_ok = False
        if unanswered == 0:
            if taken != told:
                problems.append(f"tickets taken in the database ({taken}) != tickets clients were told they got ({told})")
                ledger_ok = False
        else:
            # Requests without an answer may or may not have taken tickets: only a range can be checked.
            notes.append(f"{unanswered} requests were never answered; the check allows up to that many extra holds")
            if not told <= taken <= told + unanswered * args.quantity:
                problems.append(f"tickets taken ({taken}) outside [{told}, {told + unanswered * args.quantity}]")
                ledger_ok = False
        if "orders" in db:
            pending = db["orders"].get("PENDING_PAYMENT", {}).get("tickets", 0)
            result["orders_pending_tickets"] = pending
            if pending != held:
                problems.append(f"tickets of PENDING_PAYMENT orders ({pending}) != held tickets ({held})")
                ledger_ok = False
            in_progress = db.get("idempotency_keys", {}).get("IN_PROGRESS", 0)
            if in_progress:
                notes.append(f"{in_progress} Idempotency-Key claims still IN_PROGRESS after every answer came back")
        if args.expect_sold is not None:
            result["sold_target"] = args.expect_sold
            if taken != args.expect_sold or told != args.expect_sold:
                problems.append(f"sold {taken} tickets (clients told {told}), expected exactly {args.expect_sold}")
                ledger_ok = False
            if wrk["t_last_ok_ms"] and wrk["t_first_ms"]:
                result["sellout_s"] = round((wrk["t_last_ok_ms"] - wrk["t_first_ms"]) / 1000.0, 3)
        elif db["events_sold_out"]:
            notes.append(f"{db['events_sold_out']} event(s) sold out during the run: give them more tickets")
        if ticket_types:
            ok_types = wrk.get("ok_types", {})
            result["tickets_by_type"] = {}
            amount = 0
            for type_id in ticket_types:
                t = db["types"].get(type_id)
                type_told = ok_types.get(type_id, 0) * args.quantity
                if t is None:
                    problems.append(f"ticket type {type_id} is not in the database")
                    ledger_ok = False
                    continue
                result["tickets_by_type"][t["name"]] = t["tickets_taken"] if t["quota"] is not None else t["held_tickets"]
                amount += type_told * t["price_minor"]
                # Nothing is paid in the bench: what a type's quota lost is what its holds hold.
                type_taken = t["tickets_taken"] if t["quota"] is not None else t["held_tickets"]
                if unanswered == 0 and type_taken != type_told:
                    problems.append(f"ticket type {t['name']} ({type_id}): {type_taken} tickets taken in the database, "
                                    f"clients were told {type_told}")
                    ledger_ok = False
                if t["quota"] is not None and t["available_tickets"] == 0:
                    notes.append(f"ticket type {t['name']} sold out during the run: give it a larger quota")
            unknown = sum(n for k, n in ok_types.items() if k not in ticket_types)
            if unknown:
                problems.append(f"{unknown} successful answers name no ticket type of the event")
                ledger_ok = False
            if unanswered == 0 and "orders_amount_minor" in db and db["orders_amount_minor"] != amount:
                problems.append(f"the orders' amounts add up to {db['orders_amount_minor']}, the types' prices "
                                f"times the tickets told to {amount}")
                ledger_ok = False
        result["ledger_ok"] = ledger_ok
        result["books"] = db

    result["problems"] = problems
    result["notes"] = notes
    with open(args.results, "a", encoding="utf-8") as f:
        f.write(json.dumps(result, sort_keys=False) + "\n")

    line = (
        f"{args.scenario}: {rps:,.0f} req/s{' from the opening' if opens_ms else ''}, ok {ok:,}, "
        f"sold_out {sold_out:,}, errors {errors:,}, p50 {result['latency_ms_p50']:.2f} ms, "
        f"p99 {result['latency_ms_p99']:.2f} ms"
    )
    if result.get("ratio_to_ceiling") is not None and args.scenario != "ceiling":
        line += f", {result['ratio_to_ceiling']:.1%} of ceiling"
    if result.get("ratio_to_hot_orders") is not None:
        line += f", {result['ratio_to_hot_orders']:.2f} x hot-orders"
    if opens_ms:
        line += f"; {not_on_sale:,} refused not_on_sale before the opening (not errors)"
    if "tickets_by_type" in result:
        line += "; by type " + ", ".join(f"{k} {v:,}" for k, v in result["tickets_by_type"].items())
    if "sellout_s" in result:
        line += f", sold out in {result['sellout_s']:.2f} s"
    if "tickets_taken" in result:
        line += f"; tickets taken {result['tickets_taken']:,}"
    line += "; ledger " + ("ok" if result["ledger_ok"] else "BROKEN")
    print("    " + line)
    for problem in problems:
        print(f"    problem: {problem}")
    for note in notes:
        print(f"    note: {note}")
    expected = {"409 sold_out", "409 not_on_sale"} if opens_ms else {"409 sold_out"}
    refusals = {k: v for k, v in wrk.get("codes", {}).items() if k not in expected}
    if refusals or socket_errors or timeouts or unanswered:
        print(f"    errors: answers {refusals or '{}'}, socket errors {socket_errors}, timeouts (over "
              f"{args.timeout_s} s) {timeouts}, unanswered {unanswered}")
    print("    json: " + json.dumps(summary_fields(result)))
    return 0 if result["ledger_ok"] else 1


def summary_fields(result):
    keys = ["scenario", "run", "requests_per_s", "ok", "sold_out", "errors", "latency_ms_p50", "latency_ms_p99",
            "ratio_to_ceiling", "ledger_ok", "cores", "connections", "duration_s", "timeouts", "unanswered",
            "sellout_s", "tickets_taken", "machine_busy_before_pct", "not_on_sale", "opens_after_s",
            "ratio_to_hot_orders", "tickets_by_type"]
    return {k: result[k] for k in keys if k in result}


# ---------------------------------------------------------------------------------------------------
# Where the time goes: CPU per process from /proc, PostgreSQL backends by wait event


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PSQL_PID = [None]  # the sampler's own psql


def proc_stat(pid):
    """(ppid, cpu seconds) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    # After "pid (comm) ": state ppid ... utime is field 14 of the whole line, stime 15.
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def proc_title(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def machine_cpu():
    """(total, idle, interrupts) CPU seconds of the whole machine since boot."""
    with open("/proc/stat", encoding="utf-8") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal: interrupt time (loopback TCP is mostly softirq)
    # belongs to no process.
    idle = fields[3] + fields[4]
    return sum(fields[:8]) / CLOCK_TICKS, idle / CLOCK_TICKS, (fields[5] + fields[6]) / CLOCK_TICKS


KINDS = {}  # pid -> group, for processes found by their parent


def postgres_kind(pid):
    # Client backends are titled "postgres: <user> <database> <host> <state>"; the services connect as
    # flashuser, this sampler as postgres.
    title = proc_title(pid)
    if title.startswith("postgres: flashuser "):
        return "postgres backends"
    if title.startswith("postgres: postgres "):
        return "bench sampler"
    return "postgres background"


def snapshot(named, postmaster):
    """CPU seconds so far of every process of interest, by pid, with its group."""
    procs = {}
    for name, pid in named.items():
        stat = proc_stat(pid)
        if stat:
            procs[pid] = (name, stat[1])
    # One pass over /proc for the children of the postmaster and the kernel threads (children of
    # kthreadd, pid 2, among them the file system's journal, which every WAL fsync wakes).
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        stat = proc_stat(pid)
        if not stat:
            continue
        if pid == postmaster:
            procs[pid] = ("postgres background", stat[1])
        elif postmaster and stat[0] == postmaster:
            if pid not in KINDS:
                KINDS[pid] = postgres_kind(pid)
            procs[pid] = (KINDS[pid], stat[1])
        elif stat[0] == 2:
            procs[pid] = ("kernel threads", stat[1])
    # This sampler and its psql count too, so that "everything else" is only what is really elsewhere.
    for pid in (os.getpid(), PSQL_PID[0]):
        stat = proc_stat(pid) if pid else None
        if stat:
            procs[pid] = ("bench sampler", stat[1])
    total, idle, interrupts = machine_cpu()
    return {"t": time.monotonic(), "procs": procs, "machine_total": total, "machine_idle": idle,
            "machine_interrupts": interrupts}


SAMPLE_SQL = (
    "SELECT 'S', {n}, state, coalesce(wait_event_type, 'CPU'), coalesce(wait_event, '-'), "
    "CASE WHEN wait_event_type = 'Lock' THEN left(regexp_replace(query, '\\s+', ' ', 'g'), 70) ELSE '' END, "
    "count(*) FROM pg_stat_activity "
    "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND datname = current_database() "
    "GROUP BY 3, 4, 5, 6;\n"
)
# The last identity value handed out for holds and for orders (the bench's TRUNCATE keeps the sequences
# going): the difference over the load is how many were made. max(id) would read 0 in the freshly
# truncated table at the start; statistics counters (n_tup_ins) would lag, since each backend reports
# them late. A batch that rolled back counts too; the services seldom roll one back.
NEWEST_ROW = "coalesce(pg_sequence_last_value(pg_get_serial_sequence('{table}', '{column}')), 0)"
COUNTERS_SQL = (
    "SELECT 'C', '{tag}', d.xact_commit, d.xact_rollback, w.wal_records, w.wal_bytes, w.wal_write, w.wal_sync, "
    "w.wal_fpi, " + NEWEST_ROW.format(column="id", table="inventory.reservations") + ", "
    + NEWEST_ROW.format(column="seq", table="orders.orders") + " "
    "FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = current_database();\n"
)


def cmd_profile(args):
    named = {}
    for item in args.pid:
        name, _, pid = item.partition("=")
        named[name] = int(pid)
    # psql's answers go to a file, read at the end: a pipe nobody reads would fill up and stall it.
    answers = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
    psql = subprocess.Popen(
        [args.psql, "-X", "-q", "-At", "-F", "\t", "-d", args.database_url],
        stdin=subprocess.PIPE,
        stdout=answers,
        stderr=subprocess.DEVNULL,
        text=True,
    )

    PSQL_PID[0] = psql.pid

    def send(sql):
        try:
            psql.stdin.write(sql)
            psql.stdin.flush()
        except (BrokenPipeError, OSError):
            pass

    # Started before the load (this interpreter may take a moment to start): the driver writes the
    # load generator's pid to --pid-file the moment it starts it, and the sampling begins then.
    send("SELECT 1;\n")
    if args.ready_file:
        with open(args.ready_file, "w", encoding="utf-8") as f:
            f.write("ready\n")
    deadline = time.monotonic() + 60
    while_pid = None
    while while_pid is None:
        try:
            with open(args.pid_file, encoding="utf-8") as f:
                text = f.read().strip()
            if text:
                while_pid = int(text)
        except (OSError, ValueError):
            pass
        if while_pid is None:
            if time.monotonic() > deadline:
                print("profile: the load never started", file=sys.stderr)
                return 1
            time.sleep(0.01)
    named["wrk"] = while_pid
    send(COUNTERS_SQL.format(tag="start"))
    first = last = snapshot(named, args.postmaster)
    samples = 0
    while True:
        time.sleep(args.interval)
        if proc_stat(while_pid) is None:
            break
        last = snapshot(named, args.postmaster)
        samples += 1
        send(SAMPLE_SQL.format(n=samples))
    # pg_stat counters are flushed by each backend a moment after its transactions.
    time.sleep(1.0)
    send("SELECT pg_stat_force_next_flush();\n")
    send(COUNTERS_SQL.format(tag="end"))
    psql.communicate()
    answers.seek(0)
    out = answers.read()

    wall = last["t"] - first["t"]
    groups = {}
    for pid, (name, cpu) in last["procs"].items():
        before = first["procs"].get(pid, (name, 0.0))[1]
        g = groups.setdefault(name, {"cpu_s": 0.0, "processes": 0})
        g["cpu_s"] += max(0.0, cpu - before)
        g["processes"] += 1
    machine_total = last["machine_total"] - first["machine_total"]
    machine_idle = last["machine_idle"] - first["machine_idle"]
    machine_interrupts = last["machine_interrupts"] - first["machine_interrupts"]

    waits = {}
    counters = {}
    sample_ids = set()
    for line in out.splitlines():
        parts = line.split("\t")
        if parts[0] == "S" and len(parts) == 7:
            sample_ids.add(parts[1])
            key = (parts[2], parts[3], parts[4], parts[5])
            waits[key] = waits.get(key, 0) + int(parts[6])
        elif parts[0] == "C" and len(parts) == 11:
            counters[parts[1]] = [int(x) for x in parts[2:]]
    n = max(1, len(sample_ids))
    profile = {
        "wall_s": round(wall, 2),
        "cores": os.cpu_count(),
        "machine_busy_cpu_s": round(machine_total - machine_idle, 2),
        "machine_busy_pct": round(100.0 * (machine_total - machine_idle) / machine_total, 1) if machine_total else 0,
        "interrupts_cpu_s": round(machine_interrupts, 2),
        "processes": {k: {"cpu_s": round(v["cpu_s"], 2), "pct_of_core": round(100.0 * v["cpu_s"] / wall, 1) if wall else 0,
                          "processes": v["processes"]} for k, v in groups.items()},
        "wait_samples": len(sample_ids),
        "backends": [
            {"state": k[0], "wait_event_type": k[1], "wait_event": k[2], "query": k[3], "avg": round(v / n, 2)}
            for k, v in sorted(waits.items(), key=lambda kv: -kv[1])
        ],
    }
    if "start" in counters and "end" in counters:
        d = [e - s for s, e in zip(counters["start"], counters["end"])]
        profile["postgres"] = {
            "commits": d[0], "rollbacks": d[1], "wal_records": d[2], "wal_bytes": d[3], "wal_writes": d[4],
            "wal_syncs": d[5], "wal_full_page_images": d[6],
            "commits_per_s": round(d[0] / wall, 1) if wall else 0,
            "wal_syncs_per_s": round(d[5] / wall, 1) if wall else 0,
            "commits_per_wal_sync": round(d[0] / d[5], 2) if d[5] else None,
            "holds_inserted": d[7], "orders_inserted": d[8],
            # Every commit counts, the services' reads included: what one transaction carries on average.
            "holds_per_commit": round(d[7] / d[0], 2) if d[0] else None,
            "orders_per_commit": round(d[8] / d[0], 2) if d[0] else None,
        }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(profile, f)
    return 0


def print_profile(profile, scenario, ok_count=None):
    wall = profile["wall_s"]
    print(f"  Where the time goes during {scenario} ({wall:.1f} s sampled, {profile['cores']} cores, "
          f"machine busy {profile['machine_busy_pct']:.0f}%)")
    print(f"    {'process':<22} {'CPU s':>8} {'% of a core':>12} {'% of machine':>13}")
    order = ["orders", "inventory", "postgres backends", "postgres background", "wrk", "bench sampler",
             "kernel threads"]
    names = sorted(profile["processes"], key=lambda k: order.index(k) if k in order else 99)
    accounted = 0.0
    capacity = wall * profile["cores"]
    for name in names:
        p = profile["processes"][name]
        accounted += p["cpu_s"]
        label = name + (f" ({p['processes']})" if name.startswith("postgres") else "")
        print(f"    {label:<22} {p['cpu_s']:>8.1f} {p['pct_of_core']:>11.0f}% {100 * p['cpu_s'] / capacity:>12.0f}%")
    interrupts = profile.get("interrupts_cpu_s", 0.0)
    label = "interrupts (softirq)"
    print(f"    {label:<22} {interrupts:>8.1f} {100 * interrupts / wall:>11.0f}% {100 * interrupts / capacity:>12.0f}%")
    other = max(0.0, profile["machine_busy_cpu_s"] - accounted - interrupts)
    print(f"    {'everything else':<22} {other:>8.1f} {100 * other / wall:>11.0f}% {100 * other / capacity:>12.0f}%")
    pg = profile.get("postgres")
    if pg:
        line = (f"    PostgreSQL: {pg['commits_per_s']:,.0f} commits/s, {pg['wal_syncs_per_s']:,.0f} WAL flushes/s")
        if pg["commits_per_wal_sync"]:
            line += f" ({pg['commits_per_wal_sync']:.1f} commits per flush)"
        if ok_count:
            line += f", {pg['commits'] / ok_count:.2f} commits and {pg['wal_bytes'] / ok_count:,.0f} WAL bytes per success"
        print(line)
        if pg.get("holds_per_commit") is not None:
            line = f"    {pg['holds_inserted']:,} holds and {pg['orders_inserted']:,} orders inserted: "
            line += f"{pg['holds_per_commit']:.1f} holds and {pg['orders_per_commit']:.1f} orders per commit"
            print(line)
    print(f"    PostgreSQL client backends, average count per sample ({profile['wait_samples']} samples):")
    print(f"      {'state':<20} {'waiting on':<28} {'avg':>6}  query")
    for b in profile["backends"]:
        if b["avg"] < 0.05:
            continue
        wait = b["wait_event_type"] if b["wait_event_type"] == "CPU" else f"{b['wait_event_type']}:{b['wait_event']}"
        print(f"      {b['state'] or '-':<20} {wait:<28} {b['avg']:>6.2f}  {b['query']}")


def cmd_show_profile(args):
    with open(args.profile, encoding="utf-8") as f:
        profile = json.load(f)
    print_profile(profile, args.scenario, args.ok)
    return 0


STATEMENTS_SQL = (
    "SELECT calls, rows, total_exec_time, left(regexp_replace(query, '\\s+', ' ', 'g'), 80) "
    "FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid "
    "WHERE r.rolname = 'flashuser' ORDER BY total_exec_time DESC LIMIT 8"
)


def cmd_statements(args):
    """The services' statements that took the most time in PostgreSQL during the scenario (--profile).

    --save reads them as soon as the load ends, before the ledger check (whose statements run under the
    services' role too) adds its own; --saved prints what was read."""
    if args.saved:
        with open(args.saved, encoding="utf-8") as f:
            rows = json.load(f)
    else:
        rows = psql_rows(args.psql, args.database_url, STATEMENTS_SQL)
    if args.save:
        with open(args.save, "w", encoding="utf-8") as f:
            json.dump(rows, f)
        return 0
    total = sum(float(r[2]) for r in rows) or 1.0
    print("  The services' statements by time in PostgreSQL (pg_stat_statements, top 8):")
    print(f"    {'ms':>8} {'share':>6} {'calls':>8} {'rows/call':>9} {'us/row':>7} {'ms/success':>10}  statement")
    for calls, nrows, ms, query in rows:
        calls, nrows, ms = int(calls), int(nrows), float(ms)
        per_row = f"{1000 * ms / nrows:.0f}" if nrows else "-"
        per_ok = f"{ms / args.ok:.3f}" if args.ok else "-"
        print(f"    {ms:>8.0f} {ms / total:>6.0%} {calls:>8,} {nrows / calls if calls else 0:>9.1f} {per_row:>7} "
              f"{per_ok:>10}  {query}")
    return 0


# ---------------------------------------------------------------------------------------------------
# The final table: medians over the runs


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def cmd_report(args):
    results = []
    with open(args.results, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                results.append(json.loads(line))
    by_scenario = {}
    for r in results:
        by_scenario.setdefault(r["scenario"], []).append(r)
    ceiling = median([r["requests_per_s"] for r in by_scenario.get("ceiling", [])])
    hot_orders = median([r["requests_per_s"] for r in by_scenario.get("hot-orders", [])])

    rows = []
    for name in SCENARIOS:
        runs = by_scenario.get(name)
        if not runs:
            continue
        row = {
            "scenario": name,
            "runs": len(runs),
            "requests_per_s": median([r["requests_per_s"] for r in runs]),
            "ok": median([r["ok"] for r in runs]),
            "sold_out": median([r["sold_out"] for r in runs]),
            "errors": median([r["errors"] for r in runs]),
            "latency_ms_p50": median([r["latency_ms_p50"] for r in runs]),
            "latency_ms_p99": median([r["latency_ms_p99"] for r in runs]),
            "ratio_to_ceiling": None,
            "ledger_ok": all(r["ledger_ok"] for r in runs),
            "cores": runs[0]["cores"],
            "connections": runs[0]["connections"],
            "duration_s": median([r["duration_s"] for r in runs]),
            "errors_max": max(r["errors"] for r in runs),
            "requests_per_s_runs": [r["requests_per_s"] for r in runs],
        }
        if ceiling:
            row["ratio_to_ceiling"] = round(row["requests_per_s"] / ceiling, 4)
        if any("not_on_sale" in r for r in runs):
            # tiers: req/s from the opening; the refusals before it apart, and the figure against hot-orders'.
            row["not_on_sale"] = median([r.get("not_on_sale") for r in runs])
            row["ratio_to_hot_orders"] = round(row["requests_per_s"] / hot_orders, 3) if hot_orders else None
        sellouts = [r.get("sellout_s") for r in runs if r.get("sellout_s") is not None]
        if sellouts:
            row["sellout_s"] = median(sellouts)
        if args.commit:
            row["commit"] = args.commit
        if args.date:
            row["date"] = args.date
        rows.append(row)

    runs_label = f"median of {args.runs} runs" if args.runs > 1 else "1 run"
    print(f"\nFlashTix flash-sale benchmark ({runs_label}, {rows[0]['cores'] if rows else '?'} cores)\n")
    header = (f"  {'scenario':<12} {'conns':>5} {'req/s':>9} {'x ceiling':>9} {'ok':>9} {'sold_out':>9} "
              f"{'errors':>7} {'p50 ms':>8} {'p99 ms':>8} {'sold out in':>11}  ledger")
    print(header)
    print("  " + "-" * (len(header) - 2))
    for row in rows:
        ratio = f"{row['ratio_to_ceiling']:.3f}" if row["ratio_to_ceiling"] is not None else "-"
        sellout = f"{row['sellout_s']:.2f} s" if "sellout_s" in row else "-"
        print(f"  {row['scenario']:<12} {row['connections']:>5} {row['requests_per_s']:>9,.0f} {ratio:>9} "
              f"{row['ok']:>9,.0f} {row['sold_out']:>9,.0f} {row['errors']:>7,.0f} {row['latency_ms_p50']:>8.2f} "
              f"{row['latency_ms_p99']:>8.2f} {sellout:>11}  {'ok' if row['ledger_ok'] else 'BROKEN'}")
    for row in rows:
        if "not_on_sale" in row:
            line = (f"  {row['scenario']}: req/s from the sale's opening; {row['not_on_sale']:,.0f} answers 409 "
                    f"not_on_sale before it, not counted as errors")
            if row["ratio_to_hot_orders"] is not None:
                ratio = row["ratio_to_hot_orders"]
                line += (f"; {ratio:.2f} x hot-orders ("
                         f"{'within' if abs(ratio - 1) <= 0.2 else 'not within'} 20%)")
            print(line)
    print()
    for row in rows:
        print(json.dumps(row))
    return 0 if all(row["ledger_ok"] for row in rows) else 1


# ---------------------------------------------------------------------------------------------------
# History: every run of every bench, one line each, kept across benches so that a slowdown shows


def cmd_history(args):
    """Appends this bench's runs to the history, tagged with the bench's start, commit and date."""
    added = 0
    with open(args.results, encoding="utf-8") as src, open(args.history, "a", encoding="utf-8") as dst:
        for line in src:
            if not line.strip():
                continue
            r = json.loads(line)
            entry = {"bench": args.bench, "date": args.date, "commit": args.commit}
            entry.update({k: r[k] for k in HISTORY_FIELDS if k in r})
            dst.write(json.dumps(entry) + "\n")
            added += 1
    print(f"history: {added} runs added to {args.history}")
    return 0


HISTORY_FIELDS = ["scenario", "run", "requests_per_s", "ok", "sold_out", "errors", "latency_ms_p50",
                  "latency_ms_p99", "sellout_s", "ledger_ok", "connections", "machine_busy_before_pct", "not_on_sale"]


def cmd_chart(args):
    """Draws requests/s and p99 per scenario, one point per bench (the median of its runs), with gnuplot."""
    benches = {}  # bench id -> scenario -> [results]
    labels = {}
    with open(args.history, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                benches.setdefault(r["bench"], {}).setdefault(r["scenario"], []).append(r)
                labels[r["bench"]] = f"{r['commit']} {r['date']}"
    order = sorted(benches)[-args.last:]
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "history.dat")
        with open(data, "w", encoding="utf-8") as f:
            # One block per scenario: x, requests/s, p99, label (gnuplot's index selects a block).
            for name in SCENARIOS:
                f.write(f"# {name}\n")
                for x, bench in enumerate(order):
                    runs = benches[bench].get(name)
                    if runs:
                        rps = median([r["requests_per_s"] for r in runs])
                        p99 = median([r["latency_ms_p99"] for r in runs])
                        f.write(f"{x} {rps} {p99} \"{labels[bench]}\"\n")
                f.write("\n\n")
        terminal = "svg size 1100,800 dynamic" if args.out.endswith(".svg") else "pngcairo size 1100,800"
        plots = []
        for metric, column in (("requests per second (log scale)", 2), ("p99 latency, ms (log scale)", 3)):
            series = ", ".join(
                f"'{data}' index {i} using 1:{column}:xtic(4) with linespoints title '{name}'"
                for i, name in enumerate(SCENARIOS))
            plots.append(f"set ylabel '{metric}'\nplot {series}")
        script = "\n".join([
            f"set terminal {terminal}",
            f"set output '{args.out}'",
            "set multiplot layout 2,1 title 'FlashTix bench: one point per bench, the median of its runs'",
            "set logscale y", "set grid", "set key outside right", "set xtics rotate by -30 font ',8'",
            "set offsets 0.2, 0.2, 0, 0",
            plots[0], plots[1], "unset multiplot",
        ])
        done = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
        if done.returncode != 0:
            print(f"chart: gnuplot failed: {done.stderr.strip()}", file=sys.stderr)
            return 1
    print(f"chart: {args.out} ({len(order)} benches)")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("result", help="one scenario's result from wrk's output and the database")
    p.add_argument("--scenario", required=True)
    p.add_argument("--run", type=int, default=1)
    p.add_argument("--mode", required=True, choices=["health", "orders", "reserve"])
    p.add_argument("--wrk-output", required=True)
    p.add_argument("--quantity", type=int, default=1)
    p.add_argument("--cores", type=int, default=os.cpu_count())
    p.add_argument("--connections", type=int, required=True)
    p.add_argument("--ceiling-rps", type=float)
    p.add_argument("--hot-orders-rps", type=float, help="hot-orders' req/s in the same run, for tiers")
    p.add_argument("--ticket-types", help="ids of the event's ticket types, comma-separated: check each one's books")
    p.add_argument("--machine-busy-before", type=float, help="% of the machine busy just before the load")
    p.add_argument("--timeout-s", type=float, default=5, help="wrk's --timeout: slower answers count as errors")
    p.add_argument("--expect-sold", type=int)
    p.add_argument("--check-rc", type=int, required=True, help="exit code of ./flashtix check on this database")
    p.add_argument("--psql", required=True)
    p.add_argument("--database-url", required=True)
    p.add_argument("--results", required=True, help="JSON lines file to append to")
    p.set_defaults(func=cmd_result)

    p = sub.add_parser("profile", help="sample CPU per process and PostgreSQL waits while the load runs")
    p.add_argument("--pid", action="append", default=[], help="name=pid, repeatable")
    p.add_argument("--postmaster", type=int)
    p.add_argument("--pid-file", required=True, help="where the pid of the load generator appears; sampled while it lives")
    p.add_argument("--ready-file", help="written once this sampler waits for --pid-file")
    p.add_argument("--interval", type=float, default=0.2)
    p.add_argument("--psql", required=True)
    p.add_argument("--database-url", required=True, help="a superuser connection (reads every backend's state)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("show-profile", help="print a profile written by the profile command")
    p.add_argument("--profile", required=True)
    p.add_argument("--scenario", required=True)
    p.add_argument("--ok", type=int)
    p.set_defaults(func=cmd_show_profile)

    p = sub.add_parser("statements", help="the statements that took the most time (needs pg_stat_statements)")
    p.add_argument("--psql")
    p.add_argument("--database-url")
    p.add_argument("--ok", type=int)
    p.add_argument("--save", help="write the statements to this file instead of printing them")
    p.add_argument("--saved", help="print the statements of this file (written by --save)")
    p.set_defaults(func=cmd_statements)

    p = sub.add_parser("report", help="the table and JSON lines, medians over the runs")
    p.add_argument("--results", required=True)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--commit")
    p.add_argument("--date")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("history", help="append this bench's runs to the kept history")
    p.add_argument("--results", required=True)
    p.add_argument("--history", required=True)
    p.add_argument("--bench", required=True, help="when this bench started (sorts the benches)")
    p.add_argument("--commit", required=True)
    p.add_argument("--date", required=True)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("chart", help="requests/s and p99 per scenario over the kept history (gnuplot)")
    p.add_argument("--history", required=True)
    p.add_argument("--out", required=True, help="a .svg or .png file")
    p.add_argument("--last", type=int, default=30, help="the last this many benches")
    p.set_defaults(func=cmd_chart)

    args = parser.parse_args()
    sys.exit(args.func(args))


if __name__ == "__main__":
    main()
