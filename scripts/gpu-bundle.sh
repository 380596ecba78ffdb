#!/usr/bin/env bash
# Builds a release gpu-train (Swift runtime linked statically) and gathers it, the
# shared libraries it needs and a runner into one folder that can be copied to a GPU
# host without Swift (issue 8). See docs/GPU.md.
#
#   scripts/gpu-bundle.sh [--data DIR | --no-data] [--no-build] [OUT_DIR]
#
# OUT_DIR        default dist/gpu-train-bundle (git-ignored through /dist/)
# --data DIR     also copy a data folder into OUT_DIR/data, e.g.
#                ../shared/data/kubernetes-dataset, which does not travel to a device
#                machine by itself (the bundle is git-ignored: never commit it)
# --no-data      copy no data (the default)
# --no-build     reuse the binary already in the scratch path
# SCRATCH_PATH   environment: SwiftPM scratch path (default .build-bundle)
# SWIFT          environment: the swift driver (default swift)
# BUNDLE_ARCHIVE environment: auto (default: OUT_DIR.tar.xz, else .tar.gz), xz, gz, none
#
# Layout:
#   OUT_DIR/run.sh            the runner (scripts/gpu-run.sh)
#   OUT_DIR/bin/gpu-train
#   OUT_DIR/lib/              non-system shared libraries, each under its soname
#   OUT_DIR/lib/compat/       libstdc++ and libgcc_s, used only where the host's are too old
#   OUT_DIR/lib/REQUIRES      symbol versions the bundle needs from the host (GLIBC) and
#                             from libstdc++/libgcc_s (read by run.sh)
#   OUT_DIR/MANIFEST          what was copied from where, build facts
#   OUT_DIR/data/             optional data (--data)
#   OUT_DIR.tar.xz            the same folder packed, the thing to carry to a GPU host
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
caller=$PWD
cd "$repo"

scratch=${SCRATCH_PATH:-.build-bundle}
swift=${SWIFT:-swift}
out=""
build=1
data_mode=default
data_dir=""

while [ $# -gt 0 ]; do
  case $1 in
    --data) [ $# -ge 2 ] || { echo "gpu-bundle: --data needs a folder" >&2; exit 2; }
            data_mode=given; data_dir=$(cd "$caller" && realpath -m -- "$2"); shift 2 ;;
    --data=*) data_mode=given; data_dir=$(cd "$caller" && realpath -m -- "${1#--data=}"); shift ;;
    --no-data) data_mode=none; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "gpu-bundle: unknown option $1" >&2; exit 2 ;;
    *) [ -z "$out" ] || { echo "gpu-bundle: one OUT_DIR only" >&2; exit 2; }
       out=$(cd "$caller" && realpath -m -- "$1"); shift ;;
  esac
