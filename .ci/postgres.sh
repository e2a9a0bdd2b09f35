#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests.
#
#   source .ci/postgres.sh            # start it; stopped when the shell exits
#   bash .ci/postgres.sh CMD [ARG...] # start it, run CMD, stop it
#
# It installs PostgreSQL from Debian's packages if no server is found under
# /usr/lib/postgresql/*/bin (apt-get, as root), creates a cluster in a fresh
# temporary directory owned by an unprivileged user (the current user, or the
# "postgres" system user when run as root), starts it on 127.0.0.1 on a free
# port with its unix sockets in that directory, creates the login role and
# database authkit_test (random password), and exports
#
#   AUTHKIT_TEST_POSTGRES=postgres://authkit_test:...@127.0.0.1:PORT/authkit_test?sslmode=disable
#
# An EXIT trap (chained after any trap already set) stops the cluster and
# removes the directory. The cluster runs with fsync off: it is for tests only.

_authkit_pg_log() { echo "postgres.sh: $*" >&2; }

# _authkit_pg_bindir prints the newest /usr/lib/postgresql/*/bin holding a
# server.
_authkit_pg_bindir() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then
			echo "$d"
		fi
	done | sort -t/ -k4,4V | tail -n 1
}

_authkit_pg_install() {
	if [[ $EUID -ne 0 ]]; then
		_authkit_pg_log "PostgreSQL is not installed, and installing it needs root"
		return 1
	fi
	# No default cluster: this script makes its own.
	if [[ ! -e /etc/postgresql-common/createcluster.conf ]]; then
		mkdir -p /etc/postgresql-common
		echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf
	fi
	_authkit_pg_log "installing PostgreSQL from Debian's packages"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
}

# _authkit_pg_as runs its arguments as the cluster's owner.
_authkit_pg_as() {
	if [[ $EUID -eq 0 ]]; then
		runuser -u "$_authkit_pg_user" -- "$@"
	else
		"$@"
	fi
}

# _authkit_pg_port_free reports whether nothing listens on 127.0.0.1:$1.
_authkit_pg_port_free() {
	if command -v ss >/dev/null; then
		[[ -z $(ss -Hltn "sport = :$1") ]]
	else
		! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

_authkit_pg_stop() {
	if [[ -n ${_authkit_pg_dir:-} && -d $_authkit_pg_dir ]]; then
		if [[ -f $_authkit_pg_dir/data/postmaster.pid ]]; then
			_authkit_pg_as "$_authkit_pg_bin/pg_ctl" -D "$_authkit_pg_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
		fi
		rm -rf "$_authkit_pg_dir"
	fi
	_authkit_pg_dir=""
}

_authkit_pg_start() {
	local start=$SECONDS
	_authkit_pg_bin=$(_authkit_pg_bindir)
	if [[ -z $_authkit_pg_bin ]]; then
		_authkit_pg_install || return 1
		_authkit_pg_bin=$(_authkit_pg_bindir)
		if [[ -z $_authkit_pg_bin ]]; then
			_authkit_pg_log "no PostgreSQL server under /usr/lib/postgresql/*/bin after installing"
			return 1
		fi
	fi

	_authkit_pg_user=$(id -un)
	if [[ $EUID -eq 0 ]]; then
		# initdb refuses to run as root.
		_authkit_pg_user=postgres
		if ! id -u postgres >/dev/null 2>&1; then
			useradd --system --no-create-home --shell /usr/sbin/nologin postgres || return 1
		fi
	fi

	_authkit_pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/authkit-pg.XXXXXX") || return 1
	chmod 0755 "$_authkit_pg_dir" || return 1
	mkdir -m 0700 "$_authkit_pg_dir/data" || return 1
	local superpw testpw
	superpw=$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n') || return 1
	testpw=$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n') || return 1
	(umask 077 && printf '%s\n' "$superpw" >"$_authkit_pg_dir/pwfile") || return 1
	if [[ $EUID -eq 0 ]]; then
		chown -R "$_authkit_pg_user" "$_authkit_pg_dir" || return 1
	fi

	_authkit_pg_as "$_authkit_pg_bin/initdb" -D "$_authkit_pg_dir/data" -U postgres \
		--pwfile="$_authkit_pg_dir/pwfile" --auth=scram-sha-256 \
		--encoding=UTF8 --locale=C --no-sync >"$_authkit_pg_dir/initdb.log" 2>&1 || {
		_authkit_pg_log "initdb failed:"
		cat "$_authkit_pg_dir/initdb.log" >&2
		return 1
	}
	rm -f "$_authkit_pg_dir/pwfile"
	_authkit_pg_as tee -a "$_authkit_pg_dir/data/postgresql.conf" >/dev/null <<-EOF || return 1
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$_authkit_pg_dir'
		fsync = off
		synchronous_commit = off
		full_page_writes = off
		shared_buffers = 32MB
		max_connections = 200
	EOF

	local port="" try
	for try in 1 2 3 4 5 6 7 8; do
		port=$((20000 + RANDOM % 40000))
		_authkit_pg_port_free "$port" || continue
		if _authkit_pg_as "$_authkit_pg_bin/pg_ctl" -D "$_authkit_pg_dir/data" \
			-l "$_authkit_pg_dir/server.log" -o "-p $port" -w -t 60 start >/dev/null; then
			break
		fi
		port=""
		if ! grep -q 'could not bind\|could not create any TCP/IP sockets' "$_authkit_pg_dir/server.log"; then
			break
		fi
	done
	if [[ -z $port ]]; then
		_authkit_pg_log "the server did not start:"
		cat "$_authkit_pg_dir/server.log" >&2
		return 1
	fi

	local psql=$_authkit_pg_bin/psql
	[[ -x $psql ]] || psql=psql
	PGPASSWORD=$superpw "$psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres \
		-c "CREATE ROLE authkit_test LOGIN PASSWORD '$testpw'" \
		-c "CREATE DATABASE authkit_test OWNER authkit_test" >/dev/null || {
		_authkit_pg_log "creating role and database authkit_test failed"
		return 1
	}

	export AUTHKIT_TEST_POSTGRES="postgres://authkit_test:$testpw@127.0.0.1:$port/authkit_test?sslmode=disable"
	_authkit_pg_log "PostgreSQL $("$_authkit_pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($_authkit_pg_dir), ready in $((SECONDS - start))s"
}

# _authkit_pg_trap runs the cleanup at exit, after whatever EXIT trap the
# shell already had.
_authkit_pg_trap() {
	local prev
	prev=$(trap -p EXIT)
	prev=${prev#trap -- \'}
	prev=${prev%\' EXIT}
	if [[ -n $prev ]]; then
		# shellcheck disable=SC2064
		trap "$prev; _authkit_pg_stop" EXIT
	else
		trap _authkit_pg_stop EXIT
	fi
}

if [[ ${BASH_SOURCE[0]} != "$0" ]]; then
	_authkit_pg_trap
	_authkit_pg_start || { _authkit_pg_stop; return 1; }
else
	set -euo pipefail
	trap _authkit_pg_stop EXIT
	_authkit_pg_start || exit 1
	if [[ $# -gt 0 ]]; then
		"$@"
	fi
fi
