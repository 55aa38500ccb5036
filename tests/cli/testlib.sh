# Sourced by the CLI tests: a temp dir, check counters and the bad-input helper.
# Needs SDE_BIN (the built tools), SDE_ROOT (the repository) and PYTHON (with numpy).
set -uo pipefail
: "${SDE_BIN:?}" "${SDE_ROOT:?}" "${PYTHON:=/usr/bin/python3}"
export PATH="$SDE_BIN:$PATH"
TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1
PASSED=0
FAILED=0

pass() { PASSED=$((PASSED + 1)); echo "ok   $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1"; }

# check "description" command...: passes when the command succeeds.
check() {
  local what=$1; shift
  if "$@" > "$WORK/.out" 2>&1; then pass "$what"; else fail "$what"; sed 's/^/     /' "$WORK/.out"; fi
}

# py "description" 'python code': numpy as np is imported; an assert failing fails the check.
py() {
  check "$1" "$PYTHON" -c "import numpy as np, json, sys
$2"
}

# expect_error "description" CODE 'message regex' OUTFILE command...:
# the command must exit with CODE, print a message matching the regex on
# stderr and leave no OUTFILE behind (use - when there is none).
expect_error() {
  local what=$1 code=$2 pattern=$3 out=$4; shift 4
  rm -f "$out"
  timeout 60 "$@" > /dev/null 2> "$WORK/.err" < /dev/null
  local rc=$?
  if [ "$rc" -ne "$code" ]; then
    fail "$what (exit $rc, expected $code)"; sed 's/^/     /' "$WORK/.err"
  elif ! grep -Eq -- "$pattern" "$WORK/.err"; then
    fail "$what (message does not match /$pattern/)"; sed 's/^/     /' "$WORK/.err"
  elif [ "$out" != "-" ] && [ -e "$out" ]; then
    fail "$what (left $out behind)"
  elif ls "$WORK" | grep -q '\.tmp'; then
    fail "$what (left a temporary file)"
  else
    pass "$what"
  fi
}

finish() {
  echo "$TEST_NAME: $PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
