#!/usr/bin/env bash
# Create .venv and install the project with its dev extras (idempotent; re-run when pyproject changes).
set -euo pipefail
python="${PYTHON:-python3}"
venv="${1:-.venv}"
command -v "$python" >/dev/null || { echo "error: $python not found: install Python 3.11+ (apt-get install python3)" >&2; exit 1; }
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "error: Python 3.11+ is required, found $("$python" --version 2>&1)" >&2; exit 1; }
if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
  # Debian splits venv/ensurepip into python3-venv.
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
  else
    echo "error: the venv module is missing: sudo apt-get install python3-venv" >&2; exit 1
  fi
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -e '.[dev]'
