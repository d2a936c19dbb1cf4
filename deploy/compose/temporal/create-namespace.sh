#!/bin/sh
# Registers Lawlink's namespace once the frontend answers (mutual TLS, the client certificate
# from TEMPORAL_TLS_*). Closed workflows are kept 30 days for inspection in the UI; the read
# model keeps every case's history for good.
set -eu
ns=${TEMPORAL_NAMESPACE:-default}
attempt=1
until temporal operator cluster health >/dev/null 2>&1; do
  [ "$attempt" -ge 60 ] && { echo "Temporal at $TEMPORAL_ADDRESS not healthy after $attempt tries" >&2; exit 1; }
  attempt=$((attempt + 1)); sleep 5
done
if temporal operator namespace describe --namespace "$ns" >/dev/null 2>&1; then
  echo "namespace $ns exists"
else
  temporal operator namespace create --namespace "$ns" --retention 30d
  echo "namespace $ns created"
fi
