#!/usr/bin/env bash
# The avin-synth recipe (models/README.md) at scale, for a machine with a CUDA GPU and many cores:
# every training set is composed fresh in memory from the asset pack (avloc_corpus/pack.py) by
# WORKERS processes, and the networks train on DEVICE. Same stages, objectives and selection rules
# as the 2-core recipe; more images, sounds and scenes, batch 128 (the official AVIN batch size).
#
#   bash models/scripts/recipe_scaled.sh RUNS [RESULTS]
#
# RUNS receives the run folders; RESULTS, if given, receives after every stage what
# avloc_corpus.collect packs (a few files < 16 MB: weights without optimiser state, logs).
# Env: DEVICE (cuda), WORKERS (8 per composing process), PACK, PYTHON (python3), SCALE (1.0: set
# sizes are multiplied by it; 0.01 is a smoke test that runs on a CPU in a few minutes).
# Seen on one H200 + 16 cores (2026-11-26, 505 s): the pretraining stages finish in ~3 min; the
# scene stages below run their processes time-sliced on the one GPU and per-image augmentation
# on the CPU, so they stop at their --minutes caps undertrained (models/README.md, GPU section).
# The encoders the scene stages start from are RUNS/init (pretrain-ml's visual.pth, pretrain-audio's
# audio.pth); RESULTS/pretrain.tar holds both.
set -euo pipefail
cd "$(dirname "$0")/.."
R=$(realpath -m "$1"); RES=${2:-}
PY=${PYTHON:-python3}; DEV=${DEVICE:-cuda}; W=${WORKERS:-8}
P=${PACK:-.cache/pack/synth-v2-seed0.pack}; S=${SCALE:-1.0}
export PYTHONPATH=. PYTHONUNBUFFERED=1
n() { $PY -c "print(max(64, int($1 * $S)))"; }
mkdir -p "$R"
t0=$(date +%s)
stage() { echo "== $(( $(date +%s) - t0 )) s: $*" | tee -a "$R/stages.log"; }
collect() { [ -z "$RES" ] || $PY -m avloc_corpus.collect "$R" "$RES"; }
pids=()
waitall() {   # wait for every started job; fail (after collecting what exists) if any failed
  local bad=0; for p in "${pids[@]}"; do wait "$p" || bad=1; done; pids=()
  if [ $bad = 1 ]; then collect; stage "a job failed"; return 1; fi
}
common=(--device "$DEV" --pack "$P" --workers "$W" --threads 2 --batch-size 128)

stage "pretraining: visual (single label) and audio, side by side"
$PY -m avloc_corpus.pretrain --out "$R/pretrain" --only visual --n-visual "$(n 80000)" --epochs 6 \
    "${common[@]}" > "$R/pretrain-visual.log" 2>&1 & pids+=($!)
$PY -m avloc_corpus.pretrain --out "$R/pretrain-audio" --only audio --n-audio "$(n 80000)" --epochs 8 \
    "${common[@]}" > "$R/pretrain-audio.log" 2>&1 & pids+=($!)
waitall
tail -n 2 "$R/pretrain-visual.log" "$R/pretrain-audio.log"
collect

stage "pretraining: visual, 0-3 objects with image-level tags"
$PY -m avloc_corpus.pretrain --out "$R/pretrain-ml" --only visual --tag ml --max-objects 3 \
    --init-visual "$R/pretrain/visual.pth" --n-visual "$(n 80000)" --epochs 4 "${common[@]}" > "$R/pretrain-ml.log" 2>&1
tail -n 1 "$R/pretrain-ml.log"
mkdir -p "$R/init"
cp "$R/pretrain-ml/visual.pth" "$R"/pretrain-ml/*.json "$R"/pretrain/*.json "$R/pretrain-audio/audio.pth" \
   "$R"/pretrain-audio/*.json "$R/init/"
collect

scenes=(--init "$R/init" --fresh "$(n 40000)" --device "$DEV" --pack "$P" --workers "$W" --threads 2 --batch-size 128)
stage "scenes: projections on the frozen encoders, AVIN and EZ-VSL side by side"
for m in avin ezvsl; do
  $PY -m avloc_corpus.train_scenes --method $m --out "$R/$m-fz" "${scenes[@]}" --epochs 30 --freeze-visual \
      --minutes 1.5 > "$R/$m-fz.log" 2>&1 & pids+=($!)
done
waitall
grep -h "finished" "$R"/*-fz.log
collect

stage "scenes: the visual ResNet too, at the official rates and at 10x"
for m in avin ezvsl; do
  $PY -m avloc_corpus.train_scenes --method $m --out "$R/$m-ft" "${scenes[@]}" --from "$R/$m-fz/best.pt" \
      --lr-visual 1e-5 --lr-proj 1e-4 --epochs 15 --minutes 3 > "$R/$m-ft.log" 2>&1 & pids+=($!)
  $PY -m avloc_corpus.train_scenes --method $m --out "$R/$m-ft-hi" "${scenes[@]}" --from "$R/$m-fz/best.pt" \
      --lr-visual 1e-4 --lr-proj 1e-3 --epochs 15 --minutes 3 > "$R/$m-ft-hi.log" 2>&1 & pids+=($!)
done
waitall
grep -h "finished" "$R"/*-ft*.log
collect
stage "done"
