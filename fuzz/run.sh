#!/usr/bin/env bash
# Run every property-test target (each `proptest!` test in src/ and tests/) for a fixed time
# budget each, in rounds of PROPTEST_CASES random cases, and print iterations and findings
# per target. A property test doubles as a fuzz target here: cargo-fuzz needs a nightly
# compiler, which CI does not have; proptest runs on stable and shrinks what it finds.
#
#   fuzz/run.sh [BUDGET_SECONDS_PER_TARGET] [NAME_FILTER]
#
# Environment: FUZZ_CASES (cases per round, default 2000), FUZZ_PROFILE (dev, the default:
# overflow checks and debug assertions on, so arithmetic slips panic instead of wrapping; or
# release, faster), FUZZ_LOG_DIR (where failing rounds' output is kept; default a temp dir).
# Exit status: 0 when nothing was found, 1 when some target failed, 2 on a setup error.
# Turn a finding's minimal failing input into a plain unit test alongside its fix.
set -uo pipefail
cd "$(dirname "$0")/.."

budget=${1:-60}
filter=${2:-}
cases=${FUZZ_CASES:-2000}
profile=${FUZZ_PROFILE:-dev}
log_dir=${FUZZ_LOG_DIR:-$(mktemp -d -t portwatch-fuzz.XXXXXX)}
mkdir -p "$log_dir"
case $profile in
release) profile_flag=--release ;;
dev) profile_flag= ;;
*) echo "FUZZ_PROFILE must be release or dev" >&2; exit 2 ;;
esac

# Property tests: the fns inside `proptest! { ... }` blocks (brace depth tracked).
# Prints "FILE NAME" lines.
discover() {
    grep -rl --include='*.rs' 'proptest! *{' src tests | sort | while read -r file; do
        awk -v file="$file" '
            /proptest! *\{/ { inside = 1; depth = 0 }
            inside {
                if (match($0, /fn [A-Za-z0-9_]+ *\(/)) {
                    name = substr($0, RSTART + 3, RLENGTH - 3); sub(/ *\($/, "", name)
                    print file, name
                }
                n = gsub(/\{/, "{"); m = gsub(/\}/, "}"); depth += n - m
                if (depth <= 0 && (n + m) > 0) inside = 0
            }' "$file"
    done
}

# The test binary that holds the tests of FILE: the library for src/, tests/X.rs otherwise.
echo "building test binaries ($profile)..." >&2
build_start=$SECONDS
tests_args=()
# tests/X.rs and tests/X/*.rs (modules of tests/X.rs or of tests/X/main.rs) are test X.
for t in $(grep -rl --include='*.rs' 'proptest! *{' tests | sed -n 's|^tests/\([^/.]*\)[/.].*|\1|p' | sort -u); do
    tests_args+=(--test "$t")
done
artifacts=$(cargo test $profile_flag --no-run --message-format=json --lib "${tests_args[@]}" 2>"$log_dir/build.log") || {
    echo "build failed: see $log_dir/build.log" >&2
    exit 2
}
echo "built in $((SECONDS - build_start)) s" >&2
exe_for() {
    local src
    case $1 in
    src/*) src=src/lib.rs ;;
    tests/*/*)
        src=${1#tests/}
        src=tests/${src%%/*}.rs
        [ -f "$src" ] || src=${src%.rs}/main.rs
        ;;
    *) src=$1 ;;
    esac
    printf '%s\n' "$artifacts" | grep "\"src_path\":\"$PWD/$src\"" |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | head -n1
}

printf '%-72s %6s %10s  %s\n' TARGET ROUNDS CASES RESULT
total_cases=0
failures=0
while read -r file name; do
    [ -n "$filter" ] && [[ $name != *$filter* ]] && continue
    exe=$(exe_for "$file")
    if [ -z "$exe" ]; then
        echo "no test binary for $file" >&2
        exit 2
    fi
    # The full test path (module path in the library) from the binary's own list.
    full=$("$exe" --list --include-ignored 2>/dev/null | sed -n 's/: test$//p' |
        grep -E "(^|::)$name\$" | head -n1)
    if [ -z "$full" ]; then
        echo "$file: $name is not a test of $exe" >&2
        exit 2
    fi
    # Properties with a reduced case count (file I/O) declare it: ProptestConfig default / N.
    per_round=$cases
    if grep -q "cases: ProptestConfig::default().cases / 8" "$file" && [[ $name == label_store* ]]; then
        per_round=$((cases / 8 + 1))
    fi
    deadline=$((SECONDS + budget))
    rounds=0
    result=ok
    while [ "$SECONDS" -lt "$deadline" ]; do
        left=$((deadline - SECONDS))
        log="$log_dir/${name}.round$rounds.log"
        PROPTEST_CASES=$cases timeout "$((left > 0 ? left : 1))" \
            "$exe" --exact "$full" --include-ignored --test-threads=1 >"$log" 2>&1
        rc=$?
        if [ $rc -eq 0 ] && grep -q '1 passed' "$log"; then
            rounds=$((rounds + 1))
            rm -f "$log"
        elif [ $rc -eq 0 ]; then
            echo "$full did not run (see $log)" >&2
            exit 2
        elif [ $rc -eq 124 ]; then
            rm -f "$log" # budget ran out mid-round: not counted
            break
        else
            what=$(grep -m1 -o 'minimal failing input.*' "$log" || grep -m1 'panicked at' "$log")
            result="FOUND: $(printf '%s' "$what" | cut -c1-160) (log: $log)"
            failures=$((failures + 1))
            break
        fi
    done
    n=$((rounds * per_round))
    total_cases=$((total_cases + n))
    printf '%-72s %6d %10d  %s\n' "$file::$name" "$rounds" "$n" "$result"
done < <(discover)
echo "total: $total_cases cases, $failures target(s) with findings; logs in $log_dir"
[ "$failures" -eq 0 ]
