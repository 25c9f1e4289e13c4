#!/usr/bin/env bash
# CI's container stage: validate compose.yaml, build the image with podman on a locally
# bootstrapped debian:bookworm-slim (no registry is reachable), print its size and hold it under
# 250 MB, then run tests/test_container.py against it: `migrate` in the image, and the API through
# it against this machine's PostgreSQL and Redis (--network=host). Run as root, from .ci/run
# (venv active, DATABASE_URL exported).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

missing=()
for tool in podman:podman runc:runc debootstrap:debootstrap newuidmap:uidmap fuse-overlayfs:fuse-overlayfs \
    docker-compose:docker-compose; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    # --no-install-recommends: docker-compose would otherwise pull in Docker's engine.
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# This machine has no systemd cgroup manager, and its runtime refuses the default ulimits.
export CONTAINERS_CONF=$PWD/.ci/containers.conf

# docker-compose v1 checks the file against the compose schema; no engine is needed for that.
DJANGO_SECRET_KEY=compose-config-check docker-compose -f compose.yaml config --quiet

bash .ci/base-image.sh
# A tag of this run's own: CI runs of other checkouts on the same machine may build at the same time.
image=localhost/taskapi:ci-$$
trap 'podman untag "$image" 2>/dev/null || true' EXIT
# Docker's format keeps the HEALTHCHECK (OCI's has no field for it). The build uses this
# machine's CA bundle for pip only (a build secret), in case TLS to PyPI is intercepted.
podman build --quiet --format docker --pull=never \
    --secret id=ca-bundle,src=/etc/ssl/certs/ca-certificates.crt --tag "$image" . >/dev/null
size=$(podman image inspect --format '{{.Size}}' "$image")
echo "CI: container image $image is $((size / 1000000)) MB"
[ "$size" -lt 250000000 ] || { echo "CI: the image exceeds 250 MB" >&2; exit 1; }

TASKAPI_CONTAINER_IMAGE=$image pytest tasks/tests/test_container.py
# Untagged layers of builds older than a week; newer ones stay as the build cache of the next run.
podman image prune --force --filter until=168h >/dev/null
echo "CI: container stage took $(( $(date +%s) - started )) s"
