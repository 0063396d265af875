#!/usr/bin/env bash
# Opens the report page and the live view of `batchllm run --ui` in headless
# Chromium (cmd/batchllm/report_browser_test.go): the charts render, the
# numbers on the page match the journal, the page logs no console error, and
# the live view's counts grow while a run goes. Screenshots of both are kept
# in $BATCHLLM_BROWSER_ARTEFACTS (default .artefacts/browser, gitignored).
#
# Installs Debian's chromium package when no Chromium is on PATH; skips, and
# says why, only where it cannot (no apt-get, or not root and no sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

find_chromium() {
	for name in chromium chromium-browser google-chrome headless-shell; do
		if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
	done
}

if [ -z "$(find_chromium)" ]; then
	sudo=""
	if [ "$(id -u)" != 0 ]; then
		if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; fi
	fi
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "browser-test: SKIPPED: no Chromium on PATH and no apt-get to install it"
		exit 0
	fi
	if [ "$(id -u)" != 0 ] && [ -z "$sudo" ]; then
		echo "browser-test: SKIPPED: no Chromium on PATH, and installing it needs root (or password-less sudo)"
		exit 0
	fi
	echo "browser-test: installing chromium with apt-get"
	log=$(mktemp)
	if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium; } >"$log" 2>&1; then
		tail -20 "$log"
		echo "browser-test: SKIPPED: apt-get could not install chromium (see above)"
		exit 0
	fi
	rm -f "$log"
fi
echo "browser-test: using $(find_chromium)"

artefacts=${BATCHLLM_BROWSER_ARTEFACTS:-$PWD/.artefacts/browser}
mkdir -p "$artefacts"
BATCHLLM_BROWSER_TEST=1 BATCHLLM_BROWSER_ARTEFACTS="$artefacts" \
	go test -count=1 -run '^TestBrowser' ./cmd/batchllm/
echo "browser-test: screenshots in $artefacts"
