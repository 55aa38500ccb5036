#!/usr/bin/env bash
# sde-likelihood end to end: exactness against the oracle (with the exact
# prior only the ODE solver's error is left), the summary's figures, the
# latent encoding decoded by sde-sample, the grid, reproducibility (threads,
# shards, Hutchinson probes), and bad input.
source "$(dirname "$0")/testlib.sh"
RING=$SDE_ROOT/data/ring8.json

sde-perturb --mixture "$RING" -n 300 --seed 5 -o x.npy

# The issue's bound: mean |log p_hat - log p| <= 1e-3 nats at rtol = atol = 1e-5.
check "oracle likelihood" sde-likelihood --mixture "$RING" --sde vp --prior exact x.npy -o logp.npy --latent z.npy --summary lik.json
py "log p within 1e-3 nats of the exact density; the summary agrees with the output" "
s = json.load(open('lik.json')); lp = np.load('logp.npy')
assert lp.shape == (300,) and np.load('z.npy').shape == (300, 2)
assert s['mean_abs_error_vs_exact'] < 1e-3, s['mean_abs_error_vs_exact']
assert abs(s['nll_mean'] + lp.mean()) < 1e-12
assert abs(s['nll_se'] - lp.std(ddof=1) / np.sqrt(300)) < 1e-12
assert abs(s['bits_per_dim'] - s['nll_mean'] / (2 * np.log(2))) < 1e-12
assert s['nfe_mean'] > 0 and s['nfe_max'] >= s['nfe_mean']
"

# Decoding the latents with the same ODE (same eps, no denoising step) comes
# back to the data: both directions hold a local error of 1e-5 per step, so
# the round trip is good to ~1e-3 (max over 300 points 1e-2).
check "decode the latents" sde-sample --mixture "$RING" --sde vp --sampler ode --eps 1e-5 --no-denoise -n 300 --latent z.npy -o back.npy
py "encoding then decoding returns the input" "
err = np.abs(np.load('back.npy') - np.load('x.npy')).max(1)
assert np.median(err) < 1e-3 and err.max() < 1e-2, (np.median(err), err.max())
"

check "grid" sde-likelihood --mixture "$RING" --prior exact --grid -6,6,-5,5,12,10 -o grid.npy
py "grid is ny x nx of the exact log-density" "
g = np.load('grid.npy'); assert g.shape == (10, 12), g.shape
spec = json.load(open('$RING')); mu = np.array(spec['means']); sd = spec['stds'][0]
x, y = np.meshgrid(np.linspace(-6, 6, 12), np.linspace(-5, 5, 10))
p = np.stack([x.ravel(), y.ravel()], 1)
d2 = ((p[:, None, :] - mu[None]) ** 2).sum(-1)
exact = np.log(np.exp(-d2 / (2 * sd * sd)).mean(1)) - np.log(2 * np.pi * sd * sd)
keep = exact > -30  # far from every mode the density underflows to nothing useful
assert np.abs(g.ravel()[keep] - exact[keep]).mean() < 1e-2, np.abs(g.ravel()[keep] - exact[keep]).mean()
"

# Reproducibility.
check "threads 1" sde-likelihood --mixture "$RING" x.npy --threads 1 -o t1.npy
check "threads 2" sde-likelihood --mixture "$RING" x.npy --threads 2 -o t2.npy
check "bit-identical across --threads" cmp t1.npy t2.npy
for k in 0 1 2; do sde-likelihood --mixture "$RING" x.npy --shard $k/3 -o part$k.npy; done
check "cat the shards" sde-npy cat part0.npy part1.npy part2.npy -o joined.npy
check "sharded run equals the unsharded one byte for byte" cmp joined.npy t1.npy
for th in 1 2; do
  sde-likelihood --mixture "$RING" x.npy --divergence hutchinson-rademacher --probes 3 --seed 4 --threads $th -o h$th.npy
done
check "Hutchinson probes: bit-identical across --threads" cmp h1.npy h2.npy
sde-likelihood --mixture "$RING" x.npy --divergence hutchinson-rademacher --probes 3 --seed 4 --shard 1/3 -o hpart.npy
py "Hutchinson probes are keyed by row: a shard equals its rows of the whole run" "
assert np.array_equal(np.load('hpart.npy'), np.load('h1.npy')[100:200])
"

