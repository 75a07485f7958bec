#!/usr/bin/env bash
# Install everything the test suite needs: Debian packages, the project itself
# with its `test` extra (into whichever `python` is first on PATH), and the real
# FUSION simulator (scripts/install-fusion.sh, a cached install of its own).
#
#   bash scripts/install-test-deps.sh && python -m pytest
#
# Idempotent and quiet: it only prints something when a step fails (then it prints
# that step's full output). Runs `apt-get update` only when a package is missing and
# cannot be installed from the current package lists. The pip step is skipped when
# nothing it depends on changed since the last successful run in this environment
# (set FUSION_JUPYTER_FORCE_INSTALL=1 to force it).
set -euo pipefail

# --- Debian packages: one line each: "<package>  # what needs it" ----------------
APT_PACKAGES=(
    postgresql   # real PostgreSQL server for the store/manager tests (tests/support/postgres.py)
    slurmctld slurmd slurm-client munge   # a real one-node Slurm (tests/support/slurm.py)
    chromium     # headless browser for the JupyterLab extension tests (tests/support/browser.py, Playwright)
)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python}"
LOG="$(mktemp "${TMPDIR:-/tmp}/install-test-deps.XXXXXX")"
trap 'rm -f "$LOG"' EXIT

die() { echo "install-test-deps: $*" >&2; exit 1; }

# run_quiet DESCRIPTION CMD...: run CMD with its output captured; on failure show it.
run_quiet() {
    local what="$1"; shift
    if ! "$@" >"$LOG" 2>&1; then
        echo "install-test-deps: $what failed: $*" >&2
        cat "$LOG" >&2
        return 1
    fi
}

# Root, or passwordless sudo, for apt-get.
as_root() {
    if [[ "$(id -u)" == 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo -n "$@"
    else
        die "need root (or passwordless sudo) to run: $*"
    fi
}

apt_installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

install_apt_packages() {
    local missing=() pkg
    for pkg in "${APT_PACKAGES[@]}"; do
        apt_installed "$pkg" || missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    command -v apt-get >/dev/null 2>&1 ||
        die "missing Debian packages (${missing[*]}) and no apt-get on this machine"

    # The tests run their own throw-away PostgreSQL clusters: keep the Debian package
    # from creating (and starting) a system-wide "main" cluster on first install.
    if [[ " ${missing[*]} " == *" postgresql "* ]] && ! apt_installed postgresql-common; then
        as_root mkdir -p /etc/postgresql-common/createcluster.d
        echo "create_main_cluster = false" |
            as_root tee /etc/postgresql-common/createcluster.d/50-fusion-jupyter-tests.conf >/dev/null
    fi

    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q
               -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold
               install --no-install-recommends "${missing[@]}")
    # Package lists never fetched (a fresh image): update first. Otherwise try the
    # lists we have and update only if that fails (stale lists, unknown package).
    if ! compgen -G "/var/lib/apt/lists/*_Packages*" >/dev/null; then
        run_quiet "apt-get update" as_root env DEBIAN_FRONTEND=noninteractive apt-get -q update
    fi
    if ! as_root "${apt[@]}" >"$LOG" 2>&1; then
        run_quiet "apt-get update" as_root env DEBIAN_FRONTEND=noninteractive apt-get -q update
        run_quiet "apt-get install" as_root "${apt[@]}"
    fi
}

install_python_packages() {
    command -v "$PYTHON" >/dev/null 2>&1 || die "no '$PYTHON' on PATH"
    local prefix key stamp_dir stamp where
    prefix="$("$PYTHON" -c 'import sys; print(sys.prefix)')"
    # What the install depends on: the project metadata, this script, the interpreter.
    key="$(cat "$ROOT/pyproject.toml" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-32)"
    stamp_dir="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/fusion_jupyter"
    stamp="$stamp_dir/test-deps-$(printf '%s\n%s\n' "$ROOT" "$prefix" | sha256sum | cut -c1-16)"
    if [[ -z "${FUSION_JUPYTER_FORCE_INSTALL:-}" && -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; then
        # Still installed, from this checkout?
        where="$(cd / && "$PYTHON" -c 'import fusion_jupyter, os; print(os.path.dirname(os.path.dirname(os.path.realpath(fusion_jupyter.__file__))))' 2>/dev/null || true)"
        [[ "$where" == "$(realpath "$ROOT")" ]] && return 0
    fi
    run_quiet "pip install" env PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
        "$PYTHON" -m pip install -q -e "$ROOT[test]"
    mkdir -p "$stamp_dir" && echo "$key" >"$stamp" || true
}

# The real FUSION simulator (tests marked `fusion`): a cached copy of ../shared/fusion
# with its own virtualenv; returns at once when it is already installed.
install_fusion() {
    run_quiet "FUSION install" bash "$ROOT/scripts/install-fusion.sh"
}

install_apt_packages
install_python_packages
install_fusion
