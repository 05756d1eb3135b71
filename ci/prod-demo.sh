#!/usr/bin/env bash
# The main job in prod shape, on one machine: build, start a Kafka-protocol
# broker (sluice-mock-broker) and a private MariaDB, replay
# fixtures/data/flights-20k.jsonl into topic `flights` with sluice-gen (keyed
# by origin, 4 partitions), run fixtures/pipelines/flights.sql with the
# `prod` profile (Kafka in, MySQL out) under trigger = available_now, and
# print what the MySQL table delays_by_origin holds.  Extra arguments go to
# `sluice run`.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/install-deps.sh >/dev/null
ci/build.sh build >/dev/null

work=$(mktemp -d)
broker_pid= db_pid=
cleanup() {
  for pid in $broker_pid $db_pid; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# the broker
./build/test/sluice-mock-broker --brokers 1 --topic flights:4 --until-signal >"$work/broker.out" 2>"$work/broker.err" &
broker_pid=$!
for _ in $(seq 100); do grep -q '^bootstrap=' "$work/broker.out" 2>/dev/null && break; sleep 0.1; done
brokers=$(sed -n 's/^bootstrap=//p' "$work/broker.out")
[ -n "$brokers" ] || { echo "prod-demo: the broker did not start: $(cat "$work/broker.err")" >&2; exit 1; }
echo "broker:  $brokers"

# a private MariaDB on a free loopback port
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mariadb-install-db --no-defaults --datadir="$work/db" --user="$(id -un)" \
  --auth-root-authentication-method=normal --skip-test-db >"$work/db-install.log" 2>&1
mariadbd --no-defaults --datadir="$work/db" --socket="$work/db.sock" --port="$port" --bind-address=127.0.0.1 \
  --user="$(id -un)" --skip-log-bin --tmpdir="$work" >"$work/db.log" 2>&1 &
db_pid=$!
for _ in $(seq 300); do mariadb -S "$work/db.sock" -uroot -e 'select 1' >/dev/null 2>&1 && break; sleep 0.1; done
password=demo-$$
mariadb -S "$work/db.sock" -uroot -e "CREATE DATABASE analytics;
  CREATE USER 'sluice'@'127.0.0.1' IDENTIFIED BY '$password';
  GRANT ALL ON analytics.* TO 'sluice'@'127.0.0.1';"
echo "mariadb: 127.0.0.1:$port, database analytics"

# the input: flights keyed by origin
./build/sluice-gen replay fixtures/data/flights-20k.jsonl --key origin --kafka "$brokers" --topic flights
echo "produced flights-20k into topic flights"

# the checkpoint goes with this demo's broker and database: a new one each time
KAFKA_BROKERS=$brokers MYSQL_HOST=127.0.0.1 MYSQL_PORT=$port MYSQL_PASSWORD=$password SLUICE_CHECKPOINT_DIR=$work/checkpoints \
  ./build/sluice run fixtures/pipelines/flights.sql --profile prod --quiet \
  --set pipeline.trigger=available_now --set 'source flights.startingOffsets=earliest' "$@"

# under available_now a Kafka source leaves the last hours' windows open
mariadb -S "$work/db.sock" -uroot analytics -e "
  SELECT COUNT(*) AS result_rows, MIN(window_start), MAX(window_start) FROM delays_by_origin;
  SELECT * FROM delays_by_origin ORDER BY flights DESC, window_start LIMIT 5;
  SELECT * FROM sluice_commits;"
