# Shared set-up for scripts/demo and scripts/test: create .venv if missing, install keyops.
# Usage: . scripts/_venv.sh EXTRAS   (e.g. "emulator" or "test")
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
extras="$1"
stamp="$VENV/.keyops-installed-$extras"
if [ ! -x "$VENV/bin/python" ]; then
    echo "scripts: creating $VENV" >&2
    python3 -m venv "$VENV"
fi
# Reinstall when pyproject.toml changed since the last install of these extras.
if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
    echo "scripts: installing keyops[$extras] into $VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[$extras]" >&2
    touch "$stamp"
fi
export PATH="$VENV/bin:$PATH"
