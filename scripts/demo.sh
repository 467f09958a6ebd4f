#!/usr/bin/env bash
# The main job on embedded defaults: installs what it needs (the same extras as test.sh, so switching
# between the two installs nothing again), then runs gtqa on the bundled KITTI data (../shared/data)
# or on the dataset path given.
set -euo pipefail
user_path="$PATH"
source "$(dirname "$0")/_venv.sh"
if [ "$(PATH="$user_path" command -v gtqa || true)" != "$VENV/bin/gtqa" ]; then
  echo "(gtqa is installed in $VENV/bin; for the README's gtqa commands in your shell:" \
       "source $VENV/bin/activate)" >&2
fi
exec gtqa demo "$@"
