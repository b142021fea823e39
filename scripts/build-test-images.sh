#!/usr/bin/env bash
# Builds the OCI image archives the `cri` runtime and its tests use, from Debian's busybox-static (no registry, no
# Docker): one uncompressed layer (a root filesystem with busybox and its applets), an image config and manifest,
# written as an OCI image layout and packed into a tar that `akkakube image load` (containerd's import) accepts.
#
#   scripts/build-test-images.sh OUTDIR [--echo NODE_DIR]
#
# Writes OUTDIR/busybox.tar (image akkakube/busybox:latest: cmd sh, no entrypoint, as Docker's busybox) and OUTDIR/pause.tar (akkakube/pause:latest,
# the pod sandbox image: PID 1 that sleeps until SIGTERM/SIGINT). Same input, same bytes (fixed times and owners).
# With --echo NODE_DIR (a build of src/Host: the directory holding akkakube-node.dll) also OUTDIR/echo.tar,
# akkakube/echo:latest: the node binary's echo server (`akkakube-node run-image akkakube/echo`) on this machine's .NET
# runtime, with the shared libraries it loads, in a second layer over the busybox one.
set -euo pipefail
out="${1:?usage: $0 OUTDIR [--echo NODE_DIR]}"
node_dir=""
if [ "${2:-}" = "--echo" ]; then
  node_dir="${3:?--echo needs the directory of akkakube-node.dll}"
  [ -f "$node_dir/akkakube-node.dll" ] || { echo "build-test-images: $node_dir has no akkakube-node.dll (build src/Host first)" >&2; exit 1; }
fi
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

# image NAME FILE ENTRYPOINT-JSON CMD-JSON [ENV-JSON [EXTRA-LAYER]]: one OCI archive (the busybox layer, then EXTRA-LAYER).
image() {
  local name="$1" file="$2" entrypoint="$3" cmd="$4" env="${5:-[\"PATH=/bin\"]}" extra="${6:-}"
  local dir="$work/$file.d"
  mkdir -p "$dir/blobs/sha256"
  local layers=("$layer") diff_ids="" descriptors=""
  [ -n "$extra" ] && layers+=("$extra")
  for l in "${layers[@]}"; do
    local d; d="$(sha "$l")"
    cp "$l" "$dir/blobs/sha256/$d"
    diff_ids+="${diff_ids:+,}\"sha256:$d\""
    descriptors+="${descriptors:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:$d\",\"size\":$(size "$l")}"
  done
  printf '%s' "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":$env,\"Entrypoint\":$entrypoint,\"Cmd\":$cmd,\"WorkingDir\":\"/\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$diff_ids]},\"history\":[{\"created_by\":\"scripts/build-test-images.sh from busybox-static\"}]}" >"$dir/config.json"
  local config_digest; config_digest="$(sha "$dir/config.json")"
  local config_size; config_size="$(size "$dir/config.json")"
  mv "$dir/config.json" "$dir/blobs/sha256/$config_digest"
  printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$config_digest\",\"size\":$config_size},\"layers\":[$descriptors]}" >"$dir/manifest.json"
  local manifest_digest; manifest_digest="$(sha "$dir/manifest.json")"
  local manifest_size; manifest_size="$(size "$dir/manifest.json")"
  mv "$dir/manifest.json" "$dir/blobs/sha256/$manifest_digest"
  printf '%s' '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
  printf '%s' "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$manifest_digest\",\"size\":$manifest_size,\"annotations\":{\"io.containerd.image.name\":\"docker.io/$name\",\"org.opencontainers.image.ref.name\":\"${name##*:}\"}}]}" >"$dir/index.json"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$dir" -cf "$out/$file" oci-layout index.json blobs
  rm -rf "$dir"
  echo "$out/$file: $name (sha256:$manifest_digest)"
}

image akkakube/busybox:latest busybox.tar 'null' '["sh"]'
image akkakube/pause:latest pause.tar '["/bin/sh","-c","trap \"exit 0\" TERM INT; while :; do sleep 3600 & wait $!; done"]' 'null'

if [ -n "$node_dir" ]; then
  # The .NET runtime this machine runs the node on (the frameworks its runtimeconfig names), the node's build in /app,
  # and every shared library the runtime's own binaries link (ldd), at their paths, with the dynamic loader.
  dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
  [ -d "$dotnet_root/shared/Microsoft.NETCore.App" ] || { echo "build-test-images: no .NET runtime under $dotnet_root" >&2; exit 1; }
  echo_root="$work/echo-rootfs"
  mkdir -p "$echo_root/usr/share/dotnet" "$echo_root/app"
  cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$echo_root/usr/share/dotnet/"
  mkdir -p "$echo_root/usr/share/dotnet/shared"
  cp -a "$dotnet_root/shared/Microsoft.NETCore.App" "$dotnet_root/shared/Microsoft.AspNetCore.App" "$echo_root/usr/share/dotnet/shared/"
  cp -a "$node_dir/." "$echo_root/app/"
  find "$echo_root/usr/share/dotnet" -type f \( -name dotnet -o -name '*.so' \) -print0 \
    | xargs -0 ldd 2>/dev/null | awk '/=> \//{print $3} /^[ \t]*\/.*ld-linux/{print $1}' | grep -v "^$echo_root/" | sort -u | while read -r lib; do
      # the file itself at the path the loader asks for (merged-/usr symlinks are not in the image)
      mkdir -p "$echo_root$(dirname "$lib")"
      cp -L "$lib" "$echo_root$lib"
    done
  echo_layer="$work/echo-layer.tar"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$echo_root" -cf "$echo_layer" .
  image akkakube/echo:latest echo.tar '["/usr/share/dotnet/dotnet","/app/akkakube-node.dll","run-image","akkakube/echo"]' 'null' \
    '["PATH=/bin:/usr/share/dotnet","DOTNET_ROOT=/usr/share/dotnet","DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1","DOTNET_gcServer=0"]' "$echo_layer"
fi
