#!/usr/bin/env bash
# Detection figures that mean something (issue 12): every one is measured on imagery the model was
# not trained on. Trains three models — on Vigil's generator only, on the independent fieldgen
# only, on both (the built-in one) —, scores each generator's model on the other generator's
# held-out scenes (every condition: normal, haze, shadow, dark, warm, cool, bright), the built-in
# model on deepforest's real 10 cm orthophotos (no poppy anywhere), calibrates confidences, and
# runs the learning curve from reviewed plots.
#
#   bench/crossgen.sh                 everything, into bench/work/crossgen/ (about 25 min on 2 cores)
#   KEEP_MODELS=1 bench/crossgen.sh   also copies the three models into models/ (what was committed)
#   KIND=gbdt bench/crossgen.sh       the same with gradient-boosted trees (src/classify/gbdt.rs):
#                                     models NAME-gbdt.json beside the softmax ones, trained on the
#                                     very same cells (cached as cells-NAME.bin in WORK by whichever
#                                     kind runs first: VIGIL_TRAIN_CELLS)
#   KIND=cnn bench/crossgen.sh        the small convolutional network on pixels (src/classify/cnn.rs);
#                                     its labelled tiles cached as tiles-NAME.bin (VIGIL_TRAIN_TILES),
#                                     VIGIL_CNN_STEPS training steps (default 2500 batches of 16)
#   BOTH=0 / CURVE=0                  leave out the model trained on both generators / the curves
#   TAG=name                          models NAME[-KIND]-TAG.json (another variant on the same scenes
#                                     and cached cells, e.g. with VIGIL_GBDT_FEATURES)
#   SEED=n                            the training seed (default 1; with cached cells only the fit
#                                     changes: a measure of the run-to-run spread)
#   DUMP=1                            also writes every training cell as WORK/cells-NAME.csv
#   SKIP_SETUP=1                      do not run scripts/setup.sh test (VIGIL_PY names a python with
#                                     numpy/scipy/rasterio, the real photos are already fetched)
#   env: WORK=dir; a smaller smoke run with TRAIN_VIGIL=4 TRAIN_FIELDGEN=4 HELD=7 CALIB=7 SIZE=768
#        STEPS=0,5 (the figures then mean little)
#
# Seeds: Vigil's generator trains on 1–36 (`vigil train --generate 36 --seed 1`), holds out
# 500001–500014, calibrates on 600001–600014; fieldgen trains on suite seed 3 (3000–3029), holds
# out suite seed 7 (7000–7013), calibrates on suite seed 11 (11000–11013). The tests
# (tests/crossgen.rs) use other seeds again (fieldgen 91, Vigil 910001).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=${WORK:-$root/bench/work/crossgen}
py=${VIGIL_PY:-$root/.venv-test/bin/python}
mkdir -p "$work"
[ "${SKIP_SETUP:-0}" = 1 ] || scripts/setup.sh test >/dev/null
cargo build --release -q
vigil=$root/target/release/vigil
size=${SIZE:-1024}
train_vigil=${TRAIN_VIGIL:-36}
train_fieldgen=${TRAIN_FIELDGEN:-30}
held=${HELD:-14}
calib=${CALIB:-14}
steps=${STEPS:-0,5,10,20,50}
kind=${KIND:-softmax}
sfx=""; [ "$kind" = softmax ] || sfx="-$kind"
sfx="$sfx${TAG:+-$TAG}"
fieldgen() { "$py" scripts/fieldgen/fieldgen.py suite --out "$1" --seed "$2" --count "$3" --size "$size" >/dev/null; }

step() { printf '\n== %s\n' "$*"; }
if [ ! -d "$work/fieldgen-train" ]; then
  step "drawing scenes"
  fieldgen "$work/fieldgen-train" 3 "$train_fieldgen"
  fieldgen "$work/fieldgen-held" 7 "$held"
  fieldgen "$work/fieldgen-calib" 11 "$calib"
  "$vigil" sample-imagery --suite "$held" --seed 500001 --size "$size" --out "$work/vigil-held" >/dev/null
  "$vigil" sample-imagery --suite "$calib" --seed 600001 --size "$size" --out "$work/vigil-calib" >/dev/null
