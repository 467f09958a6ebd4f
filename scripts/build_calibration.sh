#!/usr/bin/env bash
# Rebuild the KITTI spec's default calibration (specs/kitti.calibration.json) from the shared data:
# the real crowd re-check of kitti_rechecked (two detectors: its Cascade R-CNN pred_2 and the 2D
# detector of box2d.list) and three injected copies of kitti_tracking 0016 (seeds 100-102, kept apart
# from the seeds 0-3 the benchmarks score). Run the same commands on your own audited data.
set -euo pipefail
source "$(dirname "$0")/_venv.sh"
DATA="${GTQA_DATA_DIR:-$ROOT/../shared/data}"
WORK="${GTQA_HOME:-.gtqa}/calibration"
OUT="${1:-specs/kitti.calibration.json}"
args=()
n=1
args+=(-d "$DATA/kitti_rechecked" -a "$DATA/kitti_rechecked/recheck.csv"
       -p "$n:$DATA/kitti_rechecked/pred_2" -p "$n:$DATA/kitti_object/predictions/box2d.list")
for seed in 100 101 102; do
  n=$((n + 1))
  gtqa evals inject "$DATA/kitti_tracking" --out "$WORK/tracking-seed$seed" --seed "$seed" --overwrite >/dev/null
  args+=(-d "$WORK/tracking-seed$seed" -a "$WORK/tracking-seed$seed/manifest.json"
         -p "$n:$DATA/kitti_tracking/detections")
done
gtqa calibrate "${args[@]}" --out "$OUT"
