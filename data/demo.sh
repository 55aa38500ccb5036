#!/usr/bin/env bash
# The main job on the default data: the ring of 8 Gaussians (data/ring8.json).
# For now: draw data exactly, push it through the VP SDE and report how the
# data and the noise compare with the exact mixture and the prior.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${SDE_BIN:-$root/build/bin}
out=${OUT:-$root/out/demo}
mkdir -p "$out"
export PATH="$bin:$PATH"
ring=$root/data/ring8.json

echo "== 1. 10000 exact draws from $ring"
sde-perturb --mixture "$ring" -n 10000 --seed 0 -o "$out/data.npy"
echo "== 2. forward VP SDE: 6 frames of one path per sample, and x(1)"
sde-perturb "$out/data.npy" --frames 6 --sde vp --seed 1 -o "$out/strip.npy"
sde-perturb "$out/data.npy" --t 1 --sde vp --seed 1 -o "$out/noise.npy"
echo "== 3. the data against the exact mixture (weights by posterior, mean log-density)"
sde-npy stats "$out/data.npy" --mixture "$ring"
echo "== 4. x(1) against the N(0, I) prior: energy distance and sliced Wasserstein"
sde-perturb --mixture "$root/data/standard2d.json" -n 10000 --seed 2 -o "$out/prior.npy"
sde-npy compare "$out/noise.npy" "$out/prior.npy"
echo "== files in $out"
ls -l "$out"
