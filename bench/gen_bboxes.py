#!/usr/bin/env python3
"""Seeded list of query bboxes centred on data points, shared by every tool in the bench.

Reads the points CSV written by gen_points.py (lon,lat first), picks COUNT rows at random
(seeded), and around each writes a box whose width and height are drawn log-uniformly in
[MIN, MAX] degrees (default 0.05-0.5). One `minx,miny,maxx,maxy` per line, 6 decimals.

    gen_bboxes.py POINTS.csv OUT.txt [--count 1000] [--seed 7] [--min 0.05] [--max 0.5]
"""
import argparse
import math
import random
import sys


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("points")
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--min", type=float, default=0.05)
    ap.add_argument("--max", type=float, default=0.5)
    a = ap.parse_args(argv)
    with open(a.points, encoding="utf-8") as f:
        next(f)  # header
        coords = [line.split(",", 2)[:2] for line in f]
    rng = random.Random(a.seed)
    lo, hi = math.log(a.min), math.log(a.max)
    with open(a.out, "w") as out:
        for _ in range(a.count):
            lon, lat = map(float, rng.choice(coords))
            w = math.exp(rng.uniform(lo, hi))
            h = math.exp(rng.uniform(lo, hi))
            out.write(f"{lon - w / 2:.6f},{lat - h / 2:.6f},{lon + w / 2:.6f},{lat + h / 2:.6f}\n")
    print(f"wrote {a.count} bboxes (seed {a.seed}) to {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
