#!/usr/bin/env bash
# Install the system packages the tests and the demo need, only if missing:
# redis-server (always), prometheus/promtool (with --prometheus), Java 17 + Maven (with --java),
# Debian's chromium for the inbox's browser tests (with --chromium; Playwright drives
# /usr/bin/chromium, never a browser it downloads itself; with a CJK font for the screenshots).
set -euo pipefail
want=()
command -v redis-server >/dev/null || want+=(redis-server)
for arg in "$@"; do
  case "$arg" in
    --prometheus) command -v promtool >/dev/null || want+=(prometheus) ;;
    --java) command -v java >/dev/null || want+=(openjdk-17-jre-headless)
            command -v mvn >/dev/null || want+=(maven) ;;
    --chromium) [ -x /usr/bin/chromium ] || want+=(chromium)
                # a CJK font: the inbox shows Chinese text (measures taken, narratives)
                fc-list :lang=zh 2>/dev/null | grep -q . || want+=(fonts-wqy-microhei) ;;
  esac
done
[ ${#want[@]} -eq 0 ] && exit 0
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing ${want[*]} (Debian packages)" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${want[@]}" >/dev/null
