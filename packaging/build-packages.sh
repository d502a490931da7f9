#!/usr/bin/env bash
# Builds, into dist/ (or $FLEET_DIST):
#   fleet-agent_VERSION_all.deb, fleet-agent-VERSION-1.noarch.rpm: the agent bundled to one
#     JavaScript file for the distribution's nodejs (>= 18), unit, conffile, maintainer scripts;
#   fleet-controller_VERSION_ARCH.deb, fleet-controller-VERSION-1.ARCH.rpm: the CLI and the
#     controller daemon with better-sqlite3's native module built for this Node's ABI, and the
#     Litestream binary (from the npm package @flydotio/litestream-linux-x64; Debian has none)
#     that the controller runs for `replicate:`.
# The .rpm maintainer scripts run the same shell bodies as the .deb ones.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${FLEET_VERSION:-$(node -p 'require("./package.json").version')}
out=$(mkdir -p "${FLEET_DIST:-dist}" && cd "${FLEET_DIST:-dist}" && pwd)
work=$out/pkgroot
rm -rf "$work" && mkdir -p "$work"
abi_major=$(node -p 'process.versions.node.split(".")[0]')
bundle() { node packaging/bundle-for-package.mjs "$1" "$2"; }
wrapper() { printf '#!/bin/sh\nexec /usr/bin/node %s "$@"\n' "$2" > "$1"; chmod 0755 "$1"; }

# --- file trees ---
agent=$work/fleet-agent
mkdir -p "$agent/usr/lib/fleet-agent" "$agent/usr/bin" "$agent/lib/systemd/system" "$agent/etc/fleet"
bundle agent/main.ts "$agent/usr/lib/fleet-agent/fleet-agent.mjs"
wrapper "$agent/usr/bin/fleet-agent" /usr/lib/fleet-agent/fleet-agent.mjs
install -m 0644 packaging/fleet-agent/fleet-agent.service "$agent/lib/systemd/system/"
install -m 0644 packaging/fleet-agent/agent.yaml "$agent/etc/fleet/agent.yaml"

ctl=$work/fleet-controller
mkdir -p "$ctl/usr/lib/fleet/node_modules" "$ctl/usr/bin" "$ctl/lib/systemd/system" "$ctl/etc/fleet"
bundle controller/main.ts "$ctl/usr/lib/fleet/fleet-controller.mjs"
bundle cli/main.ts "$ctl/usr/lib/fleet/fleet.mjs"
for m in better-sqlite3 bindings file-uri-to-path; do
  mkdir -p "$ctl/usr/lib/fleet/node_modules/$m"
  (cd "node_modules/$m" && cp -r --parents package.json $(ls -d lib *.js 2>/dev/null || true) "$ctl/usr/lib/fleet/node_modules/$m/")
done
mkdir -p "$ctl/usr/lib/fleet/node_modules/better-sqlite3/build/Release"
install -m 0644 node_modules/better-sqlite3/build/Release/better_sqlite3.node "$ctl/usr/lib/fleet/node_modules/better-sqlite3/build/Release/"
# Beside the bundle, where the controller looks for it.
install -m 0755 node_modules/@flydotio/litestream-linux-x64/litestream "$ctl/usr/lib/fleet/litestream"
# The daemon's V8 flags, as bin/fleet-controller's first line gives them (#!/usr/bin/env -S node FLAGS).
ctl_flags=$(head -n 1 bin/fleet-controller | sed -n 's|^#!/usr/bin/env -S node||p')
wrapper "$ctl/usr/bin/fleet-controller" "${ctl_flags# } /usr/lib/fleet/fleet-controller.mjs"
# The CLI starts without NODE_EXTRA_CA_CERTS, as bin/fleet does (see its first lines).
printf '#!/bin/sh\nunset NODE_EXTRA_CA_CERTS\nexec /usr/bin/node /usr/lib/fleet/fleet.mjs "$@"\n' > "$ctl/usr/bin/fleet"
chmod 0755 "$ctl/usr/bin/fleet"
install -m 0644 packaging/fleet-controller/fleet-controller.service "$ctl/lib/systemd/system/"
install -m 0644 packaging/fleet-controller/fleet.yaml "$ctl/etc/fleet/fleet.yaml"

