#!/usr/bin/env bash
# Builds the OCI image archives the `cri` runtime and its tests use, from Debian's busybox-static (no registry, no
# Docker): one uncompressed layer (a root filesystem with busybox and its applets), an image config and manifest,
# written as an OCI image layout and packed into a tar that `akkakube image load` (containerd's import) accepts.
#
#   scripts/build-test-images.sh OUTDIR
#
# Writes OUTDIR/busybox.tar (image akkakube/busybox:latest: cmd sh, no entrypoint, as Docker's busybox) and OUTDIR/pause.tar (akkakube/pause:latest,
# the pod sandbox image: PID 1 that sleeps until SIGTERM/SIGINT). Same input, same bytes (fixed times and owners).
set -euo pipefail
out="${1:?usage: $0 OUTDIR}"
busybox="${BUSYBOX:-/bin/busybox}"
[ -x "$busybox" ] && "$busybox" --list >/dev/null 2>&1 || { echo "build-test-images: $busybox missing: apt-get install busybox-static" >&2; exit 1; }
file -b "$busybox" 2>/dev/null | grep -q "statically linked" || ldd "$busybox" 2>&1 | grep -q "not a dynamic" \
  || { echo "build-test-images: $busybox is not statically linked (install busybox-static)" >&2; exit 1; }
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

# The root filesystem shared by both images.
root="$work/rootfs"
mkdir -p "$root"/{bin,etc,tmp,proc,sys,dev,root,var/run}
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$root/etc/group"
chmod 1777 "$root/tmp"
layer="$work/layer.tar"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$root" -cf "$layer" .
layer_digest="$(sha "$layer")"

# image NAME FILE ENTRYPOINT-JSON CMD-JSON: one OCI archive.
image() {
  local name="$1" file="$2" entrypoint="$3" cmd="$4"
  local dir="$work/$file.d"
  mkdir -p "$dir/blobs/sha256"
  cp "$layer" "$dir/blobs/sha256/$layer_digest"
  printf '%s' "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/bin\"],\"Entrypoint\":$entrypoint,\"Cmd\":$cmd,\"WorkingDir\":\"/\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$layer_digest\"]},\"history\":[{\"created_by\":\"scripts/build-test-images.sh from busybox-static\"}]}" >"$dir/config.json"
  local config_digest; config_digest="$(sha "$dir/config.json")"
  local config_size; config_size="$(size "$dir/config.json")"
  mv "$dir/config.json" "$dir/blobs/sha256/$config_digest"
  printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$config_digest\",\"size\":$config_size},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:$layer_digest\",\"size\":$(size "$layer")}]}" >"$dir/manifest.json"
  local manifest_digest; manifest_digest="$(sha "$dir/manifest.json")"
  local manifest_size; manifest_size="$(size "$dir/manifest.json")"
  mv "$dir/manifest.json" "$dir/blobs/sha256/$manifest_digest"
  printf '%s' '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
  printf '%s' "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$manifest_digest\",\"size\":$manifest_size,\"annotations\":{\"io.containerd.image.name\":\"docker.io/$name\",\"org.opencontainers.image.ref.name\":\"${name##*:}\"}}]}" >"$dir/index.json"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$dir" -cf "$out/$file" oci-layout index.json blobs
  echo "$out/$file: $name (sha256:$manifest_digest)"
}

image akkakube/busybox:latest busybox.tar 'null' '["sh"]'
image akkakube/pause:latest pause.tar '["/bin/sh","-c","trap \"exit 0\" TERM INT; while :; do sleep 3600 & wait $!; done"]' 'null'
