#!/usr/bin/env bash
# sde-langevin end to end: the plumbing around the chains (their statistics
# are tested in tests/test_langevin.cpp): shapes, starts, levels and summary,
# reproducibility across --threads and shards, trajectories, corrector-only
# sampling, and bad input.
source "$(dirname "$0")/testlib.sh"
EX6=$SDE_ROOT/data/seed001_1d.json   # 0.3 N(-5, 4) + 0.7 N(5, 4)
SEED0=$SDE_ROOT/data/seed000_1d.json # 0.6 N(2, 0.25) + 0.4 N(-2, 0.04)
RING=$SDE_ROOT/data/ring8.json

# Plain Langevin at t = 0: shape, NFE, the level and the quality figures.
check "plain Langevin" sde-langevin --mixture "$EX6" -n 2000 --steps 300 --step-size 0.2 --seed 1 -o plain.npy --summary plain.json
py "plain: shape, summary and quality against the mixture" "
x = np.load('plain.npy'); s = json.load(open('plain.json'))
assert x.shape == (2000, 1) and x.dtype == np.float64, (x.shape, x.dtype)
assert s['tool'] == 'sde-langevin' and s['mode'] == 'langevin' and s['nfe'] == 300, s
assert s['levels'] == [{'t': 0.0, 'step': 0.2}], s['levels']
assert s['rows'] == [0, 2000] and s['settings']['step-size'] == 0.2
# The summary's weights are the mean component posteriors of the output.
w, mu, sd = np.array([0.3, 0.7]), np.array([-5.0, 5.0]), 2.0
l = np.log(w) - 0.5 * ((x - mu) / sd)**2
post = np.exp(l - l.max(1, keepdims=True)); post /= post.sum(1, keepdims=True)
assert np.allclose(s['quality']['weights'], post.mean(0), atol=1e-12), (s['quality'], post.mean(0))
"

# Starts: a tiny step leaves the chains where they started, which shows the
# start's law. Uniform on [-1, 3]: mean 1 +- 4 SE (SE = (4 / sqrt(12)) / sqrt(N)).
check "uniform start" sde-langevin --mixture "$EX6" -n 4000 --init uniform:-1,3 --steps 1 --step-size 1e-12 -o u.npy
check "normal start" sde-langevin --mixture "$RING" -n 4000 --init normal:3,0.5 --steps 1 --step-size 1e-12 -o nrm.npy
py "starts have the given laws" "
u = np.load('u.npy')[:, 0]; N = len(u)
assert u.min() >= -1 and u.max() <= 3
assert abs(u.mean() - 1) < 4 * (4 / np.sqrt(12)) / np.sqrt(N), u.mean()
z = np.load('nrm.npy'); assert z.shape == (4000, 2)
assert np.all(np.abs(z.mean(0) - 3) < 4 * 0.5 / np.sqrt(N)), z.mean(0)
assert np.all(np.abs(z.std(0) - 0.5) < 4 * 0.5 / np.sqrt(2 * N)), z.std(0)
"
"$PYTHON" -c "import numpy as np; np.save('pts.npy', np.linspace(-3, 3, 50).reshape(50, 1))"
check "start from a file (N from its rows)" sde-langevin --mixture "$SEED0" --init pts.npy --steps 1 --step-size 1e-12 -o fromfile.npy --summary ff.json
py "file start: the file's rows" "
x = np.load('fromfile.npy'); assert x.shape == (50, 1)
assert np.allclose(x, np.load('pts.npy'), atol=1e-5)
assert json.load(open('ff.json'))['rows'] == [0, 50]
"
check "start from stdin" bash -c "sde-langevin --mixture '$SEED0' --init - --steps 3 --step-size 0.01 --seed 2 -o stdin.npy < pts.npy"
check "start from the same file" sde-langevin --mixture "$SEED0" --init pts.npy --steps 3 --step-size 0.01 --seed 2 -o file.npy
check "stdin start equals file start" cmp stdin.npy file.npy

# Annealed Langevin: Algorithm 1's levels and steps alpha_i / 2 = E sigma_i^2 / (2 sigma_L^2).
check "annealed" sde-langevin --mixture "$RING" -n 500 --init uniform:-8,8 --annealed --sigma-max 20 --sigma-min 0.5 --levels 5 --steps 20 --step-size 0.01 -o ann.npy --summary ann.json
py "annealed levels" "
s = json.load(open('ann.json'))
assert s['mode'] == 'annealed' and s['nfe'] == 100 and s['sde']['type'] == 've'
sig = np.array([l['sigma'] for l in s['levels']]); steps = np.array([l['step'] for l in s['levels']])
assert np.allclose(sig, np.geomspace(20, 0.5, 5), rtol=1e-12), sig
assert np.allclose(steps, 0.01 * sig**2 / 0.5**2 / 2, rtol=1e-12), steps
assert np.load('ann.npy').shape == (500, 2)
"

