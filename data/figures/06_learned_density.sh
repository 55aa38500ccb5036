#!/usr/bin/env bash
# What a trained network learns on the ring of 8 Gaussians (data/ring8.json):
# the log-density of the model, log p_0(x) through the probability-flow ODE
# with the exact divergence (sde-likelihood --grid), next to the exact one.
#   06_learned_density.png   learned | exact log-density on [-6, 6]², one colour scale
#   06_training_loss.png     the denoising score-matching loss while training
# QUICK=1 trains 300 steps instead of the default 20 000: a blurry ring, the same pipeline.
source "$(dirname "$0")/common.sh"
ring=$data/ring8.json
model=$(ring_model)
cells=$(size 80 24)

sde-likelihood --model "$model/model.json" --grid -6,6,-6,6,"$cells","$cells" \
  -o "$work/learned.npy" -q
sde-plot heatmap "$work/learned.npy" --mixture "$ring" --grid -6,6,-6,6 \
  --panel-title "trained network (probability-flow ODE)" --panel-title "exact mixture" \
  --title "log p(x) on the ring of 8 Gaussians" -o "$out/06_learned_density.png"
sde-plot loss "$model/loss.csv" --smooth 20 --title "Training: denoising score matching, VP SDE" \
  -o "$out/06_training_loss.png"
