#!/usr/bin/python3
"""The live sale page in a real browser: headless Chromium (Debian's) opens inventory's page, waits until its
stream is connected, says so by creating --ready-file, and takes a screenshot the moment the page shows the
sale well under way (a third of the tickets taken, some left), or once it shows the sale over, or when the
time runs out. Driven over the DevTools protocol
(python3-websocket), so the moment is chosen by what the page shows, not by a guess of how long loading takes.
Used by `./flashtix bench sellout --screenshot`; prints one JSON line."""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

CHROMIUM = "/usr/bin/chromium"
# The flags that keep a headless Chromium off the network: it only talks to the page's own server.
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--window-size=1000,420", "--remote-debugging-port=0"]
POLL_SECONDS = 0.02
# The share of the tickets taken (held or sold) at which the sale shows well under way.
UNDER_WAY_SHARE = 0.3

# What the page shows of its first event, as the test of "under way" reads it.
READ_PAGE = """(() => {
  const card = document.querySelector('.event');
  if (!card) return null;
  const number = (part) => Number(card.querySelector('.counts .' + part + ' b').textContent.replace(/[^0-9]/g, ''));
  return JSON.stringify({state: card.querySelector('.state').textContent,
                         sold: number('sold'), held: number('held'), available: number('available')});
})()"""


class DevTools:
    """One page target of Chromium, over its DevTools websocket."""

    def __init__(self, url):
        self.socket = websocket.create_connection(url, timeout=30)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def page_state(self):
        value = self.call("Runtime.evaluate", expression=READ_PAGE, returnByValue=True)["result"].get("value")
        return json.loads(value) if value else None


def devtools_page(profile, deadline):
    """The websocket address of Chromium's first page, once Chromium says where it listens."""
    port_file = os.path.join(profile, "DevToolsActivePort")
    while time.monotonic() < deadline:
        if os.path.exists(port_file):
            with open(port_file) as file:
                port = file.readline().strip()
            if port:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as answer:
                    pages = [t for t in json.load(answer) if t.get("type") == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
        time.sleep(0.1)
    raise RuntimeError("Chromium did not open its DevTools port")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--seconds", type=float, default=60, help="give up (and take the screenshot) after this")
    args = parser.parse_args()

    profile = tempfile.mkdtemp(prefix="flashtix-chromium-")
    browser = subprocess.Popen([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    summary = {"screenshot": args.out, "under_way": False}
    try:
        deadline = time.monotonic() + args.seconds
        tools = DevTools(devtools_page(profile, deadline))
        tools.call("Page.enable")
        tools.call("Page.navigate", url=args.url)
        state = None
        while time.monotonic() < deadline:
            state = tools.page_state()
            if state and state["state"].startswith("Updated"):
                break
            time.sleep(POLL_SECONDS)
        open(args.ready_file, "w").close()
        while time.monotonic() < deadline:
            state = tools.page_state()
            if state:
                taken = state["held"] + state["sold"]
                if state["available"] == 0 or taken >= UNDER_WAY_SHARE * (taken + state["available"]):
                    summary["under_way"] = taken > 0 and state["available"] > 0
                    break
            time.sleep(POLL_SECONDS)
        shot = tools.call("Page.captureScreenshot", format="png")
        with open(args.out, "wb") as file:
            file.write(base64.b64decode(shot["data"]))
        summary["page"] = state
    finally:
        browser.terminate()
        try:
            browser.wait(timeout=10)
        except subprocess.TimeoutExpired:
            browser.kill()
        shutil.rmtree(profile, ignore_errors=True)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
