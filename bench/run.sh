#!/usr/bin/env bash
# wirenote vs tshark, measured in one run on this machine. Usage:
#   bench/run.sh                 # ~300 MB captures of both kinds, 3 rounds
#   SIZE=50M ROUNDS=1 bench/run.sh
#   ONLY=batch bench/run.sh      # only Parquet vs CSV and batch -j1/-j2 (no tshark)
#   ONLY=hostile bench/run.sh    # only the hostile shapes (SYN flood, half-open, pipelined,
#                                # long header) beside tshark, and the issue #19 targets
#   ONLY=hostile QUICK=1 SHAPES="long-header pipelined" NO_TSHARK=1 bench/run.sh
#   REAL=DIR bench/run.sh        # also real traffic: DIR/close.pcap and DIR/keepalive.pcap
#                                # as ../shared/bench/make-captures.sh records them
#   REAL=record bench/run.sh     # records them first (root; nginx, wrk, tcpdump, ethtool)
#   ONLY=real REAL=DIR bench/run.sh   # only the real captures
# Prints median wall times, the ratios the performance issue asks for, and peak RSS
# (from /usr/bin/time -v). Not a test: numbers go into the issue note.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${SIZE:-300M}
ROUNDS=${ROUNDS:-3}
WORK=${WORK:-$(mktemp -d)}
export DEBIAN_FRONTEND=noninteractive
need=()
command -v tshark >/dev/null || need+=(tshark)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; fi
cargo build --profile profiling -q -p wirenote-cli -p wirenote-bench
WN=target/profiling/wirenote
GEN=target/profiling/wirenote-gen
# wirenote: two passes, like tshark -2 (the default); wirenote1: --single-pass, like tshark.
TOOLS="wirenote wirenote1 xlsx tshark tshark2 cat catpipe dd"
TSHARK_FIELDS=(-n -T fields -e frame.number -e tcp.stream -e tcp.flags.str -e tcp.seq -e tcp.ack -e tcp.len
  -e tcp.analysis.flags -e http.request.method -e http.response.code -e http.request_in -e http.response_in)

