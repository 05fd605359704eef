"""The fault suite's fast subset, in ``make test``: real ``tubeq consume`` processes and
servers, the same harness and goals as ``make faults`` (``python -m tests.faults.run``).

- SIGKILLs of two consumers over 40 videos (calls cut mid-call counted apart);
- PostgreSQL (the result store) stopped for 10 s under two running consumers;
- a refused key (pre-flight and mid-run) through three restarts, then fixed;
- a short storm of 429s.

Each goal is asserted: nothing lost, nothing duplicated, nothing dead-lettered, one paid
call per video except for calls a kill cut, and the spend ledger equal to the stub's bill.
The four cases run in two parallel lanes, about 40 s in all.
"""

from __future__ import annotations

import os
import shutil
import sys

import pytest

from tests.faults import run
from tests.faults.harness import CaseResult, markdown_table
from tests.support.postgres import find_pg_bin
from tests.support.services import unavailable

pytestmark = [
    pytest.mark.slow,
    pytest.mark.services,
    pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to tell mid-call kills"),
]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CaseResult]:
    if find_pg_bin() is None:
        unavailable("PostgreSQL server binaries not found (make services)")
    if os.geteuid() == 0 and not shutil.which("runuser") and not shutil.which("setpriv"):
        unavailable("running as root without runuser/setpriv: cannot start PostgreSQL")
    work = tmp_path_factory.mktemp("faults")
    out = run.run(quick=True, work=work)
    print("\n" + markdown_table(out))
    return {r.case: r for r in out}


def _by_prefix(results: dict[str, CaseResult], prefix: str) -> CaseResult:
    (found,) = [r for name, r in results.items() if name.startswith(prefix)]
    return found


CASES = ["SIGKILL", "bad key", "PostgreSQL down", "429 storm"]


@pytest.mark.timeout(240)
@pytest.mark.parametrize("case", CASES)
def test_every_goal_holds(results: dict[str, CaseResult], case: str) -> None:
    r = _by_prefix(results, case)
    assert r.videos > 0, r.problems
    assert r.lost == 0, r.problems
    assert r.duplicated == 0, r.problems
    assert r.dead == 0, r.problems
    assert r.excess_paid == 0, r.problems  # one paid call per video, plus only cut calls
    assert r.spend_ok, r.problems  # the ledger has every billed call a kill did not cut
    assert r.problems == []


@pytest.mark.timeout(240)
def test_the_kills_really_happened(results: dict[str, CaseResult]) -> None:
    r = _by_prefix(results, "SIGKILL")
    assert r.faults.split()[0].isdigit() and int(r.faults.split()[0]) >= 3
    assert r.paid_calls >= r.videos
