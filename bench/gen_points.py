#!/usr/bin/env python3
"""Seeded generator of synthetic drug-control hotspots inside Vietnam's bounding area.

Writes, for the same N points in the same order:
  * a CSV in the contract's import format for `vigil import hotspots`
        lon,lat,name,kind,status,reported_on
  * (optional) a CSV for PostgreSQL `COPY ... (FORMAT csv, HEADER)`
        id,lon,lat,name,kind,status,reported_on
    where id = 1-based row number (the order vigil imports them in).

Mix: ~80% clustered around towns (Gaussian, per-town spread), ~20% uniform over
lon 102.1-109.5, lat 8.5-23.4. Deterministic for a given (N, seed).

    gen_points.py N OUT.csv [--pg OUT.pg.csv] [--seed 42]
"""
import argparse
import datetime as dt
import random
import sys

LON_MIN, LON_MAX = 102.1, 109.5
LAT_MIN, LAT_MAX = 8.5, 23.4

# (name, lon, lat, weight, spread in degrees) -- weight roughly tracks urban population.
TOWNS = [
    ("Hà Nội", 105.85, 21.03, 10, 0.12),
    ("TP Hồ Chí Minh", 106.70, 10.78, 12, 0.14),
    ("Hải Phòng", 106.68, 20.86, 4, 0.08),
    ("Đà Nẵng", 108.22, 16.07, 4, 0.07),
    ("Cần Thơ", 105.78, 10.03, 3, 0.07),
    ("Biên Hòa", 106.82, 10.95, 3, 0.06),
    ("Huế", 107.59, 16.46, 2, 0.05),
    ("Nha Trang", 109.19, 12.24, 2, 0.05),
    ("Vinh", 105.68, 18.67, 2, 0.05),
    ("Thanh Hóa", 105.78, 19.81, 2, 0.06),
    ("Nam Định", 106.17, 20.42, 1.5, 0.05),
    ("Thái Nguyên", 105.84, 21.59, 1.5, 0.05),
    ("Buôn Ma Thuột", 108.04, 12.67, 1.5, 0.06),
    ("Quy Nhơn", 109.22, 13.78, 1.2, 0.04),
    ("Vũng Tàu", 107.08, 10.35, 1.2, 0.04),
    ("Hạ Long", 107.08, 20.95, 1.2, 0.05),
    ("Đà Lạt", 108.44, 11.94, 1, 0.04),
    ("Long Xuyên", 105.43, 10.38, 1, 0.04),
    ("Rạch Giá", 105.08, 10.01, 1, 0.04),
    ("Cà Mau", 105.15, 9.18, 1, 0.05),
    ("Mỹ Tho", 106.36, 10.36, 1, 0.04),
    ("Pleiku", 108.00, 13.98, 1, 0.05),
    ("Kon Tum", 108.00, 14.35, 0.6, 0.04),
    ("Quảng Ngãi", 108.80, 15.12, 0.8, 0.04),
    ("Phan Thiết", 108.10, 10.93, 0.8, 0.04),
    ("Tây Ninh", 106.10, 11.31, 0.8, 0.05),
    ("Đồng Hới", 106.60, 17.47, 0.6, 0.04),
    ("Việt Trì", 105.40, 21.32, 0.8, 0.04),
    ("Lạng Sơn", 106.76, 21.85, 0.8, 0.05),
    ("Lào Cai", 103.97, 22.49, 0.8, 0.05),
    ("Điện Biên Phủ", 103.02, 21.39, 1, 0.06),
    ("Sơn La", 103.91, 21.33, 1, 0.07),
    ("Hà Giang", 104.98, 22.82, 0.6, 0.05),
    ("Cao Bằng", 106.26, 22.67, 0.6, 0.05),
    ("Nghệ An – Kỳ Sơn", 104.13, 19.40, 0.8, 0.08),
]
KINDS = ["diem_ban_le", "diem_su_dung", "tu_diem_su_dung", "diem_nong", "boong_ke", "khac"]
KIND_W = [30, 30, 15, 12, 5, 8]
STATUSES = ["reported", "verifying", "eliminated", "reemerged"]
STATUS_W = [45, 20, 28, 7]
KIND_LABEL = {
    "diem_ban_le": "Điểm bán lẻ",
    "diem_su_dung": "Điểm sử dụng",
    "tu_diem_su_dung": "Tụ điểm sử dụng",
    "diem_nong": "Điểm nóng",
    "boong_ke": "Boong ke",
    "khac": "Điểm khác",
}
UNIFORM_SHARE = 0.20
FIRST_DAY = dt.date(2019, 1, 1).toordinal()
LAST_DAY = dt.date(2025, 12, 31).toordinal()


def generate(n, seed):
    """Yield (lon, lat, name, kind, status, reported_on) n times, deterministically."""
    rng = random.Random(seed)
    town_w = [t[3] for t in TOWNS]
    for i in range(1, n + 1):
        if rng.random() < UNIFORM_SHARE:
            lon = rng.uniform(LON_MIN, LON_MAX)
            lat = rng.uniform(LAT_MIN, LAT_MAX)
            where = "vùng ngoài"
        else:
            town = rng.choices(TOWNS, weights=town_w)[0]
            _, tlon, tlat, _, spread = town
            while True:
                lon = rng.gauss(tlon, spread)
                lat = rng.gauss(tlat, spread)
                if LON_MIN <= lon <= LON_MAX and LAT_MIN <= lat <= LAT_MAX:
                    break
            where = town[0]
        kind = rng.choices(KINDS, weights=KIND_W)[0]
        status = rng.choices(STATUSES, weights=STATUS_W)[0]
        day = dt.date.fromordinal(rng.randint(FIRST_DAY, LAST_DAY)).isoformat()
        name = f"{KIND_LABEL[kind]} {where} #{i}"
        yield (f"{lon:.6f}", f"{lat:.6f}", name, kind, status, day)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int)
    ap.add_argument("out", help="vigil import CSV")
    ap.add_argument("--pg", help="also write id,lon,lat,... CSV for PostgreSQL COPY")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args(argv)
    # Names contain no comma/quote/newline, so plain joins are valid CSV.
    with open(a.out, "w", encoding="utf-8", newline="\n") as f, \
            (open(a.pg, "w", encoding="utf-8", newline="\n") if a.pg else open("/dev/null", "w")) as g:
        f.write("lon,lat,name,kind,status,reported_on\n")
        g.write("id,lon,lat,name,kind,status,reported_on\n")
        for i, row in enumerate(generate(a.n, a.seed), 1):
            line = ",".join(row)
            f.write(line + "\n")
            if a.pg:
                g.write(f"{i},{line}\n")
    print(f"wrote {a.n} hotspots (seed {a.seed}) to {a.out}" + (f" and {a.pg}" if a.pg else ""), file=sys.stderr)


if __name__ == "__main__":
    main()
