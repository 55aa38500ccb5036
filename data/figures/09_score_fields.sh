#!/usr/bin/env bash
# Seed 000, Figures 9-10: score estimation is inaccurate where data are
# scarce, and perturbing the data fixes it. The score of the network trained
# on the ring of 8 (the model of recipes 06-07), evaluated on a grid with
# sde-score, beside the exact score of the mixture's p_t, at a small and a
# larger noise level; each title gives the relative error over the grid
# (sde-score --truth).
#   09_score_field_small_noise.png   t = 0.02: right near the modes, wrong far from them, where no data fell
#   09_score_field_large_noise.png   t = 0.3: p_t covers the plane, and the learned field matches everywhere
source "$(dirname "$0")/common.sh"
ring=$data/ring8.json
model=$(ring_model)
n=$(size 21 9)
grid=-6,6,-6,6,$n,$n

for case in small_noise:0.02 large_noise:0.3; do
  name=${case%%:*} t=${case#*:}
  sde-score --model "$model/model.json" --grid=$grid --t "$t" --truth "$ring" \
    -o "$work/learned_$name.npy" --summary "$work/learned_$name.json" -q
  sde-score --mixture "$ring" --grid=$grid --t "$t" -o "$work/exact_$name.npy" -q
  error=$(python3 -c "import json; print(f\"{json.load(open('$work/learned_$name.json'))['truth']['relative_error']:.2f}\")")
  sde-plot quiver "$work/learned_$name.npy" "$work/exact_$name.npy" --grid=$grid \
    --mixture "$ring" --t "$t" --panel-title "trained network (relative error $error)" \
    --panel-title "exact score" --title "Score fields of the ring of 8 at t = $t (VP)" \
    -o "$out/09_score_field_$name.png"
done
