#!/usr/bin/env bash
# Mutation testing of the optimizers with cargo-mutants (pinned: 27.1.0).
#
# cargo-mutants changes one thing in the source at a time (a `+` into a `-`, a
# function body into a constant, a comparison into its opposite, ...), rebuilds,
# and runs the tests; a mutant that no test notices is "missed". Not in CI: a
# full run takes days on 2 cores (see docs/mutants.md for the measured times).
#
#   bash scripts/mutants.sh list                 count the mutants per folder
#   bash scripts/mutants.sh run [OPTIONS] [-- CARGO_TEST_ARGS]
#                                                test mutants of src/optim,
#                                                src/second_order, src/problems
#   bash scripts/mutants.sh report [LABEL...]    print a Markdown summary of the
#                                                runs in mutants.out/
#
# run options (anything else is passed to cargo mutants):
#   --label NAME     the run's name: output goes to mutants.out/NAME/mutants.out
#                    (default: all)
#   --file GLOB      mutate only these files (repeatable; default: the three
#                    folders)
#   --shard K/N      run only shard K of N (0-based), passed through, so that N
#                    machines (or N sessions) split the work
#   --timeout S      per-mutant test timeout in seconds (default 300; a mutant
#                    that loops forever is then reported as a timeout)
#   -j N             parallel jobs (default 1: each job builds its own copy)
# After `--`, arguments for `cargo test`, for example
#   -- --lib --test first_order --test exact
# to run only the test binaries that can catch the mutated file (much faster
# than the whole suite; docs/mutants.md says which binaries were used for which
# file and why they suffice).
#
# Environment: the build runs at `nice -n 19`, without debug info, in its own
# target directory target/mutants (kept between runs, so only the first run
# compiles the dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_MUTANTS_VERSION=27.1.0
FOLDERS=(src/optim src/second_order src/problems)

need_tool() {
    local have
    have=$(cargo mutants --version 2>/dev/null || true)
    if [ "$have" != "cargo-mutants $CARGO_MUTANTS_VERSION" ]; then
        echo "installing cargo-mutants $CARGO_MUTANTS_VERSION (found: '${have:-none}'; about 8 minutes on 2 cores)" >&2
        cargo install --locked "cargo-mutants@$CARGO_MUTANTS_VERSION" >&2
    fi
}

file_args() {
    for d in "${FOLDERS[@]}"; do
        printf -- '-f\n%s/**\n' "$d"
    done
}

list() {
    need_tool
    local all
    all=$(mapfile -t a < <(file_args); cargo mutants --list "${a[@]}")
    echo "mutants per folder (cargo-mutants $CARGO_MUTANTS_VERSION):"
    local total=0 n
    for d in "${FOLDERS[@]}"; do
        n=$(grep -c "^$d/" <<<"$all" || true)
        total=$((total + n))
        printf '  %-20s %5d\n' "$d" "$n"
    done
    printf '  %-20s %5d\n' total "$total"
    echo "per file:"
    cut -d: -f1 <<<"$all" | sort | uniq -c | sort -rn
}

run() {
    need_tool
    local label=all timeout=300 jobs=1 files=() pass=() test_args=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --label) label=$2; shift 2 ;;
            --file) files+=(-f "$2"); shift 2 ;;
            --shard) pass+=(--shard "$2"); shift 2 ;;
            --timeout) timeout=$2; shift 2 ;;
            -j) jobs=$2; shift 2 ;;
            --) shift; test_args=("$@"); break ;;
            *) pass+=("$1"); shift ;;
        esac
    done
    if [ ${#files[@]} -eq 0 ]; then
        mapfile -t files < <(file_args)
    fi
    mkdir -p "mutants.out/$label"
    # No debug info: smaller objects and faster links for every mutant.
    CARGO_PROFILE_DEV_DEBUG=0 CARGO_TARGET_DIR="$PWD/target/mutants" \
        nice -n 19 cargo mutants \
        "${files[@]}" \
        --output "mutants.out/$label" \
        --copy-target=false \
        --jobs "$jobs" \
        --timeout "$timeout" \
        --cap-lints=true \
        "${pass[@]}" \
        -- "${test_args[@]}"
}

report() {
    local labels=("$@")
    if [ ${#labels[@]} -eq 0 ]; then
        mapfile -t labels < <(ls mutants.out)
    fi
    python3 - "${labels[@]}" <<'EOF'
import json, sys, collections

print("| run | mutants | caught | missed | unviable | timeout | seconds per viable mutant | seconds per unviable mutant |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
survivors = []
totals = collections.Counter()
for label in sys.argv[1:]:
    path = f"mutants.out/{label}/mutants.out/outcomes.json"
    try:
        data = json.load(open(path))
    except FileNotFoundError:
        continue
    counts = collections.Counter()
    seconds = collections.defaultdict(list)
    for o in data["outcomes"]:
        if o["scenario"] == "Baseline":
            continue
        summary = o["summary"]
        counts[summary] += 1
        kind = "unviable" if summary == "Unviable" else "viable"
        seconds[kind].append(sum(p["duration"] for p in o["phase_results"]))
        if summary in ("MissedMutant", "Timeout"):
            survivors.append((label, summary, o["scenario"]["Mutant"]["name"]))
    totals.update(counts)
    mean = {k: sum(v) / len(v) for k, v in seconds.items()}
    n = sum(counts.values())
    print(f'| {label} | {n} | {counts["CaughtMutant"]} | {counts["MissedMutant"]} | {counts["Unviable"]} '
          f'| {counts["Timeout"]} | {mean.get("viable", 0):.0f} | {mean.get("unviable", 0):.0f} |')
viable = totals["CaughtMutant"] + totals["MissedMutant"] + totals["Timeout"]
if viable:
    print()
    print(f'Caught {totals["CaughtMutant"]} of {viable} viable mutants '
          f'({100 * totals["CaughtMutant"] / viable:.1f}%; a timeout counts as not caught).')
print()
print("Survivors (missed or timed out):")
print()
for label, summary, name in survivors:
    print(f"- `{name}` ({label}, {summary})")
EOF
}

case "${1:-}" in
    list) list ;;
    run) shift; run "$@" ;;
    report) shift; report "$@" ;;
    *)
        sed -n '2,25p' "$0" >&2
        exit 2
        ;;
esac
