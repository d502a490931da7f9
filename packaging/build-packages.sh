#!/usr/bin/env bash
# Builds dist/fleet-agent_VERSION_all.deb: the agent bundled to one JavaScript
# file for the distribution's nodejs (>= 18), its systemd unit, a conffile and
# maintainer scripts. (The controller package and the .rpm are not built yet.)
set -euo pipefail
cd "$(dirname "$0")/.."
version=${FLEET_VERSION:-$(node -p 'require("./package.json").version')}
out=${FLEET_DIST:-dist}
root=$out/pkgroot/fleet-agent
rm -rf "$root" && mkdir -p "$root/DEBIAN" "$root/usr/lib/fleet-agent" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/fleet"
node_modules/.bin/esbuild agent/main.ts --bundle --platform=node --target=node18 --format=esm --log-level=warning \
  --banner:js="import { createRequire as __fleetRequire } from 'node:module'; const require = __fleetRequire(import.meta.url);" \
  --outfile="$root/usr/lib/fleet-agent/fleet-agent.mjs"
printf '#!/bin/sh\nexec /usr/bin/node /usr/lib/fleet-agent/fleet-agent.mjs "$@"\n' > "$root/usr/bin/fleet-agent"
chmod 0755 "$root/usr/bin/fleet-agent"
install -m 0644 packaging/fleet-agent/fleet-agent.service "$root/lib/systemd/system/fleet-agent.service"
install -m 0644 packaging/fleet-agent/agent.yaml "$root/etc/fleet/agent.yaml"
for s in postinst prerm postrm; do install -m 0755 "packaging/fleet-agent/$s" "$root/DEBIAN/$s"; done
echo /etc/fleet/agent.yaml > "$root/DEBIAN/conffiles"
cat > "$root/DEBIAN/control" <<CONTROL
Package: fleet-agent
Version: $version
Architecture: all
Maintainer: fleet developers <fleet@example.invalid>
Depends: nodejs (>= 18)
Section: admin
Priority: optional
Installed-Size: $(du -sk "$root" | cut -f1)
Description: fleet agent: reloads declared services and proves the outcome
 Runs on every server of a fleet; the fleet controller asks it over gRPC to
 reload the services its own config declares, and it answers with evidence:
 same main process, a new generation of workers, healthy probes.
CONTROL
mkdir -p "$out"
dpkg-deb --root-owner-group --build "$root" "$out/fleet-agent_${version}_all.deb" >/dev/null
echo "$out/fleet-agent_${version}_all.deb"
