#!/usr/bin/env bash
# Builds strongSwan's load-tester plugin, which no Debian package ships, from Debian's own
# source package of the installed strongSwan (see ../shared/INTEROP.md): Debian's configure
# flags plus --enable-load-tester --enable-mediation, then only
# src/libcharon/plugins/load_tester. The plugin goes into $OUT/plugins, a folder to
# bind-mount over /usr/lib/ipsec/plugins' neighbour in the initiating charon only.
#
# Idempotent: exits at once when the plugin for the installed version is already built.
# Bounded: every step runs under `timeout`. Usage: bench/strongswan/build-load-tester.sh
# Prints the plugin's path as its last line.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

OUT="${GKM_LOAD_TESTER_DIR:-/var/cache/gkm-ikev2/load-tester}"
PLUGIN="$OUT/plugins/libstrongswan-load-tester.so"
STAMP="$OUT/plugins/version"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

installed="$(dpkg-query -W -f='${Version}' strongswan-charon 2>/dev/null || true)"
if [ -z "$installed" ]; then
  echo "strongswan-charon is not installed (.ci/run installs it)" >&2
  exit 1
fi
if [ -f "$PLUGIN" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$installed" ]; then
  echo "load-tester already built for strongSwan $installed"
  echo "$PLUGIN"
  exit 0
fi

# deb-src entries mirroring the configured deb ones (bookworm and bookworm-security), so
# no archive address is written here.
ensure_deb_src() {
  local known d=/etc/apt/sources.list.d
  known="$(apt-cache showsrc strongswan 2>/dev/null || true)"
  if grep -q '^Package: strongswan' <<<"$known"; then return; fi
  for f in "$d"/*.sources; do
    case "$(basename "$f")" in gkm-deb-src-*) continue ;; esac
    [ -f "$f" ] || continue
    grep -q '^Types:.*\bdeb\b' "$f" || continue
    sed 's/^Types:.*/Types: deb-src/' "$f" | $SUDO tee "$d/gkm-deb-src-$(basename "$f")" >/dev/null
  done
  if [ -f /etc/apt/sources.list ]; then
    sed -n 's/^deb \(.*\)/deb-src \1/p' /etc/apt/sources.list | $SUDO tee "$d/gkm-deb-src.list" >/dev/null
  fi
  timeout 300 $SUDO apt-get update -qq
}

# The installed version's source first; if the archive no longer serves it (a security
# update whose source moved), the newest other 5.9.8 source, whose ABI is the same.
fetch_source() {
  local v
  for v in "$installed" $(apt-cache showsrc strongswan | sed -n 's/^Version: //p' | sort -rV); do
    [ "${v%%-*}" = "${installed%%-*}" ] || continue
    if timeout 300 apt-get source -qq "strongswan=$v" >/dev/null 2>&1; then
      echo "$v"
      return
    fi
    echo "source of strongswan $v not fetchable, trying an older one" >&2
  done
  echo "no strongswan ${installed%%-*} source package found" >&2
  return 1
}

ensure_deb_src
work="$OUT/src"
rm -rf "$work"
mkdir -p "$work" "$OUT/plugins"
cd "$work"
src_version="$(fetch_source)"
srcdir="$(find . -maxdepth 1 -type d -name 'strongswan-*' | head -n1)"
echo "building load-tester from strongswan $src_version source (installed: $installed)"

# Everything Debian's configure flags need (libraries checked by configure, build tools).
timeout 900 $SUDO apt-get install -y -qq --no-install-recommends build-essential dpkg-dev >/dev/null
timeout 900 $SUDO apt-get build-dep -y -qq --no-install-recommends "strongswan=$src_version" >/dev/null

cd "$srcdir"
# Debian's CONFIGUREARGS, read from its rules file rather than copied here.
debian_flags="$(make -s -f debian/rules -f - print-configure-args <<'EOF'
print-configure-args:
	@echo $(CONFIGUREARGS)
EOF
)"
export DEB_BUILD_MAINT_OPTIONS=hardening=+all DEB_LDFLAGS_MAINT_APPEND=-Wl,-O1
eval "$(dpkg-buildflags --export=sh)"
log="$OUT/build.log"
build() {
  # shellcheck disable=SC2086 # word splitting of the flag list is intended
  timeout 600 ./configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
    --disable-dependency-tracking $debian_flags --enable-load-tester --enable-mediation &&
    timeout 600 make -j"$(nproc)" -C src/libcharon/plugins/load_tester libstrongswan-load-tester.la
}
if ! build >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "load-tester build failed (full log: $log)" >&2
  exit 1
fi
cp src/libcharon/plugins/load_tester/.libs/libstrongswan-load-tester.so "$PLUGIN"
echo "$installed" > "$STAMP"
echo "$PLUGIN"
