#!/usr/bin/env bash
# Every figure of the default model's card, measured again: after retraining, one command.
#
#   bash benchmarks/card_figures.sh runs/full/data runs/full/mini runs/card
#
# DATA: the dataset the model was trained on; RUN: its training run (RUN/best is scored on the test
# split in fp32); OUT: where the logs and samples go. The shipped weights (src/tunesmith/models/default,
# i.e. `tunesmith export RUN --out src/tunesmith/models/default`) are what is sampled and scored on the
# validation split. Two lanes run side by side, one CPU thread each (about 40 min on 2 cores).
# The previous weights' samples, if PREVIOUS_SAMPLES names their folder, are compared for note placement;
# the previous weights themselves, if PREVIOUS_MODEL names their folder, for how much they read the composer.
set -euo pipefail
DATA=${1:?dataset folder}; RUN=${2:?training run}; OUT=${3:-runs/card}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
STYLES=bach,palestrina,oneills1850,essenFolksong,pianomidi,pop909,oneills1850-fiddle,beethoven,mozart,schubert
mkdir -p "$OUT"
(
  tunesmith evaluate model src/tunesmith/models/default --data "$DATA" --split validation > "$OUT/nll-validation.log" 2>&1
  python benchmarks/style_samples.py --styles $STYLES --per-style 10 --out "$OUT/ss-g1" > "$OUT/ss-g1.log" 2>&1
  python benchmarks/style_samples.py --styles $STYLES --per-style 10 --style-guidance 2 --out "$OUT/ss-g2" > "$OUT/ss-g2.log" 2>&1
) &
lane_a=$!
tunesmith evaluate model "$RUN" --data "$DATA" --split test > "$OUT/nll-test.log" 2>&1
tunesmith evaluate ngram "$DATA" --order 5 --split test > "$OUT/ngram.log" 2>&1
python benchmarks/control_adherence.py --out "$OUT/adherence" > "$OUT/adherence.log" 2>&1
python benchmarks/control_adherence.py --key-bias 0 --candidates 1 --no-fix-key --out "$OUT/adherence-alone" \
  > "$OUT/adherence-alone.log" 2>&1
# does the model read the Composer control? (held-out piano pieces scored under each composer label)
python benchmarks/composer_likelihood.py --data "$DATA" --models ${PREVIOUS_MODEL:-} src/tunesmith/models/default \
  > "$OUT/composer-likelihood.log" 2>&1
# the card's ablation: the same samples with an unasked meter / tempo left to the model (typical.py off)
python benchmarks/style_samples.py --styles $STYLES --per-style 10 --no-typical --out "$OUT/ss-g1-free" > "$OUT/ss-g1-free.log" 2>&1
wait $lane_a
python benchmarks/style_table.py "$OUT/ss-g1" "$OUT/ss-g2" "$OUT/ss-g1-free" --data "$DATA" --out "$OUT/style-table.json" \
  > "$OUT/style-table.log" 2>&1
placement=()
for style in pop909 pianomidi bach oneills1850; do
  [[ -n "${PREVIOUS_SAMPLES:-}" ]] && placement+=("$PREVIOUS_SAMPLES/$style")
  placement+=("$OUT/ss-g1/$style")
done
python benchmarks/note_placement.py "${placement[@]}" > "$OUT/note-placement.log"
grep -h "bits/note\|^all\|nats/token" "$OUT/nll-validation.log" "$OUT/nll-test.log" "$OUT/ngram.log" | grep -v "it/s" || true
cat "$OUT/adherence/table.md" "$OUT/adherence-alone/table.md" "$OUT/note-placement.log"
grep "^|" "$OUT/composer-likelihood.log"
tr "\r" "\n" < "$OUT/style-table.log" | grep "^$OUT/ss-" | grep -v "%|"
