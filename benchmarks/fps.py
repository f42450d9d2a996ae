"""Farthest-point sampling time: ionnp's exact FPS against scikit-matter's, same data, same run.

Picks 1000 points from 10⁵ × 100 and 10⁶ × 100 random features (float64), one thread for
both, and checks that both return the same selection (same first point given to skmatter).
Usage: python benchmarks/fps.py [--sizes 100000 1000000] [--picks 1000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from ionnp.distill.fps import farthest_point_sampling


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--picks", type=int, default=1000)
    parser.add_argument("--features", type=int, default=100)
    args = parser.parse_args()
    try:
        from skmatter.sample_selection import FPS
    except ImportError:
        FPS = None
        print("scikit-matter is not installed: only ionnp's FPS is timed")
    print(f"{'pool':>9} | {'ionnp (s)':>9} | {'skmatter (s)':>12} | {'skmatter/ionnp':>14} | same picks")
    print("-" * 68)
    rng = np.random.default_rng(0)
    with threadpool_limits(1):
        for size in args.sizes:
            x = rng.normal(size=(size, args.features))
            start = time.perf_counter()
            ours = farthest_point_sampling(x, args.picks).indices
            t_ours = time.perf_counter() - start
            if FPS is None:
                print(f"{size:>9} | {t_ours:>9.2f} | {'-':>12} | {'-':>14} | -")
                continue
            selector = FPS(n_to_select=args.picks, initialize=int(ours[0]))
            start = time.perf_counter()
            selector.fit(x)
            t_theirs = time.perf_counter() - start
            same = np.array_equal(selector.selected_idx_, ours)
            print(f"{size:>9} | {t_ours:>9.2f} | {t_theirs:>12.2f} | {t_theirs / t_ours:>14.2f} | {same}")
    print(f"\n{args.picks} picks, {args.features} features, float64, one thread each.")


if __name__ == "__main__":
    main()