# One timed run: prints "seconds cpu_seconds max_rss_kib". The wall time is taken with
# nanosecond clocks around the run (`/usr/bin/time`'s %e has 10 ms steps, a tenth of a
# run here); CPU (user + system, all threads) and peak RSS come from /usr/bin/time.
timed() {
  local t0 t1
  t0=$(date +%s%N)
  /usr/bin/time -f "%U %S %M" -o "$WORK/time.txt" "$@" > /dev/null 2> "$WORK/stderr.txt" || true
  t1=$(date +%s%N)
  awk -v ns=$((t1 - t0)) '{ printf "%.4f %.2f %d\n", ns / 1e9, $1 + $2, $3 }' "$WORK/time.txt"
}
# The middle field of timed's output: CPU seconds.
cpu_of() { local rest=${1#* }; printf '%s' "${rest%% *}"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

report_kind() {
  local kind=$1 file="$WORK/$1.pcap"
  "$GEN" --kind "$kind" --size "$SIZE" --seed 1 -o "$file" 2> "$WORK/gen.txt"
  local frames; frames=$(grep -o '[0-9]* frames' "$WORK/gen.txt" | cut -d' ' -f1)
  report_file "$kind (wirenote-gen)" "$file" "$frames"
}

# Real traffic (issue #20): nginx serving wrk across a veth pair, recorded by
# ../shared/bench/make-captures.sh; the same table as for generated captures, plus
# `flows` against `tcptrace -n -l`.
report_real() {
  local dir=$REAL
  if [ "$dir" = record ]; then
    dir="$WORK/real"
    OUT="$dir" TARGET_MB=${TARGET_MB:-75} bash ../shared/bench/make-captures.sh >&2
  fi
  command -v tcptrace >/dev/null || { apt-get update -qq && apt-get install -y -qq tcptrace >/dev/null; }
  for kind in close keepalive; do
    local file="$dir/$kind.pcap"
    [ -f "$file" ] || { echo "no $file (see ../shared/bench/make-captures.sh)"; continue; }
    local frames; frames=$(capinfos -c -M "$file" | awk -F': *' '/Number of packets/ { print $2 }')
    report_file "$kind (real traffic, nginx/wrk)" "$file" "$frames"
    local tf="" tt="" out
    for round in $(seq "$ROUNDS"); do
      out=$(timed "$WN" flows "$file"); tf+="${out%% *}"$'\n'
      out=$(timed tcptrace -n -l "$file"); tt+="${out%% *}"$'\n'
    done
    awk -v f="$(printf '%s' "$tf" | median)" -v t="$(printf '%s' "$tt" | median)" 'BEGIN {
      printf "flows %.3f s, tcptrace -n -l %.3f s: tcptrace / flows %.1fx (target >= 4x)\n", f, t, t / f;
    }'
  done
}

# The table for one capture: $1 its name, $2 the file, $3 its frames.
report_file() {
  local kind=$1 file=$2 frames=$3
  local bytes; bytes=$(stat -c %s "$file")
  cat "$file" > /dev/null   # warm the page cache
  declare -A t rss cpu
  for name in $TOOLS; do t[$name]=""; cpu[$name]=""; rss[$name]=0; done
  for round in $(seq "$ROUNDS"); do
    # Alternate the order each round so that no tool always runs on a cooler machine.
    for name in $TOOLS; do
      case $name in
        wirenote) out=$(timed "$WN" annotate "$file") ;;
        wirenote1) out=$(timed "$WN" annotate --single-pass "$file") ;;
        # The workbook (packets, connections, HTTP, About) to a file, as a user writes it.
        xlsx)     out=$(timed "$WN" annotate "$file" -o "$WORK/out.xlsx"); rm -f "$WORK/out.xlsx" ;;
        tshark)   out=$(timed tshark -r "$file" "${TSHARK_FIELDS[@]}") ;;
        tshark2)  out=$(timed tshark -r "$file" -2 "${TSHARK_FIELDS[@]}") ;;
        cat)      out=$(timed cat "$file") ;;
        catpipe)  out=$(timed sh -c "cat '$file' | cat") ;;
        dd)       out=$(timed dd if="$file" of=/dev/null bs=1M status=none) ;;
      esac
      t[$name]+="${out%% *}"$'\n'
      cpu[$name]+="$(cpu_of "$out")"$'\n'
      r=${out##* }; [ "$r" -gt "${rss[$name]}" ] && rss[$name]=$r
    done
  done
  declare -A m
  for name in $TOOLS; do m[$name]=$(printf '%s' "${t[$name]}" | median); done
  printf '\n== %s: %s MB, %s frames, %s rounds (median seconds, peak RSS)\n' "$kind" "$((bytes / 1000000))" "$frames" "$ROUNDS"
  for name in $TOOLS; do
    local c; c=$(printf '%s' "${cpu[$name]}" | median)
    # CPU / wall: how many cores the run kept busy (2 at most here).
    printf '%-10s %8.3f s  %8d KiB  cpu %6.2f s  cpu/wall %.2f\n' "$name" "${m[$name]}" "${rss[$name]}" "$c" \
      "$(awk -v c="$c" -v w="${m[$name]}" 'BEGIN { print (w > 0 ? c / w : 0) }')"
  done
  awk -v w="${m[wirenote]}" -v w1="${m[wirenote1]}" -v t1="${m[tshark]}" -v t2="${m[tshark2]}" -v c="${m[cat]}" -v cp="${m[catpipe]}" -v d="${m[dd]}" -v b="$bytes" -v f="$frames" 'BEGIN {
    printf "wirenote: %.0f MB/s, %.2f us/frame\n", b / 1e6 / w, w * 1e6 / f;
    printf "tshark single pass / wirenote: %.1fx (target >= 50x)\n", t1 / w;
    printf "tshark -2 / wirenote:          %.1fx (target >= 60x)\n", t2 / w;
    printf "tshark single pass / wirenote --single-pass: %.1fx (like for like; target >= 80x)\n", t1 / w1;
    printf "wirenote / cat F >/dev/null:   %.1fx (target <= 4x; cat may not copy at all)\n", w / (c > 0 ? c : 0.001);
    printf "wirenote / cat F | cat:        %.1fx\n", w / cp;
    printf "wirenote / dd bs=1M:            %.1fx the read time (target <= 8x)\n", w / (d > 0 ? d : 0.001);
  }'
  # Packet-sheet cells: 39 columns a frame (37 schema columns, time and first_time split
  # into date-time and epoch text); rust_xlsxwriter publishes 200,000 cells in 135.2 ms.
  awk -v x="${m[xlsx]}" -v w="${m[wirenote]}" -v f="$frames" -v r="${rss[xlsx]}" 'BEGIN {
    printf "xlsx: %.2f s (CSV %.2f s, %.1fx), %.2f M cells/s (target >= 1.48 M), peak RSS %d KiB (target <= 131072)\n",
      x, w, x / w, f * 39 / x / 1e6, r;
  }'
}

