#!/usr/bin/env bash
# Seed 001, Figures 1-3 (Example 6): Langevin dynamics, Eq. 4.1.9, with the
# exact score of p = .3 N(-5, 2²) + .7 N(5, 2²) (data/seed001_1d.json), from
# N(0, 1) and from U[-20, 20]: 10 000 chains, 3000 steps of size 0.1.
#   02_langevin_from_normal.png   density over the steps with sample paths (Figure 1)
#   02_langevin_from_uniform.png  the same from U[-20, 20] (Figure 3)
#   02_langevin_histograms.png    both final samples against p (Figure 2)
# Crossing between the modes takes hundreds of steps, which is why the run
# is long: only then do the modes reach their weights .3/.7.
source "$(dirname "$0")/common.sh"
mixture=$data/seed001_1d.json
n=$(size 10000 2000)
steps=$(size 3000 600)

# Different seeds: with the same noise the two runs would end up on the very
# same points (the chains forget their start, not their noise).
for run in normal:0,1:1 uniform:-20,20:2; do
  IFS=: read -r name range seed <<< "$run"
  sde-langevin --mixture "$mixture" -n "$n" --init "$name:$range" --steps "$steps" --step-size 0.1 \
    --seed "$seed" --trajectory 151 -o "$work/$name.npy" --summary "$work/$name.json" -q
  sde-npy slice "$work/$name.npy" --frame -1 -o "$work/$name-final.npy"
done
sde-plot evolution "$work/normal.npy" --times "$work/normal.json" --yrange -14:14 \
  --title "Langevin dynamics from N(0, 1) towards .3 N(−5, 2²) + .7 N(5, 2²)" \
  -o "$out/02_langevin_from_normal.png"
sde-plot evolution "$work/uniform.npy" --times "$work/uniform.json" \
  --title "Langevin dynamics from U[−20, 20]" -o "$out/02_langevin_from_uniform.png"
sde-plot hist "$work/normal-final.npy" "$work/uniform-final.npy" --mixture "$mixture" \
  --panel-title "from N(0, 1)" --panel-title "from U[−20, 20]" \
  --title "Langevin dynamics after $steps steps: samples against p" \
  -o "$out/02_langevin_histograms.png"
