#!/usr/bin/env python3
"""A bounded load test of `dms serve`: run it with scripts/server/with-server.sh.

    scripts/server/with-server.sh python3 scripts/server/load_test.py [--requests 2000] [--concurrency 32]

Sends short requests from many concurrent clients (threads with `requests`): plain chat and text
completions, full streams, streams the client abandons after the first chunk, and malformed or
invalid bodies. Meanwhile it polls /metrics. Passes when no response is a 5xx or a dropped
connection, the KV memory in use never exceeds the budget, and /health still answers at the end.
"""
import argparse
import collections
import os
import random
import sys
import threading
import time
import concurrent.futures
from concurrent.futures import ThreadPoolExecutor

import requests

URL = os.environ["DMS_SERVER_URL"]
MODEL = os.environ["DMS_MODEL_ID"]
PROMPTS = ["Hi", "Name a color.", "Count to three.", "Say yes.", "What is 2+2?", "Hello there"]
MALFORMED = [
    b'{"model": ',
    b'{"model": "%s", "messages": "hi"}' % MODEL.encode(),
    b'{"model": "%s", "messages": [{"role": "user", "content": "hi"}], "n": 99}' % MODEL.encode(),
    b'{"model": "nope", "messages": [{"role": "user", "content": "hi"}]}',
    b'{"model": "%s", "prompt": "hi", "max_tokens": 0}' % MODEL.encode(),
]


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise KeyError(name)


class Load:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.outcomes = collections.Counter()
        self.problems = []
        self.kv_samples = 0
        self.kv_max_in_use = 0.0
        self.kv_budget = None
        self.finished = threading.Event()
        self.local = threading.local()

    def count(self, outcome):
        with self.lock:
            self.outcomes[outcome] += 1

    def problem(self, message):
        with self.lock:
            self.problems.append(message)
            if len(self.problems) <= 10:
                print("PROBLEM:", message, file=sys.stderr)

    def session(self):
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def body(self, rng, kind):
        request = {"model": MODEL, "max_tokens": self.args.max_tokens, "temperature": rng.choice([0, 0.7, 1.0])}
        prompt = rng.choice(PROMPTS)
        if rng.random() < 0.5:
            request["messages"] = [{"role": "user", "content": prompt}]
        else:
            request["prompt"] = prompt
        if kind in ("stream", "abandon"):
            request["stream"] = True
        if rng.random() < 0.1:
            request["n"] = 2
        return request

    def one(self, index):
        rng = random.Random(index)
        kind = rng.choices(["plain", "stream", "abandon", "malformed"], weights=[65, 15, 15, 5])[0]
        try:
            if kind == "malformed":
                response = self.session().post(URL + "/v1/chat/completions", data=rng.choice(MALFORMED),
                                               headers={"Content-Type": "application/json"}, timeout=self.args.timeout)
                if not 400 <= response.status_code < 500:
                    self.problem(f"malformed body got {response.status_code}: {response.text[:200]}")
                self.count(f"malformed {response.status_code}")
                return
            body = self.body(rng, kind)
            path = "/v1/completions" if "prompt" in body else "/v1/chat/completions"
            with self.session().post(URL + path, json=body, stream=kind != "plain", timeout=self.args.timeout) as response:
                if response.status_code != 200:
                    self.problem(f"{kind} got {response.status_code}: {response.text[:200]}")
                    self.count(f"{kind} {response.status_code}")
                    return
                if kind == "abandon":
                    for line in response.iter_lines():
                        if line.startswith(b"data: "):
                            break
                    # Closing an unread response drops its connection: the client is gone mid-stream.
                    response.close()
                    self.count("abandoned mid-stream")
                    return
                text = response.text
                if kind == "stream" and not text.rstrip().endswith("data: [DONE]"):
                    self.problem(f"stream did not end with [DONE]: {text[-200:]!r}")
                if kind == "plain" and not response.json().get("choices"):
                    self.problem(f"no choices: {text[:200]}")
                self.count(kind)
        except requests.RequestException as error:
            self.problem(f"{kind} failed: {type(error).__name__}: {error}")
            self.count(f"{kind} transport error")

    def poll_metrics(self):
        while not self.finished.is_set():
            try:
                text = requests.get(URL + "/metrics", timeout=30).text
                in_use, peak = metric(text, "dms_kv_bytes_in_use"), metric(text, "dms_kv_peak_bytes")
                self.kv_budget = metric(text, "dms_kv_budget_bytes")
                self.kv_samples += 1
                self.kv_max_in_use = max(self.kv_max_in_use, in_use)
                if in_use > self.kv_budget or peak > self.kv_budget:
                    self.problem(f"KV bytes over budget: in use {in_use}, peak {peak}, budget {self.kv_budget}")
            except requests.RequestException as error:
                self.problem(f"/metrics failed: {error}")
            self.finished.wait(0.25)

    def run(self):
        poller = threading.Thread(target=self.poll_metrics)
        poller.start()
        started = time.monotonic()
        with ThreadPoolExecutor(self.args.concurrency) as pool:
            futures = [pool.submit(self.one, index) for index in range(self.args.requests)]
            deadline = started + self.args.deadline
            for future in futures:
                remaining = deadline - time.monotonic()
                try:
                    future.result(timeout=max(remaining, 0.001))
                except (TimeoutError, concurrent.futures.TimeoutError):  # distinct before Python 3.11
                    self.problem(f"not finished within {self.args.deadline} s")
                    pool.shutdown(wait=False, cancel_futures=True)
                    break
        elapsed = time.monotonic() - started
        self.finished.set()
        poller.join()
        health = requests.get(URL + "/health", timeout=30)
        if health.status_code != 200 or health.json() != {"status": "ok"}:
            self.problem(f"/health after the load: {health.status_code} {health.text}")
        metrics = requests.get(URL + "/metrics", timeout=30).text
        done = sum(n for kind, n in self.outcomes.items() if "error" not in kind)
        print(f"{done} requests in {elapsed:.1f} s ({done / elapsed:.1f}/s), {self.args.concurrency} concurrent")
        for kind, count in sorted(self.outcomes.items()):
            print(f"  {kind}: {count}")
        print(f"KV: {self.kv_samples} samples, max in use {self.kv_max_in_use:.0f} of budget {self.kv_budget:.0f} bytes")
        sequences = [line.split("outcome=")[1] for line in metrics.splitlines() if line.startswith("dms_sequences_total")]
        print("scheduler sequences: " + ", ".join(sequences))
        if self.kv_samples == 0:
            self.problem("/metrics was never read")
        # A sequence the scheduler failed (a page bound that did not hold, a model error) is a bug
        # even when its client saw a clean end.
        failed = metric(metrics, 'dms_sequences_total{outcome="failed"}')
        if failed != 0:
            self.problem(f"the scheduler failed {failed:.0f} sequences")
        print("PASS" if not self.problems else f"FAIL: {len(self.problems)} problems")
        return not self.problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=300, help="seconds per request")
    parser.add_argument("--deadline", type=float, default=900, help="seconds for the whole run")
    sys.exit(0 if Load(parser.parse_args()).run() else 1)


if __name__ == "__main__":
    main()
