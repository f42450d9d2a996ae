#!/usr/bin/env bash
# Idempotent set-up of everything ionnp needs on a Debian machine:
#   - the executables a campaign runs: pw.x, ph.x, ld1.x (Quantum ESPRESSO) and dot (graphviz),
#     installed from Debian when missing and we are root; otherwise the Python part is still set
#     up and a message names each missing executable with its Debian package (on a cluster:
#     the module to load before snakemake), and the script exits 3;
#   - a virtual environment (.venv, or $IONNP_VENV) with the pinned Python packages
#     (requirements.txt under constraints.txt, which pins the CPU build of torch; IONNP_TORCH=cuda
#     installs the same version's CUDA build instead, for GPU nodes) and ionnp;
#   - pair_style ionnp, the LAMMPS plugin of lammps-plugin/, built with g++ and cmake against
#     the venv's LAMMPS and libtorch (scripts/build_plugin.sh).
# A second call does nothing unless requirements.txt, constraints.txt, pyproject.toml or the
# plugin's sources changed.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${IONNP_VENV:-.venv}
python=${PYTHON:-python3}

# executable -> Debian package that ships it
declare -A package=([pw.x]=quantum-espresso [ph.x]=quantum-espresso [ld1.x]=quantum-espresso [dot]=graphviz
                    [g++]=g++ [cmake]=cmake)
missing_executables() {
    local exe
    for exe in pw.x ph.x ld1.x dot g++ cmake; do command -v "$exe" >/dev/null || echo "$exe"; done
}
missing=($(missing_executables))
if ((${#missing[@]})) && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    packages=($(for exe in "${missing[@]}"; do echo "${package[$exe]}"; done | sort -u))
    [[ " ${packages[*]} " == *" quantum-espresso "* ]] && packages+=(libopenblas0-serial)
    echo "setup: installing Debian packages: ${packages[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
    missing=($(missing_executables))
fi

stamp="$venv/.ionnp-setup"
torch_build=${IONNP_TORCH:-cpu}   # cpu (the pin of constraints.txt) or cuda
[[ $torch_build == cpu || $torch_build == cuda ]] || { echo "setup: IONNP_TORCH must be cpu or cuda, not $torch_build" >&2; exit 2; }
want=$( (cat requirements.txt constraints.txt pyproject.toml; echo "$torch_build") | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    [[ -x $venv/bin/python ]] || "$python" -m venv "$venv"
    echo "setup: installing Python packages into $venv"
    "$venv/bin/pip" install -q -c constraints.txt -r requirements.txt
    "$venv/bin/pip" install -q -c constraints.txt --no-deps -e .
    if [[ $torch_build == cuda ]]; then
        # The same torch version, CUDA build, from PyTorch's index (IONNP_TORCH_INDEX: another
        # CUDA version's index, e.g. .../whl/cu126, or your site's mirror).
        version=$(sed -n 's/^torch==//p' constraints.txt)
        echo "setup: installing torch $version (CUDA build) from ${IONNP_TORCH_INDEX:=https://download.pytorch.org/whl/cu128}"
        "$venv/bin/pip" install -q --force-reinstall --no-deps --index-url "$IONNP_TORCH_INDEX" "torch==$version"
    fi
    echo "$want" > "$stamp"
fi
plugin_stamp="$venv/lib/ionnp/.build"
plugin_want=$(cat "$stamp" lammps-plugin/* scripts/build_plugin.sh | sha256sum | cut -d' ' -f1)
if command -v g++ >/dev/null && command -v cmake >/dev/null \
        && [[ ! -f $plugin_stamp || $(cat "$plugin_stamp") != "$plugin_want" ]]; then
    IONNP_VENV=$venv bash scripts/build_plugin.sh
    echo "$plugin_want" > "$plugin_stamp"
fi
if ((${#missing[@]})); then
    for exe in "${missing[@]}"; do
        echo "setup: $exe not found: install the Debian package ${package[$exe]} (as root:" \
             "apt-get install ${package[$exe]}), or on a cluster load the module that provides it" \
             "(e.g. module load quantum-espresso / graphviz) before running snakemake" >&2
    done
    echo "setup: Python environment ready ($venv); a campaign needs ${missing[*]} too" >&2
    exit 3
fi
echo "setup: ready ($venv with pair_style ionnp; pw.x at $(command -v pw.x), ph.x, ld1.x, dot found)"
