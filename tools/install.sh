#!/usr/bin/env bash
# One-command, idempotent environment setup for mmpose_ext (called by `make install`).
#
# Creates .venv/ in the repository and installs the OpenMMLab stack that works on
# Python 3.11 + torch 2.14. mmcv 2.1.0 with compiled ops is taken from a wheel when pip
# is offered one through its standard --find-links / PIP_FIND_LINKS mechanism, and is
# otherwise built from its sdist with the patches current torch needs.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-"torch==2.14.1 torchvision==0.29.1"}
MMCV_VERSION=2.1.0
MMPOSE_VERSION=1.3.2

log() { printf '[install] %s\n' "$*"; }

STAMP="$VENV/.install-stamp"
want=$(cat requirements/*.txt setup.py tools/install.sh | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] &&
    "$VENV/bin/python" -c 'import mmcv.ops, mmpose.models, mmpose_ext' 2>/dev/null; then
    log "environment in $VENV is up to date"
    exit 0
fi

[ -x "$VENV/bin/python" ] || { log "creating $VENV"; "$PY" -m venv "$VENV"; }
# No pip cache: it would keep the ~2.8 GB of torch wheels pip downloads beside
# the 6.2 GB they install to (KEEP_PIP_CACHE=1 keeps pip's default cache).
nocache=--no-cache-dir
[ "${KEEP_PIP_CACHE:-0}" = 1 ] && nocache=
pip() { "$VENV/bin/python" -m pip --disable-pip-version-check $nocache "$@"; }
# Every install honours the pins (numpy 1, opencv 4.11, torch 2.14.1, ...).
pipi() { pip install -c requirements/constraints.txt "$@"; }

# torch 2.14.1 from PyPI is a CUDA build: with its nvidia-* wheels it takes about
# 6.2 GB in the venv, and pip keeps the ~2.8 GB of wheels it downloads in $TMPDIR
# until it has installed them. Fail up front, naming the shortfall, rather than
# with pip's ENOSPC half-way through an install.
NEED_MB=${INSTALL_NEED_MB:-7000}
TMP_NEED_MB=${INSTALL_TMP_NEED_MB:-3000}
free_mb() { df -Pm "$1" | awk 'NR == 2 {print $4}'; }
device() { df -P "$1" | awk 'NR == 2 {print $1}'; }
need_space() {  # directory, MB, override variable(s)
    local free
    free=$(free_mb "$1")
    if [ "$free" -lt "$2" ]; then
        log "error: $1 has $free MB free; installing torch needs about $2 MB" \
            "there (set $3 to override)" >&2
        exit 1
    fi
}
if ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
    tmp=${TMPDIR:-/tmp}
    if [ "$(device "$VENV")" = "$(device "$tmp")" ]; then
        need_space "$VENV" $((NEED_MB + TMP_NEED_MB)) \
            'INSTALL_NEED_MB and INSTALL_TMP_NEED_MB'
    else
        need_space "$VENV" "$NEED_MB" INSTALL_NEED_MB
        need_space "$tmp" "$TMP_NEED_MB" INSTALL_TMP_NEED_MB
    fi
fi

log "torch + torchvision ($TORCH_SPEC)"
# shellcheck disable=SC2086
pipi -q $TORCH_SPEC
# mmcv's setup.py imports pkg_resources: setuptools must stay below 82.
pipi -q 'setuptools>=77.0.3,<82' wheel ninja -r requirements/runtime.txt

has_cuda=$("$VENV/bin/python" -c 'import torch; print(int(torch.cuda.is_available()))')

install_mmcv_from_source() {
    log "building mmcv $MMCV_VERSION from source (about 15 minutes on 2 cores)"
    local work
    work=$(mktemp -d)
    pip download -q --no-deps --no-binary :all: "mmcv==$MMCV_VERSION" -d "$work"
    tar -xzf "$work"/mmcv-"$MMCV_VERSION".tar.gz -C "$work"
    local src="$work/mmcv-$MMCV_VERSION"
    # torch >= 2.14 headers refuse C++ standards older than C++20.
    sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
    # THC was removed from torch; ATen/cuda/Atomic.cuh provides the same atomics.
    grep -rl 'THC/THCAtomics.cuh' "$src/mmcv/ops/csrc" | xargs -r sed -i \
        's#THC/THCAtomics.cuh#ATen/cuda/Atomic.cuh#g'
    if [ "$has_cuda" = 1 ]; then export FORCE_CUDA=1; log "CUDA found: building CUDA ops too"; fi
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} pipi --no-build-isolation "$src"
    rm -rf "$work"
}

if "$VENV/bin/python" -c "import mmcv, mmcv.ops, sys; sys.exit(mmcv.__version__ != '$MMCV_VERSION')" 2>/dev/null; then
    log "mmcv $MMCV_VERSION with ops already installed"
elif [ "$has_cuda" != 1 ] && pipi -q --no-build-isolation --only-binary mmcv "mmcv==$MMCV_VERSION" 2>/dev/null; then
    log "mmcv $MMCV_VERSION installed from a wheel pip was offered"
else
    install_mmcv_from_source
fi

pipi -q --no-deps "mmpose==$MMPOSE_VERSION"
pipi -q -r requirements/tests.txt
pipi -q --no-deps --no-build-isolation -e .

"$VENV/bin/python" -c 'import mmcv.ops, mmpose.models, mmpose_ext; print("[install] ok: mmpose_ext", mmpose_ext.__version__)'
echo "$want" > "$STAMP"
