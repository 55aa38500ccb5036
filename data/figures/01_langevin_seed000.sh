#!/usr/bin/env bash
# Seed 000, Figure 7: Langevin dynamics x += ε ∇log p(x) + sqrt(2ε) z with the
# exact score of p = .6 N(2, .5²) + .4 N(-2, .2²) (data/seed000_1d.json):
# 10 000 chains started from U[-3, 3], 100 steps of size ε = 0.01.
#   01_langevin_evolution.png  the density of the chains over the steps, with a few paths
#   01_langevin_histogram.png  the chains after 100 steps against p
# Each chain stays in the basin it starts in, so the modes get the weights
# of U[-3, 3] on the basins, not .6/.4: the slow mixing of recipe 04.
source "$(dirname "$0")/common.sh"
mixture=$data/seed000_1d.json
n=$(size 10000 2000)

sde-langevin --mixture "$mixture" -n "$n" --init uniform:-3,3 --steps 100 --step-size 0.01 \
  --trajectory 101 -o "$work/chains.npy" --summary "$work/chains.json" -q
sde-plot evolution "$work/chains.npy" --times "$work/chains.json" \
  --title "Langevin dynamics on .6 N(2, .5²) + .4 N(−2, .2²) from U[−3, 3]" \
  -o "$out/01_langevin_evolution.png"
sde-npy slice "$work/chains.npy" --frame -1 -o "$work/final.npy"
sde-plot hist "$work/final.npy" --mixture "$mixture" --bins 80 \
  --title "Langevin dynamics: $n chains after 100 steps (seed 000, Figure 7)" \
  -o "$out/01_langevin_histogram.png"
