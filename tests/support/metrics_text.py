#!/usr/bin/env python3
"""Reads a /metrics body with the Prometheus client library's own parser (not FlashTix's code) and prints
one line per sample: `name{label="value",...} value`, labels sorted, so a test can compare two scrapes.
Exits 1, with the parser's complaint, when the text is not the exposition format."""
import sys

from prometheus_client.parser import text_string_to_metric_families


def main(path):
    with open(path, encoding="utf-8") as file:
        text = file.read()
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                print(f"{sample.name}{{{labels}}} {sample.value!r}")
    except Exception as error:  # the parser raises ValueError and others on malformed text
        print(f"not the exposition format: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
