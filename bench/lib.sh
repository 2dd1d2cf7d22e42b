# Shell helpers shared by the end-to-end benchmarks (bench/ingest.sh, bench/classify.sh).
# Source it after setting BENCH_TAG (the log prefix); it defines nothing else global but T0 and CHILD.
# shellcheck shell=bash

T0=$(date +%s)
log() { printf '[%s %4ds] %s\n' "${BENCH_TAG:-bench}" "$(( $(date +%s) - T0 ))" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
now_ns() { date +%s%N; }
ms_since() { echo $(( ( $(now_ns) - $1 ) / 1000000 )); }

CHILD=""        # long-running step in progress (run via fg so signals are handled at once)
fg() {  # run "$@" as a waited-for background job, so INT/TERM traps fire immediately
  local rc=0
  "$@" <&0 &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=""
  return $rc
}

wait_quiet() {  # bounded wait for other work on the machine to settle; records the load average in R
  if [ "${WAIT_QUIET:-0}" -gt 0 ]; then
    local until_s=$(( $(date +%s) + WAIT_QUIET ))
    while awk '{exit !($1 > 0.7)}' /proc/loadavg && [ "$(date +%s)" -lt "$until_s" ]; do sleep 5; done
  fi
  R[${1}_load]=$(cut -d' ' -f1 /proc/loadavg)
  awk '{exit !($1 > 1.0)}' /proc/loadavg && log "WARNING: 1-min load average ${R[${1}_load]} before the $1 run: other work on this machine will skew the figures"
  return 0
}
kv_into_R() {  # kv_into_R PREFIX FILE: key=value lines into R[PREFIX_key]
  local k v
  while IFS='=' read -r k v; do [ -n "$k" ] && R[${1}_$k]=$v; done <"$2"
}
fdiv() { awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN{ if (b > 0) printf f, a / b; else printf "-" }'; }
kb_to_mib() { awk -v k="$1" 'BEGIN{printf "%d", k / 1024}'; }
