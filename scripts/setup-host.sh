#!/usr/bin/env bash
# Installs the host programs vitest-vmspawn runs, on Debian 12 or later. Idempotent: installs only
# what is missing, so a second run takes a fraction of a second.
#
#   QEMU (qemu-system-x86, qemu-utils)      the virtual machines, disk overlays
#   ovmf                                    UEFI firmware, found through QEMU's firmware descriptors
#   swtpm, swtpm-tools                      a software TPM per machine
#   virtiofsd                               directory trees and shared folders; where the release does
#                                           not package it (Debian 12), QEMU's own /usr/lib/qemu/virtiofsd
#   vhost-device-vsock                      user-space vsock; not in Debian 12, taken from sid
#   systemd-journal-remote                  turns the forwarded journal into a .journal file
#   socat                                   the host side of kernel vsock (/dev/vhost-vsock)
#   mmdebstrap, cpio, zstd, xz-utils,       building the test images
#   e2fsprogs, debian-archive-keyring,
#   fdisk, dosfstools, mtools
#   uidmap                                  newuidmap/newgidmap: image builds and shared directories
#                                           without root run in a user namespace
#
# Without root it only reports what is missing, including a subordinate id range for the user.
set -euo pipefail

PACKAGES=(qemu-system-x86 qemu-utils ovmf swtpm swtpm-tools systemd-journal-remote socat mmdebstrap cpio zstd xz-utils e2fsprogs
          debian-archive-keyring fdisk dosfstools mtools uidmap)
# virtiofsd is its own package from Debian 13 on; Debian 12's QEMU still ships one.
if apt-cache policy virtiofsd 2>/dev/null | grep -q 'Candidate: [0-9]'; then PACKAGES+=(virtiofsd); fi
SID_STATE=${VMSPAWN_APT_STATE:-/var/cache/vitest-vmspawn/apt-sid}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

log() { printf 'setup-host: %s\n' "$*"; }

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
need_vsock=false
command -v vhost-device-vsock >/dev/null || need_vsock=true

# Without root, image builds and virtiofsd run in a user namespace that maps the user's subordinate ids.
if [[ $(id -u) -ne 0 ]] && ! { grep -qE "^($(id -un)|$(id -u)):" /etc/subuid && grep -qE "^($(id -un)|$(id -u)):" /etc/subgid; } 2>/dev/null; then
  log "$(id -un) has no range in /etc/subuid and /etc/subgid, which building images and sharing directories without root need:"
  log "  sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $(id -un)   (a range no other user has)"
fi

if [[ ${#missing[@]} -eq 0 && $need_vsock == false ]]; then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  log "missing: ${missing[*]} $([[ $need_vsock == true ]] && echo vhost-device-vsock)"
  log "run this script as root (sudo $0), or install them yourself"
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if [[ ${#missing[@]} -gt 0 ]]; then
  log "installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ $need_vsock == true ]]; then
  if apt-cache policy vhost-device-vsock 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    log "installing vhost-device-vsock"
    apt-get install -y -qq --no-install-recommends vhost-device-vsock >/dev/null
  else
    # Debian 12 has no vhost-device-vsock; sid's build needs only glibc >= 2.34 and libgcc.
    log "installing vhost-device-vsock from Debian sid (not packaged for this release)"
    mkdir -p "$SID_STATE"/{lists/partial,archives/partial}
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR sid main" > "$SID_STATE/sources.list"
    apt_sid=(-o "Dir::Etc::SourceList=$SID_STATE/sources.list" -o Dir::Etc::SourceParts=/dev/null
             -o "Dir::State::Lists=$SID_STATE/lists" -o "Dir::Cache::Archives=$SID_STATE/archives"
             -o APT::Sandbox::User=root -o Acquire::Languages=none)
    apt-get "${apt_sid[@]}" update -qq
    (cd "$SID_STATE/archives" && apt-get "${apt_sid[@]}" download -qq vhost-device-vsock)
    dpkg -i "$SID_STATE"/archives/vhost-device-vsock_*.deb >/dev/null
  fi
fi
log "done: $(qemu-system-x86_64 --version | head -n1); vhost-device-vsock $(dpkg-query -W -f '${Version}' vhost-device-vsock)"
