#!/usr/bin/env python3
"""Integration test of `dms serve` with the official `openai` client (run by test-openai.sh).

Needs DMS_SERVER_URL (http://127.0.0.1:PORT) and DMS_MODEL_ID. Checks chat and text completions,
streaming, n > 1, stop strings, seed determinism, the kv extension, and that client mistakes
(malformed JSON, an unknown model, an over-long prompt, bad values, unknown routes) get OpenAI
error objects with 4xx statuses while the server keeps serving.
"""
import json
import os
import sys

import openai
import requests

URL = os.environ["DMS_SERVER_URL"]
MODEL = os.environ["DMS_MODEL_ID"]
client = openai.OpenAI(base_url=URL + "/v1", api_key="unused", max_retries=0, timeout=120)
CHAT = [{"role": "user", "content": "What is the capital of France?"}]
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL:", message, file=sys.stderr)


def test_chat():
    response = client.chat.completions.create(model=MODEL, messages=CHAT, max_tokens=24, temperature=0)
    check(response.object == "chat.completion", "chat object")
    check(response.id.startswith("chatcmpl-"), "chat id")
    check(response.model == MODEL, "chat model")
    choice = response.choices[0]
    check(choice.message.role == "assistant", "assistant role")
    check("Paris" in choice.message.content, f"greedy answer names Paris: {choice.message.content!r}")
    check(choice.finish_reason in ("stop", "length"), "finish reason")
    usage = response.usage
    check(usage.total_tokens == usage.prompt_tokens + usage.completion_tokens, "usage adds up")
    check(0 < usage.completion_tokens <= 24, "completion tokens within max_tokens")
    check(choice.kv["compression_ratio"] >= 1, "kv extension on the choice")


def test_completion():
    response = client.completions.create(model=MODEL, prompt="The capital of France is", max_tokens=8,
                                         temperature=0)
    check(response.object == "text_completion", "completion object")
    check(isinstance(response.choices[0].text, str) and response.choices[0].text, "completion text")
    check(response.choices[0].finish_reason == "length", "completion stops at max_tokens")
    check(response.usage.completion_tokens == 8, "8 completion tokens")


def test_streaming():
    stream = client.chat.completions.create(model=MODEL, messages=CHAT, max_tokens=16, temperature=0, stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    check(chunks[0].choices[0].delta.role == "assistant", "first chunk carries the role")
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    check(finishes in (["stop"], ["length"]), f"one finish reason: {finishes}")
    check(chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0, "usage chunk last")
    greedy = client.chat.completions.create(model=MODEL, messages=CHAT, max_tokens=16, temperature=0)
    check(text == greedy.choices[0].message.content, "streamed text equals the non-streamed text")

    stream = client.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=6, stream=True, seed=3)
    pieces = [c.choices[0].text for c in stream if c.choices]
    check(len(pieces) >= 2 and "".join(pieces), "text completion streams")


def test_parallel_choices():
    response = client.chat.completions.create(model=MODEL, messages=CHAT, max_tokens=12, n=3, seed=7,
                                              temperature=1.0)
    check([c.index for c in response.choices] == [0, 1, 2], "three choices in order")
    check(3 <= response.usage.completion_tokens <= 36, "completion tokens summed over the choices")
    stream = client.chat.completions.create(model=MODEL, messages=CHAT, max_tokens=8, n=3, stream=True)
    finished = {c.choices[0].index for c in stream if c.choices and c.choices[0].finish_reason}
    check(finished == {0, 1, 2}, f"every streamed choice finishes: {finished}")


def test_stop_strings():
    response = client.completions.create(model=MODEL, prompt="1, 2, 3, 4, 5,", max_tokens=24, temperature=0,
                                         stop=[" 8"])
    text = response.choices[0].text
    check(" 8" not in text, f"stop string dropped: {text!r}")
    check(response.choices[0].finish_reason == "stop", f"stop string ends with 'stop': {text!r}")


def test_seed_determinism():
    texts = [client.chat.completions.create(model=MODEL, messages=CHAT, max_tokens=16, temperature=1.2,
                                            seed=1234).choices[0].message.content for _ in range(2)]
    check(texts[0] == texts[1], f"same seed, same text: {texts}")


def test_kv_override():
    response = client.chat.completions.create(model=MODEL, messages=CHAT, max_tokens=8, temperature=0,
                                              extra_body={"kv": {"policy": "streaming", "budget_tokens": 16}})
    kv = response.choices[0].kv
    check(kv["policy"] == "streaming" and kv["compression_ratio"] > 1, f"kv override used: {kv}")


def expect_error(status, code=None, param=None, **request):
    response = requests.request(request.pop("method", "POST"), URL + request.pop("path", "/v1/chat/completions"),
                                timeout=60, **request)
    check(response.status_code == status, f"status {response.status_code} != {status} for {request}")
    try:
        error = response.json()["error"]
    except (ValueError, KeyError):
        check(False, f"an OpenAI error object for {request}: {response.text[:200]}")
        return
    check(set(error) == {"message", "type", "param", "code"} and error["message"], f"error shape {error}")
    if code is not None:
        check(error["code"] == code, f"code {error['code']} != {code}")
    if param is not None:
        check(error["param"] == param, f"param {error['param']} != {param}")


def test_errors():
    expect_error(400, data="{\"model\": ", headers={"Content-Type": "application/json"})
    expect_error(400, param="temperature", json={"model": MODEL, "messages": CHAT, "temperature": "warm"})
    expect_error(400, param="n", json={"model": MODEL, "messages": CHAT, "n": 17})
    expect_error(400, param="kv.policy", json={"model": MODEL, "messages": CHAT, "kv": {"policy": "lru"}})
    expect_error(404, code="model_not_found", json={"model": "gpt-4o", "messages": CHAT})
    expect_error(400, code="context_length_exceeded",
                 json={"model": MODEL, "prompt": "hello " * 9000}, path="/v1/completions")
    expect_error(413, data=b"x" * (5 << 20), path="/v1/completions")
    expect_error(404, method="GET", path="/v1/engines")
    try:
        client.chat.completions.create(model="gpt-4o", messages=CHAT)
        check(False, "unknown model raises")
    except openai.NotFoundError as error:
        check(error.code == "model_not_found", "the client sees model_not_found")
    # Still serving.
    check(requests.get(URL + "/health", timeout=10).json() == {"status": "ok"}, "healthy after errors")
    check(client.models.list().data[0].id == MODEL, "model list")
    test_completion()


def main():
    tests = [test_chat, test_completion, test_streaming, test_parallel_choices, test_stop_strings,
             test_seed_determinism, test_kv_override, test_errors]
    for test in tests:
        print("…", test.__name__, file=sys.stderr)
        try:
            test()
        except Exception as error:  # report every test, not only the first failure
            check(False, f"{test.__name__} raised {type(error).__name__}: {error}")
    metrics = requests.get(URL + "/metrics", timeout=10).text
    check("# TYPE dms_kv_bytes_in_use gauge" in metrics, "prometheus metrics")
    print(json.dumps({"tests": len(tests), "failures": len(failures)}))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
