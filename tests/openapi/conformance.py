#!/usr/bin/python3
"""Checks the answers the black-box tests recorded against the services' OpenAPI documents.

Each record (tests/support/answer_record.hpp: one JSON line per answer, in files <test>-<pid>.jsonl) is
matched to an operation by its path, against the path templates of every document (a path belongs to one
service; the probes are alike everywhere), and by its method. Then:
  - the answer's status must be one the operation lists, its Content-Type one that status lists, and its
    body must validate against that content's schema (JSON Schema 2020-12); a problem document's `status`
    must be the answer's and its `type` urn:flashtix:problem:<code>;
  - every header the response marks required must be there, and every header it describes must validate;
  - a request no operation describes must get what the document's x-flashtix-unrouted says: 404 for a
    path no document lists (anything else means a route the documents miss), 405 with an Allow header
    naming exactly the listed methods for a listed path.
It prints what the tests covered, every kind of failure with its first few answers, and exits 1 on any
failure, or when there is no record at all (the recording, not the services, would then be broken).

Usage: conformance.py --records DIR DOCUMENT.json...
"""

import argparse
import collections
import glob
import json
import os
import re
import sys
import urllib.parse

from jsonschema import Draft202012Validator, RefResolver
from jsonschema.exceptions import best_match

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import documents as openapi  # noqa: E402 (beside this file)

# Failures shown with their answers, and answers shown for each.
MAX_FAILURE_KINDS_SHOWN = 40
MAX_EXAMPLES_SHOWN = 3
MAX_BODY_SHOWN = 400


class Service:
    """One document: its operations by path template, and a validator for each schema it uses."""

    def __init__(self, name, document):
        self.name = name
        self.document = document
        self.resolver = RefResolver(base_uri="", referrer=document)
        self.validators = {}
        self.templates = []  # (segments, path); a literal segment matches itself, {name} any segment
        for path in document["paths"]:
            segments = [s for s in path.split("/") if s]
            self.templates.append((segments, path))

    def match(self, segments):
        for template, path in self.templates:
            if len(template) == len(segments) and all(
                    t.startswith("{") and t.endswith("}") or t == s for t, s in zip(template, segments)):
                return path
        return None

    def errors(self, schema, instance):
        key = json.dumps(schema, sort_keys=True)
        if key not in self.validators:
            self.validators[key] = Draft202012Validator(schema, resolver=self.resolver)
        return plain(sorted(self.validators[key].iter_errors(instance), key=lambda e: list(e.absolute_path)))


def plain(errors):
    """The errors that say something: a member that failed its own schema is also reported as unevaluated."""
    said = [e for e in errors if e.validator != "unevaluatedProperties"]
    return said or errors


def media_type(content_type):
    return content_type.split(";")[0].strip().lower()


def header(record, name):
    for key, value in record.get("headers", []):
        if key.lower() == name.lower():
            return value
    return None


def path_segments(target):
    """The path's segments as the router reads them: decoded, empty ones (a doubled or final /) dropped."""
    path = target.split("?", 1)[0]
    return [urllib.parse.unquote(s) for s in path.split("/") if s]


