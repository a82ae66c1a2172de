#!/usr/bin/env bash
# Sets up the clinic hub's PostgreSQL server on a Debian/Ubuntu machine in one command (as root):
#
#   packaging/hub-server.sh --host hub.clinic.lan [--ip 192.168.1.20] [--db kapsession]
#                           [--out /etc/kapsession-hub] [--listen '*']
#
# It installs PostgreSQL if it is missing, makes the clinic's own CA and the server's certificate
# (for --host, and --ip if given), turns TLS on and accepts the hub database only over TLS with
# passwords (scram-sha-256), and creates the database with an owner login. It never makes the
# clinic key: that is made on the clinic administrator's laptop by `kapsession hub init`, so
# this server never holds it. Run again, it keeps what is there (certificates, owner, password).
#
# Written to --out: ca.crt (give it to every laptop: sslrootcert), ca.key (root only), server.crt
# and server.key (the postgres user's), owner.dsn (0600: the line for `kapsession hub init`).
#
# Another cluster than Debian's default one (tests): --pgdata DIR --bindir DIR --port N
# --socket DIR (the cluster is then restarted with pg_ctl).
set -euo pipefail

host="" ip="" db="kapsession" out="/etc/kapsession-hub" listen="*"
pgdata="" bindir="" port="" socket=""
die() { echo "hub-server: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --host) host=${2:-}; shift 2 ;;
    --ip) ip=${2:-}; shift 2 ;;
    --db) db=${2:-}; shift 2 ;;
    --out) out=${2:-}; shift 2 ;;
    --listen) listen=${2:-}; shift 2 ;;
    --pgdata) pgdata=${2:-}; shift 2 ;;
    --bindir) bindir=${2:-}; shift 2 ;;
    --port) port=${2:-}; shift 2 ;;
    --socket) socket=${2:-}; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[ -n "$host" ] || die "--host is needed: the name the laptops reach this server by"
[[ "$host" =~ ^[A-Za-z0-9.-]+$ ]] || die "--host must be a host name, not '$host'"
[ -z "$ip" ] || [[ "$ip" =~ ^[0-9A-Fa-f.:]+$ ]] || die "--ip must be an IP address, not '$ip'"
[[ "$db" =~ ^[a-z][a-z0-9_]{0,40}$ ]] || die "--db must be lower-case letters, digits or _"
[ "$(id -u)" = 0 ] || die "run this as root (it installs and configures PostgreSQL)"
command -v openssl >/dev/null || die "openssl is needed (apt-get install openssl)"

if [ -z "$pgdata" ]; then
  if ! command -v pg_lsclusters >/dev/null; then
    echo "hub-server: installing PostgreSQL" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  fi
  read -r version cluster port _status _owner pgdata _log < <(pg_lsclusters -h | head -n 1) ||
    die "no PostgreSQL cluster found (pg_lsclusters)"
  bindir=/usr/lib/postgresql/$version/bin
  socket=/var/run/postgresql
  restart() { pg_ctlcluster "$version" "$cluster" restart; }
else
  [ -n "$bindir" ] && [ -n "$port" ] && [ -n "$socket" ] ||
    die "--pgdata needs --bindir, --port and --socket"
  restart() { runuser -u postgres -- "$bindir/pg_ctl" -D "$pgdata" -w -m fast restart >/dev/null; }
fi
psql_() { runuser -u postgres -- "$bindir/psql" -X -q -h "$socket" -p "$port" -U postgres \
  -v ON_ERROR_STOP=1 "$@"; }

install -d -m 0755 "$out"
if [ ! -f "$out/ca.crt" ]; then
  umask 077
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -keyout "$out/ca.key" -out "$out/ca.crt" -subj "/CN=kapsession clinic hub CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$out/server.key" -out "$out/server.csr" -subj "/CN=$host" 2>/dev/null
  san="DNS:$host${ip:+,IP:$ip}"
  openssl x509 -req -in "$out/server.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
    -CAcreateserial -days 825 -out "$out/server.crt" \
    -extfile <(printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\n' "$san") 2>/dev/null
  rm -f "$out/server.csr"
  umask 022
  chmod 0644 "$out/ca.crt" "$out/server.crt"
  chown postgres: "$out/server.key" "$out/server.crt"
  chmod 0600 "$out/server.key" "$out/ca.key"
  echo "hub-server: made the clinic CA and the server's certificate for $san in $out" >&2
else
  echo "hub-server: keeping the certificates in $out" >&2
fi

psql_ -c "ALTER SYSTEM SET ssl = on" \
  -c "ALTER SYSTEM SET ssl_cert_file = '$out/server.crt'" \
  -c "ALTER SYSTEM SET ssl_key_file = '$out/server.key'" \
  -c "ALTER SYSTEM SET listen_addresses = '$listen'" \
  -c "ALTER SYSTEM SET password_encryption = 'scram-sha-256'"

# The hub's database only over TLS with a password, whatever lines follow (first match wins).
hba=$(psql_ -At -c "SHOW hba_file")
marker="# kapsession hub: $db"
if ! grep -qxF "$marker" "$hba"; then
  tmp=$(mktemp "$hba.XXXXXX")
  { echo "$marker"
    echo "hostnossl $db all all reject"
    echo "hostssl   $db all all scram-sha-256"
    cat "$hba"; } > "$tmp"
  chown --reference="$hba" "$tmp"
  chmod --reference="$hba" "$tmp"
  mv "$tmp" "$hba"
fi

owner="${db}_owner"
if [ -z "$(psql_ -At -c "SELECT 1 FROM pg_roles WHERE rolname = '$owner'")" ]; then
  password=$(openssl rand -hex 24)
  # CREATEROLE: `kapsession hub init` makes a login per room and the board's.
  psql_ -c "CREATE ROLE \"$owner\" LOGIN CREATEROLE PASSWORD '$password'"
  umask 077
  printf 'host=%s port=%s dbname=%s user=%s password=%s sslmode=verify-full sslrootcert=%s\n' \
    "$host" "$port" "$db" "$owner" "$password" "$out/ca.crt" > "$out/owner.dsn"
  umask 022
else
  echo "hub-server: keeping the login $owner (its line is in $out/owner.dsn)" >&2
fi
if [ -z "$(psql_ -At -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
  psql_ -c "CREATE DATABASE \"$db\" OWNER \"$owner\""
fi
# Only the hub's own logins connect (hub init grants its rooms and board).
psql_ -d "$db" -c "REVOKE ALL ON DATABASE \"$db\" FROM PUBLIC"
restart

echo "Clinic hub server ready: $host:$port/$db, TLS only (clinic CA: $out/ca.crt)."
echo "On the clinic administrator's laptop, with ca.crt and owner.dsn copied there (the clinic key"
echo "is made there, never on this server):"
echo "  kapsession hub init --dsn \"\$(cat owner.dsn)\" --clinic-key clinic.key --room room1 --room room2"
