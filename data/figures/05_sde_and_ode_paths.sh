#!/usr/bin/env bash
# The paper's Figures 1-2 on toy data with the exact score: data pushed to
# noise by the forward SDE, brought back by the reverse-time SDE, and
# transported deterministically by the probability-flow ODE (VP SDE).
# On the ring of 8 Gaussians (data/ring8.json), 5 frames each, with the
# contours of the exact p_t at each frame's time:
#   05_forward_sde_ring.png   sde-perturb: x(t) for t = 0 ... 1
#   05_reverse_sde_ring.png   sde-sample, predictor-corrector (1000 steps)
#   05_ode_ring.png           sde-sample --sampler ode (adaptive Dormand-Prince)
# On the 1-D mixture .3 N(-5, 2²) + .7 N(5, 2²) (data/seed001_1d.json), the
# density over time with a few paths (the paper's Figure 2):
#   05_forward_sde_1d.png, 05_reverse_sde_1d.png, 05_ode_1d.png
# The SDE paths are rough and cross; the ODE paths are smooth and never cross.
source "$(dirname "$0")/common.sh"
ring=$data/ring8.json
line=$data/seed001_1d.json
n=$(size 1000 500)
n1=$(size 5000 1000)

sde-perturb --mixture "$ring" -n "$n" --frames 5 --t 1 -o "$work/forward_sde.npy" --summary "$work/forward_sde.json"
sde-sample --mixture "$ring" -n "$n" --trajectory 5 -o "$work/reverse_sde.npy" --summary "$work/reverse_sde.json" -q
sde-sample --mixture "$ring" -n "$n" --sampler ode --trajectory 5 -o "$work/ode.npy" --summary "$work/ode.json" -q
for run in forward_sde:"forward VP SDE: data to noise" \
           reverse_sde:"reverse-time SDE with the exact score: noise to data" \
           ode:"probability-flow ODE with the exact score: noise to data"; do
  name=${run%%:*}
  sde-plot strip "$work/$name.npy" --times "$work/$name.json" --mixture "$ring" \
    --title "${run#*:} (contours: exact p_t)" \
    -o "$out/05_${name}_ring.png"
done

sde-perturb --mixture "$line" -n "$n1" --frames 101 --t 1 -o "$work/forward_sde_1d.npy" --summary "$work/forward_sde_1d.json"
sde-sample --mixture "$line" -n "$n1" --trajectory 101 -o "$work/reverse_sde_1d.npy" --summary "$work/reverse_sde_1d.json" -q
sde-sample --mixture "$line" -n "$n1" --sampler ode --trajectory 101 -o "$work/ode_1d.npy" --summary "$work/ode_1d.json" -q
for run in forward_sde:"forward VP SDE" reverse_sde:"reverse-time SDE, exact score" \
           ode:"probability-flow ODE, exact score"; do
  name=${run%%:*}
  sde-plot evolution "$work/${name}_1d.npy" --times "$work/${name}_1d.json" --yrange -12:12 \
    --title "${run#*:}: .3 N(−5, 2²) + .7 N(5, 2²) and N(0, 1)" \
    -o "$out/05_${name}_1d.png"
done
