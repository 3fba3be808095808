#!/usr/bin/env bash
# The shipped default, avin-centernet (models/README.md, "The default model"): from the Debian and
# npm packages to the bundle with its card, on a 2-core CPU in about an hour (most of it the
# trunk's maps of 9,300 scenes, computed once and cached beside each corpus).
#
#   bash models/scripts/recipe_pretrained.sh [RUNS]      (RUNS: .cache/runs/centernet)
#
# Stages: the two corpora (mixed styles; photographs only), audio encoder pretraining, the class
# heads on the frozen COCO CenterNet trunk (train_heads --staged), export, the test report in
# onnxruntime-node and the controls (shuffled audio, objectness, by style and object count) on
# both corpora, the whole-photo probe, the latency, the card, and the sounding-score calibration. Each stage's output stays in RUNS; a
# stage whose output exists is skipped, so a cut-off run continues where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
R=$(realpath -m "${1:-.cache/runs/centernet}")
PY=${PYTHON:-/usr/bin/python3}
OUT=${BUNDLE:-avin-centernet}
export PYTHONPATH=. PYTHONUNBUFFERED=1
V3=.cache/corpus/synth-v3 PH=.cache/corpus/photo-v1
mkdir -p "$R"
stage() { echo "== $(date +%H:%M:%S) $*" | tee -a "$R/stages.log"; }

[ -f $V3/corpus.json ] || { stage "corpus $V3"; $PY -m avloc_corpus.scenes.build --out $V3 --seed 0; }
[ -f $PH/corpus.json ] || { stage "corpus $PH"; $PY -m avloc_corpus.scenes.photo_corpus --out $PH --seed 0; }
[ -f "$R/pretrain/audio.pth" ] || { stage "audio pretraining"; \
  $PY -m avloc_corpus.training.pretrain --out "$R/pretrain" --only audio --seed 0 --n-audio 12000 --epochs 10; }
[ -f "$R/heads/best.pt" ] || { stage "class heads"; \
  $PY -m avloc_corpus.training.train_heads --variant pretrained-cls --proj classes --staged --batch-size 256 --lr 1e-2 \
      --steps 500 --init "$R/pretrain" --out "$R/heads" --data $V3 --data $PH; }
H="$R/heads/best.pt"
[ -f "$R/ezvsl/best.pt" ] || { stage "EZ-VSL baseline on the same frozen encoders (self-supervised)"; \
  $PY -m avloc_corpus.training.train_heads --variant pretrained-cls --proj embedding --objective ezvsl --objective-only \
      --proj-bias --epochs 10 --lr 1e-3 --init "$R/pretrain" --out "$R/ezvsl" --data $V3 --data $PH; }
stage "export, reports, controls, probe, latency"
$PY -m avloc_corpus.training.ship --checkpoint "$H" --pretrain "$R/pretrain" --out $OUT --name $OUT
for d in $V3 $PH; do
  n=$(basename $d)
  $PY -m avloc_corpus.reports.report --data $d --avin "$H" --ezvsl "$R/ezvsl/best.pt" --bundle $OUT --out "$R/report-$n" \
      --overlays 12
  $PY -m avloc_corpus.reports.controls "$H" --data $d --out "$R/controls-$n"
done
$PY -m avloc_corpus.reports.camera "$H" --out "$R/camera"
node scripts/time_visual.mjs $OUT --runs 100 > "$R/timing.json"
stage "card and sounding calibration"
$PY -m avloc_corpus.training.ship --checkpoint "$H" --pretrain "$R/pretrain" --out $OUT --name $OUT \
    --report "$R/report-synth-v3" --controls "$R/controls-synth-v3/controls.json" --timing "$R/timing.json" \
    --photo-report "$R/report-photo-v1/metrics.json" --photo-controls "$R/controls-photo-v1/controls.json" \
    --camera "$R/camera/camera.json"
$PY -m avloc_corpus.reports.calibrate $OUT --data $V3 --write
stage "done: $OUT"
