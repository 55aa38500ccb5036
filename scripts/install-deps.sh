#!/usr/bin/env bash
# Installs the Debian packages the project needs, only those missing.
# Idempotent: a second run installs nothing and does not touch the network.
#   scripts/install-deps.sh          build, test, demo, figures
#   scripts/install-deps.sh --bench  also what `make bench` needs
#   scripts/install-deps.sh --slurm  also what `make test-slurm` needs
#   scripts/install-deps.sh --fuzz   also what `make fuzz` needs
set -euo pipefail
packages=(
  build-essential cmake
  ninja-build     # compiles the tools while the library is still building (make's generator waits)
  libcli11-dev libeigen3-dev nlohmann-json3-dev libfmt-dev doctest-dev librandom123-dev
  python3-numpy   # tests: golden .npy files and numpy.load round trips
  gnuplot-nox     # sde-plot
  parallel        # the sharding test runs GNU parallel as the README shows
  help2man        # the man pages, from each tool's --help
)
for extra in "$@"; do
  case "$extra" in
    --bench)
      packages+=(
        python3-torch python3-scipy  # the PyTorch peer (../shared/peer/torch_peer.py)
        libopenblas0-pthread  # without it Debian's torch uses the reference BLAS, 5-15x slower: an unfair peer
        libbenchmark-dev      # Google Benchmark: bench/bench_net.cpp
        time                  # /usr/bin/time -v: peak RSS in the scaling section
      ) ;;
    --slurm)
      packages+=(slurmctld slurmd slurm-client munge) ;;  # tests/slurm/job_array.sh
    --fuzz)
      packages+=(clang libclang-rt-dev) ;;  # make fuzz: clang's libFuzzer and sanitizers
    *) echo "install-deps.sh: unknown option $extra (expected --bench, --slurm, --fuzz)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
