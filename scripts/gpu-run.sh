#!/usr/bin/env bash
# Runner of a gpu-train bundle (scripts/gpu-bundle.sh copies it to OUT_DIR/run.sh):
# points the loader at the bundle's libraries, makes NVIDIA's OpenCL driver visible to
# the bundled ICD loader (ocl-icd), then runs bin/gpu-train with the arguments given.
#
#   ./run.sh devices | verify | bench --backend all | train --data data --backend opencl ...
#
# Each decision goes to stderr as one line starting with "run.sh:".
# Environment:
#   NVIDIA_OPENCL_LIB    libnvidia-opencl.so.1, or a folder holding it, or a ':' list of
#                        either; searched before the usual places
#   OCL_ICD_VENDORS      if already set (a folder of .icd files), its ICDs are kept
#   GPU_RUN_COMPAT=0|1   force the host's (0) or the bundle's (1) libstdc++/libgcc_s
#   GPU_RUN_ICD_DIR      folder to write nvidia.icd into (default: a new temp folder)
#   GPU_RUN_DRY=1        print the decisions and the command, run nothing
#   GPU_RUN_QUIET=1      no decision lines
set -euo pipefail

say() { [ "${GPU_RUN_QUIET:-0}" = 1 ] || echo "run.sh: $*" >&2; }

self=${BASH_SOURCE[0]}
self=$(readlink -f -- "$self" 2>/dev/null || echo "$self")   # through a symlink to run.sh
bundle=$(cd "$(dirname "$self")" && pwd -P)
bin=$bundle/bin/gpu-train
lib=$bundle/lib
[ -x "$bin" ] || { echo "run.sh: no $bin: is this a bundle made by scripts/gpu-bundle.sh?" >&2; exit 1; }

ldconfig_p() {
  local l
  for l in "$(command -v ldconfig 2>/dev/null || true)" /sbin/ldconfig /usr/sbin/ldconfig; do
    [ -n "$l" ] && [ -x "$l" ] && { "$l" -p 2>/dev/null && return 0; }
  done
  return 0
}
LDCACHE=$(ldconfig_p)

# ---- host compatibility: glibc, libstdc++ ----------------------------------------
need_of() { awk -v k="$1" '$1 == k { print $2 }' "$lib/REQUIRES" 2>/dev/null; }
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]; }

need_glibc=$(need_of GLIBC)
have_glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}' || true)
[ -n "$have_glibc" ] || have_glibc=$(ldd --version 2>/dev/null | head -1 | grep -oE '[0-9]+\.[0-9]+$' || true)
if [ -n "$need_glibc" ] && [ -n "$have_glibc" ]; then
  if version_ge "$have_glibc" "$need_glibc"; then
    say "glibc $have_glibc on this host (bundle needs $need_glibc): ok"
  else
    say "WARNING: glibc $have_glibc on this host, the bundle needs $need_glibc: gpu-train will likely fail to load"
  fi
fi

# libstdc++/libgcc_s: the host's where it has every symbol version the bundle needs
# (the driver's libraries may need it and only one can be loaded), else the bundle's.
host_lib() {  # first path of a soname, from the loader cache or the usual folders
  local p
  p=$(printf '%s\n' "$LDCACHE" | awk -v n="$1" '$1 == n && /x86-64/ { print $NF; exit }')
  if [ -z "$p" ]; then
    for d in /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib64 /usr/lib64 /lib /usr/lib; do
      [ -e "$d/$1" ] && { p=$d/$1; break; }
    done
  fi
  printf '%s' "$p"
}
use_compat=${GPU_RUN_COMPAT:-}
if [ -z "$use_compat" ] && [ -d "$lib/compat" ] && [ -n "$(ls -A "$lib/compat" 2>/dev/null)" ]; then
  use_compat=0; why=""
  for kind in GLIBCXX CXXABI GCC; do
    v=$(need_of "$kind"); [ -n "$v" ] || continue
    if [ "$kind" = GCC ]; then so=libgcc_s.so.1; else so=libstdc++.so.6; fi
    p=$(host_lib "$so")
    if [ -z "$p" ]; then use_compat=1; why="$why no $so;"
    elif ! grep -qaF "${kind}_$v" "$p"; then use_compat=1; why="$why $p lacks ${kind}_$v;"
    fi
  done
  if [ "$use_compat" = 1 ]; then
    say "libstdc++/libgcc_s: the bundle's (lib/compat):${why%;}"
  else
    say "libstdc++/libgcc_s: the host's ($(host_lib libstdc++.so.6)), it has every version the bundle needs"
  fi
elif [ -n "$use_compat" ]; then
  say "libstdc++/libgcc_s: GPU_RUN_COMPAT=$use_compat: $([ "$use_compat" = 1 ] && echo "the bundle's" || echo "the host's")"
fi

