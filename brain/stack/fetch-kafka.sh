#!/usr/bin/env bash
# Collect Apache Kafka's jars from Maven Central into a version-keyed cache: the broker
# (kafka-pom.xml -> kafka-VERSION/libs) or MirrorMaker 2 (kafka-mirror-pom.xml -> kafka-mirror-VERSION/libs).
# Usage: stack/fetch-kafka.sh [VERSION] [kafka|kafka-mirror]   (env BRAIN_CACHE overrides ~/.cache/industrial-brain)
set -euo pipefail
version="${1:-${KAFKA_VERSION:-4.1.1}}"
what="${2:-kafka}"
here="$(cd "$(dirname "$0")" && pwd)"
cache="${BRAIN_CACHE:-$HOME/.cache/industrial-brain}"
dest="$cache/$what-$version"
if [ -f "$dest/.complete" ]; then
  echo "$what $version: cached at $dest/libs"
  exit 0
fi
command -v java >/dev/null || { echo "error: Java 17+ is required to run Kafka (apt-get install openjdk-17-jre-headless)" >&2; exit 1; }
command -v mvn >/dev/null || { echo "error: Maven is required to fetch the Kafka jars (apt-get install maven)" >&2; exit 1; }
mkdir -p "$dest"
log="$dest/fetch.log"
start=$(date +%s)
echo "$what $version: fetching jars from Maven Central; log: $log"
mvn -B -q -f "$here/$what-pom.xml" -Dkafka.version="$version" dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$dest/libs" >"$log" 2>&1 || {
  echo "error: fetching the $what jars failed; see $log" >&2; tail -n 20 "$log" >&2; exit 1; }
touch "$dest/.complete"
echo "$what $version: $(ls "$dest/libs" | wc -l) jars in $(( $(date +%s) - start )) s -> $dest/libs"
