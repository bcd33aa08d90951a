#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan) and
# runs each for a bounded time from its seed corpus. A crash, a sanitizer
# report, a leak or a timeout fails the run; the input is left in
# $FUZZ_OUT/<target>/ to be kept in tests/fuzz/regressions/<target>/.
#
#   tools/fuzz-ci.sh            60 s per target
#   FUZZ_SECONDS=600 tools/fuzz-ci.sh
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD:-build-fuzz}
out=${FUZZ_OUT:-$build/fuzz-out}
targets="envelope pbjson csv rules"

if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" -Dfuzz=true \
		-Db_sanitize=address,undefined \
		-Dc_args=-fsanitize=fuzzer-no-link -Db_lundef=false >/dev/null
fi
for t in $targets; do
	meson compile -C "$build" "tests/fuzz/fuzz_$t" >/dev/null
done

failed=""
for t in $targets; do
	work="$out/$t"
	rm -rf "$work" && mkdir -p "$work/corpus"
	echo "fuzz_$t: ${seconds}s"
	# The seed corpus is read, never written: new inputs go to $work.
	if ! "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" \
		-rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
		-artifact_prefix="$work/" "$work/corpus" \
		"tests/fuzz/corpus/$t" >"$work/log" 2>&1; then
		failed="$failed $t"
		grep -E -A 30 '^==[0-9]+==|^SUMMARY|ERROR: libFuzzer' \
			"$work/log" | head -60 || true
		ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* \
			"$work"/oom-* 2>/dev/null || true
	fi
	grep -E '^stat::number_of_executed_units|^Done ' "$work/log" || true
done
nfailed=$(echo $failed | wc -w)
ntargets=$(echo $targets | wc -w)
if [ -n "$failed" ]; then
	echo "fuzz failed:$failed (inputs in $out)"
	echo "fuzz: $((ntargets - nfailed)) passed, $nfailed failed"
	exit 1
fi
echo "all fuzz targets ran ${seconds}s each without a finding"
echo "fuzz: $ntargets passed, 0 failed"
