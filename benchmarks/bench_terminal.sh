#!/usr/bin/env bash
# First frame and idle CPU, measured black-box in a real pty (tmux), the way the product is
# judged: with the terminal tools of the workplace (TOOLS, default ../shared/tools), which time
# the first frame against a hello-world Textual app started the same way.
# usage: bash benchmarks/bench_terminal.sh   (writes benchmarks/results/terminal.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=${TOOLS:-../shared/tools}
BIN=$PWD/.venv/bin
OUT=benchmarks/results/terminal.txt
PORT=8791
# Bytecode as an installed wheel has it (pip compiles at install), and as the hello-world app's
# Textual has it: where PYTHONDONTWRITEBYTECODE is set and this checkout has no __pycache__,
# every start would compile our modules from source (about 45 ms before the first frame).
"$BIN/python" -m compileall -q ratelimit_tui >/dev/null
{
  echo "# first frame, demo mode (no key): ratelimit-tui vs hello-world Textual"
  EMPTY=$(mktemp -d)  # nothing remembered: the first frame waits for a response
  python3 "$TOOLS/tui_first_frame.py" --runs 11 --expect 'Waiting for the first' \
    --env RATELIMIT_TUI_DATA_DIR="$EMPTY" --vs-expect HELLO-READY --vs "$BIN/python" "$TOOLS/hello_textual.py" -- "$BIN/ratelimit-tui" | tail -3
  echo "# first gauge with numbers, demo mode, nothing remembered: ratelimit-tui vs hello-world's first frame"
  FRESH=$(mktemp -d)  # a data directory per run ($$: the run's shell): each run is a first run
  python3 "$TOOLS/tui_first_frame.py" --runs 11 --expect 'requests / min.* \d+ / \d+' \
    --vs-expect HELLO-READY --vs "$BIN/python" "$TOOLS/hello_textual.py" \
    -- "RATELIMIT_TUI_DATA_DIR=$FRESH/\$\$ exec $BIN/ratelimit-tui" | tail -3
  echo "# idle CPU, demo mode: embedded simulator, 2 teammates, polling every 10 s"
  python3 "$TOOLS/tui_idle_cpu.py" --expect 'requests / min' --settle 3 --measure 30 \
    -- "$BIN/ratelimit-tui" | tail -2
  echo "# idle CPU, real endpoint (a separate simulator), countdowns ticking, no polling"
  "$BIN/ratelimit-tui" sim --port $PORT --rpm 2 --latency-ms 0 >/dev/null 2>&1 &
  SIM=$!
  trap 'kill $SIM 2>/dev/null' EXIT
  sleep 1.5
  python3 "$TOOLS/tui_idle_cpu.py" --expect 'resets in [23]\d' --settle 1 --measure 20 \
    --env OPENAI_API_KEY=sk-bench --env RATELIMIT_TUI_DATA_DIR=/tmp/rlt-bench \
    -- "$BIN/ratelimit-tui" --base-url http://127.0.0.1:$PORT/v1 --poll 600 | tail -2
  echo "# first frame with the last run's snapshot remembered (its gauges in it) vs with none"
  MEMORY=$(mktemp -d)
  OPENAI_API_KEY=sk-bench RATELIMIT_TUI_DATA_DIR="$MEMORY" \
    "$BIN/ratelimit-tui" probe --base-url http://127.0.0.1:$PORT/v1 >/dev/null
  python3 "$TOOLS/tui_first_frame.py" --runs 11 --expect 'requests / min' \
    --env OPENAI_API_KEY=sk-bench --env RATELIMIT_TUI_DATA_DIR="$MEMORY" \
    --vs-expect 'Waiting for the first' --vs-env OPENAI_API_KEY=sk-bench \
    --vs-env RATELIMIT_TUI_DATA_DIR="$MEMORY/none" \
    --vs "$BIN/ratelimit-tui" --base-url http://127.0.0.1:$PORT/v1 \
    -- "$BIN/ratelimit-tui" --base-url http://127.0.0.1:$PORT/v1 | tail -3
  echo "# 10 endpoints (simulators in one other process): the overview's first frame vs hello-world"
  CONFIG=$(mktemp -d)
  coproc SIMS { "$BIN/python" benchmarks/sims.py 10 --rpm 2; }
  for i in $(seq 0 9); do
    read -r url <&"${SIMS[0]}"
    printf '[endpoints.sim%s]\nbase_url = "%s"\npoll = 600\n' "$i" "$url" >> "$CONFIG/config.toml"
  done
  python3 "$TOOLS/tui_first_frame.py" --runs 11 --expect 'every endpoint' \
    --env RATELIMIT_TUI_CONFIG="$CONFIG/config.toml" --env RATELIMIT_TUI_DATA_DIR="$CONFIG" \
    --vs-expect HELLO-READY --vs "$BIN/python" "$TOOLS/hello_textual.py" -- "$BIN/ratelimit-tui" | tail -3
  echo "# idle CPU, 10 endpoints, the overview's countdowns ticking (one timer), polls every 600 s"
  python3 "$TOOLS/tui_idle_cpu.py" --expect 'resets in [23]\d' --settle 1 --measure 20 \
    --env RATELIMIT_TUI_CONFIG="$CONFIG/config.toml" --env RATELIMIT_TUI_DATA_DIR="$CONFIG" \
    -- "$BIN/ratelimit-tui" | tail -2
} | tee "$OUT"
