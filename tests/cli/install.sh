#!/usr/bin/env bash
# `cmake --install` to a fresh prefix yields working tools, a man page and
# a bash completion for each, the data specs, figure recipes and the numpy
# model reader: what a user of the installed package gets.
source "$(dirname "$0")/testlib.sh"
: "${SDE_BUILD:?}"
P=$WORK/prefix
check "cmake --install to a prefix" cmake --install "$SDE_BUILD" --prefix "$P"
for bin in "$SDE_BIN"/sde-*; do
  tool=$(basename "$bin")
  check "$tool installed and runs" "$P/bin/$tool" --version
  if command -v help2man > /dev/null; then
    check "$tool has a man page with its options and examples" bash -c "
      head -3 '$P/share/man/man1/$tool.1' | grep -q '^\.TH ${tool^^} ' &&
      grep -q 'threads' '$P/share/man/man1/$tool.1' && grep -q '^\.SH EXAMPLES' '$P/share/man/man1/$tool.1'"
  fi
done
# Completion as bash runs it: the function the file registers, on a partial word.
complete_words() {  # complete_words TOOL WORD...: the candidates for the last word
  local tool=$1; shift
  bash -c "source '$P/share/bash-completion/completions/$tool'
    COMP_WORDS=($tool $*); COMP_CWORD=$#; \$(complete -p $tool | sed 's/.*-F \([^ ]*\) .*/\1/')
    printf '%s\n' \"\${COMPREPLY[@]}\""
}
check "sde-sample completes --predi to --predictor (an option of a group)" bash -c "[ \"\$($(declare -f complete_words); P=$P; complete_words sde-sample --predi)\" = --predictor ]"
check "... and the sampler's choices after --sampler" bash -c "$(declare -f complete_words); P=$P; complete_words sde-sample --sampler '' | grep -qx dpm-solver"
check "sde-npy completes its subcommands" bash -c "$(declare -f complete_words); P=$P; complete_words sde-npy com | grep -qx compare"
check "... and a subcommand's own options" bash -c "$(declare -f complete_words); P=$P; complete_words sde-npy compare --max | grep -qx -- --max-points"
check "the data specs and figure recipes" test -f "$P/share/sde-tools/data/ring8.json" -a -f "$P/share/sde-tools/data/figures/common.sh"
check "the installed tools run the README's first steps" bash -c "
  cd '$WORK' && '$P/bin/sde-perturb' --mixture '$P/share/sde-tools/data/ring8.json' -n 500 -o inst.npy &&
  '$P/bin/sde-npy' stats inst.npy --mixture '$P/share/sde-tools/data/ring8.json' > /dev/null"
check "the numpy model reader" bash -c "PYTHONPATH='$P/share/sde-tools/python' '$PYTHON' -c 'import sde_model, exact_mixture'"
finish
