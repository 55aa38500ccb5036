#!/usr/bin/env bash
# sde-plot end to end: every subcommand renders a real image through gnuplot,
# in every format, byte-identical when run twice; bad input, a failing
# gnuplot and a missing one give a clean message and leave no file behind.
source "$(dirname "$0")/testlib.sh"
RING=$SDE_ROOT/data/ring8.json
LINE=$SDE_ROOT/data/seed001_1d.json

# is_image FILE: the file starts with the signature of its extension's format.
is_image() {
  case $1 in
    *.png) [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ;;
    *.svg) head -c 200 "$1" | grep -q '<svg' ;;
    *.pdf) [ "$(head -c 5 "$1")" = "%PDF-" ] ;;
  esac
}
# plots "description" OUTPUT sde-plot-arguments...: renders and checks the image.
plots() {
  local what=$1 out=$2; shift 2
  check "$what" sde-plot "$@" -o "$out"
  check "$what: a valid ${out##*.} file" is_image "$out"
}

# Inputs from our own tools, small enough to keep the test fast.
sde-perturb --mixture "$LINE" -n 2000 -o line.npy
sde-perturb --mixture "$RING" -n 1000 -o ring.npy
sde-perturb --mixture "$RING" -n 300 --frames 4 --t 1 -o strip.npy --summary strip.json
sde-langevin --mixture "$LINE" -n 300 --steps 50 --step-size 0.1 --trajectory 11 \
  -o chains.npy --summary chains.json -q
sde-likelihood --mixture "$RING" --grid -6,6,-6,6,12,10 -o grid.npy -q
sde-train ring.npy --steps 20 --log loss.csv --log-every 2 -o model.json -q
sde-score --model model.json --grid=-6,6,-6,6,9,7 --t 0.1 -o field.npy -q
sde-score --mixture "$RING" --grid=-6,6,-6,6,9,7 --t 0.1 -o exact_field.npy -q
echo "1,nan" | sde-npy from-csv - -o known.npy
for steps in 5 10; do
  sde-sample --mixture "$RING" -n 200 --sampler ddim --steps $steps -o s$steps.npy --summary s$steps.json -q
  sde-npy stats s$steps.npy --mixture "$RING" -o s$steps.stats.json
done

plots "hist with the exact density" hist.png hist line.npy --mixture "$LINE" --title "a title"
plots "hist of two samples, p_t at t = 0.3" hist2.png hist line.npy line.npy --mixture "$LINE" \
  --t 0.3 --sde ve --panel-title one --panel-title "two, with a comma"
plots "hist of imputed coordinates" imputed.png hist ring.npy --known known.npy --mixture "$RING"
plots "scatter coloured by component" scatter.png scatter ring.npy --mixture "$RING" --color-by-component
plots "scatter of one class" class.png scatter ring.npy --mixture "$RING" --class 2 --max-points 100
plots "heatmap of a grid and the exact one" heatmap.png heatmap grid.npy --mixture "$RING" \
  --grid -6,6,-6,6 --zrange -20:0
plots "heatmap of the exact density alone" exact.png heatmap --mixture "$RING" --grid -6,6,-6,6,30,20 --exp
plots "quiver of a learned and the exact score at t = 0.1" quiver.png quiver field.npy exact_field.npy \
  --grid=-6,6,-6,6,9,7 --mixture "$RING" --t 0.1 --panel-title learned --panel-title exact
plots "quiver of directions only" quiver_n.png quiver field.npy --grid=-6,6,-6,6,9,7 --normalize
check "quiver: an arrow per grid point in the gnuplot program" bash -c \
  "sde-plot quiver field.npy --grid=-6,6,-6,6,9,7 -o q.png --script q.gp && grep -q 'with vectors' q.gp"
plots "evolution with steps from the summary" evolution.png evolution chains.npy --times chains.json --paths 3
plots "strip with times and contours" strip.png strip strip.npy --times strip.json --mixture "$RING"
plots "strip of chosen frames, listed times" strip2.png strip strip.npy --frames 0,-1 --times 0,0.3,0.6,1
plots "loss with a trailing mean" loss.png loss loss.csv --smooth 3 --logx
plots "curves from merged summaries" curves.png curves s5.json+s5.stats.json s10.json+s10.stats.json \
  --x nfe_mean --y mixture.mean_log_density --yerr mixture.mean_log_density_se \
  --label settings.sampler --reference s10.stats.json --reference-label exact
plots "svg output" hist.svg hist line.npy --size 400x300
plots "pdf output" hist.pdf hist line.npy --xrange -12:12 --xlabel x --ylabel p
check "--script writes the gnuplot program" sde-plot hist line.npy -o script.png --script hist.gp
check "the program is what was rendered" bash -c "gnuplot -d hist.gp > rerun.png && cmp rerun.png script.png"

