#!/usr/bin/env bash
# Make `debian:bookworm-slim` available to podman without a registry: debootstrap a minbase
# bookworm, slim it as Debian's official image is slimmed, and `podman import` it under that name,
# so the Dockerfile's FROM line builds unchanged. The tarball is cached under
# $TASKAPI_CI_CACHE (default /var/cache/taskapi-ci) for later CI runs on the same machine.
set -euo pipefail
cache=${TASKAPI_CI_CACHE:-/var/cache/taskapi-ci}
# The name Docker Hub gives it, which the short name `debian:bookworm-slim` resolves to.
tag=docker.io/library/debian:bookworm-slim
tarball=$cache/debian-bookworm-slim.tar
mkdir -p "$cache"
exec 9>"$cache/base-image.lock"
flock 9

if podman image exists "$tag"; then
    exit 0
fi
if [ ! -s "$tarball" ]; then
    root=$(mktemp -d /tmp/bookworm-XXXXXX)
    debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1 \
        || { tail -n 20 "$cache/debootstrap.log"; exit 1; }
    # The official image's package sources: the release, its updates and its security fixes.
    rm -f "$root/etc/apt/sources.list"
    cat > "$root/etc/apt/sources.list.d/debian.sources" <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    # What the official slim image leaves out: docs, man pages, locales, package caches and lists.
    cat > "$root/etc/dpkg/dpkg.cfg.d/docker" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
CFG
    cat > "$root/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
    echo 'Acquire::Languages "none";' > "$root/etc/apt/apt.conf.d/docker-no-languages"
    find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$root"/usr/share/{man,info,groff,lintian,linda}/* "$root"/var/cache/apt/archives/*.deb \
        "$root"/var/lib/apt/lists/* "$root"/var/log/*.log "$root"/tmp/*
    find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
    : > "$root/etc/machine-id"
    tar --numeric-owner -C "$root" -cf "$tarball.partial" .
    mv "$tarball.partial" "$tarball"
    rm -rf "$root"
fi
podman import --quiet --change 'CMD ["bash"]' "$tarball" "$tag" >/dev/null