# A fixed noise scale: the oracle under VE, the level at t = time_of_std(sigma),
# and the quality figures against the mixture convolved with N(0, sigma^2).
check "fixed noise scale" sde-langevin --mixture "$EX6" -n 200 --sigma 2 --steps 10 --step-size 0.5 -o sig.npy --summary sig.json
py "noise-scale level" "
s = json.load(open('sig.json')); (level,) = s['levels']
assert level['sigma'] == 2 and level['step'] == 0.5 and s['sde']['type'] == 've', s
smin, smax = s['sde']['sigma_min'], s['sde']['sigma_max']
assert abs(smin * np.sqrt((smax / smin)**(2 * level['t']) - 1) - 2) < 1e-12, level
assert s['quality']['target_t'] == level['t']
"

# MALA: acceptance rates in the summary and a note on stderr.
check "annealed MALA" bash -c "sde-langevin --mixture '$RING' -n 300 --init uniform:-8,8 --annealed --sigma-max 20 --sigma-min 0.5 --levels 3 --steps 10 --step-size 0.05 --mala -o mala.npy --summary mala.json 2> mala.err"
py "MALA reports acceptance" "
s = json.load(open('mala.json')); rates = [l['acceptance_rate'] for l in s['levels']]
assert len(rates) == 3 and all(0 < r <= 1 for r in rates), rates
assert abs(s['acceptance_rate'] - np.mean(rates)) < 1e-12 and s['density_evaluations'] == 33
assert 'acceptance rate' in open('mala.err').read()
"

# Reproducibility: --threads, shards (with MALA and annealing), pipes, dtype.
ARGS=(--mixture "$RING" -n 1001 --init uniform:-8,8 --annealed --sigma-max 10 --sigma-min 0.5 --levels 3 --steps 10 --step-size 0.05 --mala --seed 9)
check "threads 1" sde-langevin "${ARGS[@]}" --threads 1 -o t1.npy
check "threads 2" sde-langevin "${ARGS[@]}" --threads 2 -o t2.npy
check "bit-identical across --threads" cmp t1.npy t2.npy
for k in 0 1 2; do check "shard $k/3" sde-langevin "${ARGS[@]}" --shard $k/3 -o sh$k.npy --summary sh$k.json; done
py "shards concatenate to the unsharded run" "
a = np.concatenate([np.load(f'sh{k}.npy') for k in range(3)]); b = np.load('t1.npy')
assert a.shape == b.shape and np.array_equal(a, b)
assert [json.load(open(f'sh{k}.json'))['rows'] for k in range(3)] == [[0, 333], [333, 667], [667, 1001]]
"
check "shards of a file start" bash -c "sde-langevin --mixture '$SEED0' --init pts.npy --steps 3 --step-size 0.01 --seed 2 --shard 1/2 -o fsh.npy"
py "file shard = the same rows of the full run" "assert np.array_equal(np.load('fsh.npy'), np.load('file.npy')[25:])"
check "stdout" bash -c "sde-langevin ${ARGS[*]} -o - > piped.npy"
check "stdout equals file" cmp piped.npy t1.npy
check "float32 output" sde-langevin "${ARGS[@]}" --dtype f4 -o f4.npy
py "float32 is the rounded float64" "assert np.array_equal(np.load('f4.npy'), np.load('t1.npy').astype(np.float32))"

# Trajectories: K x N x d, frame 0 the start, the last frame the output.
check "trajectory" sde-langevin "${ARGS[@]}" --trajectory 4 -o traj.npy --summary traj.json
py "trajectory frames" "
t = np.load('traj.npy'); assert t.shape == (4, 1001, 2), t.shape
assert np.array_equal(t[-1], np.load('t1.npy'))
assert t[0].min() >= -8 and t[0].max() <= 8
assert json.load(open('traj.json'))['trajectory_steps'] == [0, 10, 20, 30]
"

# Corrector-only sampling (paper Algorithms 4-5): sde-sample's PC loop with no predictor.
check "corrector-only --snr" sde-langevin --mixture "$RING" --sde ve -n 300 --snr 0.16 --levels 20 --steps 2 --seed 3 -o snr.npy --summary snr.json
check "the same with sde-sample" sde-sample --mixture "$RING" --sde ve -n 300 --predictor none --corrector langevin --snr 0.16 --steps 20 --corrector-steps 2 --seed 3 -o pc.npy
check "--snr equals sde-sample's corrector-only PC" cmp snr.npy pc.npy
py "corrector summary" "s = json.load(open('snr.json')); assert s['mode'] == 'corrector' and s['nfe'] == 41, s"

