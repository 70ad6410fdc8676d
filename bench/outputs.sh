#!/usr/bin/env bash
# Prints a sha256 for every output wirenote writes on a set of captures, one line each:
#   bench/outputs.sh BIN OUT_LIST CAPTURE...
# Run it with an old and a new binary and compare the lists (`diff`): a refactor that
# keeps every output byte-identical prints the same list. Covers annotate (csv, jsonl,
# lua, --pcapng-out, --single-pass, stdin), flows and http (csv, jsonl), explain (every
# stream up to 5, en and zh) and batch over all the captures at once.
set -uo pipefail
bin=$(realpath "$1"); list=$2; shift 2
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
: > "$list"
h() { sha256sum | cut -c1-16; }
for cap in "$@"; do
  name=$(basename "$cap")
  {
    for f in csv jsonl lua; do
      printf '%s annotate-%s %s rc=%s\n' "$name" "$f" "$("$bin" annotate -f $f "$cap" 2>/dev/null | h)" "${PIPESTATUS[0]}"
    done
    "$bin" annotate "$cap" --pcapng-out "$work/a.pcapng" -o "$work/a.csv" 2>/dev/null; rc=$?
    printf '%s annotate-pcapng %s %s rc=%s\n' "$name" "$(h < "$work/a.pcapng" 2>/dev/null)" "$(h < "$work/a.csv" 2>/dev/null)" "$rc"
    printf '%s annotate-1pass %s rc=%s\n' "$name" "$("$bin" annotate --single-pass "$cap" 2>/dev/null | h)" "${PIPESTATUS[0]}"
    printf '%s annotate-stdin %s rc=%s\n' "$name" "$("$bin" annotate --single-pass - < "$cap" 2>/dev/null | h)" "${PIPESTATUS[0]}"
    for c in flows http; do
      for f in csv jsonl; do
        printf '%s %s-%s %s rc=%s\n' "$name" "$c" "$f" "$("$bin" $c -f $f "$cap" 2>/dev/null | h)" "${PIPESTATUS[0]}"
      done
    done
    for s in 0 1 2 3 4 5; do
      for l in en zh; do
        printf '%s explain-%s-%s %s rc=%s\n' "$name" "$s" "$l" "$("$bin" explain --stream $s --lang $l "$cap" 2>&1 | h)" "${PIPESTATUS[0]}"
      done
    done
  } >> "$list"
  rm -f "$work"/a.*
done
if [ "${BATCH:-1}" = 1 ]; then
  mkdir -p "$work/in"
  for cap in "$@"; do ln -sf "$(realpath "$cap")" "$work/in/$(basename "$cap")"; done
  (cd "$work" && "$bin" batch -q -o out in/* >/dev/null 2>&1; echo "batch rc=$?") >> "$list"
  (cd "$work/out" && find . -type f | sort | while read -r f; do printf 'batch %s %s\n' "$f" "$(h < "$f")"; done) >> "$list"
fi
