#!/usr/bin/env bash
# sde-score: the oracle against an independent numpy evaluation of the
# perturbed mixture (python/exact_mixture.py), the denoiser and noise
# prediction from the score, the grid, a model checked with --truth, the
# same bytes for any --threads, and bad input.
source "$(dirname "$0")/testlib.sh"
export PYTHONPATH=$SDE_ROOT/python
RING=$SDE_ROOT/data/ring8.json FULL=$SDE_ROOT/data/full5d.json ANISO=$SDE_ROOT/data/aniso2d.json
sde-perturb --mixture "$FULL" -n 300 --seed 3 --t 0.2 -o pts5.npy
sde-perturb --mixture "$ANISO" -n 300 --seed 4 --t 0.1 --sde ve -o pts2.npy
"$PYTHON" -c "import numpy as np; np.save('times.npy', np.linspace(0.0, 1.0, 300))"

# The exact score, log-density, denoiser and noise: relative 1e-6 (the
# oracle works in double; both sides' rounding is ~1e-13 of the values).
for case in "vp $FULL pts5.npy" "ve $ANISO pts2.npy" "subvp $RING pts2.npy"; do
  set -- $case
  sde=$1 spec=$2 pts=$3
  check "oracle $sde $(basename "$spec"): score at --times" sde-score --mixture "$spec" --sde $sde "$pts" --times times.npy -o s.$sde.npy
  check "... log-density" sde-score --mixture "$spec" --sde $sde "$pts" --times times.npy --what log-density -o l.$sde.npy
  check "... denoiser at --t 0.4" sde-score --mixture "$spec" --sde $sde "$pts" --t 0.4 --what denoiser -o d.$sde.npy
  check "... noise at --t 0.4" sde-score --mixture "$spec" --sde $sde "$pts" --t 0.4 --what noise -o e.$sde.npy
  check "... score at --t 0.4" sde-score --mixture "$spec" --sde $sde "$pts" --t 0.4 -o s4.$sde.npy
  py "... equal the closed form within 1e-6" "
import exact_mixture as em
from sde_model import Sde
sde = Sde({'vp': {'type': 'vp', 'beta_min': 0.1, 'beta_max': 20.0}, 'subvp': {'type': 'subvp', 'beta_min': 0.1, 'beta_max': 20.0},
           've': {'type': 've', 'sigma_min': 0.01, 'sigma_max': 50.0}}['$sde'])
mix, x, t = em.read('$spec'), np.load('$pts'), np.load('times.npy')
rel = lambda a, b: np.linalg.norm(a - b) / np.linalg.norm(b)
logp, score = em.log_density_and_score(mix, x, sde.mean_coeff(t), sde.std(t))
assert rel(np.load('s.$sde.npy'), score) < 1e-6, rel(np.load('s.$sde.npy'), score)
assert np.load('l.$sde.npy').shape == (300,) and rel(np.load('l.$sde.npy'), logp) < 1e-6
t4 = np.full(300, 0.4); m, s = sde.mean_coeff(t4), sde.std(t4)
_, s4 = em.log_density_and_score(mix, x, m, s)
assert rel(np.load('s4.$sde.npy'), s4) < 1e-6
assert rel(np.load('d.$sde.npy'), (x + (s * s)[:, None] * s4) / m[:, None]) < 1e-6
assert rel(np.load('e.$sde.npy'), -s[:, None] * s4) < 1e-6
"
done

check "a grid" sde-score --mixture "$RING" --grid=-5,5,-4,4,11,9 --t 0.1 -o grid.npy
py "... has nx ny rows, x fastest, both ends" "
g = np.load('grid.npy'); assert g.shape == (99, 2)
from sde_model import Sde
import exact_mixture as em
xs, ys = np.linspace(-5, 5, 11), np.linspace(-4, 4, 9)
pts = np.stack([np.tile(xs, 9), np.repeat(ys, 11)], axis=1)
sde = Sde({'type': 'vp', 'beta_min': 0.1, 'beta_max': 20.0}); t = np.full(99, 0.1)
_, want = em.log_density_and_score(em.read('$RING'), pts, sde.mean_coeff(t), sde.std(t))
assert np.linalg.norm(g - want) / np.linalg.norm(want) < 1e-6
"
check "--threads 1" sde-score --mixture "$FULL" pts5.npy --times times.npy --threads 1 -o t1.npy
check "--threads 2" sde-score --mixture "$FULL" pts5.npy --times times.npy --threads 2 -o t2.npy
check "the same bytes for any --threads" cmp t1.npy t2.npy

# A model against the truth: the summary holds its error.
sde-perturb --mixture "$RING" -n 2000 --seed 5 -o data.npy
sde-train data.npy --hidden 32,32 --frequencies 8 --batch 128 --steps 300 -o m.json
check "a model's score with --truth" sde-score --model m.json pts2.npy --t 0.5 --truth "$RING" -o ms.npy --summary ms.json
py "... reports its relative error, which a trained model keeps below 1" "
s = json.load(open('ms.json')); e = s['truth']['relative_error']
assert 0 < e < 1, e; assert s['what'] == 'score' and s['rows'] == 300
"

expect_error "no time" 2 "sde-score: --t or --times is required" out.npy sde-score --mixture "$RING" pts2.npy -o out.npy
expect_error "no points" 2 "sde-score: points or --grid is required" out.npy sde-score --mixture "$RING" --t 0.1 -o out.npy
expect_error "log-density of a model" 2 "log-density is known only for --mixture" out.npy \
  sde-score --model m.json pts2.npy --t 0.1 --what log-density -o out.npy
expect_error "an unknown quantity" 2 "unknown quantity 'grad'" out.npy sde-score --mixture "$RING" pts2.npy --t 0.1 --what grad -o out.npy
expect_error "--truth with the oracle" 2 "--truth: needs --model" out.npy sde-score --mixture "$RING" pts2.npy --t 0.1 --truth "$RING" -o out.npy
expect_error "a model at t = 0" 2 "needs t > 0" out.npy sde-score --model m.json pts2.npy --t 0 -o out.npy
expect_error "--sde with a model" 2 "sde" out.npy sde-score --model m.json pts2.npy --t 0.1 --sde ve -o out.npy
expect_error "a bad grid" 2 "--grid" out.npy sde-score --mixture "$RING" --grid=1,0,0,1,3,3 --t 0.1 -o out.npy
expect_error "points of another dimension" 1 "sde-score: pts5.npy: points have 5 columns, the score 2" out.npy \
  sde-score --mixture "$RING" pts5.npy --t 0.1 -o out.npy
"$PYTHON" -c "import numpy as np; np.save('short.npy', np.linspace(0.1, 1, 7))"
expect_error "times of another length" 1 "sde-score: short.npy: has 7 times for 300 points" out.npy \
  sde-score --mixture "$RING" pts2.npy --times short.npy -o out.npy
"$PYTHON" -c "import numpy as np; np.save('late.npy', np.full(300, 1.5))"
expect_error "a time past 1" 1 "late.npy: time 1.5 \(row 0\) is outside \[0, 1\]" out.npy \
  sde-score --mixture "$RING" pts2.npy --times late.npy -o out.npy
finish
