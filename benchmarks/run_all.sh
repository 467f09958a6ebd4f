#!/usr/bin/env bash
# Run every benchmark on the shared KITTI data (GTQA_DATA_DIR, default ../shared/data); each prints its
# table and writes its JSON under benchmarks/out/ (git-ignored). Run a script alone to change its options.
# The service benchmarks need PostgreSQL and Redis and run apart: bench_queue, bench_workers, bench_ui;
# bench_agent takes about 20 minutes.
set -euo pipefail
source "$(dirname "$0")/../scripts/_venv.sh"   # ensures .venv (dev + bench extras) and cds to the repo
for bench in bench_recheck bench_injected bench_speed bench_calibration bench_evals bench_av2; do
  echo "== benchmarks/$bench.py" >&2
  python "benchmarks/$bench.py"
done
