#!/usr/bin/env bash
# The one command that installs everything the tests need and runs every test:
#   Debian packages (real clients: pacman, apt tools, pip/twine, gpgv/sqv, dnf/zypper/rpm/
#   createrepo_c, promtool from prometheus, chromium),
#   MariaDB and PostgreSQL (started if they are not running), npm dependencies, then the
#   type check, unit tests, and the integration suite on SQLite, on MariaDB and on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(pacman-package-manager makepkg libarchive-tools fakeroot zstd xz-utils
  dpkg-dev reprepro gpgv sqv gnupg openssl python3 python3-venv python3-pip twine
  chromium mariadb-server postgresql curl ca-certificates
  dnf zypper rpm createrepo-c prometheus nginx)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "== installing Debian packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# MariaDB on 127.0.0.1:3306 (root, empty password): the integration suite runs against it too.
if ! mysqladmin -h127.0.0.1 -uroot ping >/dev/null 2>&1; then
  echo "== starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql >/dev/null 2>&1 || (mysqld_safe >/dev/null 2>&1 &)
  for _ in $(seq 1 60); do mysqladmin -h127.0.0.1 -uroot ping >/dev/null 2>&1 && break; sleep 1; done
  mysqladmin -h127.0.0.1 -uroot ping >/dev/null 2>&1 || { echo "MariaDB did not start: the MySQL suite cannot run" >&2; exit 1; }
fi
# Debian's MariaDB authenticates root by unix socket; tests connect over TCP with an empty password.
mysql -h127.0.0.1 -uroot -e 'SELECT 1' >/dev/null 2>&1 || mysql -uroot -e "ALTER USER root@localhost IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD(''); FLUSH PRIVILEGES;"
mysql -h127.0.0.1 -uroot -e 'CREATE DATABASE IF NOT EXISTS test' >/dev/null

# PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth, database test): the third pass.
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "== starting PostgreSQL"
  # Debian's wrapper; --skip-systemctl-redirect: containers have no systemd.
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
  for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL did not start: the PostgreSQL suite cannot run" >&2; exit 1; }
fi
# Debian's PostgreSQL asks for a password over TCP; the tests connect as postgres without one.
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'SELECT 1' >/dev/null 2>&1; then
  hba="$(runuser -u postgres -- psql -Atc 'SHOW hba_file')"
  sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  runuser -u postgres -- psql -qc 'SELECT pg_reload_conf()' >/dev/null
fi
psql -h 127.0.0.1 -U postgres -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1 ||
  psql -h 127.0.0.1 -U postgres -d postgres -qc 'CREATE DATABASE test'

echo "== npm ci"
npm ci --no-audit --no-fund --loglevel=error

echo "== type check"
npx tsc -p tsconfig.json --noEmit

mapfile -t UNIT < <(find test/unit -name '*.test.ts' | sort)
mapfile -t INTEGRATION < <(find test/integration -name "*.test.ts" -not -path "*/shared-db/*" | sort)
# Several instances on one database, killed database connections: server databases only.
mapfile -t SHARED_DB < <(find test/integration/shared-db -name "*.test.ts" | sort)

echo "== unit tests + integration tests on SQLite"
node --import tsx --test --test-concurrency=2 "${UNIT[@]}" "${INTEGRATION[@]}"

echo "== integration tests on MariaDB"
TEST_DB=mysql node --import tsx --test --test-concurrency=2 "${INTEGRATION[@]}" "${SHARED_DB[@]}"

echo "== integration tests on PostgreSQL"
TEST_DB=postgres node --import tsx --test --test-concurrency=2 "${INTEGRATION[@]}" "${SHARED_DB[@]}"