# Same inputs, same bytes, in every format (PDF creation dates included).
for ext in png svg pdf; do
  sde-plot strip strip.npy --times strip.json --mixture "$RING" -o once.$ext
  sleep 1  # a creation date would differ by now
  sde-plot strip strip.npy --times strip.json --mixture "$RING" -o twice.$ext
  check "deterministic $ext" cmp once.$ext twice.$ext
done
check "the run summary names the subcommand" bash -c \
  "sde-plot loss loss.csv -o l.png --summary l.json && grep -q '\"command\": \"loss\"' l.json"

# Bad input: exit 1 with "sde-plot: file: cause", and no image.
"$PYTHON" -c "import numpy as np; x = np.zeros((5, 1)); x[3] = np.nan; np.save('nan.npy', x)"
"$PYTHON" -c "import numpy as np; np.save('traj_nan.npy', np.full((3, 4, 1), np.inf))"
expect_error "missing file" 1 '^sde-plot: nope.npy: cannot open' out.png sde-plot hist nope.npy -o out.png
expect_error "wrong shape" 1 '^sde-plot: ring.npy: expected N x 1 samples' out.png sde-plot hist ring.npy -o out.png
expect_error "NaN in samples" 1 '^sde-plot: nan.npy: row 3 has a non-finite value' out.png \
  sde-plot hist nan.npy -o out.png
expect_error "infinity in a trajectory" 1 'traj_nan.npy: frame 0, row 0 has a non-finite value \(inf\)' \
  out.png sde-plot evolution traj_nan.npy -o out.png
expect_error "2-D samples as a trajectory" 1 'expected a K x N x 1 trajectory' out.png \
  sde-plot evolution line.npy -o out.png
expect_error "frame times that do not fit" 1 '3 frame times for a trajectory of 11 frames' out.png \
  sde-plot evolution chains.npy --times 0,1,2 -o out.png
expect_error "grid of another size" 1 'grid.npy: shape \(10, 12\) is not the ny x nx = 12 x 10' out.png \
  sde-plot heatmap grid.npy --grid -6,6,-6,6,10,12 -o out.png
expect_error "a field on another grid" 1 'field.npy: expected nx ny x 2 = 80 x 2 vectors' out.png \
  sde-plot quiver field.npy --grid=-6,6,-6,6,10,8 -o out.png
expect_error "a field without the grid's size" 1 'needs the grid.s size' out.png \
  sde-plot quiver field.npy --grid=-6,6,-6,6 -o out.png
expect_error "missing summary key" 1 "s5.json: no key 'nfe'" out.png \
  sde-plot curves s5.json --x nfe --y nfe_mean -o out.png
expect_error "class without a mixture" 1 'need the mixture' out.png sde-plot scatter ring.npy --class 1 -o out.png
expect_error "class out of range" 1 'ring8.json: class 8 does not exist' out.png \
  sde-plot scatter ring.npy --mixture "$RING" --class 8 -o out.png
expect_error "unknown format" 1 '^sde-plot: out.gif: cannot tell the figure format' out.gif \
  sde-plot hist line.npy -o out.gif
expect_error "output directory missing" 1 'no/such/dir/out.png' - sde-plot hist line.npy -o no/such/dir/out.png
expect_error "gnuplot's own error" 1 '^sde-plot: out.png: gnuplot failed: line [0-9]+: y range must be greater than 0' \
  out.png sde-plot hist line.npy --logy --yrange -1:0 -o out.png
expect_error "gnuplot missing" 1 '^sde-plot: out.png: gnuplot not found on PATH' out.png \
  env PATH=/nonexistent "$SDE_BIN/sde-plot" hist line.npy -o out.png
cp hist.png kept.png
check "a failed run leaves an existing file untouched" bash -c \
  "! env PATH=/nonexistent '$SDE_BIN/sde-plot' hist line.npy -o kept.png 2>/dev/null && cmp kept.png hist.png"

# Usage errors: exit 2.
expect_error "no subcommand" 2 'subcommand' - sde-plot -o out.png
expect_error "unknown subcommand" 2 'not expected: foo' out.png sde-plot foo -o out.png
expect_error "no output" 2 'output is required' - sde-plot hist line.npy
expect_error "bad range" 2 '--xrange: expected a range MIN:MAX' out.png sde-plot hist line.npy --xrange 3 -o out.png
expect_error "bad size" 2 '--size: expected WIDTHxHEIGHT' out.png sde-plot hist line.npy --size 80 -o out.png
expect_error "bad grid" 2 '--grid: expected xmin,xmax,ymin,ymax' out.png \
  sde-plot heatmap grid.npy --grid 0,1,2 -o out.png
expect_error "two files for a single-input command" 2 '' out.png sde-plot loss loss.csv loss.csv -o out.png

finish
