#!/usr/bin/env bash
# One-command, idempotent environment setup for mmpose_ext (called by `make install`).
#
# usage: tools/install.sh [--offline DIR] [--cuda-ops] [--plan]
#
#   --offline DIR  install from DIR alone (made by `make wheelhouse`), no package index
#   --cuda-ops     build MMCV's CUDA ops too (or MMCV_CUDA_OPS=1): needs a CUDA build of
#                  PyTorch and an nvcc of the same CUDA major version; CPU ops otherwise
#   --plan         print what would be kept and installed, and change nothing
#
# Installs the OpenMMLab stack and the package (editable) into $VENV (default .venv/ in the
# repository, created with $PYTHON if missing). A PyTorch the environment already has is kept,
# with its torchvision, numpy and OpenCV; without one, torch 2.14.1 + torchvision 0.29.1 are
# installed. mmcv 2.1.0 with compiled ops comes from a wheel pip is offered (--find-links /
# PIP_FIND_LINKS) when `import mmcv.ops` then works, else from its sdist with the patches
# current torch needs. See docs/installation.md.
set -euo pipefail

log() { printf '[install] %s\n' "$*"; }
die() { log "error: $*" >&2; exit 2; }

OFFLINE=
CUDA_OPS=${MMCV_CUDA_OPS:-0}
PLAN=0
while [ $# -gt 0 ]; do
    case $1 in
        --offline)
            if [ $# -lt 2 ] || [ -z "$2" ] || [ "${2#-}" != "$2" ]; then
                die "--offline needs a folder: tools/install.sh --offline DIR" \
                    "(make one with \`make wheelhouse\`)"
            fi
            OFFLINE=$2; shift 2 ;;
        --offline=*)
            OFFLINE=${1#*=}
            [ -n "$OFFLINE" ] || die "--offline needs a folder: tools/install.sh --offline DIR"
            shift ;;
        --cuda-ops) CUDA_OPS=1; shift ;;
        --plan | --dry-run) PLAN=1; shift ;;
        -h | --help) sed -n '4,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (tools/install.sh --help)" ;;
    esac
done
if [ -n "$OFFLINE" ]; then
    [ -d "$OFFLINE" ] || die "--offline folder $OFFLINE does not exist" \
        "(make one with \`make wheelhouse\` where there is network)"
    OFFLINE=$(cd "$OFFLINE" && pwd)
