#!/usr/bin/env bash
# sde-npy end to end: reads what numpy writes, writes what numpy reads, joins
# shards byte for byte, slices like Python, round-trips CSV, and its stats and
# metrics agree with numpy; bad input fails cleanly.
source "$(dirname "$0")/testlib.sh"

# Arrays as numpy.save writes them, every layout the reader must accept.
"$PYTHON" -c "
import numpy as np
rng = np.random.default_rng(1)
x = rng.normal(size=(7, 3))
np.save('f4.npy', x.astype(np.float32))
np.save('f8.npy', x)
np.save('int.npy', np.arange(-4, 6, dtype=np.int64).reshape(5, 2))
np.save('fortran.npy', np.asfortranarray(x[:4]))
np.save('bigendian.npy', x[:4, :2].astype('>f8'))
np.save('empty0.npy', np.zeros((0, 3), np.float32))
np.save('flat.npy', x[:, 0])
for v in (2, 3):
    with open(f'v{v}.npy', 'wb') as f:
        np.lib.format.write_array(f, x, version=(v, 0))
np.save('traj.npy', rng.normal(size=(3, 10, 2)).astype(np.float32))
np.save('sample.npy', rng.normal(size=(400, 3)) @ np.array([[1, 0.5, 0], [0, 1, 0.3], [0, 0, 2]]) + [1, -2, 3])
np.save('other.npy', rng.normal(size=(150, 3)))
"

# info: shape, dtype and per-column min/max/mean match numpy exactly (the
# values are converted exactly to double; the means to 1e-12).
for f in f4 f8 int fortran bigendian empty0 flat v2 v3 traj; do
  check "info $f.npy" bash -c "'$SDE_BIN/sde-npy' info $f.npy > info_$f.json"
  py "info $f.npy matches numpy" "
a = np.load('$f.npy'); j = json.loads(open('info_$f.json').read())
assert j['shape'] == list(a.shape), (j['shape'], a.shape)
assert j['dtype'] == a.dtype.name, (j['dtype'], a.dtype.name)  # the file's own dtype: int64 stays int64
if a.ndim >= 3:  # a K x N x d trajectory: K frames of N rows
    assert (j['frames'], j['rows'], j['columns']) == (a.shape[0], int(np.prod(a.shape[1:-1])), a.shape[-1]), j
else:
    assert 'frames' not in j and j['rows'] == (a.shape[0] if a.ndim else 1), j
cols = a.reshape(-1, a.shape[-1] if a.ndim > 1 else 1).astype(np.float64)
if len(cols):
    assert j['min'] == list(cols.min(0)) and j['max'] == list(cols.max(0)), j
    assert np.allclose(j['mean'], cols.mean(0), rtol=1e-12, atol=1e-15), (j['mean'], cols.mean(0))
else:
    assert j['min'] == [None] * cols.shape[1], j
"
done
check "info on several files: one JSON line each" bash -c \
  "[ \$('$SDE_BIN/sde-npy' info f4.npy f8.npy traj.npy | wc -l) -eq 3 ]"

# cat of slices reproduces the file byte for byte (f4 stays f4, f8 stays f8),
# including K x N x d trajectories joined along axis 1.
for f in f4 f8; do
  sde-npy slice $f.npy --rows :3 -o ${f}_a.npy && sde-npy slice $f.npy --rows 3:5 -o ${f}_b.npy &&
    sde-npy slice $f.npy --rows 5: -o ${f}_c.npy
  check "cat of $f slices == $f.npy byte for byte" bash -c \
    "'$SDE_BIN/sde-npy' cat ${f}_a.npy ${f}_b.npy ${f}_c.npy -o ${f}_cat.npy && cmp ${f}_cat.npy $f.npy"
done
sde-npy slice traj.npy --rows :4 -o traj_a.npy && sde-npy slice traj.npy --rows 4: -o traj_b.npy
check "cat --axis 1 of trajectory slices == traj.npy" bash -c \
  "'$SDE_BIN/sde-npy' cat --axis 1 traj_a.npy traj_b.npy -o traj_cat.npy && cmp traj_cat.npy traj.npy"
