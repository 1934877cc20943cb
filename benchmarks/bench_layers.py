"""Speed of the reference recurrent layers, compared with this machine's matmul peak.

Measures float64 matmul GFLOP/s on a large square product (best of several), then times one
forward + backward call of the RNN, LSTM and GRU sequence functions on two shapes and prints
ms per call, the achieved GFLOP/s and its share of the measured peak.

The FLOPs counted are those of the matmuls, analytically: with G fused gates (1, 4, 3) a
forward does ``2NT*D*GH`` (input projection) + ``2NT*H*GH`` (recurrence), and the backward
twice that (``dx`` and ``dWx``; ``dh_{t-1}`` and ``dWh``), so ``6*N*T*G*H*(D+H)`` in all.
Elementwise work is not counted: it is what the implementation has to hide.

OpenBLAS reads ``OPENBLAS_CORETYPE`` (force a CPU kernel) and ``OPENBLAS_L2_SIZE`` when it
loads; if either is set the script reports them and re-executes itself without them, so that
the figures are those of the kernel OpenBLAS picks for this CPU. ``--keep-env`` measures with
the environment as it is. ``--threads K`` re-executes with ``OPENBLAS_NUM_THREADS=K`` (the
peak and the layers then use the same K threads; on a machine shared with other jobs, one
thread gives steadier figures). Usage:
``python benchmarks/bench_layers.py [--keep-env] [--threads K] [--repeat R]``.
"""

import argparse
import os
import sys
import time

OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_REEXEC_MARK = "RNNREF_BENCH_REEXEC"


def _reexec_if_needed(argv, keep_env, threads):
    """Restart this script without the OpenBLAS overrides, and with ``threads`` BLAS threads
    if asked: OpenBLAS reads these variables when it loads, so they cannot be changed inside
    a running process. Returns the overrides found in the original environment."""
    found = {k: os.environ[k] for k in OPENBLAS_VARS if k in os.environ}
    if os.environ.get(_REEXEC_MARK) is not None:
        return found
    drop = () if keep_env else tuple(found)
    want_threads = threads is not None and os.environ.get("OPENBLAS_NUM_THREADS") != str(threads)
    if not drop and not want_threads:
        return found
    if drop:
        print(f"found {found}: re-running without them (pass --keep-env to keep them)")
    env = {k: val for k, val in os.environ.items() if k not in drop}
    if want_threads:
        env["OPENBLAS_NUM_THREADS"] = str(threads)
    env[_REEXEC_MARK] = ";".join(f"{k}={os.environ[k]}" for k in drop)
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *argv], env)


def best_time(fn, repeat):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def matmul_peak(np, n=2048, repeat=7):
    """Best float64 GFLOP/s of an ``n x n`` by ``n x n`` product."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    out = np.empty((n, n))
    np.matmul(a, b, out=out)  # warm up threads and caches
    return 2 * n**3 / best_time(lambda: np.matmul(a, b, out=out), repeat) / 1e9


def blas_report():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed: BLAS kernel not reported"
    rows = [
        f"{i.get('internal_api')} {i.get('version')} arch={i.get('architecture')} "
        f"threads={i.get('num_threads')}"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]
    return "; ".join(rows) or "no BLAS found by threadpoolctl"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep-env", action="store_true", help="keep OPENBLAS_* variables")
    parser.add_argument("--threads", type=int, default=None, help="OpenBLAS threads")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per case (best)")
    args = parser.parse_args(argv)
    found = _reexec_if_needed(argv, args.keep_env, args.threads)

    import numpy as np

    from rnnref.gru import gru_backward, gru_forward
    from rnnref.lstm import lstm_backward, lstm_forward
    from rnnref.rnn import rnn_backward, rnn_forward

    removed = os.environ.get(_REEXEC_MARK)
    if removed:
        print(f"OpenBLAS overrides removed for this run: {removed}")
    elif found:
        print(f"OpenBLAS overrides kept (--keep-env): {found}")
    else:
        print("no OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE set")
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"numpy {np.__version__}; {blas_report()}; {os.cpu_count()} CPUs; BLAS threads {threads}")
    # Other processes competing for the cores make every figure below worse; say so.
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    peak = matmul_peak(np)
    print(f"float64 matmul peak (2048^3, best of 7): {peak:.1f} GFLOP/s\n")

    cells = {
        "RNN": (rnn_forward, rnn_backward, 1),
        "LSTM": (lstm_forward, lstm_backward, 4),
        "GRU": (gru_forward, gru_backward, 3),
    }
    shapes = [(64, 50, 64, 128), (32, 100, 128, 256)]
    header = (
        f"{'cell':<5} {'N':>3} {'T':>4} {'D':>4} {'H':>4} "
        f"{'ms/call':>9} {'GFLOP/s':>8} {'% peak':>7}"
    )
    print(header)
    print("-" * len(header))
    for N, T, D, H in shapes:
        rng = np.random.default_rng(0)
        x = rng.standard_normal((N, T, D))
        h0 = rng.standard_normal((N, H)) * 0.1
        dh = rng.standard_normal((N, T, H))
        for name, (forward, backward, G) in cells.items():
            Wx = rng.standard_normal((D, G * H)) / np.sqrt(D)
            Wh = rng.standard_normal((H, G * H)) / np.sqrt(H)
            b = np.zeros(G * H)

            def call(fwd=forward, bwd=backward, args=(x, h0, Wx, Wh, b), dh=dh):
                _, cache = fwd(*args)
                bwd(dh, cache)

            call()
            seconds = best_time(call, args.repeat)
            gflops = 6 * N * T * G * H * (D + H) / seconds / 1e9
            print(
                f"{name:<5} {N:>3} {T:>4} {D:>4} {H:>4} {seconds * 1e3:>9.1f} {gflops:>8.1f} "
                f"{100 * gflops / peak:>6.0f}%"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
