#!/usr/bin/env bash
# Gradescope runs this once, as root, in ROOT/source (ROOT is /autograder there, anything under `simulate`).
# It installs the grading environment in ROOT/venv from the system Python (a virtual environment, so that a
# system Python that refuses `pip install` (PEP 668) is fine), creates the unprivileged user that runs student
# code, and locks the grader's files against that user (SPEC section 5).
set -euo pipefail
source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$source_dir")"
venv="$root/venv"
user="backprop-student"

say() { echo "setup.sh: $*"; }

pick_python() {
    # The system Python first: the student's user must be able to run it (a Python under /root is not reachable).
    for candidate in "${BACKPROP_PYTHON:-}" /usr/bin/python3 "$(command -v python3 || true)"; do
        if [[ -n "$candidate" && -x "$candidate" ]] &&
           "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
            echo "$candidate"; return 0
        fi
    done
    return 1
}

if ! python="$(pick_python)" || ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
        say "installing Python 3 with venv support from the system's packages"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq python3 python3-venv >/dev/null
        python="$(pick_python)"
    fi
fi
[[ -n "${python:-}" ]] || { say "no Python 3.10 or newer with venv support was found"; exit 1; }
say "using $python ($("$python" --version 2>&1))"

if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$source_dir/requirements-grader.txt"
# The packages students may import: exactly autograder.toml's [environment] packages, at the versions pinned in
# requirements-packages.txt (the grader's prepare command reads the list, and refuses an unpinned name).
packages="$source_dir/.packages-requirements.txt"
(cd "$source_dir" && PYTHONPATH="$source_dir" "$venv/bin/python" -m backprop_grader prepare --packages "$packages")
say "packages students may import: $(grep -o '^[A-Za-z0-9_.-]*' "$packages" | sort -u | tr '\n' ' ')"
"$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$packages"
"$venv/bin/python" -m compileall -q "$source_dir/backprop_grader" "$source_dir/reference" "$source_dir/tests" >/dev/null
echo "$venv/bin/python" > "$source_dir/.python"
# The seeded networks and their finite differences, computed once here and locked below with the rest.
(cd "$source_dir" && PYTHONPATH="$source_dir" "$venv/bin/python" -m backprop_grader prepare --warm)
chmod +x "$source_dir/run_autograder" "$source_dir/setup.sh"

if [[ "$(id -u)" != 0 ]]; then
    say "not root: no sandbox user and no locking (isolation will be reduced to a separate process with limits)"
    exit 0
fi
if ! id "$user" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user"
fi
# Lock first, then open: the student's user may run the virtual environment and reach it through ROOT, and
# nothing else of ours, at no moment.
chown -R root:root "$source_dir"
chmod -R go-rwx "$source_dir"
mkdir -p "$root/results"
chown root:root "$root/results"
chmod 700 "$root/results"
chmod -R go+rX,go-w "$venv"
chmod 755 "$root"
say "ready: grading environment in $venv, student code runs as $user, the grader's files are locked"
