#!/usr/bin/env bash
# Seed 001, Figures 4-5 (Example 7): VE diffusion sampling with the exact
# score of p = .3 N(-5, 2²) + .7 N(5, 2²) (data/seed001_1d.json): the
# reverse-time SDE, Eq. 4.2.10 (our reverse-diffusion predictor, no
# corrector), with σ(0) = 0.001, σ(T) = 10 and 5000 steps, from the prior N(0, σ(T)²).
#   03_ve_sampling_evolution.png  the density from t = 1 down to 0, with paths (Figure 4)
#   03_ve_sampling_histogram.png  the samples at t = 0 against p (Figure 5)
# The prior N(0, 10²) is not quite p_T (whose mean is 2), so the modes come
# out near .32/.68 rather than .3/.7: the seed's σ(T) = 10 is small for data at ±5.
source "$(dirname "$0")/common.sh"
mixture=$data/seed001_1d.json
n=$(size 10000 2000)
steps=$(size 5000 1000)
ve=(--sde ve --sigma-min 0.001 --sigma-max 10)

sde-sample --mixture "$mixture" "${ve[@]}" --predictor reverse-diffusion --corrector none \
  --steps "$steps" -n "$n" --trajectory 101 -o "$work/reverse.npy" --summary "$work/reverse.json" -q
sde-plot evolution "$work/reverse.npy" --times "$work/reverse.json" --yrange -30:30 \
  --title "VE diffusion sampling with the exact score, σ(0) = 0.001, σ(T) = 10, $steps steps" \
  -o "$out/03_ve_sampling_evolution.png"
sde-npy slice "$work/reverse.npy" --frame -1 -o "$work/samples.npy"
sde-plot hist "$work/samples.npy" --mixture "$mixture" \
  --title "VE diffusion sampling: $n samples against p (seed 001, Figure 5)" \
  -o "$out/03_ve_sampling_histogram.png"