# The job-array use: shards of a sampler run, joined, equal the unsharded run.
if [ -x "$SDE_BIN/sde-perturb" ]; then
  for dt in f4 f8; do
    check "cat of sde-perturb --shard k/3 ($dt) == unsharded run" bash -c "
      for k in 0 1 2; do
        '$SDE_BIN/sde-perturb' --mixture '$SDE_ROOT/data/ring8.json' -n 1001 --t 0.3 --seed 3 \
          --dtype $dt --shard \$k/3 -o shard\$k.npy || exit 1
      done
      '$SDE_BIN/sde-perturb' --mixture '$SDE_ROOT/data/ring8.json' -n 1001 --t 0.3 --seed 3 \
        --dtype $dt -o unsharded.npy &&
      '$SDE_BIN/sde-npy' cat shard0.npy shard1.npy shard2.npy -o joined.npy && cmp joined.npy unsharded.npy"
  done
else
  echo "skip shard join: sde-perturb is not built"
fi
check "cat of f4 and f8 writes f8" sde-npy cat f4.npy f8.npy -o mixed.npy
py "mixed cat loads with exact values" "
a = np.load('mixed.npy'); assert a.dtype == np.float64
assert np.array_equal(a, np.concatenate([np.load('f4.npy'), np.load('f8.npy')]))
"
expect_error "cat of mismatched shapes names the file" 1 "sde-npy: int.npy: shape \(5, 2\)" out.npy \
  sde-npy cat f8.npy int.npy -o out.npy

# slice follows Python / numpy indexing, negative indices and steps included.
while IFS='|' read -r name args expr; do
  check "slice $name: $args" sde-npy slice $args -o sl_$name.npy
  py "slice $name == numpy $expr" "
out = np.load('sl_$name.npy'); f8 = np.load('f8.npy'); traj = np.load('traj.npy')
want = $expr
assert out.dtype == want.dtype and out.shape == want.shape and np.array_equal(out, want), (out, want)
"
done << 'EOF'
range|f8.npy --rows 1:5|f8[1:5]
tail|f8.npy --rows -3:|f8[-3:]
reverse|f8.npy --rows ::-1|f8[::-1]
backstep|f8.npy --rows 5:1:-2|f8[5:1:-2]
list|f8.npy --rows 0,-1,2:4|f8[[0, 6, 2, 3]]
beyond|f8.npy --rows 10:20|f8[10:20]
cols|f8.npy --cols 2,0|f8[:, [2, 0]]
lastcol|f8.npy --rows ::2 --cols -1:|f8[::2, -1:]
frame|traj.npy --frame -1|traj[-1]
samples|traj.npy --rows 2:4 --cols 1|traj[:, 2:4, [1]]
EOF
expect_error "slice index out of range" 1 "sde-npy: f8.npy: --rows: index 7 is out of range" out.npy \
  sde-npy slice f8.npy --rows 7 -o out.npy
expect_error "slice syntax is a usage error" 2 "--rows" out.npy sde-npy slice f8.npy --rows 1:2:3:4 -o out.npy
py "a tiny file of shape (0, 30000)" "np.save('wide.npy', np.zeros((0, 30000)))"
expect_error "stats refuses a width whose covariance would be gigabytes" 1 "sde-npy: wide.npy: has 30000 columns" - sde-npy stats wide.npy
expect_error "--frame needs 3-D" 1 "sde-npy: f8.npy: --frame needs a 3-D array" out.npy \
  sde-npy slice f8.npy --frame 0 -o out.npy

# CSV: to-csv prints the shortest text that reads back exactly, so the round
# trip is exact (for f4 the bytes equal numpy.save's file).
check "to-csv f8" sde-npy to-csv f8.npy -o f8.csv
py "to-csv output loads in numpy.loadtxt exactly" \
  "assert np.array_equal(np.loadtxt('f8.csv', delimiter=',', ndmin=2), np.load('f8.npy'))"
