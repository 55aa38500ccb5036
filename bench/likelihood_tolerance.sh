#!/usr/bin/env bash
# Issue 5's oracle table: sde-likelihood with the exact score and the exact
# prior (so the only error left is the ODE solver's), mean |log p_hat - log p|
# over 500 exact draws, against the tolerance, for 1-D, 2-D and 5-D mixtures
# and every SDE. Writes bench/LIKELIHOOD.md.   Usage: bench/likelihood_tolerance.sh [build/bin]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/bin}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
{
  echo "# Likelihood against the exact density"
  echo
  echo "\`sde-likelihood --mixture M --sde S --prior exact --rtol r --atol r\` on 500 exact draws"
  echo "(\`sde-perturb --seed 21\`), made by \`bench/likelihood_tolerance.sh\`. The issue's bound is"
  echo "1e-3 nats at rtol = atol = 1e-5."
  echo
  echo "| mixture | SDE | rtol = atol | mean abs error (nats) | NFE mean |"
  echo "|---|---|---|---|---|"
  for m in seed000_1d aniso2d full5d; do
    "$bin/sde-perturb" --mixture "data/$m.json" -n 500 --seed 21 -o "$work/x.npy"
    for sde in ve vp subvp; do
      for tol in 1e-3 1e-4 1e-5 1e-6; do
        "$bin/sde-likelihood" --mixture "data/$m.json" --sde $sde --prior exact --rtol $tol --atol $tol \
          "$work/x.npy" --quiet -o /dev/null --summary "$work/s.json"
        /usr/bin/python3 -c "import json; s = json.load(open('$work/s.json'))
print(f\"| $m | $sde | $tol | {s['mean_abs_error_vs_exact']:.2e} | {s['nfe_mean']:.0f} |\")"
      done
    done
  done
} > bench/LIKELIHOOD.md
echo "wrote bench/LIKELIHOOD.md"
