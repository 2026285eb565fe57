#!/usr/bin/env bash
# with-local-slurm.sh CMD [ARG…] — start a throw-away single-node Slurm cluster, run CMD with
# SLURM_CONF pointing at it, and stop the cluster whatever happens. Exits with CMD's status.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export SLURM_LOCAL_BASE="${SLURM_LOCAL_BASE:-/tmp/winnow-slurm}"
stop() { "$here/stop-local-slurm.sh" >/dev/null 2>&1 || true; }
trap stop EXIT
if ! "$here/start-local-slurm.sh" >/dev/null; then
  echo "with-local-slurm: could not start the local Slurm cluster (see $SLURM_LOCAL_BASE/log)" >&2
  exit 1
fi
export SLURM_CONF="$SLURM_LOCAL_BASE/slurm.conf"
"$@"