fi
# a VENV given by the caller is relative to the caller's folder
case ${VENV:-} in
    '' | /*) ;;
    *) VENV="$PWD/$VENV" ;;
esac

cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-"torch==2.14.1 torchvision==0.29.1"}
MMCV_VERSION=2.1.0
MMPOSE_VERSION=1.3.2
start=$SECONDS

if [ -n "$OFFLINE" ]; then
    # no index at all; the wheelhouse is the only place pip looks
    export PIP_NO_INDEX=1 PIP_FIND_LINKS="$OFFLINE"
fi

STAMP="$VENV/.install-stamp"
want=$({ cat requirements/*.txt setup.py tools/install.sh tools/install_env.py \
    tools/repack_wheel.py; echo "cuda_ops=$CUDA_OPS"; } | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] &&
    "$VENV/bin/python" -c 'import mmcv.ops, mmpose.models, mmpose_ext' 2>/dev/null; then
    log "environment in $VENV is up to date"
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CONSTRAINTS="$work/constraints.txt"

if [ -x "$VENV/bin/python" ]; then
    probe_py=("$VENV/bin/python")
elif [ "$PLAN" = 1 ]; then
    log "would create $VENV with $PY"
    probe_py=("$PY" -I -S)  # sees no site-packages: a new venv's view
else
    log "creating $VENV"
    "$PY" -m venv "$VENV"
    probe_py=("$VENV/bin/python")
fi

# probe_env: what $VENV has (TORCH_VERSION, TORCH_CUDA, TORCHVISION_VERSION, NUMPY_VERSION,
# OPENCV_DIST, ... see tools/install_env.py) and the constraints for it in $CONSTRAINTS.
probe_env() {
    local vars
    vars=$("${probe_py[@]}" tools/install_env.py plan \
        --constraints requirements/constraints.txt --out "$CONSTRAINTS") || exit 2
    TORCH_DESCRIPTION=
    eval "$vars"
}
probe_env

# No pip cache: it would keep the ~2.8 GB of torch wheels pip downloads beside
# the 6.2 GB they install to (KEEP_PIP_CACHE=1 keeps pip's default cache).
nocache=--no-cache-dir
[ "${KEEP_PIP_CACHE:-0}" = 1 ] && nocache=
pip() { "$VENV/bin/python" -m pip --disable-pip-version-check $nocache "$@"; }
# Every install honours the pins, those of what the environment keeps included.
pipi() { pip install -c "$CONSTRAINTS" "$@"; }

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

if [ -n "$TORCH_VERSION" ]; then
    log "kept $TORCH_DESCRIPTION from $VENV"
    [ "$PLAN" = 1 ] && log "would not install torch"
elif [ "$PLAN" = 1 ]; then
    log "no PyTorch in $VENV: would install $TORCH_SPEC"
else
    if [ -n "$OFFLINE" ] && ! compgen -G "$OFFLINE/torch-*.whl" >/dev/null; then
        die "no PyTorch in $VENV, and the wheelhouse $OFFLINE holds none:" \
            "install the PyTorch for this machine into $VENV first"
    fi
    tmp=${TMPDIR:-/tmp}
    if [ "$(device "$VENV")" = "$(device "$tmp")" ]; then
        need_space "$VENV" $((NEED_MB + TMP_NEED_MB)) \
            'INSTALL_NEED_MB and INSTALL_TMP_NEED_MB'
    else
        need_space "$VENV" "$NEED_MB" INSTALL_NEED_MB
        need_space "$tmp" "$TMP_NEED_MB" INSTALL_TMP_NEED_MB
    fi
    log "torch + torchvision ($TORCH_SPEC)"
    # shellcheck disable=SC2086
    pip install -q -c requirements/constraints.txt $TORCH_SPEC
    probe_env
    log "installed $TORCH_DESCRIPTION"
fi

# MMCV's CUDA ops only when asked for, from a CUDA build of torch and a matching nvcc.
nvcc_cuda=
if [ "$CUDA_OPS" = 1 ] && [ -n "$TORCH_VERSION" ]; then
    [ -n "$TORCH_CUDA" ] || die "--cuda-ops: $TORCH_DESCRIPTION is not a CUDA build"
    nvcc=
    for candidate in ${CUDA_HOME:+"$CUDA_HOME/bin/nvcc"} "$(command -v nvcc || true)" \
        /usr/local/cuda/bin/nvcc; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then nvcc=$candidate; break; fi
    done
    [ -n "$nvcc" ] || die "--cuda-ops: no nvcc found (put it on PATH or set CUDA_HOME)"
    nvcc_cuda=$("$nvcc" --version | sed -n 's/.*release \([0-9][0-9.]*\).*/\1/p')
    if [ "${nvcc_cuda%%.*}" != "${TORCH_CUDA%%.*}" ]; then
        die "--cuda-ops: $nvcc is CUDA $nvcc_cuda but PyTorch was built with CUDA" \
            "$TORCH_CUDA: point CUDA_HOME at a CUDA ${TORCH_CUDA%%.*}.x toolkit"
    fi
    export CUDA_HOME=${CUDA_HOME:-$(dirname "$(dirname "$nvcc")")}
fi
ops=CPU
[ "$CUDA_OPS" = 1 ] && ops="CPU and CUDA"

case ${OPENCV_REWRITE:-} in
    opencv-python-headless) cv_label=headless ;;
    opencv-contrib-python) cv_label=contrib ;;
    opencv-contrib-python-headless) cv_label=contrib.headless ;;
    *) cv_label= ;;
esac
numpy_major=${NUMPY_MAJOR:-1}  # numpy is installed at the pinned 1.26.4 when missing

