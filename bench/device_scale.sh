#!/usr/bin/env bash
# Scan scaling on a bigger machine, offline: bench/scan_distributed.py at 1..14 workers.
#
# For a Linux x86-64 machine with Python 3.12, no network and no PostgreSQL, that already has
# numpy, pillow, numba, psutil, msgpack, cloudpickle, toolz, pyyaml, sortedcontainers, fsspec
# and prometheus-client. Everything else Verisight's scan needs comes as wheels in .whl/ at the
# repository root (carried beside the checkout; not in git), installed with --no-index into
# $SITE. PyAV (video only) is not carried: where it is missing, a stub that refuses every
# video stands in (the generated collection has none).
#
#   OUT=/some/dir bash bench/device_scale.sh            # defaults below
#   IMAGES=3000 WORKERS=1,2,4,8,14 BUDGET=420 OUT=... bash bench/device_scale.sh
#
# Writes $OUT/device_scale.json (every figure), $OUT/device_scale.txt (the table printed at
# the end) and $OUT/env.txt (machine, versions). Sized to finish in under 8 minutes on 16
# cores: scans stop being started after $BUDGET seconds (the table then says which were not
# run), and the replay ceiling runs last on SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-/tmp/verisight-device-out}
SITE=${SITE:-/tmp/verisight-site}
IMAGES=${IMAGES:-3000}
WORKERS=${WORKERS:-1,2,4,8,14}
BUDGET=${BUDGET:-300}
REPLAY=${REPLAY:-100000}
CACHE=${CACHE:-/tmp/verisight-images}
mkdir -p "$OUT" "$SITE" "$CACHE"
started=$(date +%s)

if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
  if "$PY" -m pip --version >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --disable-pip-version-check --upgrade \
      --target "$SITE" .whl/*.whl
  else  # no pip: a wheel is a zip of the files to put on the path
    "$PY" -c 'import sys, zipfile; [zipfile.ZipFile(w).extractall(sys.argv[1]) for w in sys.argv[2:]]' \
      "$SITE" .whl/*.whl
  fi
else
  echo "no wheels in .whl/: using the Python environment as it is" >&2
fi
export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}"
export NUMBA_CACHE_DIR=${NUMBA_CACHE_DIR:-/tmp/verisight-numba-cache}  # the checkout may be read-only

if ! "$PY" -c "import av" 2>/dev/null; then
  mkdir -p "$SITE/av"
  cat >"$SITE/av/__init__.py" <<'PYEOF'
"""Stand-in for PyAV on a benchmark machine without it: every video fails to open."""

from av import error, logging

time_base = 1_000_000


def open(*args, **kwargs):  # noqa: A001
    raise error.FFmpegError(0, "PyAV is not installed on this machine")
PYEOF
  cat >"$SITE/av/error.py" <<'PYEOF'
class FFmpegError(Exception):
    pass


class EOFError(FFmpegError):  # noqa: A001
    pass
PYEOF
  cat >"$SITE/av/logging.py" <<'PYEOF'
PANIC = 0


def set_level(level):
    return None
PYEOF
  echo "PyAV missing: stub installed (no video in this benchmark)" >&2
fi

# Fails here, with the module's name, if anything the scan imports is missing.
"$PY" - <<'PYEOF' | tee "$OUT/env.txt"
import importlib, os, platform, sys
print("python", sys.version.split()[0], platform.machine(), "cpus", os.cpu_count())
for name in ("numpy", "PIL", "numba", "dask", "distributed", "sqlalchemy", "alembic",
             "typer", "pillow_heif", "pdqhash", "py7zr", "warcio", "psutil"):
    mod = importlib.import_module(name)
    print(f"{name:12} {getattr(mod, '__version__', '?')}  {os.path.dirname(mod.__file__)}")
import verisight.cli.scan, verisight.distributed, verisight.scan_tasks  # noqa: E401,F401
print("verisight", verisight.__version__, "imports OK")
PYEOF

"$PY" bench/scan_distributed.py --images "$IMAGES" --scale "$WORKERS" --repeat 1 \
  --jobs "$(nproc)" --cache "$CACHE" --budget "$BUDGET" \
  --replay "$REPLAY" --ceiling-store sqlite --out "$OUT/device_scale.json" \
  | tee "$OUT/device_scale.txt"
echo "total $(($(date +%s) - started)) s; results in $OUT" | tee -a "$OUT/device_scale.txt"
