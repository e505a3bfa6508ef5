#!/usr/bin/env bash
# Fetch the pinned Apache Kafka broker jars from Maven Central into a cache outside the
# clone (default ~/.cache/monitor/kafka-<version>/libs). Prints the libs directory.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")"
cache="${MONITOR_CACHE:-$HOME/.cache/monitor}"
libs="$cache/kafka-$version/libs"
if [ ! -f "$libs/.complete" ]; then
  command -v mvn >/dev/null || { echo "mvn (Maven) and Java 17 are needed to fetch Kafka" >&2; exit 1; }
  rm -rf "$libs" && mkdir -p "$libs"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$libs" >&2
  touch "$libs/.complete"
fi
echo "$libs"
