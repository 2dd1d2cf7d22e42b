#!/bin/bash
# usage: MODE=.. C=.. GSD=.. ./run_ext.sh TAG
cd /tmp/w/proto
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY=/work/main/.venv-test/bin/python
T=$1
$PY feat2.py d/fg21_$T.npz /tmp/w/fg21/scene_00*.tif
$PY feat2.py d/fg22_$T.npz /tmp/w/fg22/scene_00*.tif
$PY feat2.py d/vg_$T.npz /tmp/w/vgt/train-*.tif /tmp/w/vg801/train-*.tif
$PY feat2.py d/fgt_$T.npz /tmp/w/fgt/scene_00*.tif
