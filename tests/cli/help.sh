#!/usr/bin/env bash
# Every tool's --help ends with examples of that tool, and --version names
# the commit the tools were built from.
source "$(dirname "$0")/testlib.sh"
for bin in "$SDE_BIN"/sde-*; do
  tool=$(basename "$bin")
  check "$tool --help ends with its examples" bash -c "
    \"$bin\" --help > help.txt &&
    sed -n '/^Examples:\$/,\$p' help.txt | grep -q '^  $tool ' &&
    ! sed -n '/^Examples:\$/,\$p' help.txt | grep '^  sde-' | grep -qv '^  $tool '"
  check "$tool --version names the commit" bash -c "
    \"$bin\" --version | grep -Eq '^$tool [0-9]+\.[0-9]+\.[0-9]+ \(commit [^ )]+\)\$'"
done
check "the run summary carries the same version" bash -c '
  sde-perturb --mixture "$SDE_ROOT/data/ring8.json" -n 3 -o x.npy --summary s.json &&
  "$PYTHON" -c "import json, subprocess, sys
v = json.load(open(\"s.json\"))[\"version\"]
assert subprocess.run([\"sde-perturb\", \"--version\"], capture_output=True, text=True).stdout.strip() == \"sde-perturb \" + v, v"'
finish
