#!/usr/bin/env bash
# Idempotent set-up of everything ionnp needs on a Debian machine:
#   - Quantum ESPRESSO (pw.x, ld1.x) and graphviz from Debian when they are missing and we are
#     root; otherwise a message saying what to install (on a cluster: load the modules);
#   - a virtual environment (.venv, or $IONNP_VENV) with the pinned Python packages
#     (requirements.txt under constraints.txt, which pins the CPU build of torch) and ionnp.
# A second call does nothing unless requirements.txt, constraints.txt or pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${IONNP_VENV:-.venv}
python=${PYTHON:-python3}

missing=()
{ command -v pw.x && command -v ld1.x; } >/dev/null || missing+=(quantum-espresso libopenblas0-serial)
command -v dot >/dev/null || missing+=(graphviz)
if ((${#missing[@]})); then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        echo "setup: installing Debian packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "setup: missing ${missing[*]}: install these Debian packages (or load pw.x, ld1.x" \
             "and graphviz as modules on a cluster), then run this again" >&2
        exit 1
    fi
fi

stamp="$venv/.ionnp-setup"
want=$(cat requirements.txt constraints.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    [[ -x $venv/bin/python ]] || "$python" -m venv "$venv"
    echo "setup: installing Python packages into $venv"
    "$venv/bin/pip" install -q -c constraints.txt -r requirements.txt
    "$venv/bin/pip" install -q -c constraints.txt --no-deps -e .
    echo "$want" > "$stamp"
fi
echo "setup: ready ($venv; pw.x at $(command -v pw.x))"