check "a small model" sde-train x.npy --steps 5 --batch 32 -o m.json --quiet

# The default divergence: exact with the oracle (analytic) and for a model up
# to 16 dimensions, Hutchinson (Rademacher) above.
"$PYTHON" -c "
import json, numpy as np
json.dump({'weights': [1], 'means': [[0] * 17], 'stds': [1]}, open('d17.json', 'w'))
np.save('x17.npy', np.random.default_rng(1).standard_normal((40, 17)))"
check "a 17-D model" sde-train x17.npy --steps 5 --batch 32 -o m17.json --quiet
check "17-D oracle" sde-likelihood --mixture d17.json x17.npy -o l17.npy --summary o17.json
check "17-D model" sde-likelihood --model m17.json x17.npy -o l17.npy --summary m17s.json
check "2-D model" sde-likelihood --model m.json x.npy -o l2.npy --summary m2s.json
py "divergence defaults: exact, Hutchinson above 16 dimensions, exact" "
assert json.load(open('o17.json'))['divergence'] == 'exact'
assert json.load(open('m17s.json'))['divergence'] == 'hutchinson-rademacher'
assert json.load(open('m2s.json'))['divergence'] == 'exact'
"

# Bad input.
"$PYTHON" -c "
import numpy as np
np.save('x3.npy', np.zeros((4, 3))); np.save('flat.npy', np.zeros(5))
x = np.zeros((4, 2)); x[2, 1] = np.nan; np.save('nan.npy', x)"
echo '{"weights": [1], "means": [[0, 0, 0]], "stds": [1]}' > three.json
for th in 1 2; do sde-likelihood --model m.json x.npy --threads $th -o m$th.npy; done
check "a model's likelihoods: bit-identical across --threads" cmp m1.npy m2.npy
sde-likelihood --model m.json x.npy --shard 2/3 -o mpart.npy
py "a model's shard equals its rows of the whole run" "
assert np.array_equal(np.load('mpart.npy'), np.load('m1.npy')[200:])
"
expect_error "width differs from the oracle's" 1 "sde-likelihood: x3.npy: has 3 columns but the score's dimension is 2" out.npy sde-likelihood --mixture "$RING" x3.npy -o out.npy
expect_error "width differs from the model's" 1 "sde-likelihood: x3.npy: has 3 columns" out.npy sde-likelihood --model m.json x3.npy -o out.npy
expect_error "a negative tolerance is a usage error, not a wrong likelihood" 2 "--rtol: expected a positive number" out.npy sde-likelihood --mixture "$RING" x3.npy --rtol -1 -o out.npy
expect_error "NaN row" 1 "sde-likelihood: nan.npy: .*(NaN|non-finite|finite)" out.npy sde-likelihood --mixture "$RING" nan.npy -o out.npy
expect_error "1-D array" 1 "sde-likelihood: flat.npy: " out.npy sde-likelihood --mixture "$RING" flat.npy -o out.npy
expect_error "missing data file" 1 "sde-likelihood: nosuch.npy" out.npy sde-likelihood --mixture "$RING" nosuch.npy -o out.npy
expect_error "truth of another dimension" 1 "sde-likelihood: three.json: has dimension 3" out.npy sde-likelihood --mixture "$RING" --truth three.json x.npy -o out.npy
expect_error "exact prior without the oracle" 1 "needs the oracle" out.npy sde-likelihood --model m.json --prior exact x.npy -o out.npy
expect_error "no data and no grid" 1 "give data.npy or --grid" out.npy sde-likelihood --mixture "$RING" -o out.npy
expect_error "grid with data" 2 "excludes|grid" out.npy sde-likelihood --mixture "$RING" x.npy --grid -1,1,-1,1,3,3 -o out.npy
expect_error "bad grid" 1 "--grid" out.npy sde-likelihood --mixture "$RING" --grid 1,-1,-1,1,3,3 -o out.npy
expect_error "unknown divergence" 2 "divergence" out.npy sde-likelihood --mixture "$RING" x.npy --divergence trace -o out.npy
expect_error "zero probes" 2 "probes" out.npy sde-likelihood --mixture "$RING" x.npy --probes 0 -o out.npy
expect_error "bad shard" 2 "shard" out.npy sde-likelihood --mixture "$RING" x.npy --shard 3/3 -o out.npy
finish
