#!/usr/bin/env bash
# sde-train end to end: the model file, bit-identical models for any
# --threads, exact resume, a non-finite loss, sampling from the result, bad input.
source "$(dirname "$0")/testlib.sh"
RING=$SDE_ROOT/data/ring8.json
SMALL="--hidden 32,32 --frequencies 8 --batch 128"
sde-perturb --mixture "$RING" -n 2000 --seed 5 -o data.npy

check "train 60 steps, 1 thread" sde-train data.npy $SMALL --steps 60 --threads 1 -o m1.json --log loss.csv --summary s.json
check "train 60 steps, 2 threads" sde-train data.npy $SMALL --steps 60 --threads 2 -o m2.json
check "model bytes do not depend on --threads" cmp m1.json m2.json
py "model file reads with json + numpy" "
m = json.load(open('m1.json'))
assert m['format'] == 'sde-tools-model' and m['version'] == 1 and m['sde']['type'] == 'vp'
W = [np.array(l['weight']) for l in m['weights']]
assert [w.shape for w in W] == [(32, 18), (32, 32), (2, 32)], [w.shape for w in W]
assert len(m['time_frequencies']) == 8 and m['training']['step'] == 60
assert np.array(m['ema']['weights'][0]['weight']).shape == (32, 18)
assert len(m['optimizer']['m']) == sum(w.size for w in W) + 32 + 32 + 2
s = json.load(open('s.json')); assert s['steps_per_second'] > 0 and np.isfinite(s['final_loss'])
log = np.loadtxt('loss.csv', delimiter=',', skiprows=1); assert log.shape == (6, 2) and log[-1, 0] == 60
"
# A constant learning rate lets a run be extended; the standard cosine one
# resumes only to its own end (tested below and in test_train).
CONST="--lr-schedule constant --warmup 5"
check "train 60 steps, constant rate" sde-train data.npy $SMALL $CONST --steps 60 -o c60.json --log c60.csv
check "train 30 steps" sde-train data.npy $SMALL $CONST --steps 30 -o part.json --log part.csv
check "resume to 60 steps" sde-train data.npy --resume part.json --steps 60 -o resumed.json --log part.csv
check "resumed model equals the uninterrupted one byte for byte" cmp resumed.json c60.json
check "the log continues" cmp part.csv c60.csv
# A run interrupted after its checkpoint logged steps the checkpoint lacks:
# resuming from it again drops them first, so every step is logged once.
check "resume the 30-step checkpoint again" sde-train data.npy --resume part.json --steps 60 -o resumed2.json --log part.csv
check "the log has every step once" cmp part.csv c60.csv
expect_error "a log that cannot be written" 1 "/dev/full: write error" out.json sde-train data.npy $SMALL --steps 5 --log /dev/full -o out.json
check "VE, the reference recipe: scaled inputs" sde-train data.npy $SMALL --sde ve --recipe reference --steps 20 -o ve.json
check "VE with the noise parameterization" sde-train data.npy $SMALL --sde ve --parameterization noise --steps 20 -o ve_noise.json
py "the parameterization, data scale and recipe settings are in the model file" "
m = json.load(open('ve.json')); d = np.load('data.npy')
rms = np.sqrt((d ** 2).mean())
assert m['parameterization'] == 'scaled' and abs(m['sigma_data'] - rms) < 1e-9, m['sigma_data']
st = m['training']['settings']
assert (st['time_sampling'], st['weighting'], st['lr_schedule'], st['lr'], st['ema']) == ('uniform', 'sigma2', 'constant', 1e-3, 0.999), st
n = json.load(open('ve_noise.json')); assert n['parameterization'] == 'noise' and 'sigma_data' not in n
e = json.load(open('m1.json'))
assert e['parameterization'] == 'edm' and abs(e['sigma_data'] - (d - d.mean(0)).std()) < 1e-9, e['sigma_data']
assert abs(e['input_gain'] - 4.0) < 1e-12  # 2 sqrt(nf / d) = 2 sqrt(8 / 2)
st = e['training']['settings']
assert (st['time_sampling'], st['weighting'], st['lr_schedule'], st['horizon'], st['warmup'], st['ema'], st['ema_length']) == ('importance', 'likelihood', 'cosine', 60, 6, 0, 0.1), st
"
py "constant data" "np.save('zeros.npy', np.ones((20, 2)))"
expect_error "scaled inputs need data with a spread" 1 "no spread" out.json sde-train zeros.npy --steps 5 -o out.json
check "sampling from the scaled VE model" sde-sample --model ve.json -n 50 --steps 20 -o ve_samples.npy
check "train from stdin" bash -c "sde-train - $SMALL --steps 60 -o piped.json < data.npy"
check "stdin gives the same model" cmp piped.json m1.json

# A run that diverges stops with a clear error and keeps its last checkpoint.
rm -f div.json
"$SDE_BIN/sde-train" data.npy $SMALL --steps 400 --lr 1e6 --checkpoint-every 1 -o div.json 2> div.err
rc=$?
check "divergence exits 1" test $rc -eq 1
check "divergence names the step" grep -q "non-finite loss at step" div.err
py "the last good checkpoint is kept" "m = json.load(open('div.json')); assert m['training']['step'] >= 1"

