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

# records in a topic: the sum over its partitions of end - start offset
# (kcat -Q with the timestamps -1 and -2)
topic_count() {
    local ends=() starts=() p
    for p in $(kcat -L -b "$1" -t "$2" | sed -n 's/^ *partition \([0-9]*\),.*/\1/p'); do
        ends+=(-t "$2:$p:-1")
        starts+=(-t "$2:$p:-2")
    done
    echo $(( $(kcat -Q -b "$1" "${ends[@]}" | awk '{s += $4} END {print s + 0}') - \
             $(kcat -Q -b "$1" "${starts[@]}" | awk '{s += $4} END {print s + 0}') ))
}

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
echo "produced: $(topic_count "$brokers" flights) records into topic flights"

KAFKA_BROKERS=$brokers SLUICE_TRIGGER=available_now \
  ./build/sluice run fixtures/pipelines/flights.sql --profile kafka --quiet "$@"

echo "result topic delays_by_origin: $(topic_count "$brokers" delays_by_origin) records; the first three:"
kcat -C -b "$brokers" -t delays_by_origin -p 0 -o beginning -q -c 3 -f '%k %s\n'
