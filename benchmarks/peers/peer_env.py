"""What the PyTorch peers share: giving torch its best environment, and timing.

pin_threads(threads) must run before torch is imported. OMP/OpenBLAS/MKL
thread counts and glibc's MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_ (large
thresholds stop page faults from eating half of a batch-16 step) are read
when the process starts, so when they are not already set the script
re-executes itself once with them in its environment.
"""
import os
import sys
import time


def add_common_args(parser, min_time):
    """The options every peer takes: --threads, --min-time (seconds of timed
    calls per case, split over --rounds rounds) and --json."""
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--min-time", type=float, default=min_time, help="seconds of timed calls per case")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", help="also write results here")


def pin_threads(threads):
    env = {"OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "MALLOC_MMAP_THRESHOLD_": str(1 << 30),
           "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}
    if any(os.environ.get(k) != v for k, v in env.items()):
        os.environ.update(env)
        os.execv(sys.executable, [sys.executable] + sys.argv)


def time_ms(fn, rounds, min_time, warmup=2):
    """(wall, cpu) ms per call: medians over `rounds` rounds of at least
    min_time / rounds seconds each (at least one call per round)."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(rounds):
        n, t0, c0 = 0, time.perf_counter(), time.process_time()
        while True:
            fn()
            n += 1
            el = time.perf_counter() - t0
            if el >= min_time / rounds:
                break
        wall.append(el / n * 1e3)
        cpu.append((time.process_time() - c0) / n * 1e3)
    wall.sort()
    cpu.sort()
    return wall[len(wall) // 2], cpu[len(cpu) // 2]
