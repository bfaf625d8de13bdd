"""Mutation score of the modules where a silent break costs money, keys or API calls (``make mutate``).

Each ``mutation/modules/<name>.toml`` maps one module to its fast test files and lists the survivors
accepted as having no observable effect. Per module this copies the package and the tests into
``.mutation-work/<name>/`` (the work tree is never mutated in place), runs mutmut there with one worker,
and prints killed/total and the score with and without the accepted survivors. A survivor is named by
its function and its changed line (``original -> mutated``, stripped), not by mutmut's per-function
number, so an entry keeps matching when code above it moves.

    python mutation/run.py                 # every module
    python mutation/run.py polling retry   # some
    python mutation/run.py --list          # the modules and their test files

Exit status 1 when a module scores under its ``min_score`` (after leaving out accepted survivors), or when
an accepted survivor no longer exists (then its entry is stale: delete it).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = Path(__file__).resolve().parent / "modules"
WORK = ROOT / ".mutation-work"
PACKAGE = "airflow_provider_vidjobs"

#: mutmut's exit codes (``mutmut.stats.status_by_exit_code``) folded into what the score needs.
KILLED_CODES = {1, 3, 36, 37, -24, 24, 152, 255, -11, -9}  # failed, errored, timed out, crashed
SKIPPED_CODES = {34}


@dataclass
class Mutant:
    name: str
    function: str
    original: str
    mutated: str

    def describe(self) -> str:
        return f"{self.function}: {self.original!r} -> {self.mutated!r}"


@dataclass
class Result:
    module: str
    total: int = 0
    killed: int = 0
    survivors: list[Mutant] = field(default_factory=list)
    accepted: list[Mutant] = field(default_factory=list)
    stale: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    min_score: float = 0.0

    @property
    def score(self) -> float:
        return 100.0 * self.killed / self.total if self.total else 100.0

    @property
    def score_without_accepted(self) -> float:
        counted = self.total - len(self.accepted)
        return 100.0 * self.killed / counted if counted else 100.0


def load(name: str) -> dict:
    return tomllib.loads((MODULES / f"{name}.toml").read_text())


def prepare(name: str, config: dict) -> Path:
    """A fresh copy of the package and tests with a ``setup.cfg`` that points mutmut at one module."""
    work = WORK / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "e2e")
    shutil.copytree(ROOT / PACKAGE, work / PACKAGE, ignore=ignore)
    shutil.copytree(ROOT / "tests", work / "tests", ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", work / "pyproject.toml")
    lines = [
        "[mutmut]",
        f"source_paths = {PACKAGE}",
        f"only_mutate = {config['source']}",
        "pytest_add_cli_args_test_selection =",
        *(f"    {test}" for test in config["tests"]),
        "pytest_add_cli_args =",
        "    -p",
        "    no:cacheprovider",
        "    -x",
        # A mutant's time limit: (the tests' own time + timeout_constant) * timeout_multiplier.
        f"timeout_multiplier = {config.get('timeout_multiplier', 3.0)}",
        f"timeout_constant = {config.get('timeout_constant', 2.0)}",
        # A fresh process per mutant, forked from one that only imported and collected the tests: the
        # stats run leaves the simulator's server threads behind, which a child of it would not have.
        "process_isolation = forkserver",
        "use_git_change_detection = false",
        "track_dependencies = false",
    ]
    (work / "setup.cfg").write_text("\n".join(lines) + "\n")
    return work


def function_of(mutant_name: str) -> str:
    """``airflow_provider_vidjobs.polling.xǁPollPlannerǁnext_delay__mutmut_3`` -> ``PollPlanner.next_delay``."""
    mangled = mutant_name.rsplit("__mutmut_", 1)[0].rsplit(".", 1)[-1]
    if mangled.startswith("xǁ"):
        return ".".join(part for part in mangled.split("ǁ")[1:] if part)
    return mangled.removeprefix("x_")


def diff_of(work: Path, mutmut: Path, mutant_name: str) -> tuple[str, str]:
    """The changed line of a mutant, before and after (stripped; several lines joined with `` | ``)."""
    shown = subprocess.run(
        [str(mutmut), "show", mutant_name], cwd=work, capture_output=True, text=True, check=True
    ).stdout
    removed = [line[1:].strip() for line in shown.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line[1:].strip() for line in shown.splitlines() if line.startswith("+") and not line.startswith("+++")]
    return " | ".join(removed), " | ".join(added)


def run_module(name: str, mutmut: Path, verbose: bool) -> Result:
    config = load(name)
    work = prepare(name, config)
    started = time.monotonic()
    log = work / "mutmut.log"
    with log.open("w") as out:
        subprocess.run([str(mutmut), "run", "--max-children", "1"], cwd=work, stdout=out, stderr=subprocess.STDOUT)
    result = Result(name, seconds=time.monotonic() - started, min_score=float(config.get("min_score", 90)))
    meta = work / "mutants" / (config["source"] + ".meta")
    if not meta.exists():
        sys.exit(f"{name}: mutmut produced no results; see {log}")
    codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
    accepted = {(e["function"], e["original"], e["mutated"]): e for e in config.get("no_effect", [])}
    matched: set[tuple[str, str, str]] = set()
    for mutant_name, code in sorted(codes.items()):
        if code in SKIPPED_CODES:
            continue
        if code is None:
            sys.exit(f"{name}: mutant {mutant_name} was not checked (interrupted?); see {log}")
        result.total += 1
        if code in KILLED_CODES:
            result.killed += 1
            continue
        mutant = Mutant(mutant_name, function_of(mutant_name), *diff_of(work, mutmut, mutant_name))
        key = (mutant.function, mutant.original, mutant.mutated)
        if key in accepted:
            matched.add(key)
            result.accepted.append(mutant)
        else:
            result.survivors.append(mutant)
    result.stale = [entry for key, entry in accepted.items() if key not in matched]
    return result


def report(result: Result, verbose: bool) -> None:
    print(
        f"{result.module:12} killed {result.killed}/{result.total} = {result.score:5.1f}%   "
        f"without {len(result.accepted)} accepted no-effect survivors: {result.score_without_accepted:5.1f}%   "
        f"({result.seconds:.0f} s)"
    )
    for mutant in result.survivors:
        print(f"    survived  {mutant.describe()}    [{mutant.name}]")
    if verbose:
        for mutant in result.accepted:
            print(f"    accepted  {mutant.describe()}")
    for entry in result.stale:
        print(
            f"    STALE no-effect entry (no such survivor now; delete it): {entry['function']}: {entry['original']!r}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help="module names (files in mutation/modules/); default all")
    parser.add_argument("--list", action="store_true", help="print the modules and their test files")
    parser.add_argument("-v", "--verbose", action="store_true", help="also print the accepted survivors")
    args = parser.parse_args()
    names = args.modules or sorted(path.stem for path in MODULES.glob("*.toml"))
    if args.list:
        for name in names:
            config = load(name)
            print(f"{name:12} {config['source']}  <-  {' '.join(config['tests'])}")
        return 0
    mutmut = Path(sys.executable).parent / "mutmut"
    if not mutmut.exists():
        sys.exit(f"mutmut is not installed beside {sys.executable}: run `make mutate`")
    failed = False
    for name in names:
        result = run_module(name, mutmut, args.verbose)
        report(result, args.verbose)
        failed |= result.score_without_accepted < result.min_score or bool(result.stale)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
