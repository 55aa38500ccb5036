#!/usr/bin/env bash
# Seed 000, Section 1.4.3: slow mixing. When the modes are separated by a
# region of (almost) no density, Langevin dynamics cannot move mass between
# them, so it keeps whatever weights its start gives them. Both runs start
# 10 000 chains from N(0, 1) on p = .6 N(2, .5²) + .4 N(-2, .2²)
# (data/seed000_1d.json) and spend 1000 exact-score evaluations per chain:
#   Langevin dynamics, 1000 steps of size 0.01: the modes get about .79/.21,
#     the share of N(0, 1) in their basins;
#   annealed Langevin dynamics (NCSN, Algorithm 1), 10 noise levels from
#     σ = 5 down to 0.05, 100 steps each: the large noise levels join the
#     modes, and the weights come out .6/.4.
#   04_slow_mixing.png          both final samples against p
#   04_annealed_evolution.png   the annealed chains over their 1000 steps
source "$(dirname "$0")/common.sh"
mixture=$data/seed000_1d.json
n=$(size 10000 2000)

sde-langevin --mixture "$mixture" -n "$n" --init normal:0,1 --steps 1000 --step-size 0.01 \
  -o "$work/langevin.npy" -q
sde-langevin --mixture "$mixture" -n "$n" --init normal:0,1 --annealed --sigma-max 5 \
  --sigma-min 0.05 --levels 10 --steps 100 --step-size 0.001 --trajectory 201 \
  -o "$work/annealed.npy" --summary "$work/annealed.json" -q
sde-npy slice "$work/annealed.npy" --frame -1 -o "$work/annealed-final.npy"
sde-plot hist "$work/langevin.npy" "$work/annealed-final.npy" --mixture "$mixture" --bins 80 \
  --panel-title "Langevin dynamics, 1000 steps" \
  --panel-title "annealed Langevin, 10 levels × 100 steps" \
  --title "Slow mixing: chains from N(0, 1) on .6 N(2, .5²) + .4 N(−2, .2²)" \
  -o "$out/04_slow_mixing.png"
sde-plot evolution "$work/annealed.npy" --times "$work/annealed.json" --bins 120 --yrange -12:12 \
  --title "Annealed Langevin dynamics: σ from 5 down to 0.05, 100 steps per level" \
  -o "$out/04_annealed_evolution.png"
