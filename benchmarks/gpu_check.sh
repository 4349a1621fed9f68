#!/usr/bin/env bash
# One-command GPU check of drot: install the carried wheels, build drot._C with CUDA, run the CUDA
# and parity tests, the speed figures and the paper's KITTY protocol, within a time budget.
#
#     bash benchmarks/gpu_check.sh [--dry-run] [--out DIR] [--budget SECONDS] [--wheels DIR] [--bundle DIR]
#
#   --dry-run         every step that can run on a CPU, at tiny sizes (CI runs it: tests/test_gpu_check.py)
#   --out DIR         every log and figure goes here (default drot-results/gpu-check-<UTC time>); must be
#                     new or empty
#   --budget SECONDS  total time (default 480 = 8 min); a step gets what is left (up to its own cap) and
#                     is stopped at that; steps that no longer fit are skipped with a note
#   --wheels DIR      the wheels from benchmarks/prepare_gpu_check.sh (default wheels/gpu)
#   --bundle DIR      at the end, also write DIR/gpu-check.tar.gz (the whole --out folder) and DIR/summary.md
#                     (two files: what the device tool brings back from $OUT)
#
# Steps (each logged to DIR/<step>.log; DIR/summary.md gets a row per step as it finishes):
#   env         nvidia-smi, nvcc, cmake, Python, torch and its CUDA, the packages
#   install     pip install --no-index --no-deps of the carried wheels drot lacks (never torch);
#               --dry-run: pip install --dry-run of them (offline resolution only)
#   build       python3 -m drot.build_extension --cuda on   (--dry-run: --cuda off, in a copy of the sources)
#   backends    drot._C's status; builds nvdiffrast's CUDA plugin (nvcc + ninja) so later timings exclude it
#   pytest      tests/test_cuda.py tests/test_extension.py tests/test_backends.py (the CUDA and parity tests;
#               --dry-run: tests/test_cuda.py, which skips)
#   device_speed  benchmarks/device_speed.py --device cuda (it/s, one matching 128²/256²/512², the op)
#   bench       drot-bench --scene kitty --device cuda: the paper's protocol (10 seeds x 1000 it. x 128²,
#               DROT-hybrid and L2), into DIR/kitty/
#   multistart  batched multi-start throughput (starts 1, 8, 64 at 128²) via benchmarks/multistart_speed.py,
#               skipped while drot has no batched multi-start
#   targets     the figures against the targets, appended to summary.md, printed at the end
# Exit code: 0 when no step failed, timed out or was skipped for the budget (a missed target is
# reported as MISSED in the summary, not in the exit code); 1 otherwise; 2 for bad arguments.
set -euo pipefail

DRY_RUN=0
OUT_DIR=""
BUDGET=480
WHEELS=wheels/gpu
BUNDLE=""
usage() { sed -n '2,31p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "gpu_check.sh: $*" >&2; exit 2; }
while (($#)); do
    case $1 in
        --dry-run) DRY_RUN=1; shift ;;
        --out) OUT_DIR=${2:-}; [[ -n $OUT_DIR ]] || die "--out needs a folder"; shift 2 ;;
        --budget) BUDGET=${2:-}; shift 2
                  [[ $BUDGET =~ ^[0-9]+$ ]] && ((BUDGET >= 30)) || die "--budget $BUDGET: a whole number of seconds >= 30" ;;
        --wheels) WHEELS=${2:-}; [[ -n $WHEELS ]] || die "--wheels needs a folder"; shift 2 ;;
        --bundle) BUNDLE=${2:-}; [[ -n $BUNDLE ]] || die "--bundle needs a folder"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
done
command -v timeout >/dev/null || die "needs GNU timeout (coreutils)"

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
PY=${PYTHON:-python3}
OUT_DIR=${OUT_DIR:-drot-results/gpu-check-$(date -u +%Y%m%d-%H%M%S)}
if [[ -e $OUT_DIR && -n $(ls -A "$OUT_DIR" 2>/dev/null) ]]; then
    die "--out $OUT_DIR exists and is not empty: give a new folder"