# Bad input: exit 1 with a message naming the cause (2 for usage), no output left.
"$PYTHON" -c "import numpy as np; x = np.zeros((4, 1)); x[2, 0] = np.nan; np.save('nan.npy', x); np.save('wide.npy', np.zeros((5, 3)))"
expect_error "no step size" 1 "sde-langevin: --step-size is required" out.npy sde-langevin --mixture "$EX6" -n 5 -o out.npy
expect_error "zero step size is a usage error" 2 "--step-size" out.npy sde-langevin --mixture "$EX6" -n 5 --step-size 0 -o out.npy
expect_error "zero levels" 2 "--levels" out.npy sde-langevin --mixture "$EX6" -n 5 --annealed --levels 0 --step-size 0.1 -o out.npy
expect_error "a negative count is a usage error, not a hang" 2 "--samples: expected a positive whole number" out.npy sde-langevin --mixture "$EX6" -n -1 --steps 2 --step-size 0.01 -o out.npy
expect_error "a NaN step size is a usage error" 2 "--step-size: expected a positive number" out.npy sde-langevin --mixture "$EX6" -n 5 --step-size nan -o out.npy
expect_error "sigma-min >= sigma-max" 1 "sde-langevin: annealing needs 0 < sigma-min < sigma-max" out.npy sde-langevin --mixture "$EX6" -n 5 --annealed --sigma-min 5 --sigma-max 5 --step-size 0.1 -o out.npy
expect_error "noise scales need VE" 1 "need --sde ve" out.npy sde-langevin --mixture "$EX6" -n 5 --sigma 1 --sde vp --step-size 0.1 -o out.npy
expect_error "bad uniform start" 1 "sde-langevin: init uniform:3,1: need A < B" out.npy sde-langevin --mixture "$EX6" -n 5 --init uniform:3,1 --step-size 0.1 -o out.npy
expect_error "bad normal start" 1 "init 'normal:0': expected normal:M,S with two numbers" out.npy sde-langevin --mixture "$EX6" -n 5 --init normal:0 --step-size 0.1 -o out.npy
expect_error "missing start file" 1 "sde-langevin: nosuch.npy: " out.npy sde-langevin --mixture "$EX6" --init nosuch.npy --step-size 0.1 -o out.npy
expect_error "NaN in the start file" 1 "sde-langevin: nan.npy: row 2" out.npy sde-langevin --mixture "$EX6" --init nan.npy --step-size 0.1 -o out.npy
expect_error "start file of the wrong width" 1 "initial points have shape \(5, 3\), expected \(5, 1\)" out.npy sde-langevin --mixture "$EX6" --init wide.npy --step-size 0.1 -o out.npy
expect_error "-n differs from the start file" 1 "sde-langevin: pts.npy: has 50 rows but -n is 7" out.npy sde-langevin --mixture "$EX6" -n 7 --init pts.npy --step-size 0.1 -o out.npy
expect_error "diverging chain names the step" 1 "sde-langevin: non-finite state after step [0-9]+ of 2000 \(level 1 of 1, t = 0, step size 1\); lower the step size" out.npy sde-langevin --mixture "$SEED0" -n 10 --steps 2000 --step-size 1 -o out.npy
expect_error "--snr with --init" 2 "--snr" out.npy sde-langevin --mixture "$EX6" -n 5 --snr 0.1 --init uniform:0,1 -o out.npy
expect_error "--snr with --mala" 2 "--snr|--mala" out.npy sde-langevin --mixture "$EX6" -n 5 --snr 0.1 --mala -o out.npy
expect_error "--t with --annealed" 2 "--t|--annealed" out.npy sde-langevin --mixture "$EX6" -n 5 --t 0.5 --annealed --step-size 0.1 -o out.npy
expect_error "--t out of range" 2 "--t" out.npy sde-langevin --mixture "$EX6" -n 5 --t 1.5 --step-size 0.1 -o out.npy
expect_error "one trajectory frame" 2 "--trajectory" out.npy sde-langevin --mixture "$EX6" -n 5 --step-size 0.1 --trajectory 1 -o out.npy
expect_error "no score source" 2 "model|mixture" out.npy sde-langevin -n 5 --step-size 0.1 -o out.npy
expect_error "missing model file" 1 "sde-langevin: nosuch.json: " out.npy sde-langevin --model nosuch.json -n 5 --step-size 0.1 -o out.npy
expect_error "bad shard" 2 "shard" out.npy sde-langevin --mixture "$EX6" -n 5 --step-size 0.1 --shard 2/2 -o out.npy
finish
