#!/usr/bin/env python3
"""Run a command and sample the memory of its whole process tree.

usage: bench/treemem.py OUT_FILE [--interval S] -- CMD [ARG...]

Polls /proc every S seconds (default 0.1) for the command and all its descendants and writes, as
key=value lines to OUT_FILE:
  wall_s          wall-clock seconds from spawn to exit
  exit            the command's exit status (128+N when killed by signal N)
  peak_rss_sum_kb largest sum of VmRSS over the tree at one sample (counts pages shared by
                  forked workers once per process, so it over-states a fork()ing pool)
  peak_pss_sum_kb largest sum of Pss (smaps_rollup) over the tree at one sample: shared pages
                  split between the processes that share them, i.e. what the tree really holds
  peak_rss_max_kb largest VmRSS of any single process seen (what /usr/bin/time -v reports)
  peak_procs      most processes alive in the tree at one sample
  samples         how many samples were taken
The command's own exit status is also this script's exit status. Sampling misses peaks shorter
than the interval; the kernel's own per-process high-water mark (VmHWM) is folded into
peak_rss_max_kb so a single process's peak is never missed.
"""
import os
import signal
import subprocess
import sys
import time


def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                s = f.read()
        except OSError:
            continue
        # the comm field may contain spaces and parentheses: split after the last ')'
        rest = s[s.rfind(b")") + 2:].split()
        ppid = int(rest[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(root):
    kids = children_map()
    out, stack = [], [root]
    while stack:
        p = stack.pop()
        out.append(p)
        stack.extend(kids.get(p, ()))
    return out


def status_kb(pid, keys):
    vals = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in keys:
                    vals[k] = int(v.split()[0])
    except OSError:
        pass
    return vals


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    argv = sys.argv[1:]
    if len(argv) < 3 or "--" not in argv:
        sys.exit(__doc__)
    sep = argv.index("--")
    opts, cmd = argv[:sep], argv[sep + 1:]
    out_file = opts[0]
    interval = 0.1
    if "--interval" in opts:
        interval = float(opts[opts.index("--interval") + 1])

    t0 = time.monotonic()
    child = subprocess.Popen(cmd)
    # forward INT/TERM to the child so a Ctrl-C in the benchmark stops the measured tool too
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda s, _f: child.send_signal(s))
    peak_rss_sum = peak_pss_sum = peak_rss_max = peak_procs = samples = 0
    while child.poll() is None:
        pids = tree(child.pid)
        rss_sum = pss_sum = 0
        for p in pids:
            st = status_kb(p, ("VmRSS", "VmHWM"))
            rss = st.get("VmRSS", 0)
            rss_sum += rss
            peak_rss_max = max(peak_rss_max, rss, st.get("VmHWM", 0))
            pss_sum += pss_kb(p)
        peak_rss_sum = max(peak_rss_sum, rss_sum)
        peak_pss_sum = max(peak_pss_sum, pss_sum)
        peak_procs = max(peak_procs, len(pids))
        samples += 1
        time.sleep(interval)
    rc = child.wait()
    wall = time.monotonic() - t0
    if rc < 0:
        rc = 128 - rc
    with open(out_file, "w") as f:
        f.write(f"wall_s={wall:.3f}\nexit={rc}\npeak_rss_sum_kb={peak_rss_sum}\n"
                f"peak_pss_sum_kb={peak_pss_sum}\npeak_rss_max_kb={peak_rss_max}\n"
                f"peak_procs={peak_procs}\nsamples={samples}\n")
    sys.exit(rc)


if __name__ == "__main__":
    main()