check "to-csv | from-csv - round trip f8" bash -c \
  "'$SDE_BIN/sde-npy' to-csv f8.npy | '$SDE_BIN/sde-npy' from-csv - -o f8_rt.npy && cmp f8_rt.npy f8.npy"
check "to-csv | from-csv --dtype f4 round trip f4" bash -c \
  "'$SDE_BIN/sde-npy' to-csv f4.npy | '$SDE_BIN/sde-npy' from-csv - --dtype f4 -o f4_rt.npy && cmp f4_rt.npy f4.npy"
printf '# exported by hand\nx, y\n1.5, -2\n\n3e2,+4 # trailing comment\n  nan , inf\n' > header.csv
printf '1 2 3\n4\t5 6\n' > spaces.csv
check "from-csv with header, comments, blank lines" sde-npy from-csv header.csv -o header.npy
check "from-csv whitespace-separated" sde-npy from-csv spaces.csv -o spaces.npy
py "from-csv values" "
assert np.array_equal(np.load('header.npy'), np.array([[1.5, -2], [300, 4], [np.nan, np.inf]]), equal_nan=True)
assert np.array_equal(np.load('spaces.npy'), np.array([[1., 2, 3], [4, 5, 6]]))
"
printf '1,2\n3,abc\n' > badcell.csv
printf '1,2\n3\n' > ragged.csv
expect_error "CSV bad cell names line and column" 1 "sde-npy: badcell.csv: line 2, column 2: not a number: 'abc'" \
  out.npy sde-npy from-csv badcell.csv -o out.npy
expect_error "CSV ragged row" 1 "sde-npy: ragged.csv: line 2: expected 2 columns, got 1" out.npy \
  sde-npy from-csv ragged.csv -o out.npy

# stats against numpy; a NaN row is counted and left out.
"$PYTHON" -c "
import numpy as np
x = np.load('sample.npy').copy(); x[17, 1] = np.nan; np.save('sample_nan.npy', x)"
check "stats" bash -c "'$SDE_BIN/sde-npy' stats sample_nan.npy > stats.json"
py "stats mean, covariance, non-finite count match numpy" "
j = json.load(open('stats.json')); x = np.load('sample.npy'); x = np.delete(x, 17, axis=0)
assert j['rows'] == 400 and j['dim'] == 3 and j['non_finite_rows'] == 1, j
assert np.allclose(j['mean'], x.mean(0), rtol=1e-12), j['mean']
assert np.allclose(j['covariance'], np.cov(x, rowvar=False), rtol=1e-12), j['covariance']
"
# With a mixture: draws from it give posterior weights within 4 SE of the
# weights, and the mean log-density equals numpy's evaluation on the same rows.
cat > mix.json << 'EOF'
{"weights": [0.6, 0.4], "means": [[-2, 0], [2, 1]], "stds": [0.5, 1.0]}
EOF
"$PYTHON" -c "
import numpy as np
rng = np.random.default_rng(5); k = rng.random(4000) < 0.4
x = np.where(k[:, None], [2, 1] + rng.normal(size=(4000, 2)), [-2, 0] + 0.5 * rng.normal(size=(4000, 2)))
np.save('mixdraws.npy', x)"
check "stats --mixture" bash -c "'$SDE_BIN/sde-npy' stats mixdraws.npy --mixture mix.json > mixstats.json"
py "stats --mixture matches numpy" "
m = json.load(open('mixstats.json'))['mixture']; x = np.load('mixdraws.npy')
w, se = np.array(m['posterior_weights']), np.array(m['posterior_weights_se'])
assert np.all(np.abs(w - [0.6, 0.4]) < 4 * se), (w, se)
def log_normal(x, mu, s): return -((x - mu)**2).sum(1) / (2 * s * s) - np.log(2 * np.pi * s * s)
logp = np.logaddexp(np.log(0.6) + log_normal(x, [-2, 0], 0.5), np.log(0.4) + log_normal(x, [2, 1], 1.0))
assert abs(m['mean_log_density'] - logp.mean()) < 1e-10, (m['mean_log_density'], logp.mean())
assert abs(m['mean_log_density_se'] - logp.std(ddof=1) / np.sqrt(len(x))) < 1e-10
"