# --- .deb ---
deb() { # name arch depends conffile description
  local name=$1 root=$work/$1
  rm -rf "$root/DEBIAN" && mkdir -p "$root/DEBIAN"
  for s in postinst prerm postrm; do install -m 0755 "packaging/$name/$s" "$root/DEBIAN/$s"; done
  echo "$4" > "$root/DEBIAN/conffiles"
  cat > "$root/DEBIAN/control" <<CONTROL
Package: $name
Version: $version
Architecture: $2
Maintainer: fleet developers <fleet@example.invalid>
Depends: $3
Section: admin
Priority: optional
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Description: $5
 Part of fleet, a reload orchestrator for Linux server fleets: agents reload
 the services they declare and prove the outcome; a controller rolls reloads
 and config changes across groups, canaries first, and keeps their history.
CONTROL
  dpkg-deb --root-owner-group --build "$root" "$out/${name}_${version}_$2.deb" >/dev/null
  rm -rf "$root/DEBIAN"
  echo "$out/${name}_${version}_$2.deb"
}
darch=$(dpkg --print-architecture)
deb fleet-agent all "nodejs (>= 18)" /etc/fleet/agent.yaml "fleet agent: reloads declared services and proves the outcome"
deb fleet-controller "$darch" "nodejs (>= $abi_major), nodejs (<< $((abi_major + 1)))" /etc/fleet/fleet.yaml "fleet controller and CLI: rolling reloads, config rollouts, history"

# --- .rpm ---
if command -v rpmbuild >/dev/null; then
  build_rpm() { # name arch requires conffile summary
    local name=$1 root=$work/$1 top
    top=$(mktemp -d)
    local files
    files=$(cd "$root" && find . -type f -o -type l | sed 's#^\.##' | sort | while read -r f; do if [ "$f" = "$4" ]; then echo "%config(noreplace) $f"; else echo "$f"; fi; done)
    # rpm's $1 counts installed versions; map it onto the .deb scripts' arguments.
    cat > "$top/$name.spec" <<SPEC
Name: $name
Version: $version
Release: 1
Summary: $5
License: Apache-2.0
BuildArch: $2
Requires: $3
AutoReqProv: no
%description
$5. Part of fleet, a reload orchestrator for Linux server fleets.
%install
mkdir -p %{buildroot}
cp -a $root/. %{buildroot}/
%post
if [ "\$1" -ge 2 ]; then set -- configure previous; else set -- configure ""; fi
$(sed '1d' "packaging/$name/postinst")
%preun
if [ "\$1" -ge 1 ]; then set -- upgrade; else set -- remove; fi
$(sed '1d' "packaging/$name/prerm")
%postun
if [ "\$1" -eq 0 ]; then set -- purge; else set -- upgrade; fi
$(sed '1d' "packaging/$name/postrm")
%files
$files
SPEC
    # No /usr/lib/.build-id links for the ELF files (litestream, the native module): the .rpm carries what the .deb does.
    rpmbuild -bb --quiet --define "_build_id_links none" --define "_topdir $top" --define "_rpmdir $out" --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" "$top/$name.spec" >/dev/null
    rm -rf "$top"
    echo "$out/$name-$version-1.$2.rpm"
  }
  build_rpm fleet-agent noarch "nodejs >= 18" /etc/fleet/agent.yaml "fleet agent: reloads declared services and proves the outcome"
  build_rpm fleet-controller "$(uname -m)" "nodejs >= $abi_major" /etc/fleet/fleet.yaml "fleet controller and CLI: rolling reloads, config rollouts, history"
else
  echo "rpmbuild not installed (apt-get install rpm): .rpm packages skipped" >&2
fi
