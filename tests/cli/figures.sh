#!/usr/bin/env bash
# The figure recipes of data/figures at reduced size (QUICK=1): each runs to
# the end and writes the PNGs its header promises, valid and not blank.
source "$(dirname "$0")/testlib.sh"
export QUICK=1 OUT=$WORK/figures

# png_size FILE: "WIDTH HEIGHT" from the PNG header (signature, then IHDR).
png_size() {
  [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || return 1
  od -An -tu1 -j16 -N8 "$1" | awk '{ print $1*16777216 + $2*65536 + $3*256 + $4, $5*16777216 + $6*65536 + $7*256 + $8 }'
}

for recipe in "$SDE_ROOT"/data/figures/[0-9]*.sh; do
  name=$(basename "$recipe" .sh)
  check "$name runs" bash "$recipe"
  # The PNGs a recipe writes are the 0N_*.png names in its header comment.
  for png in $(grep -o '[0-9][0-9]_[a-z0-9_]*\.png' "$recipe" | sort -u); do
    if size=$(png_size "$OUT/$png") && [ "$(stat -c %s "$OUT/$png")" -gt 5000 ]; then
      read -r width height <<< "$size"
      if [ "$width" -ge 300 ] && [ "$height" -ge 200 ]; then pass "$png: ${width}x$height PNG"
      else fail "$png: ${width}x$height is too small"; fi
    else
      fail "$png: missing, not a PNG or nearly empty"
    fi
  done
done
check "nothing but the promised figures" bash -c \
  "[ \"\$(ls '$OUT' | grep -v '^work\$' | sort)\" = \"\$(cat '$SDE_ROOT'/data/figures/[0-9]*.sh | grep -o '[0-9][0-9]_[a-z0-9_]*\.png' | sort -u)\" ]"
finish
