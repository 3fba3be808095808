#!/usr/bin/env bash
# The avin-synth recipe (models/README.md) at scale, for a machine with a CUDA GPU and many cores:
# every training set is composed fresh in memory from the asset pack (avloc_corpus/scenes/pack.py) by
# WORKERS processes, and the networks train on DEVICE. Same stages, objectives and selection rules
# as the 2-core recipe; more images, sounds and scenes, batch 128 (the official AVIN batch size).
#
#   bash models/scripts/recipe_scaled.sh RUNS [RESULTS]
#
# RUNS receives the run folders; RESULTS, if given, receives after every stage what
# avloc_corpus.training.collect packs (a few files < 16 MB: weights without optimiser state, logs).
# Env: DEVICE (cuda), WORKERS (8 per composing process), PACK, PYTHON (python3), SCALE (1.0: set
# sizes are multiplied by it; 0.01 is a smoke test that runs on a CPU in a few minutes).
# EPOCHS (40) is the scene stage's. Seen on one H200 + 16 cores (2026-11-26, 505 s, with the scene
# stages of then: four fine-tuning processes time-sliced on the one GPU, stopped undertrained by
# their --minutes caps): the pretraining stages finish in ~3 min. The scene stage below is the one
# the shipped model was then given on 2 cores; it has run on a CPU only (SCALE=0.01 EPOCHS=1).
# The encoders the scene stage starts from are RUNS/init (pretrain-ml's visual.pth, pretrain-audio's
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
collect() { [ -z "$RES" ] || $PY -m avloc_corpus.training.collect "$R" "$RES"; }
pids=()
waitall() {   # wait for every started job; fail (after collecting what exists) if any failed
  local bad=0; for p in "${pids[@]}"; do wait "$p" || bad=1; done; pids=()
  if [ $bad = 1 ]; then collect; stage "a job failed"; return 1; fi
}
common=(--device "$DEV" --pack "$P" --workers "$W" --threads 2 --batch-size 128)

stage "pretraining: visual (single label) and audio, side by side"
$PY -m avloc_corpus.training.pretrain --out "$R/pretrain" --only visual --n-visual "$(n 80000)" --epochs 6 \
    "${common[@]}" > "$R/pretrain-visual.log" 2>&1 & pids+=($!)
$PY -m avloc_corpus.training.pretrain --out "$R/pretrain-audio" --only audio --n-audio "$(n 80000)" --epochs 8 \
    "${common[@]}" > "$R/pretrain-audio.log" 2>&1 & pids+=($!)
waitall
tail -n 2 "$R/pretrain-visual.log" "$R/pretrain-audio.log"
collect

stage "pretraining: visual, 0-3 objects with image-level tags"
$PY -m avloc_corpus.training.pretrain --out "$R/pretrain-ml" --only visual --tag ml --max-objects 3 \
    --init-visual "$R/pretrain/visual.pth" --n-visual "$(n 80000)" --epochs 4 "${common[@]}" > "$R/pretrain-ml.log" 2>&1
tail -n 1 "$R/pretrain-ml.log"
mkdir -p "$R/init"
cp "$R/pretrain-ml/visual.pth" "$R"/pretrain-ml/*.json "$R"/pretrain/*.json "$R/pretrain-audio/audio.pth" \
   "$R"/pretrain-audio/*.json "$R/init/"
collect

# the shipped recipe's scene stage (models/README.md): only the two projections, on the frozen
# encoders, on the corpus' own train split composed again from the pack, best.pt chosen by val
# with the maps centred; one process at a time, so the GPU is not time-sliced between them
scenes=(--init "$R/init" --pack "$P" --device "$DEV" --threads 2 --batch-size 32 --freeze-visual --epochs "${EPOCHS:-40}")
stage "scenes: AVIN projections on the frozen encoders"
$PY -m avloc_corpus.training.train_scenes --method avin --out "$R/avin-fz" "${scenes[@]}" --centering 2 > "$R/avin-fz.log" 2>&1
stage "scenes: EZ-VSL projections, identically"
$PY -m avloc_corpus.training.train_scenes --method ezvsl --out "$R/ezvsl-fz" "${scenes[@]}" --centering 1.5 > "$R/ezvsl-fz.log" 2>&1
grep -h "finished" "$R"/*-fz.log
stage "feature centering picked on val"
for m in avin ezvsl; do $PY -m avloc_corpus.training.centering "$R/$m-fz/best.pt" --pack "$P"; done
collect
stage "done"
