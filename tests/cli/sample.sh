#!/usr/bin/env bash
# sde-sample end to end with the exact oracle: quality figures in the
# summary, reproducibility (threads, shards through GNU parallel), the
# trajectory and latent plumbing, and bad input.
source "$(dirname "$0")/testlib.sh"
RING=$SDE_ROOT/data/ring8.json

# Quality: 4000 samples per sampler; posterior weights of the 8 equal
# components within 4 SE (sqrt(w(1-w)/N) = 0.0052) and the mean true
# log-density within 4 SE of exact draws (its SE here is ~0.016).
sde-perturb --mixture "$RING" -n 4000 --seed 99 -o exact.npy
for sampler in "pc --steps 300" "ode" "ddim --steps 50" "dpm-solver" "unipc --order 3 --steps 40"; do
  name=${sampler%% *}
  check "sampler $name" sde-sample --mixture "$RING" --sde vp -n 4000 --sampler $sampler --seed 1 -o $name.npy --summary $name.json
  py "sampler $name matches the mixture" "
s = json.load(open('$name.json')); q = s['quality']; N = 4000
assert all(abs(w - 0.125) < 4 * (0.125 * 0.875 / N) ** 0.5 for w in q['weights']), q['weights']
spec = json.load(open('$RING')); mu = np.array(spec['means']); sd = spec['stds'][0]
def logp(x):
    d2 = ((x[:, None, :] - mu[None]) ** 2).sum(-1)
    return np.log(np.exp(-d2 / (2 * sd * sd)).mean(1)) - np.log(2 * np.pi * sd * sd)
ref = logp(np.load('exact.npy')); got = logp(np.load('$name.npy'))
se = np.sqrt(ref.var() / N + got.var() / N)
assert abs(got.mean() - ref.mean()) < 4 * se, (got.mean(), ref.mean(), se)
assert abs(got.mean() - q['mean_log_density']) < 1e-9
assert s['nfe_mean'] > 0 and s['nfe_max'] >= s['nfe_mean']
"
done

