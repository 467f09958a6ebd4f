#!/usr/bin/env bash
# The main job on embedded defaults: installs what it needs, then runs gtqa on the bundled KITTI data
# (../shared/data) or on the dataset path given.
set -euo pipefail
GTQA_EXTRAS="${GTQA_EXTRAS:-}"
if [ -z "$GTQA_EXTRAS" ]; then GTQA_EXTRAS="dev"; fi
export GTQA_EXTRAS
source "$(dirname "$0")/_venv.sh"
exec gtqa demo "$@"
