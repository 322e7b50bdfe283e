#!/usr/bin/env bash
# Compiles every include/freqcap/**/*.hpp on its own (-fsyntax-only, included
# twice) with freqcap's usage requirements. Run by CTest as freqcap_headers.
# A header that passed is skipped next time while the flags and every freqcap
# header it includes are unchanged (CACHE_DIR keeps its dependency list).
# usage: check_headers.sh CXX FLAGS_RSP INCLUDE_ROOT CACHE_DIR
# env: FREQCAP_HEADER_JOBS (default: nproc), FREQCAP_HEADER_NO_CACHE=1
set -euo pipefail
cxx=$1 flags=$2 root=$3 cache=$4
mkdir -p "$cache"
export cxx flags cache

mapfile -t headers < <(cd "$root" && find freqcap -name '*.hpp' | LC_ALL=C sort)
echo "checking ${#headers[@]} headers under $root with $cxx"

# key FILE...: one hash of the flags and the given files' contents.
key() { cat "$flags" "$@" 2>/dev/null | sha256sum | cut -c1-64; }
export -f key

check_one() {
  local header=$1 stamp="$cache/${1//\//__}.stamp" out
  if [[ -f "$stamp" && "${FREQCAP_HEADER_NO_CACHE:-0}" != 1 ]]; then
    mapfile -t deps < <(tail -n +2 "$stamp")
    if [[ "$(head -n 1 "$stamp")" == "$(key "${deps[@]}")" ]]; then
      echo "cached $header"
      return 0
    fi
  fi
  rm -f "$stamp"
  if ! out=$(printf '#include "%s"\n#include "%s"\n' "$header" "$header" |
      "$cxx" @"$flags" -fsyntax-only -MMD -MT header -MF "$stamp.d" -x c++ - 2>&1); then
    printf 'FAIL %s\n%s\n' "$header" "$out"
    rm -f "$stamp.d"
    return 1
  fi
  [[ -z "$out" ]] || printf 'ok, with diagnostics: %s\n%s\n' "$header" "$out"
  # The depfile lists the header and every non-system header it pulls in.
  mapfile -t deps < <(sed -e 's/^[^:]*://' -e 's/\\$//' "$stamp.d" | tr ' ' '\n' |
                      grep -v -e '^$' -e '^-$' | LC_ALL=C sort -u)
  rm -f "$stamp.d"
  { key "${deps[@]}"; printf '%s\n' "${deps[@]}"; } > "$stamp"
  echo "ok $header"
}
export -f check_one

if printf '%s\n' "${headers[@]}" |
    xargs -P "${FREQCAP_HEADER_JOBS:-$(nproc)}" -I{} bash -c 'check_one "$1"' _ {} > "$cache/log.txt"; then
  echo "all ${#headers[@]} headers compile on their own ($(grep -c '^cached ' "$cache/log.txt" || true) unchanged since they last passed)"
  grep -v -e '^cached ' -e '^ok ' "$cache/log.txt" || true
else
  grep -v -e '^cached ' -e '^ok ' "$cache/log.txt" || true
  echo "some headers do not compile on their own (see FAIL above)"
  exit 1
fi
