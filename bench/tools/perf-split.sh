#!/bin/sh
# Where a server's CPU time goes, whole: Linux perf samples every thread of the process, in the
# host kernel and in user space, while wrk loads one URL; each sample is counted by where it
# landed (the host kernel, zcsim's JavaScript, Node's JavaScript, V8's collector and compiler,
# the rest of the node binary, libc) and printed as CPU µs per response.
# Start the server under `node --perf-basic-prof` so that perf can name JIT-compiled functions.
# Needs perf and wrk (apt-get install linux-perf wrk). Only 127.0.0.1 is loaded.
#   bench/tools/perf-split.sh PID URL [SECONDS]
set -eu
PID=$1
URL=$2
SECONDS_MEASURED=${3:-5}
case $URL in http://127.0.0.1:*|https://127.0.0.1:*) ;; *) echo "perf-split: URL must be on 127.0.0.1" >&2; exit 2 ;; esac
DATA=$(mktemp /tmp/perf-split.XXXXXX)
trap 'rm -f "$DATA" "$DATA.total" "$DATA.rows"' EXIT
HZ=2999
wrk -t1 -c32 -d2 "$URL" > /dev/null
perf record -F $HZ -g -p "$PID" -o "$DATA" -- sleep "$SECONDS_MEASURED" > /dev/null 2>&1 &
RECORDER=$!
RESPONSES=$(wrk -t1 -c32 -d"$SECONDS_MEASURED" "$URL" | awk '/requests in/ { print $1 }')
wait $RECORDER
perf script -i "$DATA" 2> /dev/null | awk -v n="$RESPONSES" -v hz=$HZ -v summary="$DATA.total" '
  BEGIN { RS = "" }
  {
    split($0, frame, "\n"); top = frame[2]; total++
    if (top ~ /kernel.kallsyms/) where = "host kernel (system time)"
    else if (top ~ /perf-[0-9]+\.map/) {
      if (top ~ /dist\/src\//) where = "zcsim JavaScript"
      else if (top ~ /node:/) where = "Node JavaScript (streams, net, timers)"
      else where = "other JavaScript"
    }
    else if (top ~ /\/node( |\))/ || top ~ /bin\/node/) {
      if (top ~ /Scaveng|Heap::|MarkCompact|Sweep|Evacuat/) where = "V8 garbage collector"
      else if (top ~ /compiler|Compile|Maglev|Turbofan/) where = "V8 compiler"
      else where = "V8 builtins, Node and libuv (native)"
    }
    else if (top ~ /libc/) where = "libc"
    else where = "other"
    count[where]++
  }
  END {
    printf "%d responses, %.0f µs of CPU per response (%d samples)\n", n, total / hz / n * 1e6, total > summary
    for (w in count) printf "  %8.0f µs  %5.1f%%  %s\n", count[w] / hz / n * 1e6, 100 * count[w] / total, w
  }' | sort -rn > "$DATA.rows"
cat "$DATA.total" "$DATA.rows"