if [ "$PLAN" = 1 ]; then
    log "plan (nothing is installed):"
    log "  packages from: ${OFFLINE:-the package index${PIP_FIND_LINKS:+ and $PIP_FIND_LINKS}}"
    if [ -n "$TORCHVISION_VERSION" ]; then
        log "  torchvision $TORCHVISION_VERSION: kept"
    elif [ -n "$TORCHVISION_SPEC" ]; then
        log "  torchvision: would install $TORCHVISION_SPEC"
    fi
    if [ -n "$NUMPY_VERSION" ]; then log "  numpy $NUMPY_VERSION: kept"
    else log "  numpy: would install the pinned one"; fi
    if [ -n "$OPENCV_REWRITE" ]; then
        log "  $OPENCV_DIST $OPENCV_VERSION: kept (the opencv-python requirement of" \
            "mmengine, mmcv and mmpose is pointed at it)"
    elif [ -n "$OPENCV_DIST" ]; then
        log "  $OPENCV_DIST $OPENCV_VERSION: kept"
    else
        log "  opencv-python: would install the pinned one"
    fi
    if [ "$numpy_major" -ge 2 ]; then
        log "  xtcocotools: built from its sdist (numpy $NUMPY_VERSION)"
    else
        log "  xtcocotools: from a wheel"
    fi
    log "  mmcv $MMCV_VERSION with $ops ops: an offered wheel if \`import mmcv.ops\`" \
        "works with it, else built from its sdist"
    log "  mmpose $MMPOSE_VERSION from its wheel without chumpy; mmengine, mmdet"
    [ -z "$OFFLINE" ] && log "  test tools: requirements/tests.txt"
    [ -n "$OFFLINE" ] && log "  pytest, if the wheelhouse has it (the GPU verification)"
    log "  mmpose_ext: editable install of $(pwd)"
    log "  constraints:"
    grep -v '^#' "$CONSTRAINTS" | sed 's/^/[install]     /'
    exit 0
fi

log "build tools (requirements/build.txt)"
base=(-r requirements/build.txt matplotlib)  # matplotlib: xtcocotools' setup_requires
[ -n "$NUMPY_VERSION" ] || base+=(numpy)
[ -n "$OPENCV_DIST" ] || base+=(opencv-python)
pipi -q "${base[@]}"
probe_env  # numpy and OpenCV are there now
numpy_major=${NUMPY_MAJOR:-1}

if [ -n "$TORCHVISION_SPEC" ]; then
    log "torchvision ($TORCHVISION_SPEC) for $TORCH_DESCRIPTION"
    pipi -q "$TORCHVISION_SPEC"
    # a torchvision from the index is built for the index's PyTorch builds
    if ! "$VENV/bin/python" -c 'import torchvision' 2>"$work/torchvision.err"; then
        pip uninstall -q -y torchvision
        die "the torchvision the index offers for $TORCH_DESCRIPTION does not import" \
            "($(tail -n 1 "$work/torchvision.err")): install the torchvision built for" \
            "this PyTorch (from the index it came from) into $VENV, then run again"
    fi
fi

