#!/usr/bin/env bash
# Builds the app's container image with buildah (`make image`), tagged with pyproject.toml's
# version: localhost/digit-lens:VERSION.
#
# No image registry is needed: the base is a minimal Debian bookworm that debootstrap makes from
# Debian's packages (python3 3.11, its venv module, CA certificates), kept in buildah's own
# storage as localhost/digit-lens-base and made only when missing. The Dockerfile's other layers
# are cached there too, so a second build redoes only what changed.
#
# Environment:
#   BASE_IMAGE     build FROM this image instead, e.g. python:3.11-slim where a registry answers
#   DEBIAN_MIRROR  where debootstrap fetches the base's packages (default: deb.debian.org)
#   CA_BUNDLE      the certificates pip trusts inside the build (default: this machine's bundle,
#                  which holds any proxy's CA; passed as a build secret, never stored in the image)
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf '==> %s\n' "$*"; }
fail() { printf 'deploy/container/build.sh: %s\n' "$*" >&2; exit 1; }
missing() { fail "$1 is missing: apt-get install buildah debootstrap"; }

command -v buildah >/dev/null || missing buildah

version=$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
image=localhost/digit-lens:$version

# The base: its tag names the recipe, so a changed recipe makes a new base.
suite=bookworm
packages=python3,python3-venv,ca-certificates
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
recipe_id=$(printf '%s %s' "$suite" "$packages" | sha256sum | cut -c1-12)
base=${BASE_IMAGE:-localhost/digit-lens-base:$suite-$recipe_id}

# A failed base leaves nothing behind: neither the debootstrap folder nor buildah's container.
base_work=
base_container=
cleanup_base() {
    [ -z "$base_container" ] || buildah rm "$base_container" >/dev/null 2>&1 || true
    [ -z "$base_work" ] || rm -rf "$base_work"
}
trap cleanup_base EXIT

make_base() {
    command -v debootstrap >/dev/null || missing debootstrap
    [ "$(id -u)" = 0 ] || fail "debootstrap needs root to make the base image: run this as root"
    local started=$SECONDS
    base_work=$(mktemp -d)
    say "making the base image $base: debootstrap $suite with $packages (a few minutes, once)"
    if ! debootstrap --variant=minbase --include="$packages" "$suite" "$base_work/root" "$mirror" \
        >"$base_work/debootstrap.log" 2>&1; then
        tail -n 20 "$base_work/debootstrap.log" >&2
        fail "debootstrap failed (above: the end of its log); is $mirror reachable?"
    fi
    # What an image never needs: downloaded packages, package lists, manuals, translations, logs
    # (the licences in /usr/share/doc/*/copyright stay).
    (
        cd "$base_work/root"
        rm -rf var/cache/apt/* var/lib/apt/lists/* usr/share/man/* usr/share/locale/* var/log/*
        find usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
    )
    base_container=$(buildah from scratch)
    buildah copy --quiet "$base_container" "$base_work/root" / >/dev/null
    buildah config \
        --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --env LANG=C.UTF-8 \
        --cmd python3 \
        --label "org.opencontainers.image.title=digit-lens-base" \
        --label "org.opencontainers.image.description=debootstrap --variant=minbase --include=$packages $suite" \
        "$base_container"
    buildah commit --quiet --rm "$base_container" "$base" >/dev/null
    base_container=
    say "made $base in $((SECONDS - started)) s"
}

if buildah inspect --type image "$base" >/dev/null 2>&1; then
    say "base image: $base (already made)"
elif [ -n "${BASE_IMAGE:-}" ]; then
    say "base image: $base (pulled by buildah if it is not here yet)"
else
    make_base
fi

secret=()
ca_bundle=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
[ -s "$ca_bundle" ] && secret=(--secret "id=ca-bundle,src=$ca_bundle")

started=$SECONDS
say "building $image from $base (buildah bud; unchanged layers come from buildah's cache)"
buildah bud --isolation chroot --layers --format docker \
    --build-arg "BASE_IMAGE=$base" "${secret[@]}" --tag "$image" .
size=$(buildah images --format '{{.Size}}' "$image")
say "built $image in $((SECONDS - started)) s: $size"