# compare: zero for a sample with itself; energy distance equals the V-statistic
# computed by numpy; subsampling is deterministic.
check "compare with itself" bash -c "'$SDE_BIN/sde-npy' compare sample.npy sample.npy > self.json"
py "compare with itself gives 0" "
j = json.load(open('self.json')); assert j['energy_distance'] == 0 and j['sliced_wasserstein'] == 0, j"
check "compare two samples" bash -c "'$SDE_BIN/sde-npy' compare sample.npy other.npy --summary cmp_summary.json > cmp.json"
py "energy distance matches numpy" "
x, y = np.load('sample.npy'), np.load('other.npy')
d = lambda a, b: np.linalg.norm(a[:, None] - b[None], axis=2).mean()
j = json.load(open('cmp.json')); assert abs(j['energy_distance'] - (2 * d(x, y) - d(x, x) - d(y, y))) < 1e-10, j
assert j['sliced_wasserstein'] > 0
s = json.load(open('cmp_summary.json')); assert s['command'] == 'compare' and s['figures'] == j, s
"
check "compare --max-points subsamples deterministically" bash -c \
  "'$SDE_BIN/sde-npy' compare sample.npy other.npy --max-points 100 --seed 4 > c1.json &&
   '$SDE_BIN/sde-npy' compare sample.npy other.npy --max-points 100 --seed 4 > c2.json && cmp c1.json c2.json &&
   grep -q '\"rows_used\":100' c1.json"

# Bad input: exit 1 with "sde-npy: file: cause", no output left; usage errors exit 2.
mkdir -p adir
printf 'garbage bytes, not npy' > garbage.npy
head -c 100 f8.npy > truncated.npy
expect_error "missing file" 1 "sde-npy: nosuch.npy: " out.npy sde-npy cat nosuch.npy -o out.npy
expect_error "directory" 1 "sde-npy: adir: .*directory" out.npy sde-npy slice adir -o out.npy
expect_error "garbage bytes" 1 "sde-npy: garbage.npy: .*magic" out.npy sde-npy cat f8.npy garbage.npy -o out.npy
expect_error "truncated file" 1 "sde-npy: truncated.npy: .*truncated" out.npy sde-npy info truncated.npy -o out.npy
expect_error "missing CSV" 1 "sde-npy: nosuch.csv: " out.npy sde-npy from-csv nosuch.csv -o out.npy
expect_error "compare of different dimensions" 1 "sde-npy: int.npy: has 2 columns" - sde-npy compare f8.npy int.npy
expect_error "unknown subcommand" 2 "not expected: bogus" - sde-npy bogus
expect_error "no subcommand" 2 "A subcommand .* is required" - sde-npy
# A header carrying a terminal escape sequence: the message shows it as
# \x1b, and no control byte reaches stderr.
"$PYTHON" -c "
import struct
header = b\"{'descr': '<f8\\x1b[31m', 'fortran_order': False, 'shape': (1,), }\"
header += b' ' * (63 - len(header) % 64) + b'\\n'
open('escape.npy', 'wb').write(b'\\x93NUMPY\\x01\\x00' + struct.pack('<H', len(header)) + header + bytes(8))
"
expect_error "an escape sequence in a header is shown, not sent" 1 'sde-npy: escape.npy: .*\\x1b\[31m' - sde-npy info escape.npy
check "... and stderr holds no control byte" bash -c "! sde-npy info escape.npy 2>&1 >/dev/null | grep -qP '[\\x00-\\x09\\x0b-\\x1f]'"
finish