# stack_wheel SPEC [repack_wheel.py options]: the path of the wheel pip is offered for SPEC,
# with its requirements rewritten as the options ask and, over another OpenCV distribution,
# its opencv-python requirement pointed at that one (tools/repack_wheel.py).
stack_wheel() {
    local spec=$1 dir whl
    shift
    dir="$work/wheels/${spec%%=*}"
    mkdir -p "$dir"
    pip download -q --no-deps --only-binary :all: -c "$CONSTRAINTS" -d "$dir" "$spec" >&2 ||
        return 1
    whl=$(ls "$dir"/*.whl)
    if [ $# -gt 0 ]; then
        whl=$("$VENV/bin/python" tools/repack_wheel.py "$whl" -o "$dir/out" "$@")
    fi
    if [ -n "$cv_label" ]; then
        whl=$("$VENV/bin/python" tools/repack_wheel.py "$whl" -o "$dir/cv" \
            --rename "opencv-python=$OPENCV_REWRITE" --local "$cv_label")
    fi
    echo "$whl"
}

log "mmengine"
whl=$(stack_wheel mmengine)
pipi -q "$whl"

if [ "$numpy_major" -ge 2 ]; then
    log "xtcocotools from its sdist (its wheels are built against numpy 1, this is numpy" \
        "$NUMPY_VERSION)"
    pipi -q --no-binary xtcocotools --no-build-isolation xtcocotools
else
    pipi -q xtcocotools
fi

log "mmdet and the stack's other needs (requirements/runtime.txt)"
pipi -q -r requirements/runtime.txt

mmcv_ok() {  # mmcv $MMCV_VERSION imports and runs its ops (has CUDA ones, if asked for)
    CUDA_VISIBLE_DEVICES='' "$VENV/bin/python" - "$MMCV_VERSION" "$CUDA_OPS" \
        2>/dev/null <<'EOF'
import sys
import torch
import mmcv
from mmcv.ops import get_compiling_cuda_version, nms
assert mmcv.__version__ == sys.argv[1]
boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.]])
assert nms(boxes, torch.tensor([0.9, 0.8]), 0.5)[1].tolist() == [0]
assert sys.argv[2] != '1' or get_compiling_cuda_version() != 'not available'
EOF
}

install_mmcv_from_source() {
    local src="$work/mmcv-$MMCV_VERSION"
    pip download -q --no-deps --no-binary :all: --no-build-isolation -c "$CONSTRAINTS" \
        "mmcv==$MMCV_VERSION" -d "$work"
    tar -xzf "$work/mmcv-$MMCV_VERSION.tar.gz" -C "$work"
    # torch >= 2.14 headers refuse C++ standards older than C++20.
    sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
    # THC was removed from torch; ATen/cuda/Atomic.cuh provides the same atomics.
    grep -rl 'THC/THCAtomics.cuh' "$src/mmcv/ops/csrc" | xargs -r sed -i \
        's#THC/THCAtomics.cuh#ATen/cuda/Atomic.cuh#g'
    local jobs=${MAX_JOBS:-$(nproc)}
    if [ "$CUDA_OPS" = 1 ]; then
        log "building mmcv $MMCV_VERSION with CPU and CUDA ops (nvcc $nvcc_cuda," \
            "TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-<the visible GPUs, else every arch>}," \
            "$jobs jobs)"
        FORCE_CUDA=1 MMCV_WITH_OPS=1 MAX_JOBS=$jobs pipi --no-build-isolation "$src"
    else
        # mmcv's setup.py builds CUDA ops whenever torch sees a GPU: hide it.
        log "building mmcv $MMCV_VERSION with CPU ops from source ($jobs jobs; about" \
            "15 minutes on 2 cores)"
        CUDA_VISIBLE_DEVICES='' FORCE_CUDA=0 MMCV_WITH_OPS=1 MAX_JOBS=$jobs \
            pipi --no-build-isolation "$src"
    fi
}

if mmcv_ok; then
    log "mmcv $MMCV_VERSION with $ops ops already installed"
elif whl=$(stack_wheel "mmcv==$MMCV_VERSION" 2>/dev/null) && [ -n "$whl" ] &&
    pipi -q --no-build-isolation "$whl" && mmcv_ok; then
    log "mmcv $MMCV_VERSION from a wheel pip was offered ($(basename "$whl"))"
else
    if pip show -q mmcv 2>/dev/null; then
        log "mmcv $MMCV_VERSION from the offered wheel does not import its $ops ops" \
            "with $TORCH_DESCRIPTION: removing it"
        pip uninstall -q -y mmcv
    fi
    install_mmcv_from_source
    mmcv_ok || die "mmcv $MMCV_VERSION was built but \`import mmcv.ops\` fails"
fi

log "mmpose $MMPOSE_VERSION from its wheel, without its chumpy requirement"
whl=$(stack_wheel "mmpose==$MMPOSE_VERSION" --drop chumpy --local nochumpy)
pipi -q "$whl"

if [ -z "$OFFLINE" ]; then
    pipi -q -r requirements/tests.txt
elif compgen -G "$OFFLINE/pytest-*.whl" >/dev/null; then
    # what the GPU verification runs the CUDA tier with (docs/gpu.md)
    pipi -q pytest
fi
pipi -q --no-deps --no-build-isolation -e .

"$VENV/bin/python" -c \
    'import torchvision, mmcv.ops, mmpose.models, mmpose.visualization, mmpose_ext'
if check=$(pip check 2>&1); then
    log "pip check: $check"
else
    log "warning: pip check: $check" >&2
fi
log "ok: mmpose_ext $("$VENV/bin/python" -c 'import mmpose_ext; print(mmpose_ext.__version__)')" \
    "on $TORCH_DESCRIPTION, mmcv $MMCV_VERSION with $ops ops, in $((SECONDS - start)) s"
echo "$want" > "$STAMP"
