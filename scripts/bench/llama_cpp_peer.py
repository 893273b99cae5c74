"""llama.cpp (through llama-cpp-python) measured the way `dms bench` measures: prompt processing of
N random tokens and generation of M tokens one at a time, each after D tokens already in the
cache, repeated; prints one JSON object with the medians. A benchmark peer only, never a product
dependency."""
import argparse
import json
import random
import statistics
import time

from llama_cpp import Llama


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--prompt-tokens", type=int, default=512)
    p.add_argument("--gen-tokens", type=int, default=128)
    p.add_argument("--depth", type=int, default=0)
    p.add_argument("--repetitions", type=int, default=3)
    a = p.parse_args()

    n_ctx = a.depth + max(a.prompt_tokens, a.gen_tokens) + 8
    llm = Llama(model_path=a.model, n_ctx=n_ctx, n_threads=a.threads, n_threads_batch=a.threads,
                n_batch=512, n_ubatch=512, verbose=False)
    rng = random.Random(42)
    vocab = llm.n_vocab()

    def tokens(n):
        return [rng.randrange(vocab) for _ in range(n)]

    def fill(n):
        llm.reset()
        llm._ctx.kv_cache_clear() if hasattr(llm._ctx, "kv_cache_clear") else None
        if n:
            llm.eval(tokens(n))

    pp, tg = [], []
    for _ in range(a.repetitions):
        if a.prompt_tokens:
            fill(a.depth)
            prompt = tokens(a.prompt_tokens)
            start = time.perf_counter()
            llm.eval(prompt)
            pp.append(a.prompt_tokens / (time.perf_counter() - start))
        if a.gen_tokens:
            fill(a.depth)
            token = tokens(1)[0]
            start = time.perf_counter()
            for _ in range(a.gen_tokens):
                llm.eval([token])
            tg.append(a.gen_tokens / (time.perf_counter() - start))
    print(json.dumps({
        "peer": "llama.cpp (llama-cpp-python)",
        "prefill_tokens_per_s": statistics.median(pp) if pp else None,
        "decode_tokens_per_s": statistics.median(tg) if tg else None,
        "prefill_runs": pp, "decode_runs": tg,
    }))


if __name__ == "__main__":
    main()