memory() {
  printf '\n== peak RSS of wirenote annotate by capture size (keepalive and short)\n'
  for kind in keepalive short; do
    for size in 80M 160M 330M; do
      local file="$WORK/mem-$kind-$size.pcap"
      "$GEN" --kind "$kind" --size "$size" --seed 2 -o "$file" 2> /dev/null
      out=$(timed "$WN" annotate "$file")
      printf '%-9s %5s  %8d KiB  (%s s)\n' "$kind" "$size" "${out##* }" "${out%% *}"
      rm -f "$file"
    done
  done
}

# Parquet vs CSV: time, size and peak RSS of `annotate -o F.csv` and `-o F.parquet`.
parquet_vs_csv() {
  printf '\n== Parquet vs CSV (annotate, median of %s; size of the output)\n' "$ROUNDS"
  for kind in short keepalive; do
    local file="$WORK/pq-$kind.pcap"
    "$GEN" --kind "$kind" --size "$SIZE" --seed 1 -o "$file" 2> /dev/null
    cat "$file" > /dev/null
    declare -A t=() rss=() size=()
    for fmt in csv parquet; do
      t[$fmt]=""; rss[$fmt]=0
      for round in $(seq "$ROUNDS"); do
        out=$(timed "$WN" annotate "$file" -o "$WORK/out.$fmt")
        t[$fmt]+="${out%% *}"$'\n'
        r=${out##* }; [ "$r" -gt "${rss[$fmt]}" ] && rss[$fmt]=$r
      done
      size[$fmt]=$(stat -c %s "$WORK/out.$fmt")
      t[$fmt]=$(printf '%s' "${t[$fmt]}" | median)
    done
    awk -v k="$kind" -v b="$(stat -c %s "$file")" -v tc="${t[csv]}" -v tp="${t[parquet]}" \
        -v sc="${size[csv]}" -v sp="${size[parquet]}" -v rc="${rss[csv]}" -v rp="${rss[parquet]}" 'BEGIN {
      printf "%-9s %4d MB capture: csv %.2f s %5.0f MB %3d MiB | parquet %.2f s %5.0f MB %3d MiB | time %.2fx (target <= 1.5x), size 1/%.1f (target >= 1/4)\n",
        k, b / 1e6, tc, sc / 1e6, rc / 1024, tp, sp / 1e6, rp / 1024, tp / tc, sc / sp;
    }'
    rm -f "$file" "$WORK"/out.csv "$WORK"/out.parquet
  done
}