fi
mapfile -t photos < <(scripts/fetch-test-data.sh --real-photos)
neg=(); for p in "${photos[@]}"; do neg+=(--negative "$p"); done

train() { # name, extra args
  local name=$1; shift
  [ -f "$work/$name$sfx.json" ] && return
  step "training $name$sfx"
  local t0=$SECONDS
  local dump=(); [ "${DUMP:-0}" = 1 ] && dump=(VIGIL_TRAIN_DUMP="$work/cells-$name.csv")
  env "${dump[@]}" VIGIL_MODEL_KIND=$kind VIGIL_TRAIN_CELLS="$work/cells-$name.bin" \
    VIGIL_TRAIN_TILES="$work/tiles-$name.bin" \
  "$vigil" train --out "$work/$name$sfx.json" --seed "${SEED:-1}" --held-out 0 --epochs 40 --augment 2 \
    --model-version "vegetation-$(date +%F).$name$sfx" "$@" 2>&1 | tail -n 3
  echo "$name$sfx: $((SECONDS - t0)) s"
}
train vigil-only --generate "$train_vigil" --size "$size"
train fieldgen-only "$work"/fieldgen-train/*.tif
[ "${BOTH:-1}" = 0 ] || train both --generate "$train_vigil" --size "$size" "$work"/fieldgen-train/*.tif

step "calibrating (Platt, on the calibration scenes of the model's own training generators)"
"$vigil" calibrate --model "$work/vigil-only$sfx.json" --dir "$work/vigil-calib" --out "$work/vigil-only$sfx.json"
"$vigil" calibrate --model "$work/fieldgen-only$sfx.json" --dir "$work/fieldgen-calib" --out "$work/fieldgen-only$sfx.json"
[ "${BOTH:-1}" = 0 ] || "$vigil" calibrate --model "$work/both$sfx.json" --dir "$work/vigil-calib" --dir "$work/fieldgen-calib" --out "$work/both$sfx.json"

step "cross-generator: trained on Vigil's generator, scored on fieldgen's held-out scenes"
"$vigil" eval --model "$work/vigil-only$sfx.json" --dir "$work/fieldgen-held" 2>/dev/null
step "cross-generator: trained on fieldgen, scored on Vigil's held-out scenes"
"$vigil" eval --model "$work/fieldgen-only$sfx.json" --dir "$work/vigil-held" 2>/dev/null
if [ "${BOTH:-1}" != 0 ]; then
step "both generators (the built-in model), scored on each generator's held-out scenes (in distribution)"
"$vigil" eval --model "$work/both$sfx.json" --dir "$work/vigil-held" 2>/dev/null
"$vigil" eval --model "$work/both$sfx.json" --dir "$work/fieldgen-held" 2>/dev/null
fi
step "real photographs (deepforest, 10 cm NEON; no poppy or cannabis anywhere): every flag is false"
models=(vigil-only fieldgen-only); [ "${BOTH:-1}" = 0 ] || models+=(both)
for m in "${models[@]}"; do
  printf '%s: ' "$m$sfx"; "$vigil" eval --model "$work/$m$sfx.json" "${neg[@]}" 2>/dev/null
done
[ "${CURVE:-1}" = 0 ] && exit 0
step "learning curve: start from the model trained on Vigil's generator, review fieldgen plots"
"$vigil" learning-curve --model "$work/vigil-only$sfx.json" --review-dir "$work/fieldgen-train" \
  --held-out-dir "$work/fieldgen-held" --steps "$steps" 2>/dev/null
step "learning curve: start from the model trained on fieldgen, review Vigil's plots"
"$vigil" learning-curve --model "$work/fieldgen-only$sfx.json" --review-dir "$work/vigil-calib" \
  --held-out-dir "$work/vigil-held" --steps "$steps" 2>/dev/null

if [ "${KEEP_MODELS:-0}" = 1 ] && [ "$kind" = softmax ]; then
  mkdir -p models/cross
  cp "$work/both.json" models/vigil-vegetation.json
  cp "$work/vigil-only.json" "$work/fieldgen-only.json" models/cross/
  echo "copied the models into models/ (rebuild to embed the built-in one)"
fi
