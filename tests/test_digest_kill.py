"""``papersift digest send`` killed with SIGKILL at random points, then run again: every due
digest arrives exactly once at the SMTP server (benchmarks/digest_kill.py does the work)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO / "src"), str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, str(REPO / "benchmarks" / "digest_kill.py"), *args],
                          capture_output=True, text=True, env=env, check=False, timeout=1800)


@pytest.mark.slow
def test_three_killed_senders_deliver_every_digest_exactly_once(arxiv_sample: Path) -> None:
    done = harness("--trials", "3", "--subscribers", "20", "--seed", "3")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 of 3 trials: every due digest delivered exactly once" in done.stdout


@pytest.mark.slow
def test_ten_killed_senders_deliver_every_digest_exactly_once(arxiv_sample: Path) -> None:
    done = harness("--trials", "10")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "10 of 10 trials: every due digest delivered exactly once" in done.stdout