# Batch throughput over 8 captures (4 of each kind, SIZE/8 each) with -j1 and -j2.
batch_scaling() {
  local dir="$WORK/batch-in" each; each=$(( $(numfmt --from=iec "$SIZE") / 8 ))
  mkdir -p "$dir"
  for i in 0 1 2 3; do
    "$GEN" --kind short --size "$each" --seed "$i" -o "$dir/short$i.pcap" 2> /dev/null
    "$GEN" --kind keepalive --size "$each" --seed "$i" -o "$dir/keepalive$i.pcap" 2> /dev/null
  done
  local bytes; bytes=$(du -cb "$dir"/*.pcap | tail -1 | cut -f1)
  cat "$dir"/*.pcap > /dev/null
  printf '\n== batch over 8 captures, %s MB in all (median of %s; --format csv and parquet)\n' "$((bytes / 1000000))" "$ROUNDS"
  for fmt in csv parquet; do
    declare -A t=() rss=()
    for j in 1 2; do
      t[$j]=""; rss[$j]=0
      for round in $(seq "$ROUNDS"); do
        rm -rf "$WORK/batch-out"
        out=$(timed "$WN" batch "$dir" -o "$WORK/batch-out" -j "$j" --format "$fmt" --quiet)
        t[$j]+="${out%% *}"$'\n'
        r=${out##* }; [ "$r" -gt "${rss[$j]}" ] && rss[$j]=$r
      done
      t[$j]=$(printf '%s' "${t[$j]}" | median)
    done
    awk -v f="$fmt" -v b="$bytes" -v t1="${t[1]}" -v t2="${t[2]}" -v r1="${rss[1]}" -v r2="${rss[2]}" 'BEGIN {
      printf "%-8s -j1 %.2f s (%.0f MB/s, %d MiB) | -j2 %.2f s (%.0f MB/s, %d MiB, %.0f MiB per job) | speed-up %.2fx (target >= 1.8x)\n",
        f, t1, b / 1e6 / t1, r1 / 1024, t2, b / 1e6 / t2, r2 / 1024, r2 / 2048, t1 / t2;
    }'
  done
  rm -rf "$dir" "$WORK/batch-out"
}

# Hostile traffic (issue #19): for each shape, wall time and peak RSS of annotate,
# annotate --single-pass, flows and tshark; frames/s beside normal traffic; a PASS/FAIL
# line per target. Sizes default to the issue's; QUICK=1 runs smaller ones (their
# PASS/FAIL lines say so), and each size is an environment variable.
if [ "${QUICK:-0}" = 1 ]; then
  SYN_COUNT=${SYN_COUNT:-100000}; FPS_SYN_COUNT=${FPS_SYN_COUNT:-50000}; HALF_OPEN=${HALF_OPEN:-20000}
  PIPELINED=${PIPELINED:-50000}; LONG_HEADER=${LONG_HEADER:-1M}; NORMAL_SIZE=${NORMAL_SIZE:-20M}
else
  SYN_COUNT=${SYN_COUNT:-2000000}; FPS_SYN_COUNT=${FPS_SYN_COUNT:-1000000}; HALF_OPEN=${HALF_OPEN:-200000}
  PIPELINED=${PIPELINED:-1000000}; LONG_HEADER=${LONG_HEADER:-5M}; NORMAL_SIZE=${NORMAL_SIZE:-100M}
fi
SHAPES=${SHAPES:-syn-flood half-open pipelined long-header}

# One timed run: prints "seconds max_rss_kib exit_status". The wall time is taken with
# nanosecond clocks around the run, as in `timed`: normal traffic's runs take a tenth of a
# second, and %e's 10 ms steps moved the frames/s ratios by a tenth.
timed_status() {
  local t0 t1
  t0=$(date +%s%N)
  /usr/bin/time -f "%M %x" -o "$WORK/time.txt" "$@" > /dev/null 2> "$WORK/stderr.txt" || true
  t1=$(date +%s%N)
  tail -1 "$WORK/time.txt" | awk -v ns=$((t1 - t0)) '{ printf "%.4f %s %s\n", ns / 1e9, $1, $2 }'
}

# Generates a capture into $WORK/$1.pcap (the rest: wirenote-gen's arguments); prints its frames.
hostile_gen() {
  local name=$1; shift
  "$GEN" "$@" --seed 1 -o "$WORK/$name.pcap" 2> "$WORK/gen.txt"
  cat "$WORK/$name.pcap" > /dev/null   # warm the page cache
  grep -o '[0-9]* frames' "$WORK/gen.txt" | cut -d' ' -f1
}

# Times one tool on $WORK/$2.pcap and prints its row; leaves "seconds rss status" in $row:
# wirenote's commands HOSTILE_ROUNDS times (3; the median time, the largest RSS, the worst
# status: a first run here often pays for fresh memory that later ones do not), tshark once
# (it takes minutes on the floods).
hostile_row() {
  local tool=$1 file="$WORK/$2.pcap" frames=$3 rounds=${HOSTILE_ROUNDS:-3}
  [ "$tool" = tshark ] && rounds=1
  local times="" r=0 x=0 one s1 r1 x1
  for _ in $(seq "$rounds"); do
    case $tool in
      annotate)    one=$(timed_status "$WN" annotate "$file") ;;
      single-pass) one=$(timed_status "$WN" annotate --single-pass "$file") ;;
      flows)       one=$(timed_status "$WN" flows "$file") ;;
      tshark)      one=$(timed_status tshark -r "$file" "${TSHARK_FIELDS[@]}") ;;
    esac
    read -r s1 r1 x1 <<< "$one"
    times+="$s1"$'\n'; [ "$r1" -gt "$r" ] && r=$r1; [ "$x1" != 0 ] && x=$x1
  done
  row="$(printf '%s' "$times" | median) $r $x"
  read -r s r x <<< "$row"
  awk -v t="$tool" -v s="$s" -v r="$r" -v x="$x" -v f="$frames" 'BEGIN {
    fps = s > 0 ? sprintf("%9.0f frames/s", f / s) : "  (under 0.01 s)";
    printf "  %-12s %8.2f s  %8d KiB (%6.1f MiB)  %s%s\n", t, s, r, r / 1024, fps, (x == 0 ? "" : "  exit " x);
  }'
}

# PASS/FAIL: $1 the target's words, $2 an awk condition over v, $3 the value, $4 a note.
verdict() {
  if awk -v v="$3" "BEGIN { exit !($2) }"; then printf 'PASS  %s: %s%s\n' "$1" "$3" "$4"
  else printf 'FAIL  %s: %s%s\n' "$1" "$3" "$4"; fi
}

# "" at the issue's size, else a note that this run is smaller.
size_note() { [ "$1" = "$2" ] && echo "" || echo "  (at $1; the issue's size is $2)"; }

hostile() {
  local tools="annotate single-pass flows"
  [ "${NO_TSHARK:-0}" = 1 ] || tools+=" tshark"
  printf '\n== hostile traffic (wall seconds, median of %s runs, tshark one; peak RSS, the largest; frames/s)\n' "${HOSTILE_ROUNDS:-3}"
  local frames; frames=$(hostile_gen normal --kind short --size "$NORMAL_SIZE")
  printf -- '-- normal traffic: short connections, %s, %s frames\n' "$NORMAL_SIZE" "$frames"
  hostile_row annotate normal "$frames"
  local normal_fps; normal_fps=$(awk -v f="$frames" -v s="${row%% *}" 'BEGIN { print f / s }')
  hostile_row single-pass normal "$frames"
  local normal_fps1; normal_fps1=$(awk -v f="$frames" -v s="${row%% *}" 'BEGIN { print f / s }')
  rm -f "$WORK/normal.pcap"
  declare -A result=()
  for shape in $SHAPES; do
    local args=() what
    case $shape in
      syn-flood)   args=(--count "$SYN_COUNT"); what="$SYN_COUNT SYNs" ;;
      half-open)   args=(--count "$HALF_OPEN"); what="$HALF_OPEN connections" ;;
      pipelined)   args=(--count "$PIPELINED"); what="$PIPELINED requests on one connection" ;;
      long-header) args=(--size "$LONG_HEADER"); what="a $LONG_HEADER header line" ;;
      *) echo "unknown shape $shape"; exit 2 ;;
    esac
    frames=$(hostile_gen "$shape" --kind "$shape" "${args[@]}")
    printf -- '-- %s: %s, %s MB, %s frames\n' "$shape" "$what" "$(( $(stat -c %s "$WORK/$shape.pcap") / 1000000 ))" "$frames"
    for tool in $tools; do
      hostile_row "$tool" "$shape" "$frames"
      result[$shape.$tool]=$row
      result[$shape.frames]=$frames
    done
    rm -f "$WORK/$shape.pcap"
  done
  # The frames/s target speaks of 1M SYNs; the RSS one of 2M: a second, smaller flood.
  if [[ " $SHAPES " == *" syn-flood "* && "$FPS_SYN_COUNT" != "$SYN_COUNT" ]]; then
    frames=$(hostile_gen flood-fps --kind syn-flood --count "$FPS_SYN_COUNT")
    printf -- '-- syn-flood: %s SYNs (for frames/s), %s frames\n' "$FPS_SYN_COUNT" "$frames"
    for tool in annotate single-pass; do
      hostile_row "$tool" flood-fps "$frames"
      result[fps-flood.$tool]=$row
    done
    result[fps-flood.frames]=$frames
    rm -f "$WORK/flood-fps.pcap"
  elif [[ " $SHAPES " == *" syn-flood "* ]]; then
    for k in annotate single-pass frames; do result[fps-flood.$k]=${result[syn-flood.$k]}; done
  fi
  printf '\n== issue #19 targets (default settings)\n'
  local worst v
  if [ -n "${result[syn-flood.annotate]:-}" ]; then
    worst=0
    for tool in annotate single-pass flows; do
      v=$(echo "${result[syn-flood.$tool]}" | cut -d' ' -f2); [ "$v" -gt "$worst" ] && worst=$v
    done
    verdict "SYN flood: peak RSS of annotate, --single-pass and flows <= 256 MiB" 'v <= 256' \
      "$(awk -v r="$worst" 'BEGIN { printf "%.1f", r / 1024 }')" " MiB$(size_note "$SYN_COUNT" 2000000)"
  fi
  for pair in fps-flood:FPS_SYN_COUNT:1000000:"SYN flood" half-open:HALF_OPEN:200000:half-open; do
    local key=${pair%%:*} rest=${pair#*:}; local var=${rest%%:*}; rest=${rest#*:}
    local issue=${rest%%:*} label=${rest#*:}
    [ -n "${result[$key.annotate]:-}" ] || continue
    for tool in annotate single-pass; do
      local base=$normal_fps; [ "$tool" = single-pass ] && base=$normal_fps1
      v=$(awk -v f="${result[$key.frames]}" -v s="$(echo "${result[$key.$tool]}" | cut -d' ' -f1)" -v b="$base" \
        'BEGIN { printf "%.2f", f / (s > 0 ? s : 0.01) / b }')
      verdict "$label ($tool): frames/s >= 0.5 x normal traffic's" 'v >= 0.5' "$v" \
        "x$(size_note "${!var}" "$issue")"
    done
  done
  if [ -n "${result[pipelined.flows]:-}" ]; then
    v=$(echo "${result[pipelined.flows]}" | awk '{ printf "%.1f", $2 / 1024 }')
    verdict "pipelined: peak RSS of flows <= 64 MiB" 'v <= 64' "$v" " MiB$(size_note "$PIPELINED" 1000000)"
  fi
  if [ -n "${result[long-header.annotate]:-}" ]; then
    worst=0
    for tool in annotate single-pass flows; do
      v=$(echo "${result[long-header.$tool]}" | cut -d' ' -f1)
      worst=$(awk -v a="$worst" -v b="$v" 'BEGIN { print (b > a ? b : a) }')
    done
    verdict "long header: wall time of annotate, --single-pass and flows <= 1 s" 'v <= 1' "$worst" \
      " s$(size_note "$LONG_HEADER" 5M)"
  fi
  for key in "${!result[@]}"; do
    case $key in *.frames) ;; *) [ "${result[$key]##* }" = 0 ] || echo "note: $key exited ${result[$key]##* }" ;; esac
  done
}

if [ "${ONLY:-}" = hostile ]; then
  echo "wirenote hostile-traffic benchmark on $(nproc) cores, $(uname -r); tshark $(tshark --version | head -1 | cut -d' ' -f3)"
  hostile
  exit 0
fi
if [ "${ONLY:-}" = real ]; then
  echo "wirenote real-traffic benchmark on $(nproc) cores, $(uname -r); tshark $(tshark --version | head -1 | cut -d' ' -f3)"
  report_real
  exit 0
fi
if [ "${ONLY:-}" = batch ]; then
  echo "wirenote batch and Parquet benchmark on $(nproc) cores, $(uname -r)"
  parquet_vs_csv
  batch_scaling
  exit 0
fi
echo "wirenote benchmark on $(nproc) cores, $(uname -r); tshark $(tshark --version | head -1 | cut -d' ' -f3)"
report_kind short
report_kind keepalive
rm -f "$WORK"/short.pcap "$WORK"/keepalive.pcap
if [ -n "${REAL:-}" ]; then report_real; fi
parquet_vs_csv
batch_scaling
if [ "${MEMORY:-1}" = 1 ]; then memory; fi
if [ "${HOSTILE:-1}" = 1 ]; then hostile; fi
