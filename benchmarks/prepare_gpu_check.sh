#!/usr/bin/env bash
# Download the wheels that benchmarks/gpu_check.sh installs on a GPU machine without a package
# registry (manylinux x86-64, CPython 3.12: the device machine's Python), on a machine that has one.
#
#     bash benchmarks/prepare_gpu_check.sh                 # -> wheels/gpu/ (git-ignored), ~1 MB
#     bash benchmarks/prepare_gpu_check.sh --dest DIR
#
# Only what that machine's image lacks, each pinned and fetched with --no-deps (their own needs,
# numpy / scipy / torch, are in the image; torch and nvidia-* are never fetched):
#   geomloss           drot's Sinkhorn reference solver (needs numpy, scipy, torch)
#   trimesh            drot's mesh files (needs numpy)
#   diffrp-nvdiffrast  the nvdiffrast backend (needs numpy). A pure-Python wheel: its CUDA plugin is
#                      compiled with nvcc + ninja (both on the GPU machine) at first use, by the check.
# smplx is left out: only tests/test_apps.py needs it, and the GPU check does not run that.
# The folder also gets requirements.txt (name==version, one a line), which the check reads.
set -euo pipefail

DEST=wheels/gpu
PYTHON=${PYTHON:-python3}
PACKAGES=(geomloss==0.3.1 trimesh==5.2.0 diffrp-nvdiffrast==0.3.3.1)
LIMIT_MIB=60   # the device tool carries at most 64 MiB with the working tree

while (($#)); do
    case $1 in
        --dest) DEST=${2:?--dest needs a folder}; shift 2 ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "prepare_gpu_check.sh: unknown argument $1 (--dest DIR)" >&2; exit 2 ;;
    esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p "$DEST"
rm -f "$DEST"/*.whl "$DEST"/*.tar.gz "$DEST/requirements.txt"   # one version of each, always
"$PYTHON" -m pip download --no-deps --only-binary=:all: --dest "$DEST" \
    --python-version 3.12 --implementation cp --abi cp312 --abi abi3 --abi none \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
    "${PACKAGES[@]}"
printf '%s\n' "${PACKAGES[@]}" >"$DEST/requirements.txt"

count=$(find "$DEST" -maxdepth 1 -name '*.whl' | wc -l)
if ((count != ${#PACKAGES[@]})); then
    echo "prepare_gpu_check.sh: expected ${#PACKAGES[@]} wheels in $DEST, found $count" >&2
    exit 1
fi
bytes=$(du -sb "$DEST" | cut -f1)
echo
echo "wheels for the GPU check in $DEST/ ($count wheels, $((bytes / 1024)) KiB):"
(cd "$DEST" && ls -l -- *.whl | awk '{printf "  %-50s %8d KiB\n", $NF, $5 / 1024}')
if ((bytes > LIMIT_MIB * 1024 * 1024)); then
    echo "prepare_gpu_check.sh: $DEST is over ${LIMIT_MIB} MiB: too big to carry to the device machine" >&2
    exit 1
fi
echo "carry it to the GPU machine with the checkout (device tool: carry=[\"${DEST%%/*}\"])"