ld_path=$lib
if [ "$use_compat" = 1 ]; then
  ld_path=$ld_path:$lib/compat
  need_compat=$(need_of GLIBC_COMPAT)
  if [ -n "$need_compat" ] && [ -n "$have_glibc" ] && ! version_ge "$have_glibc" "$need_compat"; then
    say "WARNING: the bundle's libstdc++/libgcc_s need glibc $need_compat, this host has $have_glibc"
  fi
fi

# ---- NVIDIA's OpenCL driver --------------------------------------------------------
nvlib=""
candidates=()
if [ -n "${NVIDIA_OPENCL_LIB:-}" ]; then
  IFS=: read -r -a given <<< "$NVIDIA_OPENCL_LIB"
  for g in "${given[@]}"; do
    [ -n "$g" ] || continue
    if [ -d "$g" ]; then candidates+=("$g/libnvidia-opencl.so.1"); else candidates+=("$g"); fi
  done
fi
while read -r p; do [ -n "$p" ] && candidates+=("$p"); done < <(
  printf '%s\n' "$LDCACHE" | awk '$1 == "libnvidia-opencl.so.1" && /x86-64/ { print $NF }')
for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/nvidia/lib64 /usr/local/nvidia/lib \
         /usr/lib/x86_64-linux-gnu/nvidia/current /usr/lib/nvidia* /usr/lib/x86_64-linux-gnu/nvidia* \
         /lib/x86_64-linux-gnu /lib64; do
  [ -d "$d" ] && candidates+=("$d/libnvidia-opencl.so.1")
done
for c in ${candidates[@]+"${candidates[@]}"}; do
  if [ -f "$c" ]; then nvlib=$c; break; fi
done

vendors_src=${OCL_ICD_VENDORS:-/etc/OpenCL/vendors}
existing=()
if [ -d "$vendors_src" ]; then
  for f in "$vendors_src"/*.icd; do [ -f "$f" ] && existing+=("$f"); done
fi
existing_names() {
  local f out=""
  for f in ${existing[@]+"${existing[@]}"}; do out="$out $(basename "$f")=$(tr -d '\n' < "$f")"; done
  printf '%s' "${out# }"
}

if [ -z "$nvlib" ]; then
  say "looked for libnvidia-opencl.so.1 in: NVIDIA_OPENCL_LIB=${NVIDIA_OPENCL_LIB:-(unset)}; ldconfig -p ($(printf '%s\n' "$LDCACHE" | grep -c 'libnvidia-opencl' || true) entries); ${candidates[*]:-no candidate folder exists}"
  if [ ${#existing[@]} -gt 0 ]; then
    say "no libnvidia-opencl.so.1 found; keeping the ICDs in $vendors_src: $(existing_names)"
  else
    say "no libnvidia-opencl.so.1 found and no ICD in $vendors_src: OpenCL will list no platform (set NVIDIA_OPENCL_LIB)"
  fi
else
  nvdir=$(dirname "$nvlib")
  say "NVIDIA OpenCL driver: $nvlib"
  # Its own needs (libcuda.so.1, libnvidia-ptxjitcompiler.so.1, ...) sit beside it, often
  # in a folder the loader cache lacks (/usr/local/nvidia/lib64 in containers).
  ld_path=$ld_path:$nvdir
  named=""
  for f in ${existing[@]+"${existing[@]}"}; do
    if grep -q 'libnvidia-opencl' "$f"; then named=$f; break; fi
  done
  if [ -n "$named" ]; then
    say "ICD $named already names it ($(tr -d '\n' < "$named")); OpenCL vendors from $vendors_src"
  else
    wrote=wrote
    if [ "${GPU_RUN_DRY:-0}" = 1 ]; then
      icd_dir=${GPU_RUN_ICD_DIR:-${TMPDIR:-/tmp}/gpu-train-icd.XXXXXX}
      wrote="dry run, would write"
    else
      if [ -n "${GPU_RUN_ICD_DIR:-}" ]; then
        icd_dir=$GPU_RUN_ICD_DIR; mkdir -p "$icd_dir"
      else
        icd_dir=$(mktemp -d "${TMPDIR:-/tmp}/gpu-train-icd.XXXXXX")
      fi
      # keep the ICDs already there (PoCL, say) beside NVIDIA's
      for f in ${existing[@]+"${existing[@]}"}; do
        [ "$(basename "$f")" = nvidia.icd ] || cp "$f" "$icd_dir/"
      done
      printf '%s\n' "$nvlib" > "$icd_dir/nvidia.icd"
    fi
    export OCL_ICD_VENDORS=$icd_dir
    say "no ICD in $vendors_src names it: $wrote $icd_dir/nvidia.icd = $nvlib${existing[0]+ (plus a copy of $(existing_names))}; OCL_ICD_VENDORS=$icd_dir"
  fi
fi

export LD_LIBRARY_PATH=$ld_path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
say "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
if [ "${GPU_RUN_DRY:-0}" = 1 ]; then
  say "dry run: would exec $bin $*"
  exit 0
fi
say "exec $bin $*"
exec "$bin" "$@"