fi
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/drot-gpu-check.XXXXXX")
SITE=$WORK_DIR/site   # the install step's fallback target when the environment is not writable
export PYTHONPATH="$REPO:$SITE${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg
if ((DRY_RUN)); then
    MODE="dry run (CPU, tiny sizes)"
    export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}   # tiny sizes run fastest on one thread, also on a busy CI machine
else
    MODE="GPU"
fi

RESERVE=15      # seconds kept for the targets step and the bundle
MIN_STEP=20     # a step is not started with less than this left
FAILED=0
FAILED_STEPS=()
SUMMARY=$OUT_DIR/summary.md
now_ms() { date +%s%3N; }
T0=$(now_ms)
elapsed() { echo $((($(now_ms) - T0) / 1000)); }

finish() {
    local rc=$?
    rm -rf "$WORK_DIR"
    if [[ -n $BUNDLE ]]; then
        mkdir -p "$BUNDLE"
        tar czf "$BUNDLE/gpu-check.tar.gz" -C "$(dirname "$OUT_DIR")" "$(basename "$OUT_DIR")" || true
        cp "$SUMMARY" "$BUNDLE/summary.md" 2>/dev/null || true
    fi
    exit "$rc"
}
trap finish EXIT

{
    echo "# drot GPU check: $MODE"
    echo
    commit=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
    if git status --porcelain 2>/dev/null | grep -q .; then commit="$commit (with local changes)"; fi
    echo "$(date -u '+%Y-%m-%d %H:%M:%S UTC'), host ${HOSTNAME:-?}, commit $commit, budget ${BUDGET} s, logs in $OUT_DIR/"
    echo
    echo "| step | status | seconds | key figures |"
    echo "| --- | --- | --- | --- |"
} >"$SUMMARY"
echo "drot GPU check ($MODE): budget ${BUDGET} s, output in $OUT_DIR/"

record() {  # step status seconds figures
    printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4" >>"$SUMMARY"
    printf '%-13s %-26s %6s s  %s\n' "$1" "$2" "$3" "$4"
}

# run_step NAME CAP COMMAND...: runs COMMAND with its output in NAME.log, stopped (SIGINT, then SIGKILL
# 15 s later) after min(CAP, what the budget leaves); exit 3 from COMMAND means skipped.
run_step() {
    local name=$1 cap=$2
    shift 2
    local left=$((BUDGET - $(elapsed) - ${STEP_RESERVE:-$RESERVE}))
    if ((left < ${STEP_MIN:-$MIN_STEP})); then
        record "$name" "skipped (budget)" 0 "skipped: ${left} s left of the ${BUDGET} s budget"
        FAILED=1
        return 0
    fi
    local limit=$((cap < left ? cap : left)) t=$(now_ms) rc=0 status
    ((limit >= 10)) || limit=10
    { printf '$'; printf ' %q' "$@"; printf '   (stopped after %s s)\n' "$limit"; } >"$OUT_DIR/$name.log"
    timeout -s INT -k 15 "$limit" "$@" >>"$OUT_DIR/$name.log" 2>&1 </dev/null || rc=$?
    local secs
    secs=$(awk -v ms=$(($(now_ms) - t)) 'BEGIN { printf "%.1f", ms / 1000 }')
    case $rc in
        0) status=ok ;;
        3) status=skipped ;;
        124|137) status="timed out (${limit} s)"; FAILED=1; FAILED_STEPS+=("$name") ;;
        *) status="failed (exit $rc)"; FAILED=1; FAILED_STEPS+=("$name") ;;
    esac
    record "$name" "$status" "$secs" "$("$PY" benchmarks/gpu_check_steps.py figures "$name" --out "$OUT_DIR" 2>&1 | tail -n 1)"
}

