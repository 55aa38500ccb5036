#!/usr/bin/env bash
# One binary, the same bits on every CPU: the network kernel forced to each
# instruction set this machine can run (SDE_ISA) trains the same model bytes
# and draws the same samples, likelihoods and Langevin chains; the summary
# says which kernel ran; a bad SDE_ISA is a usage error before any work.
source "$(dirname "$0")/testlib.sh"
RING=$SDE_ROOT/data/ring8.json
SMALL="--hidden 32,32 --frequencies 8 --batch 128"
sde-perturb --mixture "$RING" -n 1000 --seed 5 -o data.npy

available=()
for isa in generic avx2 avx512; do
  if SDE_ISA=$isa sde-npy info data.npy > /dev/null 2>&1; then available+=("$isa"); fi
done
echo "kernels this CPU runs: ${available[*]}"
check "the generic kernel runs everywhere" test "${available[0]}" = generic

run_all() {  # run_all ISA: every network-driven output, suffixed with the ISA
  local isa=$1
  SDE_ISA=$isa sde-train data.npy $SMALL --steps 40 --threads 2 -o "m.$isa.json" --summary "s.$isa.json" &&
    SDE_ISA=$isa sde-sample --model "m.$isa.json" -n 300 --steps 30 --seed 2 -o "pc.$isa.npy" &&
    SDE_ISA=$isa sde-sample --model "m.$isa.json" -n 300 --sampler ode --seed 2 -o "ode.$isa.npy" &&
    SDE_ISA=$isa sde-likelihood --model "m.$isa.json" data.npy --seed 2 -o "ll.$isa.npy" &&
    SDE_ISA=$isa sde-langevin --model "m.$isa.json" -n 200 --steps 20 --step-size 0.01 --t 0.1 \
      --seed 2 -o "lv.$isa.npy"
}
for isa in "${available[@]}"; do
  check "train, sample, likelihood, Langevin with SDE_ISA=$isa" run_all "$isa"
  py "the summary records SDE_ISA=$isa" "assert json.load(open('s.$isa.json'))['isa'] == '$isa'"
done
# The generic kernel rounds as the vector ones where the build has FMA; a
# build for CPUs without it (SDE_ARCH=generic) rounds a b + c twice.
alike=("${available[@]}")
[ "${SDE_ARCH:-v3}" = generic ] && alike=("${available[@]:1}")
for isa in "${alike[@]:1}"; do
  for f in m.json pc.npy ode.npy ll.npy lv.npy; do
    check "${f%.*} from $isa equals ${alike[0]} byte for byte" cmp "${f%.*}.${alike[0]}.${f##*.}" "${f%.*}.$isa.${f##*.}"
  done
done
check "without SDE_ISA the best kernel runs" sde-train data.npy $SMALL --steps 2 -o best.json --summary best.json.s
py "... and the summary names it" "assert json.load(open('best.json.s'))['isa'] == '${available[-1]}'"

expect_error "an unknown SDE_ISA is a usage error" 2 "^sde-train: SDE_ISA: unknown instruction set 'sse9'" out.json \
  env SDE_ISA=sse9 sde-train data.npy $SMALL --steps 2 -o out.json
if [ "${available[-1]}" != avx512 ]; then
  expect_error "a kernel this CPU lacks is a usage error" 2 "^sde-sample: SDE_ISA: the avx512 kernel cannot run here" out.npy \
    env SDE_ISA=avx512 sde-sample --mixture "$RING" -n 5 -o out.npy
fi
finish