# Default step counts (lib/sample.hpp, default_fast_steps), as the summary
# reports them: one score evaluation per step plus the final denoising.
for case in "ddim=200" "dpm-solver=60" "unipc=60" "dpm-solver --stochastic=100" \
    "dpm-solver --order 1=200" "unipc --order 1=60"; do
  args=${case%=*}; want=${case#*=}
  check "default steps: $args" sde-sample --mixture "$RING" -n 20 --sampler $args -o d.npy --summary d.json
  py "default steps: $args runs $want" "
s = json.load(open('d.json')); steps = s['settings']['steps']
assert steps == $want and s['nfe_mean'] == $want + 1, (steps, s['nfe_mean'])
"
done

# Reproducibility: threads, and shards run through GNU parallel as the README shows.
check "pc threads 1" sde-sample --mixture "$RING" -n 1001 --steps 50 --threads 1 -o a1.npy
check "pc threads 2" sde-sample --mixture "$RING" -n 1001 --steps 50 --threads 2 -o a2.npy
check "pc bit-identical across --threads" cmp a1.npy a2.npy
check "ode threads 1" sde-sample --mixture "$RING" --sampler ode -n 601 --threads 1 -o o1.npy
check "ode threads 2" sde-sample --mixture "$RING" --sampler ode -n 601 --threads 2 -o o2.npy
check "ode bit-identical across --threads" cmp o1.npy o2.npy
if command -v parallel > /dev/null; then
  check "shards through GNU parallel" parallel --will-cite sde-sample --mixture "$RING" -n 1001 --steps 50 --shard {}/4 -o part{}.npy ::: 0 1 2 3
  check "cat the shards" sde-npy cat part0.npy part1.npy part2.npy part3.npy -o joined.npy
  check "sharded run equals the unsharded one byte for byte" cmp joined.npy a1.npy
else
  fail "GNU parallel is not installed (make deps installs it)"
fi

# Trajectory frames and latent decoding.
check "trajectory" sde-sample --mixture "$RING" -n 50 --steps 20 --trajectory 5 -o traj.npy --summary traj.json
check "samples of the same run" sde-sample --mixture "$RING" -n 50 --steps 20 -o last.npy
py "trajectory is 5 x 50 x 2 and ends at the samples" "
x = np.load('traj.npy'); assert x.shape == (5, 50, 2), x.shape
assert np.array_equal(x[-1], np.load('last.npy'))
t = json.load(open('traj.json'))['trajectory_times']; assert t[0] == 1.0 and len(t) == 5
"
"$PYTHON" -c "import numpy as np; np.save('z.npy', np.random.default_rng(0).standard_normal((30, 2)))"
check "decode latents with the ODE" sde-sample --mixture "$RING" --sampler ode -n 30 --latent z.npy -o dec.npy
check "decode latents with DPM-Solver" sde-sample --mixture "$RING" --sampler dpm-solver -n 30 --latent z.npy -o dec2.npy
py "decoded latents land near modes" "
x = np.load('dec.npy'); r = np.hypot(x[:, 0], x[:, 1]); assert np.all(np.abs(r - 4) < 1.5), r
assert np.abs(np.load('dec2.npy') - x).max() < 0.3
"

# The exact prior: x(T) drawn from the oracle's p_T (frame 0 of a trajectory).
# Components at (+-200, 0): under VE p_T has a mode at each (std 50); the
# standard prior, N(0, 50^2 I) centred on the mixture's mean, has one mode
# between them. 40 draws tell them apart: |x_1| is about 200 for every
# exact draw and below 100 for 95 % of the standard ones.
echo '{"weights": [0.5, 0.5], "means": [[200, 0], [-200, 0]], "stds": [1, 1]}' > far.json
check "exact prior" sde-sample --mixture far.json --sde ve --sampler ode -n 40 --prior exact --trajectory 2 --seed 3 -o ep.npy
check "standard prior" sde-sample --mixture far.json --sde ve --sampler ode -n 40 --trajectory 2 --seed 3 -o sp.npy
py "exact prior rows are p_T draws, the standard ones are not" "
e, s = np.load('ep.npy')[0], np.load('sp.npy')[0]
assert e.shape == (40, 2) and abs(np.abs(e[:, 0]).mean() - 200) < 40 and np.abs(s[:, 0]).mean() < 80, (e, s)
assert 30 < e[:, 1].std() < 70 and 30 < s[:, 1].std() < 70, (e.std(0), s.std(0))
"

# The standard prior is centred on the data: a component at (200, 0) under
# VE starts at N((200, 0), 50^2 I), and the ODE brings every row to it.
echo '{"weights": [1], "means": [[200, 0]], "stds": [1]}' > off.json
check "off-centre data" sde-sample --mixture off.json --sde ve --sampler ode -n 40 --trajectory 2 --seed 3 -o off.npy
py "the prior is centred on the data mean" "
x = np.load('off.npy'); start, end = x[0], x[1]
assert abs(start[:, 0].mean() - 200) < 40 and abs(start[:, 1].mean()) < 40, start.mean(0)
assert np.abs(end - [200, 0]).max() < 5, end
"

# Bad input.
echo '{"weights": [1], "means": [[0, 0]], "stds": [-1]}' > negstd.json
"$PYTHON" -c "import numpy as np; np.save('z3.npy', np.zeros((30, 3)))"
expect_error "no score source" 2 "mixture|model" out.npy sde-sample -n 5 -o out.npy
expect_error "both score sources" 2 "excludes|mixture" out.npy sde-sample --mixture "$RING" --model m.json -n 5 -o out.npy
expect_error "--stochastic is DPM-Solver's" 2 "stochastic.*dpm-solver only" out.npy sde-sample --mixture "$RING" --sampler ddim --stochastic -n 5 -o out.npy
expect_error "a negative count is a usage error" 2 "--samples: expected a positive whole number" out.npy sde-sample --mixture "$RING" -n -5 -o out.npy
long_name=$(printf '%0250d' 0 | tr 0 a).npy
check "a 254-byte output name (the temporary is shorter)" sde-sample --mixture "$RING" -n 5 -o "$long_name"
check "it is there, and no temporary is left" bash -c "test -f '$long_name' && ! ls -a | grep -q 'tmp\\.'"
expect_error "an endless spec stops at its size limit" 1 "/dev/zero: longer than 256 MB" out.npy sde-sample --mixture /dev/zero -n 5 -o out.npy
expect_error "zero steps name what was expected" 2 "--steps: expected a positive whole number, got .0." out.npy sde-sample --mixture "$RING" --steps 0 -n 5 -o out.npy
expect_error "a negative snr is a usage error" 2 "--snr: expected a positive number" out.npy sde-sample --mixture "$RING" --snr -1 -n 5 -o out.npy
expect_error "a model carries its own SDE" 2 "--model excludes --sde" out.npy sde-sample --model m.json --sde ve -n 5 -o out.npy
expect_error "stochastic order 3" 1 "has --order 1 or 2" out.npy sde-sample --mixture "$RING" --sampler dpm-solver --stochastic --order 3 -n 5 -o out.npy
expect_error "invalid mixture" 1 "sde-sample: negstd.json: stds\[0\]" out.npy sde-sample --mixture negstd.json -n 5 -o out.npy
expect_error "unknown sampler" 2 "sampler" out.npy sde-sample --mixture "$RING" --sampler euler -o out.npy
expect_error "latent with the wrong width" 1 "z3.npy|latent" out.npy sde-sample --mixture "$RING" --sampler ode -n 30 --latent z3.npy -o out.npy
expect_error "latent with PC" 2 "--latent: applies to --sampler ode, ddim, dpm-solver, unipc only" out.npy sde-sample --mixture "$RING" -n 30 --latent z.npy -o out.npy
expect_error "an option of another sampler is a usage error" 2 "--order: applies to --sampler dpm-solver, unipc only" out.npy sde-sample --mixture "$RING" -n 5 --sampler pc --order 3 -o out.npy
expect_error "an adaptive ODE has no steps" 2 "--steps: does not apply" out.npy sde-sample --mixture "$RING" -n 5 --sampler ode --steps 10 -o out.npy
expect_error "tolerances are dopri5's" 2 "--rtol: applies to --solver dopri5 only" out.npy sde-sample --mixture "$RING" -n 5 --sampler ode --solver euler --rtol 1e-3 -o out.npy
expect_error "bad eps" 1 "eps" out.npy sde-sample --mixture "$RING" -n 5 --eps 2 -o out.npy
expect_error "increasing --times" 1 "times" out.npy sde-sample --mixture "$RING" --sampler ddim -n 5 --times 0.5,0.7 -o out.npy
check "a PC run with every sampler option given" sde-sample --mixture "$RING" --sde ve -n 20 --steps 10 --snr 0.2 \
  --corrector-steps 2 --predictor euler-maruyama -o opts.npy --summary opts.json
py "... its summary holds every setting, those of option groups too" "
s = json.load(open('opts.json'))['settings']
assert (s['snr'], s['corrector-steps'], s['predictor'], s['sde']) == (0.2, 2, 'euler-maruyama', 've'), s
assert s['mixture'].endswith('ring8.json') and {'eta', 'order', 'rtol', 'solver', 'schedule', 'class', 'guidance'} <= set(s), s
"
expect_error "missing model file" 1 "sde-sample: nosuch.json" out.npy sde-sample --model nosuch.json -n 5 -o out.npy
expect_error "unknown prior" 2 "prior" out.npy sde-sample --mixture "$RING" --prior uniform -n 5 -o out.npy
expect_error "exact prior with a class" 1 "--prior exact is the unconditional" out.npy sde-sample --mixture "$RING" --prior exact --class 1 -n 5 -o out.npy
expect_error "exact prior with latents" 1 "--prior exact is the unconditional" out.npy sde-sample --mixture "$RING" --sampler ode --prior exact --latent z.npy -n 30 -o out.npy
finish
