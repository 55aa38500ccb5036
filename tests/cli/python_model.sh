#!/usr/bin/env bash
# python/sde_model.py, the numpy reader of model files, against sde-score on
# models of every parameterization (edm, noise, scaled) and with residual
# blocks: the same score to float32 precision. Both evaluate the network in
# fp32 from the same float32 phases; they differ in summation order and in
# their sin, cos and exp (a few ulp each): observed 1e-8 to 1e-7 relative
# (fp32's epsilon is 6e-8). 1e-6 leaves a margin and still catches any
# wrong coefficient, feature or layer (errors of 1e-3 or more).
source "$(dirname "$0")/testlib.sh"
export PYTHONPATH=$SDE_ROOT/python
RING=$SDE_ROOT/data/ring8.json
SMALL="--hidden 64,64,64 --frequencies 16 --batch 128 --steps 200"
sde-perturb --mixture "$RING" -n 2000 --seed 5 -o data.npy
sde-perturb --mixture "$RING" -n 500 --seed 6 --t 0.3 -o pts.npy
"$PYTHON" -c "import numpy as np; np.save('times.npy', np.linspace(0.01, 1.0, 500))"

for case in "edm:" "noise:--recipe reference" "scaled:--recipe reference --sde ve" "residual:--residual"; do
  name=${case%%:*} args=${case#*:}
  check "train a $name model" sde-train data.npy $SMALL $args -o $name.json
  check "... its score from sde-score" sde-score --model $name.json pts.npy --times times.npy -o $name.score.npy
  check "... its denoiser at t = 0.05" sde-score --model $name.json pts.npy --t 0.05 --what denoiser -o $name.den.npy
  py "... equals sde_model.py's to float32 precision" "
import sde_model
m = sde_model.load('$name.json')
x, t = np.load('pts.npy'), np.load('times.npy')
rel = lambda a, b: np.linalg.norm(a - b) / np.linalg.norm(b)
e1, e2 = rel(m.score(x, t), np.load('$name.score.npy')), rel(m.denoiser(x, 0.05), np.load('$name.den.npy'))
print('relative differences', e1, e2)
assert e1 < 1e-6 and e2 < 1e-6, (e1, e2)
"
done
py "a file that is not a model is refused" "
import sde_model
try:
    sde_model.Model({'format': 'other'}); assert False
except ValueError as e:
    assert 'not an sde-tools model' in str(e)
"
finish
