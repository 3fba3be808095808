#!/usr/bin/env bash
# The shipped default, avin-centernet (models/README.md, "The default model"): from the Debian and
# npm packages to the bundle with its card, on a 2-core CPU in about 45 minutes.
#
#   bash models/scripts/recipe_pretrained.sh [RUNS]      (RUNS: .cache/runs/centernet)
#
# Stages: the two corpora (mixed styles; photographs only), audio encoder pretraining, the
# projections on the frozen COCO CenterNet trunk (AVIN and the EZ-VSL baseline, identically but
# for that objective), the test report in onnxruntime-node, the controls (shuffled audio,
# objectness, by style and object count) on both corpora, the whole-photo probe, export with the
# card, the sounding-score calibration and the latency. Each stage's output stays in RUNS; a
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

[ -f $V3/corpus.json ] || { stage "corpus $V3"; $PY -m avloc_corpus.build --out $V3 --seed 0; }
[ -f $PH/corpus.json ] || { stage "corpus $PH"; $PY -m avloc_corpus.photo_corpus --out $PH --seed 0; }
[ -f "$R/pretrain/audio.pth" ] || { stage "audio pretraining"; \
  $PY -m avloc_corpus.pretrain --out "$R/pretrain" --only audio --seed 0 --n-audio 12000 --epochs 10; }
for m in avin ezvsl; do
  [ -f "$R/$m/best.pt" ] || { stage "projections, objective $m"; \
    $PY -m avloc_corpus.train_heads --variant pretrained-cls --objective $m --objective-weight 0.1 \
        --init "$R/pretrain" --out "$R/$m" --data $V3 --data $PH; }
done
stage "export and test report"
$PY -m avloc_corpus.ship --checkpoint "$R/avin/best.pt" --pretrain "$R/pretrain" --out $OUT --name $OUT
for d in $V3 $PH; do
  n=$(basename $d)
  $PY -m avloc_corpus.report --data $d --avin "$R/avin/best.pt" --ezvsl "$R/ezvsl/best.pt" --bundle $OUT \
      --out "$R/report-$n" --overlays 12
  $PY -m avloc_corpus.controls "$R/avin/best.pt" --data $d --out "$R/controls-$n"
done
$PY -m avloc_corpus.camera "$R/avin/best.pt" --out "$R/camera"
node scripts/time_visual.mjs $OUT > "$R/timing.json"
stage "card"
$PY -m avloc_corpus.ship --checkpoint "$R/avin/best.pt" --pretrain "$R/pretrain" --out $OUT --name $OUT \
    --report "$R/report-synth-v3" --controls "$R/controls-synth-v3" --timing "$R/timing.json" \
    --photo-report "$R/report-photo-v1" --photo-controls "$R/controls-photo-v1" --camera "$R/camera"
$PY -m avloc_corpus.calibrate $OUT --data $V3 --write
stage "done: $OUT"
