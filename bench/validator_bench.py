"""Throughput of validate_request against jsonschema's Draft 2020-12 validator.

    python bench/validator_bench.py [--bodies 2000] [--repeat 5]

The corpus is half valid bodies of every model family and half bodies that each break one
request rule (every rule in turn), drawn with the suite's own strategies under a fixed
seed. Three figures per run, bodies per second, best of --repeat passes:

- ours: validate_request, schema and every rule, all violations collected;
- ours, memo off: the same with the memo of pure rule answers disabled;
- jsonschema: iter_errors of schemas/create-image-request.schema.json, all errors
  collected (and is_valid, which stops at the first error, for reference).

Target: ours at least 5x jsonschema's iter_errors.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import validator._validate as impl
from conformance_tests.strategies import BREAKABLE_RULES, breaking_requests, valid_requests
from validator import Profile, validate_request
from validator._schemas import schema_validator


def _draw(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    bodies: list[Any] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(strategy)
    def collect(body: Any) -> None:
        bodies.append(body)

    collect()
    return bodies[:count]


def corpus(size: int) -> list[Any]:
    """Half valid bodies (every family), half invalid (each request rule in turn)."""
    valid = _draw(valid_requests(), size // 2)
    per_rule = max(1, (size - len(valid)) // len(BREAKABLE_RULES))
    invalid = [b for rule in BREAKABLE_RULES for b in _draw(breaking_requests(rule), per_rule)]
    mixed = [body for pair in zip(valid, invalid, strict=False) for body in pair]
    return mixed + valid[len(invalid) :] + invalid[len(valid) :]


def best_rate(fn: Callable[[Any], Any], bodies: list[Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for body in bodies:
            fn(body)
        best = min(best, time.perf_counter() - start)
    return len(bodies) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    bodies = corpus(args.bodies)
    valid = sum(1 for b in bodies if not validate_request(b))
    schema = schema_validator("request")
    profile = Profile()

    ours = best_rate(lambda b: validate_request(b, profile=profile), bodies, args.repeat)
    limit = impl._MEMO_LIMIT
    impl._MEMO_LIMIT = 0  # every new answer clears the memo first: effectively no memo
    try:
        cold_profile = Profile()  # an empty memo that can never hold more than one answer
        cold = best_rate(lambda b: validate_request(b, profile=cold_profile), bodies, args.repeat)
    finally:
        impl._MEMO_LIMIT = limit
    js_all = best_rate(lambda b: list(schema.iter_errors(b)), bodies, args.repeat)
    js_first = best_rate(schema.is_valid, bodies, args.repeat)

    print(f"corpus: {len(bodies)} bodies ({valid} valid, {len(bodies) - valid} invalid)")
    print(f"{'validator':42} {'bodies/s':>12} {'vs iter_errors':>15}")
    for name, rate in (
        ("ours: schema + every rule, all violations", ours),
        ("ours, memo off", cold),
        ("jsonschema iter_errors (all errors)", js_all),
        ("jsonschema is_valid (first error)", js_first),
    ):
        print(f"{name:42} {rate:12,.0f} {rate / js_all:14.1f}x")

    nested: list[Any] = []
    for _ in range(100_000):
        nested = [nested]
    print("\nbad input (one call each, milliseconds):")
    for name, body in (
        ("1 MB prompt", {"prompt": "x" * 1_000_000, "model": "dall-e-2"}),
        ("value nested 100,000 deep", {"prompt": "x", "user": nested, "n": nested}),
        ("10,000 unknown keys", {"prompt": "x", **{f"k{i}": i for i in range(10_000)}}),
    ):
        start = time.perf_counter()
        found = validate_request(body)
        elapsed = (time.perf_counter() - start) * 1000
        print(f"  {name:28} {elapsed:8.2f} ms  ({len(found)} violations)")


if __name__ == "__main__":
    main()