done
out=${out:-dist/gpu-train-bundle}
out_abs=$(realpath -m -- "$out")
case $out_abs/ in
  "$repo"/*)
    # Inside the checkout it must be git-ignored: the tree that travels to a device
    # machine (and git status) must not pick up 100 MB of binaries.
    if git -C "$repo" rev-parse --git-dir >/dev/null 2>&1 && ! git -C "$repo" check-ignore -q "$out_abs"; then
      echo "gpu-bundle: $out is inside the checkout but not git-ignored; use dist/... (ignored by /dist/)" >&2
      exit 2
    fi ;;
  *) echo "gpu-bundle: note: $out is outside the checkout, so a device run cannot carry it" >&2 ;;
esac

if [ "$data_mode" = default ]; then
  data_mode=none
elif [ "$data_mode" = given ] && [ ! -d "$data_dir" ]; then
  echo "gpu-bundle: --data $data_dir is not a folder" >&2; exit 2
fi

# Refuse to wipe anything but a bundle: OUT_DIR must be new, empty, or an earlier bundle.
if [ -e "$out" ]; then
  if [ -f "$out/MANIFEST" ] && head -1 "$out/MANIFEST" | grep -q '^gpu-train bundle'; then
    rm -rf "$out"
  elif [ -d "$out" ] && [ -z "$(ls -A "$out")" ]; then
    rmdir "$out"
  else
    echo "gpu-bundle: $out exists and is not a gpu-train bundle; not touching it" >&2; exit 1
  fi
fi

# ---- build ---------------------------------------------------------------------
if [ "$build" = 1 ]; then
  # The static Swift runtime links FoundationNetworking (detect --alerts-to http://) against
  # libcurl's development files, and the flow meter against libpcap's.
  for pkg in libcurl4-openssl-dev libpcap-dev; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null || exit 1
      else
        echo "gpu-bundle: the static build needs $pkg: sudo apt-get install -y $pkg" >&2; exit 1
      fi
    fi
  done
  echo "== swift build -c release --static-swift-stdlib --product gpu-train --scratch-path $scratch" >&2
  "$swift" build -c release --static-swift-stdlib --product gpu-train --scratch-path "$scratch"
fi
binpath=$("$swift" build -c release --static-swift-stdlib --product gpu-train \
            --scratch-path "$scratch" --show-bin-path)/gpu-train
[ -x "$binpath" ] || { echo "gpu-bundle: no binary at $binpath (build first, or drop --no-build)" >&2; exit 1; }

mkdir -p "$out/bin" "$out/lib/compat"
cp "$binpath" "$out/bin/gpu-train"
strip --strip-unneeded "$out/bin/gpu-train" 2>/dev/null || true
cp "$here/gpu-run.sh" "$out/run.sh"
chmod +x "$out/run.sh" "$out/bin/gpu-train"

manifest=$out/MANIFEST
{
  echo "gpu-train bundle"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -m), $( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null || echo unknown)"
  echo "commit: $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$repo" diff --quiet HEAD -- Sources Package.swift 2>/dev/null || echo ' (with uncommitted changes to Sources)')"
  echo "swift: $("$swift" --version 2>/dev/null | head -1)"
  echo "binary: bin/gpu-train <- $binpath"
} > "$manifest"

# ---- shared libraries ----------------------------------------------------------
# The glibc core always comes from the host: it must match the host's ld.so.
is_glibc_core() {
  case $1 in
    linux-vdso.so.*|ld-linux*.so.*|libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|\
    libutil.so.*|libresolv.so.*|libanl.so.*|libnsl.so.*|libmvec.so.*|libBrokenLocale.so.*|\
    libnss_*|libthread_db.so.*|libcrypt.so.*) return 0 ;;
  esac
  return 1
}
# Carried, but used only when the host's copy is too old (run.sh decides): a second,
# older libstdc++ in the process beside a driver library that needs a newer one fails,
# and the GCC runtime libraries are backward compatible.
is_compat() {
  case $1 in libstdc++.so.*|libgcc_s.so.*) return 0 ;; esac
  return 1
}

# ldd of the binary lists the whole closure (the libraries' own needs included).
declare -A seen=()
missing=()
while read -r name arrow path _; do
  [ "$arrow" = "=>" ] || continue
  if [ "$path" = "not" ]; then missing+=("$name"); continue; fi
  is_glibc_core "$name" && continue
  [ -n "${seen[$name]:-}" ] && continue
  seen[$name]=1
  if is_compat "$name"; then dest=$out/lib/compat/$name; else dest=$out/lib/$name; fi
  cp -L "$path" "$dest"            # -L: Debian's openblas is an alternatives symlink chain
  chmod 0644 "$dest"
  echo "lib: ${dest#"$out"/} <- $path -> $(readlink -f "$path")" >> "$manifest"
done < <(ldd "$binpath")
if [ ${#missing[@]} -gt 0 ]; then
  echo "gpu-bundle: ldd cannot resolve: ${missing[*]}" >&2; exit 1
fi
# Make sure nothing but the glibc core is left to the host: no library in lib/ may need
# a library that is neither bundled nor glibc core (ldd above covers this, but a bundled
# copy could differ from what ldd resolved if the build machine has several).
for f in "$out/bin/gpu-train" "$out"/lib/*.so* "$out"/lib/compat/*.so*; do
  [ -f "$f" ] || continue
  for need in $(objdump -p "$f" | awk '$1 == "NEEDED" {print $2}'); do
    is_glibc_core "$need" && continue
    [ -e "$out/lib/$need" ] || [ -e "$out/lib/compat/$need" ] || {
      echo "gpu-bundle: ${f#"$out"/} needs $need, which is not in the bundle" >&2; exit 1; }
  done
done

# Symbol versions the bundle asks of the host, for run.sh's checks: GLIBC from bin/ and
# lib/; GLIBCXX/CXXABI/GCC (what libstdc++/libgcc_s must define) from the same; and
# GLIBC_COMPAT, the glibc that lib/compat itself needs, where run.sh falls back to it.
newest() {  # "KIND_1.2 KIND_1.10 ..." on stdin -> "KIND 1.10" per kind
  tr -d '()' | sort -u | awk -F_ '{ v[$1] = v[$1] " " $2 } END { for (k in v) print k v[k] }' \
    | while read -r kind vers; do
        echo "$kind $(printf '%s\n' $vers | sort -V | tail -1)"
      done
}
{
  objdump -T "$out/bin/gpu-train" "$out"/lib/*.so* 2>/dev/null | grep -F '*UND*' \
    | grep -oE '\((GLIBC|GLIBCXX|CXXABI|GCC)_[0-9][0-9.]*\)' | newest
  objdump -T "$out"/lib/compat/*.so* 2>/dev/null | grep -F '*UND*' \
    | grep -oE '\(GLIBC_[0-9][0-9.]*\)' | newest | sed 's/^GLIBC /GLIBC_COMPAT /'
} | sort > "$out/lib/REQUIRES"
echo "requires of the host: $(tr '\n' ';' < "$out/lib/REQUIRES" | sed 's/;$//; s/;/; /g')" >> "$manifest"

# ---- data ----------------------------------------------------------------------
if [ "$data_mode" != none ]; then
  cp -RL "$data_dir" "$out/data"
  chmod -R u+w "$out/data"
  echo "data: data/ <- $(cd "$data_dir" && pwd)" >> "$manifest"
fi

# ---- archive -------------------------------------------------------------------
# The folder itself is too big to carry to a device machine (the Swift binary with
# Foundation is ~60 MB, OpenBLAS ~35 MB); the archive, ~21 MB with xz, fits the 64 MiB.
archive=""
case ${BUNDLE_ARCHIVE:-auto} in
  none) ;;
  auto|xz) if command -v xz >/dev/null; then archive=$out.tar.xz; comp=(xz -T0 -6)
           elif [ "${BUNDLE_ARCHIVE:-auto}" = xz ]; then echo "gpu-bundle: no xz" >&2; exit 1
           else archive=$out.tar.gz; comp=(gzip -6); fi ;;
  gz) archive=$out.tar.gz; comp=(gzip -6) ;;
  *) echo "gpu-bundle: BUNDLE_ARCHIVE is auto, xz, gz or none" >&2; exit 2 ;;
esac

# ---- report --------------------------------------------------------------------
bytes=$(du -sb "$out" | cut -f1)
mib=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
echo "size: $bytes bytes ($mib MiB)" >> "$manifest"
echo "== bundle: $out" >&2
(cd "$out" && du -sh bin lib ${data_dir:+data} 2>/dev/null | sed 's/^/   /') >&2 || true
echo "   libraries: $(cd "$out/lib" && ls -1 *.so* compat/*.so* 2>/dev/null | tr '\n' ' ')" >&2
echo "   host must provide: $(tr '\n' ';' < "$out/lib/REQUIRES" | sed 's/;$//; s/;/; /g') (glibc core from the host)" >&2
echo "bundle size: $mib MiB ($bytes bytes) in $out"
if [ -n "$archive" ]; then
  echo "== packing $archive (${comp[0]})" >&2
  rm -f "$out.tar.xz" "$out.tar.gz"
  tar -C "$(dirname "$out")" -cf - "$(basename "$out")" | "${comp[@]}" > "$archive.part"
  mv "$archive.part" "$archive"
  abytes=$(stat -c %s "$archive")
  amib=$(awk -v b="$abytes" 'BEGIN { printf "%.1f", b / 1048576 }')
  echo "archive size: $amib MiB ($abytes bytes) in $archive"
  carry_bytes=$abytes
else
  carry_bytes=$bytes
fi
if [ "$carry_bytes" -gt $((64 * 1048576)) ]; then
  echo "gpu-bundle: warning: over 64 MiB, too big to carry to a device machine in one call" >&2
fi
