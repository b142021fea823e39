#!/usr/bin/env bash
# Failover recovery figures (docs/performance.md#failover): median of N runs of
#   kill-leader (SIGKILL of the control-plane node hosting the singletons) -> "new pod bound"
#   kill <worker holding the most pods>                                    -> "replacement pods Running"
# each followed by `chaos restart` of the victim. Usage: bench/failover-recovery.sh [runs=5] [data-dir]
# Env: FAILOVER=standard|fast (the `up --failover` profile), ONLY=kill-leader|kill-worker (one fault kind),
#      CONTROL_PLANES / WORKERS (default 3 / 3).
# Needs a built akkakube (dotnet build AkkaKube.sln) and jq. Starts its own cluster and stops it at the end.
set -euo pipefail
RUNS=${1:-5}
DATA=${2:-$(mktemp -d /tmp/akkakube-failover-XXXX)}
AK=${AKKAKUBE:-$(dirname "$0")/../src/Cli/bin/Debug/net10.0/akkakube}
OUT=$DATA/bench
mkdir -p "$OUT"
trap '"$AK" down --data-dir "$DATA" >/dev/null 2>&1 || true' EXIT

FAILOVER=${FAILOVER:-standard}
ONLY=${ONLY:-}
"$AK" up --control-planes "${CONTROL_PLANES:-3}" --workers "${WORKERS:-3}" --failover "$FAILOVER" --data-dir "$DATA" --api-port "${API_PORT:-16500}" >/dev/null
export KUBECONFIG=$DATA/kubeconfig
kubectl apply -f - >/dev/null <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo}
spec:
  replicas: 6
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      terminationGracePeriodSeconds: 1
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: echo}}}
      containers: [{name: echo, image: akkakube/echo}]
YAML

event() { jq -r --arg e "$2" '[.timeline[] | select(.event == $e) | .seconds][0] // "none"' "$1"; }
for i in $(seq 1 "$RUNS"); do
  if [ "$ONLY" != kill-worker ]; then
    "$AK" chaos kill-leader --data-dir "$DATA" --json --timeout 90 > "$OUT/kill-leader-$i.json" || true
    victim=$(jq -r '.targets[0]' "$OUT/kill-leader-$i.json")
    "$AK" chaos restart "$victim" --data-dir "$DATA" --json --timeout 120 > "$OUT/restart-$victim-$i.json" || true
    echo "run $i: kill-leader $victim new pod bound $(event "$OUT/kill-leader-$i.json" 'new pod bound') s"
  fi
  if [ "$ONLY" != kill-leader ]; then
    worker=$(kubectl get pods -l app=echo -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort | uniq -c | sort -rn | awk 'NR==1{print $2}')
    "$AK" chaos kill "$worker" --data-dir "$DATA" --json --timeout 90 > "$OUT/kill-worker-$i.json" || true
    "$AK" chaos restart "$worker" --data-dir "$DATA" --json --timeout 120 > "$OUT/restart-$worker-$i.json" || true
    echo "run $i: kill $worker replacement pods Running $(event "$OUT/kill-worker-$i.json" 'replacement pods Running') s"
  fi
done
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "none"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
echo "profile: $FAILOVER; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "median kill-leader -> new pod bound: $(for f in "$OUT"/kill-leader-*.json; do event "$f" 'new pod bound'; done | grep -v none | median) s"
echo "median kill worker -> replacement pods Running: $(for f in "$OUT"/kill-worker-*.json; do event "$f" 'replacement pods Running'; done | grep -v none | median) s"
echo "reports: $OUT"
