#!/usr/bin/env bash
# The README's Slurm recipe run for real on this machine: a one-node cluster
# (munge, slurmctld and slurmd started here, as root, from a configuration in
# a temporary directory), a job array of `sde-sample --shard` tasks over a
# trained model, the parts concatenated with `sde-npy cat` and compared with
# the unsharded run byte for byte. The tasks alternate the network kernel
# (SDE_ISA) over those this CPU runs, as the nodes of a mixed cluster would.
#
#   make test-slurm          (installs slurm and munge first)
#   SDE_BIN=build/bin bash tests/slurm/job_array.sh
#
# Everything it starts is stopped on exit, and the directory removed.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "job_array.sh: needs root (starts munged, slurmctld, slurmd)" >&2; exit 2; }
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(cd "${SDE_BIN:-$root/build/bin}" && pwd)
work=$(mktemp -d /tmp/sde-slurm.XXXXXX)
chmod 755 "$work"
host=$(hostname -s)
started_munge=""

stop() {
  [ -f "$work/slurmd.pid" ] && kill "$(cat "$work/slurmd.pid")" 2>/dev/null || true
  [ -f "$work/slurmctld.pid" ] && kill "$(cat "$work/slurmctld.pid")" 2>/dev/null || true
  [ -n "$started_munge" ] && kill "$(cat "$work/munge/munged.pid")" 2>/dev/null || true
  sleep 1
  rm -rf "$work"
}
trap stop EXIT
fail() { echo "FAIL $*" >&2; for log in "$work"/*.log "$work"/munge/*.log; do echo "== $log" >&2; tail -20 "$log" >&2; done; exit 1; }

# munge: Slurm's authentication, with a key of our own unless a daemon runs.
if ! munge -n > /dev/null 2>&1; then
  install -d -o munge -g munge -m 700 "$work/munge"
  install -d -o munge -g munge -m 755 /run/munge
  dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
  chown munge:munge "$work/munge/munge.key" && chmod 400 "$work/munge/munge.key"
  runuser -u munge -- /usr/sbin/munged --key-file="$work/munge/munge.key" \
    --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" \
    --seed-file="$work/munge/munged.seed" || fail "munged did not start"
  started_munge=1
  for _ in $(seq 50); do munge -n > /dev/null 2>&1 && break; sleep 0.1; done
  munge -n > /dev/null 2>&1 || fail "munge does not answer"
fi

mkdir -p "$work/state" "$work/spool"
cat > "$work/slurm.conf" <<CONF
ClusterName=sdetest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$work/slurm.conf
/usr/sbin/slurmctld -c -f "$SLURM_CONF" || fail "slurmctld did not start"
/usr/sbin/slurmd -f "$SLURM_CONF" || fail "slurmd did not start"
for _ in $(seq 100); do
  sinfo -h -N -o '%T' 2>/dev/null | grep -q idle && break
  sleep 0.2
done
sinfo -h -N -o '%T' | grep -q idle || fail "the node never became idle"
echo "cluster up: $(sinfo -h -N -o '%N %c CPUs %T')"

cd "$work"
"$bin/sde-perturb" --mixture "$root/data/ring8.json" -n 2000 --seed 1 -o data.npy
kernels=()
for isa in avx512 avx2 generic; do
  SDE_ISA=$isa "$bin/sde-npy" info data.npy > /dev/null 2>&1 && kernels+=("$isa")
done
echo "kernels the tasks alternate: ${kernels[*]}"
"$bin/sde-train" data.npy --hidden 32,32 --frequencies 8 --steps 200 -o model.json
N=1003 TASKS=4
SAMPLE=(--model model.json -n $N --steps 50 --seed 7)
"$bin/sde-sample" "${SAMPLE[@]}" -o whole.npy

cat > task.sh <<JOB
#!/usr/bin/env bash
kernels=(${kernels[*]})
export SDE_ISA=\${kernels[\$((SLURM_ARRAY_TASK_ID % \${#kernels[@]}))]}
exec "$bin/sde-sample" ${SAMPLE[*]} --shard \$SLURM_ARRAY_TASK_ID/\$SLURM_ARRAY_TASK_COUNT \\
  -o part\$SLURM_ARRAY_TASK_ID.npy --summary part\$SLURM_ARRAY_TASK_ID.json
JOB
sbatch --wait --array=0-$((TASKS - 1)) --output="$work/task%a.log" --chdir="$work" task.sh ||
  fail "the job array failed"
parts=()
for ((k = 0; k < TASKS; k++)); do
  [ -s "part$k.npy" ] || fail "task $k wrote no part$k.npy"
  parts+=("part$k.npy")
  echo "task $k ran the $(python3 -c "import json; print(json.load(open('part$k.json'))['isa'])") kernel"
done
"$bin/sde-npy" cat "${parts[@]}" -o joined.npy
cmp joined.npy whole.npy || fail "the joined shards differ from the unsharded run"
echo "ok   $TASKS Slurm array tasks, joined, equal the unsharded run byte for byte"
