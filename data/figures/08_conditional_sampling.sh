#!/usr/bin/env bash
# Conditional generation against the exact conditionals of the mixture.
#   08_imputation.png  the ring of 8 (data/ring8.json) with x₁ = 1 held fixed:
#     x₂ from the exact conditional sampler (the oracle's p(x | x₁ = 1)
#     through the same reverse SDE) and from the replacement method of the
#     paper's Appendix I.2 (PC, the known coordinate overwritten by its
#     forward-noised value at every step), against the exact p(x₂ | x₁ = 1).
#     Replacement is an approximation in general; on these separated modes
#     it comes out close to exact.
#   08_class_conditional.png  class 0 of .3 N(-5, 2²) + .7 N(5, 2²)
#     (data/seed001_1d.json) by classifier guidance with the exact classifier
#     p(y | x_t): weight 1 samples p(x | y = 0) = N(-5, 2²) exactly; weight 3
#     sharpens it away from the other class.
source "$(dirname "$0")/common.sh"
ring=$data/ring8.json
line=$data/seed001_1d.json
n=$(size 10000 1000)

echo "1,nan" | sde-npy from-csv - -o "$work/known.npy"  # x₁ = 1 known, x₂ unknown
for method in exact replace; do
  sde-sample --mixture "$ring" --known "$work/known.npy" --imputation "$method" -n "$n" \
    -o "$work/imputed-$method.npy" -q
done
sde-plot hist "$work/imputed-exact.npy" "$work/imputed-replace.npy" --known "$work/known.npy" \
  --mixture "$ring" --bins 80 --xlabel "x₂" \
  --panel-title "exact conditional sampler" --panel-title "replacement method (PC)" \
  --title "Imputation on the ring of 8: x₂ given x₁ = 1, against the exact p(x₂ | x₁ = 1)" \
  -o "$out/08_imputation.png"

for weight in 1 3; do
  sde-sample --mixture "$line" --class 0 --guidance "$weight" -n "$n" \
    -o "$work/class0-guidance$weight.npy" -q
done
sde-plot hist "$work/class0-guidance1.npy" "$work/class0-guidance3.npy" --mixture "$line" \
  --class 0 --panel-title "guidance weight 1" --panel-title "guidance weight 3" \
  --title "Class-conditional sampling of class 0 of .3 N(−5, 2²) + .7 N(5, 2²), against N(−5, 2²)" \
  -o "$out/08_class_conditional.png"
