#!/usr/bin/env bash
# The main job on the embedded default (`make demo`): train CONFIG on the
# synthetic COCO set with MMPose's CocoMetric eval hook, test the best
# checkpoint, draw predicted skeletons on val images and plot the run.
set -euo pipefail
CONFIG=${CONFIG:?set CONFIG}
WORK_DIR=${WORK_DIR:-work_dirs/demo}
PY=${PY:-.venv/bin/python}
start=$(date +%s)

"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR"
best=$(ls -t "$WORK_DIR"/best_coco_AP_*.pth 2>/dev/null | head -n 1 || true)
if [ -z "$best" ]; then
    echo "[demo] no best_coco_AP_*.pth in $WORK_DIR: did validation run?" >&2
    exit 1
fi
"$PY" tools/test.py "$CONFIG" "$best" --work-dir "$WORK_DIR/test" \
    --out "$WORK_DIR/test/metrics.json" --show-dir vis
"$PY" tools/analysis/plot_training.py "$WORK_DIR" \
    --out "$WORK_DIR/training_curves.png"

vis_dir=$(ls -dt "$WORK_DIR"/test/*/vis 2>/dev/null | head -n 1)
"$PY" - "$WORK_DIR/test/metrics.json" "$best" "$vis_dir" \
    "$WORK_DIR/training_curves.png" "$(( $(date +%s) - start ))" <<'PY'
import json, sys
metrics_file, best, vis_dir, curves, seconds = sys.argv[1:]
metrics = json.load(open(metrics_file))
print(f"\n[demo] CocoMetric AP on the synthetic val set: "
      f"{metrics['coco/AP']:.3f} (AP50 {metrics['coco/AP .5']:.3f}, "
      f"AR {metrics['coco/AR']:.3f})")
print(f'[demo] best checkpoint:  {best}')
print(f'[demo] val predictions:  {vis_dir}/')
print(f'[demo] loss and AP plot: {curves}')
print(f'[demo] total time: {int(seconds) / 60:.1f} min')
PY
