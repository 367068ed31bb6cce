#!/usr/bin/env bash
# Builds a local stand-in for `debian:bookworm-slim` from Debian's packages
# (debootstrap, minbase variant) and loads it with `docker import`, for
# machines that reach Debian's archive but no container registry. The
# Dockerfile names the public image; this gives it the same name locally.
# Does nothing when the image exists already.
#
#   deploy/test/base-image.sh [TAG]        (default debian:bookworm-slim; root)
set -euo pipefail
tag="${1:-debian:bookworm-slim}"
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "base image $tag: present"
  exit 0
fi
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
root="$(mktemp -d /tmp/luminex-rootfs.XXXXXX)"
trap 'rm -rf "$root"' EXIT
echo "base image $tag: debootstrap bookworm from $mirror"
# Exit code 3: Debian's archive could not be used (the caller may skip).
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 \
  || { tail -20 "$root.log"; rm -f "$root.log"; exit 3; }
rm -f "$root.log"
# Trim what the official slim image leaves out too: package caches and
# lists, documentation, manuals and translations.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
  "$root"/usr/share/locale/* "$root"/var/log/*.log "$root"/var/cache/debconf/*-old
tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["bash"]' - "$tag" >/dev/null
echo "base image $tag: imported ($(docker image inspect -f '{{.Size}}' "$tag") bytes)"
