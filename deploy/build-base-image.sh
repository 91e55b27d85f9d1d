#!/usr/bin/env bash
# Builds the base image every FlashTix container starts from, flashtix/debian:12: a minimal Debian 12
# root file system made by debootstrap from this machine's own Debian mirror, imported into the container
# engine. No image registry is needed; the Dockerfile's stages start FROM this image.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
IMAGE=flashtix/debian:12
SUITE=bookworm
# The root file system is kept as a tarball, so that importing it again (into another engine, or after a
# prune) does not download it again.
OUT_DIR=$ROOT/.flashtix/images
TARBALL=$OUT_DIR/debian-12-rootfs.tar

usage() {
  cat <<'EOF'
usage: deploy/build-base-image.sh [--engine docker|podman] [--rebuild] [--rootfs-only]

Makes a minimal Debian 12 (bookworm) root file system with debootstrap, from the Debian mirror this
machine's apt uses, and imports it as flashtix/debian:12. Needs root (debootstrap does).
  --engine E     docker or podman (default: docker if its engine answers, else podman)
  --rebuild      debootstrap again even if .flashtix/images/debian-12-rootfs.tar exists
  --rootfs-only  make the tarball and stop (no engine needed)
EOF
}

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

say() { printf '==> %s\n' "$*"; }

# The URI of the Debian archive that apt fetches a suite from here (bookworm, bookworm-security), so the
# image gets its packages from where this machine does, a local mirror or proxy included.
debian_mirror() {
  local uri codename
  # shellcheck disable=SC2016 # $(REPO_URI) and $(CODENAME) are apt's placeholders, not the shell's
  while read -r uri codename; do
    if [[ $codename == "$1" ]]; then
      printf '%s\n' "${uri%/}"
      return 0
    fi
  done < <(apt-get indextargets --format '$(REPO_URI) $(CODENAME)' 'Identifier: Packages' | sort -u)
  return 1
}

pick_engine() {
  if docker info >/dev/null 2>&1; then
    printf 'docker\n'
  elif command -v podman >/dev/null; then
    printf 'podman\n'
  else
    return 1
  fi
}

# What the image keeps out and what apt does in it: no documentation, no recommended packages, no
# service started by a package's installation, nothing left in apt's caches.
configure_rootfs() {
  local rootfs=$1 mirror=$2 security=$3
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  cat >"$rootfs/etc/apt/apt.conf.d/90flashtix" <<'EOF'
// FlashTix images: only what is asked for, and no package files kept.
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Binary::apt::APT::Keep-Downloaded-Packages "false";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
EOF
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/90flashtix" <<'EOF'
# FlashTix images carry no documentation: the licences stay, the rest is on the Debian host.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
  # A container has no init system: a package's installation must not try to start its service.
  printf '#!/bin/sh\n# Containers start their own processes.\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod 755 "$rootfs/usr/sbin/policy-rc.d"
  chroot "$rootfs" apt-get clean
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "${rootfs:?}/usr/share/man/"* "${rootfs:?}/usr/share/info/"* "${rootfs:?}/usr/share/locale/"* \
    "${rootfs:?}/var/lib/apt/lists/"* "${rootfs:?}/var/cache/apt/"*.bin "${rootfs:?}/var/log/"*.log \
    "${rootfs:?}/var/cache/ldconfig/"* "${rootfs:?}/tmp/"* "${rootfs:?}/dev/"*
  # The engine provides these at run time; the image must not carry the build machine's.
  : >"$rootfs/etc/machine-id"
  : >"$rootfs/etc/resolv.conf"
  printf 'localhost\n' >"$rootfs/etc/hostname"
}

make_rootfs() {
  local rootfs mirror security
  mirror=$(debian_mirror "$SUITE") || die "apt has no $SUITE source here (apt-get update, or check /etc/apt/sources.list*)"
  security=$(debian_mirror "$SUITE-security") || security=${mirror%/debian}/debian-security
  command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
  mkdir -p "$OUT_DIR"
  rootfs=$(mktemp -d "$OUT_DIR/rootfs.XXXXXX")
  # The root file system goes even if debootstrap fails half way.
  trap 'rm -rf "$rootfs"' EXIT
  say "debootstrap $SUITE (minbase) from $mirror"
  debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror" >"$OUT_DIR/debootstrap.log" 2>&1 ||
    die "debootstrap failed; see ${OUT_DIR#"$ROOT"/}/debootstrap.log"
  configure_rootfs "$rootfs" "$mirror" "$security"
  # Numeric owners: the image's users are those of its own /etc/passwd, not this machine's.
  tar --numeric-owner --xattrs -C "$rootfs" -cf "$TARBALL.tmp" .
  mv "$TARBALL.tmp" "$TARBALL"
  rm -rf "$rootfs"
  trap - EXIT
  say "root file system: ${TARBALL#"$ROOT"/} ($(du -h "$TARBALL" | cut -f1))"
}

main() {
  local engine='' rebuild=0 rootfs_only=0
  while (($#)); do
    case $1 in
      --engine) [[ ${2:-} == docker || ${2:-} == podman ]] || die "--engine is docker or podman"; engine=$2; shift ;;
      --rebuild) rebuild=1 ;;
      --rootfs-only) rootfs_only=1 ;;
      -h | --help) usage; return 0 ;;
      *) usage >&2; exit 2 ;;
    esac
    shift
  done
  ((EUID == 0)) || die "debootstrap needs root: sudo $0"
  if ((!rootfs_only)) && [[ -z $engine ]]; then
    engine=$(pick_engine) || die "no container engine answers (docker info) and podman is missing"
  fi
  if ((rebuild)) || [[ ! -s $TARBALL ]]; then
    make_rootfs
  else
    say "reusing ${TARBALL#"$ROOT"/} (--rebuild makes it again)"
  fi
  ((rootfs_only)) && return 0
  say "importing it into $engine as $IMAGE"
  "$engine" import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' "$TARBALL" "$IMAGE" >/dev/null
  "$engine" image inspect --format "$IMAGE {{.Id}} {{.Size}} bytes" "$IMAGE"
}

main "$@"
