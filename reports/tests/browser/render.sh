#!/usr/bin/env bash
# Loads a report page in headless Chromium, offline: writes the DOM as it is after the page's
# scripts ran, Chromium's log (console messages and uncaught errors included) and a screenshot.
#
# usage: render.sh PAGE.html SCREENSHOT.png DOM.html LOG.txt [#FRAGMENT]
# CHROMIUM overrides the browser (default /usr/bin/chromium).
set -euo pipefail
page=$(realpath "$1")
shot=$2
dom=$3
log=$4
url="file://$page${5:-}"
chromium=${CHROMIUM:-/usr/bin/chromium}
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
flags=(
  --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --disable-dev-shm-usage --user-data-dir="$profile" --window-size=1400,900
  --virtual-time-budget=10000 --enable-logging=stderr --v=0
)
timeout 120 "$chromium" "${flags[@]}" --dump-dom "$url" >"$dom" 2>"$log"
timeout 120 "$chromium" "${flags[@]}" --screenshot="$(realpath -m "$shot")" "$url" \
  >>"$log" 2>&1
