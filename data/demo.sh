#!/usr/bin/env bash
# The main job on the default data, the ring of 8 Gaussians (data/ring8.json):
# draw data, train a score network, sample with the PC sampler and with a
# fast stochastic solver (DDIM with eta = 1, 50 steps), compute likelihoods, and compare everything with the exact
# mixture. Files go to out/demo (OUT= to change). STEPS= sets training steps
# (default: the standard recipe's 20 000).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${SDE_BIN:-$root/build/bin}
out=${OUT:-$root/out/demo}
steps=${STEPS:-20000}
mkdir -p "$out"
export PATH="$bin:$PATH"
ring=$root/data/ring8.json
field() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

echo "== 1. data: 20000 exact draws from $ring, 1000 held-out points"
sde-perturb --mixture "$ring" -n 20000 --seed 0 -o "$out/data.npy"
sde-perturb --mixture "$ring" -n 1000 --seed 1 -o "$out/heldout.npy"
echo "== 2. train a score network ($steps steps, VP SDE, the standard recipe: EDM preconditioning, stable-target DSM)"
sde-train "$out/data.npy" --steps "$steps" -o "$out/model.json" --log "$out/loss.csv" --summary "$out/train.json"
echo "   $(field "$out/train.json" "f\"{d['steps_per_second']:.0f} steps/s, loss over the last 100 steps {d['recent_loss']:.4f}\"")"
echo "== 3. sample 5000 points: PC (1000 steps + Langevin corrector, 2000 NFE) and DDIM eta = 1 (50 steps)"
sde-sample --model "$out/model.json" -n 5000 -o "$out/pc.npy" --summary "$out/pc.json"
sde-sample --model "$out/model.json" -n 5000 --sampler ddim --eta 1 --steps 50 -o "$out/fast.npy" --summary "$out/fast.json"
sde-perturb --mixture "$ring" -n 5000 --seed 2 -o "$out/exact.npy"
for s in pc fast exact; do
  sde-npy stats "$out/$s.npy" --mixture "$ring" > "$out/$s.stats.json"
  echo "   $s: $(field "$out/$s.stats.json" "f\"mean true log-density {d['mixture']['mean_log_density']:.3f} +- {d['mixture']['mean_log_density_se']:.3f}, posterior weights {min(d['mixture']['posterior_weights']):.3f}..{max(d['mixture']['posterior_weights']):.3f}\"")"
done
echo "== 4. likelihood of the held-out points through the probability-flow ODE"
sde-likelihood --model "$out/model.json" "$out/heldout.npy" --truth "$ring" -o "$out/logp.npy" --summary "$out/lik.json"
echo "   $(field "$out/lik.json" "f\"NLL {d['nll_mean']:.3f} +- {d['nll_se']:.3f} nats, {d['bits_per_dim']:.3f} bits/dim, mean |log p_hat - log p| = {d['mean_abs_error_vs_exact']:.3f}, NFE {d['nfe_mean']:.0f}\"")"
echo "== 5. figures: samples against the exact mixture, learned vs exact density, the loss curve"
sde-likelihood --model "$out/model.json" --grid -6,6,-6,6,80,80 -o "$out/grid.npy"
sde-plot scatter "$out/pc.npy" "$out/fast.npy" "$out/exact.npy" --mixture "$ring" \
  --panel-title "PC, 1000 steps" --panel-title "DDIM eta = 1, 50 steps" --panel-title "exact draws" \
  --title "ring of 8: samples and the exact density" -o "$out/samples.png"
sde-plot heatmap "$out/grid.npy" --grid -6,6,-6,6 --title "learned log-density" -o "$out/density.png"
sde-plot loss "$out/loss.csv" --smooth 50 --title "training loss" -o "$out/loss.png"
echo "== files in $out"
ls "$out"
