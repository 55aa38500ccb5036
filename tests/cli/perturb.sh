#!/usr/bin/env bash
# sde-perturb end to end: exact draws against the perturbed-mixture formula,
# kernel vs Euler-Maruyama, paths, reproducibility, pipes and bad input.
source "$(dirname "$0")/testlib.sh"
RING=$SDE_ROOT/data/ring8.json
ANISO=$SDE_ROOT/data/aniso2d.json

# Moments of p_t for a mixture: mean m mu, covariance m^2 Cov_mix + s^2 I.
# With N = 20000 draws the SE of each mean coordinate is sqrt(var/N); the
# check allows 4 SE. Variances: SE ~ var sqrt((kurt-1)/N), 5 SE allowed (mixtures are not Gaussian).
for sde in vp ve subvp; do
  for t in 0 0.1 0.5; do
    check "exact draws $sde t=$t" sde-perturb --mixture "$ANISO" -n 20000 --t $t --sde $sde --seed 3 -o x_${sde}_$t.npy --summary s_${sde}_$t.json
    py "moments $sde t=$t match m^2 Cov + s^2 I" "
s = json.load(open('s_${sde}_$t.json'))['kernel'][0]; m, sd = s['mean_coeff'], s['std']
spec = json.load(open('$ANISO'))
w = np.array(spec['weights']); mu = np.array(spec['means']); C = np.array(spec['covariances'])
mean = (w[:, None] * mu).sum(0)
cov = sum(w[k] * (C[k] + np.outer(mu[k] - mean, mu[k] - mean)) for k in range(len(w)))
mean_t, cov_t = m * mean, m * m * cov + sd * sd * np.eye(2)
x = np.load('x_${sde}_$t.npy'); N = len(x)
assert x.shape == (20000, 2), x.shape
se = np.sqrt(np.diag(cov_t) / N)
assert np.all(np.abs(x.mean(0) - mean_t) < 4 * se), (x.mean(0), mean_t, se)
v = np.var(x, 0, ddof=1); k4 = np.mean((x - x.mean(0))**4, 0) / v**2
assert np.all(np.abs(v - np.diag(cov_t)) < 5 * v * np.sqrt((k4 - 1) / N)), (v, np.diag(cov_t))
"
  done
done

# Data through the kernel: a constant x0 = c gives N(m c, s^2) exactly.
"$PYTHON" -c "import numpy as np; np.save('c.npy', np.full((40000, 1), 3.0))"
for sde in vp ve subvp; do
  check "kernel $sde from data" sde-perturb c.npy --t 0.3 --sde $sde --seed 1 -o k_$sde.npy --summary ks_$sde.json
  check "euler-maruyama $sde from data" sde-perturb c.npy --t 0.3 --sde $sde --seed 1 --method euler-maruyama --steps 400 -o e_$sde.npy
  # Kernel: mean and variance within 4 SE. EM (400 steps): its moment
  # recursion is biased by O(dt); the test allows 4 SE plus 2% of s^2.
  py "kernel and EM moments $sde" "
s = json.load(open('ks_$sde.json'))['kernel'][0]; m, sd = s['mean_coeff'], s['std']
for f, bias in (('k_$sde.npy', 0.0), ('e_$sde.npy', 0.02)):
    x = np.load(f)[:, 0]; N = len(x)
    assert abs(x.mean() - 3 * m) < 4 * sd / np.sqrt(N) + bias * sd, (f, x.mean(), 3 * m)
    assert abs(x.var() - sd**2) < 4 * sd**2 * np.sqrt(2 / N) + bias * sd**2, (f, x.var(), sd**2)
"
done

# Paths: K x N x d, frame 0 at t = 0 is the data, increments are independent
# with the transition variance: Var[x(t2) - r x(t1)] = s(t2)^2 - r^2 s(t1)^2.
check "frames strip" sde-perturb c.npy --frames 5 --t 1 --sde vp --seed 2 -o strip.npy --summary strip.json
py "strip shape, frame 0 and increments" "
x = np.load('strip.npy'); k = json.load(open('strip.json'))['kernel']
assert x.shape == (5, 40000, 1), x.shape
assert np.all(x[0] == 3.0)
for a, b in ((1, 2), (2, 4)):
    r = k[b]['mean_coeff'] / k[a]['mean_coeff']; var = k[b]['std']**2 - r * r * k[a]['std']**2
    inc = x[b, :, 0] - r * x[a, :, 0]
    assert abs(inc.var() - var) < 4 * var * np.sqrt(2 / len(inc)), (a, b, inc.var(), var)
"
check "times list" sde-perturb --mixture "$RING" -n 100 --times 0,0.25,1 --sde ve -o tl.npy
py "times list shape" "assert np.load('tl.npy').shape == (3, 100, 2)"