def describe_error(error):
    """The error in a sentence. For anyOf and oneOf, the errors of the branch meant: a problem's branches
    differ in their `code`, so a branch whose `code` does not match was not meant."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        branches = collections.defaultdict(list)
        for sub in error.context:
            branches[sub.relative_schema_path[0]].append(sub)
        meant = [errors for errors in branches.values()
                 if not any(list(e.relative_path) == ["code"] and e.validator == "const" for e in errors)]
        if len(meant) == 1:
            return "; ".join(describe_error(e) for e in plain(meant[0])[:3])
        error = best_match([error])
    where = "/".join(str(p) for p in error.absolute_path)
    return "%s%s" % ("at %s: " % where if where else "", error.message[:300])


def check_answer(service, response, record):
    """What is wrong with an answer, given the response object the document describes for its status."""
    response = openapi.deref(service.document, response)
    failures = []
    for name, described in response.get("headers", {}).items():
        described = openapi.deref(service.document, described)
        value = header(record, name)
        if value is None:
            if described.get("required"):
                failures.append("no %s header, which the document requires" % name)
            continue
        schema = openapi.deref(service.document, described["schema"])
        instance = value
        if schema.get("type") == "integer":
            instance = int(value) if re.fullmatch(r"-?[0-9]+", value) else value
        for error in service.errors(described["schema"], instance)[:1]:
            failures.append("header %s: %r %s" % (name, value, describe_error(error)))

    content = response.get("content", {})
    body = record.get("body")
    if "body_bytes" in record:
        return failures, "skipped"  # too large to have been recorded
    media = media_type(record.get("content_type", ""))
    if not content:
        if body:
            failures.append("a body (%s), where the document describes none" % (media or "no Content-Type"))
        return failures, "checked"
    if media not in content:
        failures.append("Content-Type %r, where the document lists %s" % (record.get("content_type"), sorted(content)))
        return failures, "checked"
    schema = content[media].get("schema")
    if media == "application/json" or media.endswith("+json"):
        try:
            instance = json.loads(body)
        except ValueError as error:
            failures.append("the body is not JSON: %s" % error)
            return failures, "checked"
    else:
        instance = body
    if schema is not None:
        failures.extend(describe_error(e) for e in service.errors(schema, instance)[:3])
    if media == "application/problem+json" and isinstance(instance, dict):
        status, kind, code = instance.get("status"), instance.get("type"), instance.get("code")
        if status != record["status"]:
            failures.append("the problem's status %r is not the answer's %d" % (status, record["status"]))
        if kind != "urn:flashtix:problem:%s" % code:
            failures.append("the problem's type %r does not name its code %r" % (kind, code))
    return failures, "checked"


# Paths of the test harness's own servers (tests/support/webhook_receiver), which tests call directly.
TEST_PEER_PATHS = ("/hooks/",)


class Report:
    def __init__(self, services):
        self.services = services
        self.checked = 0
        self.skipped = 0
        self.stopped = []  # files whose recording stopped at its bound
        self.seen = collections.defaultdict(set)  # (service, "GET /events") -> statuses
        self.unrouted = collections.Counter()  # 404 / 405
        self.failures = collections.OrderedDict()  # (operation, status, reason) -> [records]

    def fail(self, operation, record, reason):
        self.failures.setdefault((operation, record["status"], reason), []).append(record)

    def check(self, record):
        # The tests' own webhook receiver is not a FlashTix service: what it answers is not ours to check.
        if any(record["target"].startswith(prefix) for prefix in TEST_PEER_PATHS):
            self.count("skipped")
            return
        segments = path_segments(record["target"])
        method = record["method"].lower()
        matched = [(s, s.match(segments)) for s in self.services]
        matched = [(s, path) for s, path in matched if path is not None]
        if not matched:
            self.check_unrouted(self.services[0], "404", "(no path) %s %s" % (record["method"], record["target"]),
                                record)
            return
        service, path = matched[0]
        owner = "every service" if path in openapi.SHARED_PATHS else service.name
        item = service.document["paths"][path]
        operation_name = "%s %s" % (record["method"], path)
        if method not in openapi.METHODS or method not in item:
            self.check_unrouted(service, "405", "(no operation) " + operation_name, record)
            if record["status"] == 405:
                allowed = sorted(m.upper() for m in openapi.METHODS if m in item)
                sent = sorted(m.strip() for m in (header(record, "Allow") or "").split(","))
                if sent != allowed:
                    self.fail(operation_name, record, "Allow says %s, the document lists %s" % (sent, allowed))
            return
        responses = item[method]["responses"]
        status = str(record["status"])
        response = responses.get(status) or responses.get(status[0] + "XX")
        if response is None:
            self.count("checked")
            self.fail(operation_name, record, "status %s is not listed (the document lists %s)" %
                      (status, ", ".join(sorted(k for k in responses if not k.startswith("x-")))))
            return
        failures, outcome = check_answer(service, response, record)
        self.count(outcome)
        self.seen[(owner, operation_name)].add(record["status"])
        for failure in failures:
            self.fail(operation_name, record, failure)

    def check_unrouted(self, service, expected, name, record):
        status = str(record["status"])
        if status != expected:
            self.count("checked")
            what = ("a route that no document describes" if expected == "404" else
                    "a method the document does not list for this path")
            self.fail(name, record, "answered %s: %s (a request no operation describes gets %s)" %
                      (status, what, expected))
            return
        failures, outcome = check_answer(service, service.document["x-flashtix-unrouted"][expected], record)
        self.count(outcome)
        self.unrouted[expected] += 1
        for failure in failures:
            self.fail(name, record, failure)

    def count(self, outcome):
        if outcome == "checked":
            self.checked += 1
        else:
            self.skipped += 1

    def print(self):
        # The probes are alike everywhere and an answer does not say which service gave it: counted together.
        owners = [(s.name, s.document, lambda path: path not in openapi.SHARED_PATHS) for s in self.services]
        owners.append(("every service", self.services[0].document, lambda path: path in openapi.SHARED_PATHS))
        for owner, document, owns in owners:
            names = ["%s %s" % (m.upper(), p) for p, m, _, _ in openapi.operations(document) if owns(p)]
            covered = [n for n in names if (owner, n) in self.seen]
            print("%s: %d of %d operations answered in the tests, with these statuses" %
                  (owner, len(covered), len(names)))
            for name in names:
                statuses = self.seen.get((owner, name))
                print("  %-40s %s" % (name, " ".join(str(s) for s in sorted(statuses)) if statuses
                                      else "(not exercised)"))
        print("unrouted requests: %d answered 404, %d answered 405" % (self.unrouted["404"], self.unrouted["405"]))
        if self.skipped:
            print("%d answers not checked: their bodies were too large to record" % self.skipped)
        for name in self.stopped:
            print("note: %s stopped recording at its bound; later answers of that test are not checked" % name)
        if self.failures:
            print("\n%d kinds of failure:" % len(self.failures))
        for (operation, status, reason), records in list(self.failures.items())[:MAX_FAILURE_KINDS_SHOWN]:
            print("FAIL %s -> %s: %s (%d answer%s)" % (operation, status, reason, len(records),
                                                       "" if len(records) == 1 else "s"))
            for record in records[:MAX_EXAMPLES_SHOWN]:
                body = record.get("body", "<%s bytes>" % record.get("body_bytes"))
                print("     %s %s from %s: %s %s" % (record["method"], record["target"][:120], record.get("test"),
                                                     record.get("content_type"), body[:MAX_BODY_SHOWN]))
        if len(self.failures) > MAX_FAILURE_KINDS_SHOWN:
            print("... and %d more kinds" % (len(self.failures) - MAX_FAILURE_KINDS_SHOWN))
        failed = len({id(record) for records in self.failures.values() for record in records})
        print("\nconformance: %d answers checked against %d documents, %d failed" %
              (self.checked, len(self.services), failed))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", required=True, help="the directory the tests recorded their answers into")
    parser.add_argument("documents", nargs="+", help="the services' OpenAPI documents")
    args = parser.parse_args()

    services = [Service(os.path.splitext(os.path.basename(p))[0], openapi.load(p)) for p in args.documents]
    report = Report(services)
    files = sorted(glob.glob(os.path.join(args.records, "*.jsonl")))
    records = 0
    for path in files:
        # Bodies are recorded as the server sent them; bytes that are not UTF-8 must not stop the check.
        with open(path, encoding="utf-8", errors="surrogateescape") as file:
            for number, line in enumerate(file, 1):
                try:
                    record = json.loads(line)
                except ValueError as error:
                    # A test killed mid-write leaves half a line; anything else is a broken recorder.
                    print("note: %s:%d is not a record (%s)" % (os.path.basename(path), number, error))
                    continue
                if "recording_stopped" in record:
                    report.stopped.append(os.path.basename(path))
                    continue
                records += 1
                report.check(record)
    print("%d records from %d test processes in %s" % (records, len(files), args.records))
    if records == 0:
        print("FAIL: nothing was recorded; run the black-box tests with FLASHTIX_TEST_RECORD_DIR=%s" % args.records)
        return 1
    report.print()
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
