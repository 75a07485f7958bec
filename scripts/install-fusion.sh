#!/usr/bin/env bash
# Install the real FUSION simulator from ../shared/fusion (read-only there) into a
# cached, writable copy with its own virtualenv, once per machine, and print the path
# of its `fusion-sim` console script on stdout.
#
#   FUSION_SIM="$(bash scripts/install-fusion.sh)"
#   bash scripts/install-fusion.sh --gui   # also the deps of FUSION's own GUI backend
#
# --gui adds what `fusion/api` (FastAPI) needs to that venv, for
# benchmarks/vs_fusion_gui.py; the default install stays lean (FUSION lists no GUI
# requirements, so the packages below are the ones its api package imports).
#
# Why a copy: FUSION finds its project root by walking up to a directory holding
# `.git`, and writes its outputs under that root (shared/spec/fusion-real.md).
# Why its own venv: FUSION pins its own numpy/pandas; the test venv stays ours.
# Idempotent: a stamp records the source it was built from; set
# FUSION_JUPYTER_FORCE_INSTALL=1 to rebuild.
# Safe to run while FUSION runs and from several processes at once: installs are
# serialised by a lock, and a rebuild goes to a new directory that the cache path
# (a symlink) is switched to, so runs in flight keep their FUSION; builds that are
# no longer current are removed a day later.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="${FUSION_JUPYTER_FUSION_SRC:-$ROOT/../shared/fusion}"
HOME_DIR="${FUSION_JUPYTER_FUSION_HOME:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/fusion_jupyter/fusion}"
PY="${FUSION_JUPYTER_FUSION_PYTHON:-python3}"
# FUSION's runtime dependencies (fusion-real.md: measured here); no torch, no RL stack.
DEPS=(numpy networkx pandas scikit-learn matplotlib seaborn scipy)
GUI_DEPS=(fastapi uvicorn sse-starlette aiofiles pydantic-settings sqlalchemy)
GUI=""
case "${1:-}" in
    --gui) GUI=1 ;;
    "") ;;
    *) echo "usage: install-fusion.sh [--gui]" >&2; exit 2 ;;
esac

[[ -d "$SRC/fusion" ]] || { echo "install-fusion: no FUSION source at $SRC" >&2; exit 1; }
key="$( (cd "$SRC" && find . -name '*.py' -newer setup.py -o -name setup.py | sort | head -c 100000; cat setup.py) | sha256sum | cut -c1-32)-$(printf '%s' "${DEPS[*]}" | sha256sum | cut -c1-8)"
LOG="$(mktemp "${TMPDIR:-/tmp}/install-fusion.XXXXXX")"
trap 'rm -f "$LOG"' EXIT
step() {
    if ! "$@" >>"$LOG" 2>&1; then
        echo "install-fusion: failed: $*" >&2
        cat "$LOG" >&2
        exit 1
    fi
}

install_gui() {
    local gui_stamp="$HOME_DIR/.gui-installed" gui_key
    gui_key="$(printf '%s' "${GUI_DEPS[*]}" | sha256sum | cut -c1-16)"
    [[ -f "$gui_stamp" && "$(cat "$gui_stamp")" == "$gui_key" ]] && return 0
    step env PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 "$HOME_DIR/venv/bin/pip" install -q "${GUI_DEPS[@]}"
    echo "$gui_key" >"$gui_stamp"
}

installed() {
    [[ -f "$HOME_DIR/.installed" && "$(cat "$HOME_DIR/.installed")" == "$key" \
       && -x "$HOME_DIR/venv/bin/fusion-sim" ]]
}
done_here() {
    [[ -n "$GUI" ]] && install_gui
    echo "$HOME_DIR/venv/bin/fusion-sim"
    exit 0
}

[[ -z "${FUSION_JUPYTER_FORCE_INSTALL:-}" ]] && installed && done_here
mkdir -p "$(dirname "$HOME_DIR")"
exec 9>"$HOME_DIR.lock"
flock 9
[[ -z "${FUSION_JUPYTER_FORCE_INSTALL:-}" ]] && installed && done_here  # another one built it

# A venv and an editable install are not relocatable: build where the build stays.
build="$HOME_DIR-$(date -u +%Y%m%d%H%M%S)-$$"
mkdir -p "$build"
step cp -r "$SRC" "$build/src"
chmod -R u+w "$build/src"
mkdir -p "$build/src/.git"
step "$PY" -m venv "$build/venv"
step env PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 "$build/venv/bin/pip" install -q "${DEPS[@]}"
step env PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 "$build/venv/bin/pip" install -q --no-deps -e "$build/src"
echo "$key" >"$build/.installed"
# Switch the cache path to the new build (an older, non-symlink install is kept aside).
if [[ -e "$HOME_DIR" && ! -L "$HOME_DIR" ]]; then
    mv "$HOME_DIR" "$HOME_DIR-$(date -u +%Y%m%d%H%M%S)-old-$$"
fi
ln -sfn "$build" "$HOME_DIR.new-$$"
mv -T "$HOME_DIR.new-$$" "$HOME_DIR"
find "$(dirname "$HOME_DIR")" -maxdepth 1 -name "$(basename "$HOME_DIR")-*" -mmin +1440 \
    ! -path "$build" -exec rm -rf {} +
done_here
