#!/usr/bin/env bash
# Chromium for the browser test of examples/server (TestDocsInBrowser).
#
#   source .ci/chromium.sh   # or: bash .ci/chromium.sh
#
# It installs Debian's chromium package (apt-get, as root) when
# /usr/bin/chromium is missing, and prints the browser's version. The test
# itself starts chromium headless with a fresh profile and --no-sandbox.

_authkit_chromium_log() { echo "chromium.sh: $*" >&2; }

_authkit_chromium_install() {
	if [[ -x /usr/bin/chromium ]]; then
		return 0
	fi
	if [[ $EUID -ne 0 ]]; then
		_authkit_chromium_log "chromium is not installed, and installing it needs root"
		return 1
	fi
	_authkit_chromium_log "installing chromium from Debian's packages"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null || return 1
	if [[ ! -x /usr/bin/chromium ]]; then
		_authkit_chromium_log "no /usr/bin/chromium after installing"
		return 1
	fi
}

if [[ ${BASH_SOURCE[0]} != "$0" ]]; then
	_authkit_chromium_install || return 1
	_authkit_chromium_log "$(/usr/bin/chromium --version 2>/dev/null)"
else
	set -euo pipefail
	_authkit_chromium_install
	_authkit_chromium_log "$(/usr/bin/chromium --version 2>/dev/null)"
fi
