"""Property-based fuzzing of the four readers of untrusted files: the image archive reader, the recording decoder
(the recording file and the value codec), the kit reader and the Dockerfile parser.

Each target runs in a child process limited to 1 GiB of address space and 120 s (fuzz_harness.py); inside it,
Hypothesis is derandomized with a fixed number of examples, so every run tries the same inputs. A target passes
when every input ends in a return or one of the workbook's errors, every kind of hostile input was tried, and
the reader refused them with at least three distinct kinds of error (the Dockerfile parser raises none: it reads
any text)."""

from __future__ import annotations

import pytest
from fuzz_harness import FuzzFailure, run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.mark.parametrize(
    ("target", "examples", "inputs", "min_errors"),
    [
        pytest.param(
            "archive",
            120,
            {"pax", "truncated", "damaged", "bomb", "manifest", "config", "index", "size", "whole"},
            3,
            id="archive",
        ),
        pytest.param(
            "recording",
            120,
            {"document", "shape", "truncated", "damaged", "not-gzip", "deep", "bomb"},
            3,
            id="recording",
        ),
        pytest.param("codec", 120, {"known tag, any shape", "foreign tag", "deep"}, 3, id="codec"),
        pytest.param("kit", 150, {"manifest", "field", "deep", "truncated", "damaged", "not-tar", "bomb"}, 3, id="kit"),
        pytest.param(
            "dockerfile",
            120,
            {"text", "lines", "exec-form", "continuations"},
            0,
            id="dockerfile",
        ),
    ],
)
def test_reader_returns_or_raises_a_workbook_error(
    target: str, examples: int, inputs: set[str], min_errors: int
) -> None:
    result = run(target, examples)
    assert set(result.inputs) == inputs, f"every kind of hostile input was tried: {result.inputs}"
    assert sum(result.inputs.values()) >= examples, "the fixed number of examples ran"
    assert len(result.errors) >= min_errors, f"at least {min_errors} kinds of refusal: {result.errors}"


def test_harness_fails_a_target_that_hangs() -> None:
    with pytest.raises(FuzzFailure, match="ran past 3 s"):
        run("harness-check-hang", 1, time_limit=3)


def test_harness_fails_a_target_that_exceeds_the_memory_limit() -> None:
    with pytest.raises(FuzzFailure, match="MemoryError"):
        run("harness-check-memory", 1)
