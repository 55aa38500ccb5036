# Sourced by every figure recipe in data/figures: where the tools and the
# outputs are, and the reduced size for quick runs.
#
#   SDE_BIN  the built tools (default build/bin)
#   OUT      where the figures go (default out/figures); a recipe's
#            intermediate files go to $OUT/work/<recipe>
#   QUICK=1  reduced sizes (CI): same pipeline, fewer samples and steps
set -euo pipefail
shopt -s inherit_errexit  # a failing tool inside $(...) stops the recipe too
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=$(cd "${SDE_BIN:-$root/build/bin}" && pwd)  # absolute, wherever the recipe runs from
export PATH="$bin:$PATH"
out=${OUT:-$root/out/figures}
work=$out/work/$(basename "$0" .sh)
mkdir -p "$out" "$work"
data=$root/data

# size FULL QUICK: the full-size value, or the reduced one when QUICK=1.
size() { if [ "${QUICK:-0}" = 1 ]; then echo "$2"; else echo "$1"; fi; }

# The score network on the ring of 8 that recipes 06 and 07 share: 20 000
# exact draws, denoising score matching on the VP SDE. Trained once per $OUT
# and size, then reused; prints its directory (model.json, loss.csv, data.npy).
ring_model() {
  local dir=$out/work/ring_model$(size "" _quick)
  if [ ! -f "$dir/model.json" ]; then
    mkdir -p "$dir"
    sde-perturb --mixture "$data/ring8.json" -n 20000 -o "$dir/data.npy"
    sde-train "$dir/data.npy" $(size "" "--steps 300") --log "$dir/loss.csv" \
      --summary "$dir/train.json" -o "$dir/model.json.part" -q
    mv "$dir/model.json.part" "$dir/model.json"  # complete models only
  fi
  echo "$dir"
}
