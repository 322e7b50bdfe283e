#!/usr/bin/env bash
# Compiles every include/freqcap/**/*.hpp on its own (-fsyntax-only), included
# twice, with freqcap's usage requirements. Run by CTest as freqcap_headers.
# usage: check_headers.sh CXX FLAGS_RSP INCLUDE_ROOT   (FREQCAP_HEADER_JOBS=2)
set -euo pipefail
cxx=$1 flags=$2 root=$3
export cxx flags

mapfile -t headers < <(cd "$root" && find freqcap -name '*.hpp' | LC_ALL=C sort)
echo "checking ${#headers[@]} headers under $root with $cxx"

check_one() {
  local out
  if ! out=$(printf '#include "%s"\n#include "%s"\n' "$1" "$1" |
      "$cxx" @"$flags" -fsyntax-only -x c++ - 2>&1); then
    printf 'FAIL %s\n%s\n' "$1" "$out"
    return 1
  fi
  if [[ -n "$out" ]]; then printf 'ok (with diagnostics) %s\n%s\n' "$1" "$out"; fi
}
export -f check_one

if printf '%s\n' "${headers[@]}" | xargs -P "${FREQCAP_HEADER_JOBS:-2}" -I{} bash -c 'check_one "$1"' _ {}; then
  echo "all ${#headers[@]} headers compile on their own"
else
  echo "some headers do not compile on their own (see FAIL above)"
  exit 1
fi