STEPS=(benchmarks/gpu_check_steps.py)
if ((DRY_RUN)); then
    run_step env 60 "$PY" "${STEPS[@]}" env --device cpu
    run_step install 60 "$PY" "${STEPS[@]}" install --wheels "$WHEELS" --site "$SITE" --dry-run
    if command -v cmake >/dev/null; then
        # Built in a copy of the sources, so the checkout's drot/_C (maybe loaded by a running test
        # session: the linker rewrites the file in place) is never touched.
        mkdir -p "$WORK_DIR/src"
        tar -C "$REPO" --exclude=__pycache__ --exclude='*.so' -cf - CMakeLists.txt drot | tar -C "$WORK_DIR/src" -xf -
        run_step build 240 env PYTHONPATH="$WORK_DIR/src" bash -c 'cd "$1" && exec "$2" -m drot.build_extension --cuda off' \
            build "$WORK_DIR/src" "$PY"
    else
        record build skipped 0 "skipped: cmake not found (pip install cmake ninja)"
    fi
    run_step backends 60 "$PY" "${STEPS[@]}" backends --device cpu
    # Only the CUDA tests (they skip here): the parity tests on the CPU already run in the suite.
    run_step pytest 120 "$PY" -m pytest -q -rfEs -p no:cacheprovider --junitxml="$OUT_DIR/pytest.xml" tests/test_cuda.py
    run_step device_speed 120 "$PY" benchmarks/device_speed.py --device cpu --iterations 5 --repeats 1 \
        --opt-resolutions 16 --match-resolutions 16 --op-resolutions 16 --json "$OUT_DIR/device_speed.json"
    run_step bench 120 "$PY" -m drot.eval.cli --scene kitty --device cpu --iterations 5 --seeds 1 \
        --resolution 16 --frames 0 --no-progress --out "$OUT_DIR/kitty"
    run_step multistart 60 "$PY" "${STEPS[@]}" multistart --device cpu --out "$OUT_DIR" --dry-run
else
    if ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then
        export PATH=/usr/local/cuda/bin:$PATH CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
    fi
    run_step env 60 "$PY" "${STEPS[@]}" env --device cuda
    if grep -q "no CUDA device visible" "$OUT_DIR/env.log"; then
        for step in install build backends pytest device_speed bench multistart; do
            record "$step" "skipped" 0 "skipped: no CUDA device (use --dry-run on a CPU machine)"
        done
        FAILED=1
    else
        run_step install 90 "$PY" "${STEPS[@]}" install --wheels "$WHEELS" --site "$SITE"
        run_step build 240 "$PY" -m drot.build_extension --cuda on
        run_step backends 240 "$PY" "${STEPS[@]}" backends --device cuda
        run_step pytest 180 "$PY" -m pytest -q -rfEs -p no:cacheprovider --junitxml="$OUT_DIR/pytest.xml" \
            tests/test_cuda.py tests/test_extension.py tests/test_backends.py
        # Medians of 5 timed repeats (its default on CUDA is 20): one 512² matching may take seconds.
        run_step device_speed 150 "$PY" benchmarks/device_speed.py --device cuda --repeats 5 \
            --json "$OUT_DIR/device_speed.json"
        # The paper's protocol: drot-bench's defaults on CUDA (10 seeds x 1000 it. x 128², both methods).
        run_step bench 300 "$PY" -m drot.eval.cli --scene kitty --device cuda --frames 0 --no-progress \
            --out "$OUT_DIR/kitty"
        run_step multistart 120 "$PY" "${STEPS[@]}" multistart --device cuda --out "$OUT_DIR"
    fi
fi

# The targets run whatever the budget left (at least 10 s): their table closes the summary.
STEP_RESERVE=0 STEP_MIN=-1000000 run_step targets 30 "$PY" "${STEPS[@]}" targets --out "$OUT_DIR" \
    $( ((DRY_RUN)) && echo --dry-run)
cat "$OUT_DIR/targets.md" >>"$SUMMARY" 2>/dev/null || echo "(no targets table: see $OUT_DIR/targets.log)" >>"$SUMMARY"
total=$(awk -v ms=$(($(now_ms) - T0)) 'BEGIN { printf "%.1f", ms / 1000 }')
echo "
total $total s of the ${BUDGET} s budget; $( ((FAILED)) && echo 'some steps failed, timed out or were skipped for the budget' || echo 'every step passed or was skipped by design')" >>"$SUMMARY"
for name in ${FAILED_STEPS[@]+"${FAILED_STEPS[@]}"}; do   # before the summary, so that the summary ends the output
    echo
    echo "---- $name failed: the end of $OUT_DIR/$name.log"
    tail -n 25 "$OUT_DIR/$name.log" | cut -c1-300
done
echo
cat "$SUMMARY"
exit "$FAILED"