# Measuring while training: held-out loss and the score error against the truth.
sde-perturb --mixture "$RING" -n 300 --seed 6 -o held.npy
check "validation and truth" sde-train data.npy $SMALL --steps 40 --validation held.npy --truth "$RING" --eval-every 20 --log-every 10 -o ev.json --log ev.csv --summary ev.s.json
py "the log has the evaluations every --eval-every steps" "
import csv
rows = list(csv.DictReader(open('ev.csv')))
assert list(rows[0]) == ['step', 'loss', 'validation', 'score_error_t1e-05_0.01', 'score_error_t0.01_0.1', 'score_error_t0.1_0.4', 'score_error_t0.4_1'], list(rows[0])
assert [r['step'] for r in rows] == ['10', '20', '30', '40'] and rows[0]['validation'] == '' and float(rows[1]['validation']) > 0
s = json.load(open('ev.s.json')); assert len(s['evaluations']) == 2 and len(s['evaluations'][1]['score_error_by_t_band']) == 4
"
check "--input-gain" sde-train data.npy $SMALL --steps 5 --input-gain 3 -o gain.json
py "the gain is in the model file" "assert json.load(open('gain.json'))['input_gain'] == 3"
expect_error "--input-gain is edm's" 2 "edm parameterization only" out.json sde-train data.npy --parameterization noise --input-gain 3 --steps 5 -o out.json
expect_error "--lognormal needs its time sampling" 2 "applies to --time-sampling lognormal" out.json sde-train data.npy --lognormal=-1,1 --steps 5 -o out.json
expect_error "--eval-every needs something to evaluate" 2 "needs --validation or --truth" out.json sde-train data.npy --eval-every 5 --steps 5 -o out.json
expect_error "a model file has no dtype" 2 "dtype" out.json sde-train data.npy --dtype f4 --steps 5 -o out.json
check "smld and ddpm take the paper's settings" sde-train data.npy $SMALL --loss smld --sde ve --steps 5 -o smld.json
py "smld's settings" "st = json.load(open('smld.json'))['training']['settings']; assert (st['time_sampling'], st['weighting']) == ('uniform', 'sigma2'), st"
expect_error "a constant-rate resume needs --steps" 1 "give --steps" out.json sde-train data.npy --resume part.json -o out.json
check "the stable target field" sde-train data.npy $SMALL --steps 20 --loss stf -o stf.json
check "the oracle loss regresses on the truth" sde-train data.npy $SMALL --steps 20 --loss oracle --truth "$RING" -o or.json
expect_error "oracle needs the truth" 1 "--loss oracle needs --truth" out.json sde-train data.npy --loss oracle --steps 5 -o out.json
sde-perturb --mixture "$RING" -n 100 --seed 6 -o held100.npy
expect_error "validation shorter than a batch" 1 "validation needs at least one batch" out.json sde-train data.npy $SMALL --validation held100.npy --steps 5 -o out.json
check "a cosine run to resume" sde-train data.npy $SMALL --steps 30 -o cos.json
expect_error "a cosine schedule resumes to its own end" 1 "ends at step 30" out.json sde-train data.npy --resume cos.json --steps 50 -o out.json

# Sampling from the trained model.
check "sample from the model" sde-sample --model m1.json -n 200 --sampler dpm-solver -o ms.npy
py "model samples are finite" "x = np.load('ms.npy'); assert x.shape == (200, 2) and np.isfinite(x).all()"

# Bad input.
"$PYTHON" -c "
import numpy as np
x = np.zeros((10, 2)); x[3, 0] = np.nan; np.save('nan.npy', x)
np.save('empty.npy', np.zeros((0, 2))); np.save('three.npy', np.zeros((3, 3, 2)))
np.save('wide.npy', np.zeros((10, 5)))"
echo '{"format": "sde-tools-model", "version": 1}' > corrupt.json
expect_error "NaN in data" 1 "sde-train: nan.npy: row 3" out.json sde-train nan.npy --steps 5 -o out.json
expect_error "empty data" 1 "sde-train: .*0 rows" out.json sde-train empty.npy --steps 5 -o out.json
expect_error "3-D data" 1 "sde-train: three.npy: expected 2-D" out.json sde-train three.npy --steps 5 -o out.json
expect_error "missing data" 1 "sde-train: nosuch.npy" out.json sde-train nosuch.npy --steps 5 -o out.json
expect_error "no output" 1 "-o FILE" - sde-train data.npy --steps 5
expect_error "smld needs VE" 1 "smld loss needs the VE SDE" out.json sde-train data.npy --loss smld --steps 5 -o out.json
expect_error "corrupt checkpoint" 1 "sde-train: corrupt.json: " out.json sde-train data.npy --resume corrupt.json --steps 5 -o out.json
expect_error "settings fixed on resume" 1 "--lr cannot be given with --resume" out.json sde-train data.npy --resume part.json --lr 0.1 --steps 70 -o out.json
expect_error "other data on resume" 1 "other data" out.json sde-train wide.npy --resume part.json --steps 70 -o out.json
expect_error "unreadable model for sampling" 1 "sde-sample: corrupt.json: " out.npy sde-sample --model corrupt.json -n 5 -o out.npy
expect_error "bad --hidden" 2 "hidden" out.json sde-train data.npy --hidden 32,abc -o out.json
finish
