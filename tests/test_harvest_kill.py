"""``papersift harvest arxiv`` killed with SIGKILL at a random page, then run again, ends
with exactly what an uninterrupted run leaves (benchmarks/harvest_kill.py does the work)."""

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
    return subprocess.run([sys.executable, str(REPO / "benchmarks" / "harvest_kill.py"), *args],
                          capture_output=True, text=True, env=env, check=False, timeout=1800)


def test_one_killed_harvest_resumes_exactly(arxiv_sample: Path) -> None:
    done = harness("--trials", "1", "--records", "300", "--base", "50", "--page-size", "30")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "| yes | 503@" in done.stdout and "1 of 1 trials end with exactly" in done.stdout


@pytest.mark.slow
def test_ten_killed_harvests_of_5000_records_resume_exactly(arxiv_sample: Path) -> None:
    done = harness("--trials", "10")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "10 of 10 trials end with exactly" in done.stdout