# Reproducibility: threads, shards, pipes, dtype.
check "threads 1" sde-perturb --mixture "$RING" -n 3001 --t 0.4 --seed 9 --threads 1 -o t1.npy
check "threads 2" sde-perturb --mixture "$RING" -n 3001 --t 0.4 --seed 9 --threads 2 -o t2.npy
check "bit-identical across --threads" cmp t1.npy t2.npy
for k in 0 1 2; do
  check "shard $k/3" sde-perturb --mixture "$RING" -n 3001 --t 0.4 --seed 9 --shard $k/3 -o sh$k.npy
done
py "shards concatenate to the unsharded run" "
a = np.concatenate([np.load(f'sh{k}.npy') for k in range(3)]); b = np.load('t1.npy')
assert a.shape == b.shape and np.array_equal(a, b)
assert [len(np.load(f'sh{k}.npy')) for k in range(3)] == [1000, 1000, 1001]
"
check "pipe in and out" bash -c "sde-perturb - --t 0.5 --seed 4 -o - < t1.npy > piped.npy"
check "file in and out" sde-perturb t1.npy --t 0.5 --seed 4 -o filed.npy
check "pipe equals file" cmp piped.npy filed.npy
check "float32 output" sde-perturb --mixture "$RING" -n 10 --dtype f4 -o f4.npy
py "numpy reads float32 output" "x = np.load('f4.npy'); assert x.dtype == np.float32 and x.shape == (10, 2)"
check "t = 0 is clean data" sde-perturb t1.npy --t 0 --sde ve -o same.npy
py "t = 0 returns the input" "assert np.array_equal(np.load('same.npy'), np.load('t1.npy'))"

# Bad input: clear message naming the file, exit 1 (2 for usage), no output left.
printf 'garbage bytes, not npy' > garbage.npy
head -c 100 t1.npy > truncated.npy
: > empty.npy
mkdir -p adir
"$PYTHON" -c "import numpy as np; x = np.zeros((4, 2)); x[2, 1] = np.nan; np.save('nan.npy', x); np.save('three.npy', np.zeros((2, 2, 2)))"
echo '{"weights": [0.5, 0.4], "means": [0, 1], "stds": [1, 1]}' > badweights.json
echo '{"weights": [1], "means": [0], ' > badjson.json
expect_error "missing file" 1 "sde-perturb: nosuch.npy: " out.npy sde-perturb nosuch.npy -o out.npy
expect_error "directory" 1 "sde-perturb: adir: " out.npy sde-perturb adir -o out.npy
expect_error "garbage" 1 "sde-perturb: garbage.npy: .*magic" out.npy sde-perturb garbage.npy -o out.npy
expect_error "truncated" 1 "sde-perturb: truncated.npy: .*truncated" out.npy sde-perturb truncated.npy -o out.npy
expect_error "empty" 1 "sde-perturb: empty.npy: .*empty" out.npy sde-perturb empty.npy -o out.npy
expect_error "NaN row named" 1 "sde-perturb: nan.npy: row 2" out.npy sde-perturb nan.npy -o out.npy
expect_error "3-D data" 1 "sde-perturb: three.npy: expected 2-D" out.npy sde-perturb three.npy -o out.npy
expect_error "weights not summing to 1" 1 "sde-perturb: badweights.json: weights" out.npy sde-perturb --mixture badweights.json -n 5 -o out.npy
expect_error "malformed JSON" 1 "sde-perturb: badjson.json: .*JSON" out.npy sde-perturb --mixture badjson.json -n 5 -o out.npy
expect_error "t out of range is a usage error" 2 "--t" out.npy sde-perturb --mixture "$RING" -n 5 --t 1.5 -o out.npy
expect_error "unknown option" 2 "--bogus" out.npy sde-perturb --bogus -o out.npy
expect_error "mixture without -n" 1 "needs -n" out.npy sde-perturb --mixture "$RING" -o out.npy
expect_error "bad shard" 2 "shard" out.npy sde-perturb --mixture "$RING" -n 5 --shard 3/3 -o out.npy
expect_error "unwritable output" 1 "sde-perturb: nodir/out.npy: " - sde-perturb --mixture "$RING" -n 5 -o nodir/out.npy
if command -v script > /dev/null; then
  # Under script(1) stdout is a terminal; the child's stderr comes back on script's stdout.
  check "binary output to a terminal refused" bash -c \
    "script -qec '$SDE_BIN/sde-perturb --mixture $RING -n 5' /dev/null | grep -q 'use -o FILE'"
fi
# INT while the output is being written: the temporary is removed and the
# tool dies of the signal (status 130), leaving no file at all.
sde-perturb --mixture "$RING" -n 8000000 -o big.npy 2> /dev/null &
pid=$!
for _ in $(seq 1 3000); do ls big.npy.tmp.* > /dev/null 2>&1 && break; sleep 0.01; done
kill -INT "$pid"; wait "$pid"; rc=$?
check "an interrupted write exits 130" test "$rc" -eq 130
check "and leaves neither the output nor its temporary" bash -c "! ls big.npy* > /dev/null 2>&1"
finish
