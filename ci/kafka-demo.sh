#!/usr/bin/env bash
# The flights example against a local Kafka-protocol broker: build, start
# sluice-mock-broker (librdkafka's mock cluster on loopback), produce
# fixtures/data/flights-20k.jsonl into topic `flights` (4 partitions, keyed
# by origin) with kcat, run fixtures/pipelines/flights.sql with the `kafka`
# profile under trigger = available_now, and print what the result topic
# `delays_by_origin` holds.  Extra arguments go to `sluice run`.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/install-deps.sh >/dev/null
ci/build.sh build >/dev/null

work=$(mktemp -d)
broker_pid=
cleanup() {
  if [ -n "$broker_pid" ]; then kill "$broker_pid" 2>/dev/null || true; wait "$broker_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

./build/test/sluice-mock-broker --brokers 1 --topic flights:4 --topic delays_by_origin:4 --until-signal \
  >"$work/broker.out" 2>"$work/broker.err" &
broker_pid=$!
for _ in $(seq 100); do
  grep -q '^bootstrap=' "$work/broker.out" 2>/dev/null && break
  sleep 0.1
done
brokers=$(sed -n 's/^bootstrap=//p' "$work/broker.out")
[ -n "$brokers" ] || { echo "kafka-demo: the broker did not start: $(cat "$work/broker.err")" >&2; exit 1; }
echo "broker: $brokers"

# key each record by its origin airport: "ORIGIN<TAB>{json}"
sed -E 's/^(.*"origin":"([^"]*)".*)$/\2\t\1/' fixtures/data/flights-20k.jsonl |
  kcat -P -b "$brokers" -t flights -K $'\t' -z none
echo "produced: $(kcat -C -b "$brokers" -t flights -e -o beginning -q -f 'x\n' | wc -l) records into topic flights"

KAFKA_BROKERS=$brokers SLUICE_TRIGGER=available_now \
  ./build/sluice run fixtures/pipelines/flights.sql --profile kafka --quiet "$@"

echo "result topic delays_by_origin: $(kcat -C -b "$brokers" -t delays_by_origin -e -o beginning -q -f 'x\n' | wc -l) records; the first three:"
kcat -C -b "$brokers" -t delays_by_origin -p 0 -e -o beginning -q -c 3 -f '%k %s\n'
