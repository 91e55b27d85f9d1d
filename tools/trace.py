#!/usr/bin/python3
"""One order's journey, in time order: the rows of its tables (db/checks/order_journey.sql's output, on
standard input) and the log lines of its trace from each service's log. Used by `./flashtix trace ORDER_ID`."""
import argparse
import json
import os
import sys

# Log fields that say what a line is about; the rest (time, level, service, ids) are shown apart.
SHOWN_FIELDS = ("method", "route", "status", "duration_ms", "type", "message_id", "queue", "outcome", "request_id")


def journey_rows(stream):
    for line in stream:
        parts = line.rstrip("\n").split("\t", 2)
        if len(parts) == 3:
            yield parts[0], parts[1], "table", parts[2]


def log_rows(path, trace_id):
    service = os.path.splitext(os.path.basename(path))[0]
    with open(path, encoding="utf-8", errors="replace") as file:
        for line in file:
            if trace_id not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a text line (a terminal's format): not ours to parse
            if entry.get("trace_id") != trace_id:
                continue
            details = " ".join(f"{k}={entry[k]}" for k in SHOWN_FIELDS if entry.get(k) not in (None, ""))
            yield entry.get("time", ""), entry.get("service", service), "log", f"{entry.get('message', '')} {details}"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trace-id", default="")
    parser.add_argument("logs", nargs="*")
    args = parser.parse_args()
    rows = list(journey_rows(sys.stdin))
    if not rows:
        print("no such order", file=sys.stderr)
        return 1
    if args.trace_id:
        for path in args.logs:
            if os.path.exists(path):
                rows.extend(log_rows(path, args.trace_id))
    # RFC 3339 UTC times with milliseconds sort as text; a table row before a log line of the same moment.
    rows.sort(key=lambda row: (row[0], row[2] != "table"))
    for time, service, source, what in rows:
        print(f"{time}  {service:<13} {source:<5}  {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
