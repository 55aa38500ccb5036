#!/usr/bin/env bash
# The main job on the default data, the ring of 8 Gaussians (data/ring8.json):
# draw data, train a score network, sample with the PC sampler and with
# DPM-Solver++, compute likelihoods, and compare everything with the exact
# mixture. Files go to out/demo (OUT= to change). STEPS= sets training steps.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${SDE_BIN:-$root/build/bin}
out=${OUT:-$root/out/demo}
steps=${STEPS:-4000}
mkdir -p "$out"
export PATH="$bin:$PATH"
ring=$root/data/ring8.json
field() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

echo "== 1. data: 20000 exact draws from $ring, 1000 held-out points"
sde-perturb --mixture "$ring" -n 20000 --seed 0 -o "$out/data.npy"
sde-perturb --mixture "$ring" -n 1000 --seed 1 -o "$out/heldout.npy"
echo "== 2. train a score network ($steps steps, VP SDE, denoising score matching)"
sde-train "$out/data.npy" --steps "$steps" -o "$out/model.json" --log "$out/loss.csv" --summary "$out/train.json"
echo "   $(field "$out/train.json" "f\"{d['steps_per_second']:.0f} steps/s, loss over the last 100 steps {d['recent_loss']:.4f}\"")"
echo "== 3. sample 5000 points: PC (500 steps + Langevin corrector) and DPM-Solver++ (20 steps)"
sde-sample --model "$out/model.json" -n 5000 --steps 500 -o "$out/pc.npy" --summary "$out/pc.json"
sde-sample --model "$out/model.json" -n 5000 --sampler dpm-solver -o "$out/dpm.npy" --summary "$out/dpm.json"
sde-perturb --mixture "$ring" -n 5000 --seed 2 -o "$out/exact.npy"
for s in pc dpm exact; do
  sde-npy stats "$out/$s.npy" --mixture "$ring" > "$out/$s.stats.json"
  echo "   $s: $(field "$out/$s.stats.json" "f\"mean true log-density {d['mixture']['mean_log_density']:.3f} +- {d['mixture']['mean_log_density_se']:.3f}, posterior weights {min(d['mixture']['posterior_weights']):.3f}..{max(d['mixture']['posterior_weights']):.3f}\"")"
done
echo "== 4. likelihood of the held-out points through the probability-flow ODE"
sde-likelihood --model "$out/model.json" "$out/heldout.npy" --truth "$ring" -o "$out/logp.npy" --summary "$out/lik.json"
echo "   $(field "$out/lik.json" "f\"NLL {d['nll_mean']:.3f} +- {d['nll_se']:.3f} nats, {d['bits_per_dim']:.3f} bits/dim, mean |log p_hat - log p| = {d['mean_abs_error_vs_exact']:.3f}, NFE {d['nfe_mean']:.0f}\"")"
echo "== files in $out"
ls "$out"
