"""Autograding speed: seconds per submitted notebook and the speed-up of parallel workers.

Builds a class in a temporary folder (``--students`` students x the first ``--lessons``
lessons of ``solutions/``; every submission is the lesson's solution, as a student would hand
it in), then grades it with ``python -m autograder autograde`` twice: with 1 worker, then
again (``--force``) with ``--workers`` workers. Prints the median seconds per notebook inside
the grading child (kernel start, nbgrader, the out-of-kernel judge), the wall-clock seconds
per notebook of each run, the CPU each run used (all its processes: a 1-worker run that keeps
more than one core busy bounds the speed-up of 2 workers below 2x), and the speed-up.
``--toy`` uses the two tiny fixture assignments of ``autograder/fixtures.py`` instead (the
grader's own overhead, without lesson content).

    python benchmarks/bench_autograde.py                  # 40 students x 2 lessons
    python benchmarks/bench_autograde.py --students 10 --toy
    python benchmarks/bench_autograde.py --sandbox-overhead   # with and without bwrap

``--scheduler`` grades the same class on a Dask cluster started here (a scheduler and 1, then
2 one-thread workers on 127.0.0.1) after a local 1-worker run, and prints the per-notebook
overhead of the distributed path (wall seconds per notebook on 1 Dask worker minus on 1 local
worker; the goal is under 0.05 s), the speed-up of 2 Dask workers over 1, and a projection of
a 1,000 x 8 class on 16, 64 and 256 cores from the measured cost per notebook (key
``"cluster"`` of the JSON file).

``--sandbox-overhead`` grades the same class with ``--sandbox none`` and with the bubblewrap
sandbox instead, alternately (none, bwrap, none, bwrap: the machine's load drifts), and prints
the seconds per notebook of each and the difference (see :func:`sandbox_overhead`), stored
under the key ``"sandbox"`` of the JSON file.

It also writes the figures as JSON (``--json PATH``, default ``benchmarks/results/
autograde.json``, committed: the instructor guide's speed table is generated from it). The
file is one dict: ``"class"``, ``"machine"``, ``"runs"`` (one entry per worker count) and
``"speedup"``; other benchmarks of the grader may add keys of their own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "autograde.json"
sys.path.insert(0, str(REPO))

from autograder import fixtures as fx  # noqa: E402


def cli(env, *args):
    proc = subprocess.run(
        [sys.executable, "-m", "autograder", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{args} failed:\n{proc.stdout}\n{proc.stderr[-3000:]}")
    return proc.stdout


def _children_cpu() -> float:
    """CPU seconds (user + system) of every finished child process and their children."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def per_notebook(db: Path) -> tuple[list[float], list[float], list[float]]:
    """Seconds per notebook in its grading child: total, nbgrader's part, the judge's part."""
    with sqlite3.connect(db) as c:
        rows = c.execute("select seconds, phases from rnn_autograde").fetchall()
    phases = [json.loads(p or "{}") for _, p in rows]
    return (
        [r[0] for r in rows],
        [p.get("nbgrader", 0.0) for p in phases],
        [p.get("judge", 0.0) for p in phases],
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--students", type=int, default=40)
    p.add_argument("--lessons", type=int, default=2)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--toy", action="store_true", help="the fixture assignments, not the lessons")
    p.add_argument(
        "--json", type=Path, default=RESULTS, help=f"figures as JSON (default {RESULTS})"
    )
    p.add_argument(
        "--sandbox-overhead", action="store_true", help="with and without the sandbox instead"
    )
    p.add_argument(
        "--scheduler", action="store_true", help="the local pool against a Dask cluster instead"
    )
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-autograde-") as tmpd:
        tmp = Path(tmpd)
        env = dict(os.environ, RNN_COURSE_DIR=str(tmp / "course"), RNN_RELEASE_DIR=str(tmp / "rel"))
        env.pop("RNN_GRADEBOOK_URL", None)
        if args.toy:
            src = fx.toy_source(tmp / "src")
            env["RNN_SOURCE_DIR"] = str(src)
        else:
            src = REPO / "solutions"
            env["RNN_SOURCE_DIR"] = str(src)
        lessons = sorted(
            d.name for d in src.iterdir() if d.is_dir() and (d / f"{d.name}.ipynb").exists()
        )[: args.lessons]
        if not lessons:
            raise SystemExit(f"no lessons in {src}")
        cli(env, "release", *lessons)
        for lesson in lessons:
            sol = fx.as_submission(fx.read(src / lesson / f"{lesson}.ipynb"))
            for i in range(args.students):
                fx.write(sol, tmp / "dl" / f"s{i:03d}" / f"{lesson}.ipynb")
        cli(env, "collect", str(tmp / "dl"))
        n = args.students * len(lessons)
        print(f"class: {args.students} students x {len(lessons)} lessons ({', '.join(lessons)})")
        if args.scheduler:
            figures = cluster_overhead(env, tmp, n)
            figures["class"] = f"{args.students} students x {len(lessons)} lessons"
            write_json(args.json, {"cluster": figures})
            return
        if args.sandbox_overhead:
            figures = sandbox_overhead(env, tmp / "course" / "gradebook.db", n, args.workers)
            figures["class"] = f"{args.students} students x {len(lessons)} lessons"
            figures["students"], figures["notebooks"] = args.students, n
            write_json(args.json, {"sandbox": figures})
            return
        walls = {}
        medians = {}
        runs = {}
        for workers, extra in ((1, []), (args.workers, ["--force"])):
            t0, cpu0 = time.monotonic(), _children_cpu()
            cli(env, "autograde", "--workers", str(workers), "--no-progress", *extra)
            walls[workers] = time.monotonic() - t0
            cpu = _children_cpu() - cpu0
            total, nbg, judge = per_notebook(tmp / "course" / "gradebook.db")
            medians[workers] = statistics.median(total)
            runs[str(workers)] = {
                "workers": workers,
                "wall_seconds": walls[workers],
                "wall_seconds_per_notebook": walls[workers] / n,
                "median_seconds_per_notebook": medians[workers],
                "median_nbgrader_seconds": statistics.median(nbg),
                "median_judge_seconds": statistics.median(judge),
                "cpu_seconds": cpu,
                "cores_busy": cpu / walls[workers],
            }
            print(
                f"{workers} worker(s): {walls[workers]:.1f} s for {n} notebooks = "
                f"{walls[workers] / n:.2f} s per notebook (wall); median {medians[workers]:.2f} s "
                f"per notebook in its grading process (nbgrader {statistics.median(nbg):.2f} s, "
                f"judge {statistics.median(judge):.2f} s); CPU {cpu:.0f} s = "
                f"{cpu / walls[workers]:.2f} cores busy on average"
            )
        table = cli(env, "grades")
        assert "mean" in table
        speedup = walls[1] / walls[args.workers]
        load = os.getloadavg()[0]
        print(
            f"speed-up with {args.workers} workers: {speedup:.2f}x "
            f"(on {os.cpu_count()} cores, load average {load:.1f})"
        )
        write_json(
            args.json,
            {
                "class": {
                    "students": args.students,
                    "lessons": lessons,
                    "notebooks": n,
                    "toy": args.toy,
                },
                "machine": {"cores": os.cpu_count(), "load_average_1min": load},
                "runs": runs,
                "speedup": speedup,
            },
        )


def write_json(path: Path, figures: dict) -> None:
    """Store ``figures`` at ``path``, keeping the keys other benchmarks stored there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stored = json.loads(path.read_text()) if path.is_file() else {}
    stored.update(figures)
    path.write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n")
    print(f"figures written to {path}")


def _timed(env, *args) -> float:
    t0 = time.monotonic()
    cli(env, "autograde", "--no-progress", "--force", *args)
    return time.monotonic() - t0


def cluster_overhead(env: dict, tmp: Path, n: int) -> dict:
    """Wall seconds per notebook: 1 local worker, then 1 and 2 Dask workers (see the module
    docstring); the overhead, the speed-up and the projection."""
    sys.path.insert(0, str(REPO / "tests"))
    from test_cluster import dask_cluster

    local = _timed(env, "--workers", "1") / n
    per_workers = {}
    for workers in (1, 2):
        with dask_cluster(tmp / f"dask{workers}", workers) as (address, _):
            per_workers[workers] = _timed(env, "--scheduler", address) / n
    overhead = per_workers[1] - local
    speedup = per_workers[1] / per_workers[2]
    print(
        f"local pool, 1 worker: {local:.3f} s per notebook; Dask, 1 worker: "
        f"{per_workers[1]:.3f} s; overhead {overhead * 1000:+.0f} ms per notebook "
        f"(goal: under 50 ms); Dask, 2 workers: {per_workers[2]:.3f} s per notebook, "
        f"speed-up {speedup:.2f}x (load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores)"
    )
    projection = {}
    for cores in (16, 64, 256):
        minutes = 8000 * per_workers[1] / cores / 60
        projection[str(cores)] = minutes
        print(f"1,000 students x 8 lessons on {cores} cores: about {minutes:.0f} min")
    return {
        "local_seconds_per_notebook": local,
        "dask_seconds_per_notebook": per_workers,
        "overhead_seconds_per_notebook": overhead,
        "speedup_2_over_1": speedup,
        "projection_minutes_1000x8": projection,
        "load_average": os.getloadavg()[0],
    }


def sandbox_overhead(env: dict, db: Path, n: int, workers: int, rounds: int = 2) -> dict:
    """Seconds per notebook with ``--sandbox none`` and with bwrap, ``rounds`` times each,
    alternating; prints each run and the medians' difference (the goal: <= 0.15 s) and
    returns the medians (``{"none"|"bwrap": {"wall", "in_process"}}``, ``"overhead_*"``)."""
    runs: dict[str, list[tuple[float, float]]] = {"none": [], "bwrap": []}
    for _ in range(rounds):
        for mode in ("none", "bwrap"):
            t0 = time.monotonic()
            cli(env, "autograde", "--workers", str(workers), "--no-progress", "--force",
                "--sandbox", mode)  # fmt: skip
            wall = (time.monotonic() - t0) / n
            inside = statistics.median(per_notebook(db)[0])
            runs[mode].append((wall, inside))
            print(
                f"sandbox {mode:5s}: {wall:.2f} s per notebook (wall, {workers} workers); "
                f"median {inside:.2f} s per notebook in its grading process"
            )
    med = {m: [statistics.median(x[i] for x in r) for i in (0, 1)] for m, r in runs.items()}
    print(
        f"sandbox overhead per notebook: {med['bwrap'][1] - med['none'][1]:+.3f} s in the grading "
        f"process ({med['none'][1]:.2f} -> {med['bwrap'][1]:.2f} s), "
        f"{med['bwrap'][0] - med['none'][0]:+.3f} s wall ({med['none'][0]:.2f} -> "
        f"{med['bwrap'][0]:.2f} s); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    return {
        **{m: {"wall": w, "in_process": i} for m, (w, i) in med.items()},
        "overhead_in_process": med["bwrap"][1] - med["none"][1],
        "overhead_wall": med["bwrap"][0] - med["none"][0],
        "workers": workers,
        "load_average": os.getloadavg()[0],
    }


if __name__ == "__main__":
    main()
