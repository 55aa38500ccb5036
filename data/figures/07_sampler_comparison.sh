#!/usr/bin/env bash
# Samplers compared on the ring of 8 Gaussians (data/ring8.json, VP SDE):
# sample quality against the number of score evaluations (NFE) per sample
# for predictor-corrector (reverse diffusion + Langevin, 2 NFE per step), the
# adaptive probability-flow ODE (Dormand-Prince, tolerance 1e-1 ... 1e-5),
# DDIM and DPM-Solver++ (order 2), each with the exact score and with the
# trained network of recipe 06. Quality is the energy distance to 10 000
# exact draws (sde-npy compare; 0 only for the same distribution); the dashed
# line is that of another 10 000 exact draws, the floor set by sampling noise.
#   07_samplers_exact_score.png     with the exact score: the solvers' own error
#   07_samplers_trained_model.png   with the network: solver and network error
source "$(dirname "$0")/common.sh"
ring=$data/ring8.json
model=$(ring_model)/model.json
n=$(size 10000 500)

sde-perturb --mixture "$ring" -n "$n" --seed 101 -o "$work/reference.npy"
sde-perturb --mixture "$ring" -n "$n" --seed 102 -o "$work/exact.npy"
sde-npy compare "$work/exact.npy" "$work/reference.npy" --max-points 0 -o "$work/exact.compare.json"

# sweep NAME SCORE-FLAGS...: one run per sampler and setting; prints one
# point per line for sde-plot curves, the run's summary (NFE) merged with its
# distance to the reference.
sweep() {
  local source=$1; shift
  for setting in "pc --steps $(size '20 50 100 200 500 1000' '20 100')" \
                 "ode --rtol $(size '1e-1 1e-2 1e-3 1e-4 1e-5' '1e-2 1e-4')" \
                 "ddim --steps $(size '5 10 20 50 100 200' '5 20')" \
                 "dpm-solver --steps $(size '5 10 20 50 100' '5 20')"; do
    read -r sampler flag values <<< "$setting"
    for v in $values; do
      local run=$work/$source-$sampler-$v
      local tolerance=(); [ "$flag" = --rtol ] && tolerance=(--atol "$v")
      sde-sample "$@" -n "$n" --sampler "$sampler" "$flag" "$v" "${tolerance[@]}" \
        -o "$run.npy" --summary "$run.json" -q
      sde-npy compare "$run.npy" "$work/reference.npy" --max-points 0 -o "$run.compare.json"
      echo "$run.json+$run.compare.json"
    done
  done
}
for source in exact_score trained_model; do
  if [ "$source" = exact_score ]; then score=(--mixture "$ring"); else score=(--model "$model"); fi
  list=$(sweep "$source" "${score[@]}")
  mapfile -t points <<< "$list"
  sde-plot curves "${points[@]}" --x nfe_mean --y energy_distance --label settings.sampler \
    --reference "$work/exact.compare.json" --reference-label "exact draws" --logx --logy \
    --xlabel "score evaluations per sample (NFE)" --ylabel "energy distance to exact draws" \
    --title "Samplers on the ring of 8, ${source/_/ } ($n samples each)" \
    -o "$out/07_samplers_$source.png"
done
