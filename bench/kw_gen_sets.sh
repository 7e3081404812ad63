#!/usr/bin/env bash
# bench/kw_gen_sets.sh — the generated conversations of the keyword benches
# (bench_keywords.sh, kw_tune.sh), sourced:
#   kw_gen_sets ROOT REF CLEAN NOISY N JOBS
# writes N 1.5-minute conversations of 2-3 speakers (tests/gen/gen_conversation.py,
# seeds 20001..20000+N, odd i 3 speakers) clean as CLEAN/cI.wav and with pink
# noise at 10 dB SNR as NOISY/nI.wav, their references (NAME.counts.csv, ...)
# in REF; JOBS generators at a time. PARLEY_GEN_CACHE is honoured.
kw_gen_sets() {
	local root=$1 ref=$2 clean=$3 noisy=$4 n=$5 jobs=$6 i spk
	mkdir -p "$ref" "$clean" "$noisy"
	for ((i = 1; i <= n; i++)); do
		spk=$((2 + i % 2))
		echo "--out $ref --name c$i --speakers $spk --minutes 1.5 --seed $((20000 + i)) --jobs 1 --quiet"
		echo "--out $ref --name n$i --speakers $spk --minutes 1.5 --seed $((20000 + i)) --noise pink --snr 10 --jobs 1 --quiet"
	done | xargs -P "$jobs" -L 1 python3 "$root/tests/gen/gen_conversation.py"
	mv "$ref"/c*.wav "$clean/"
	mv "$ref"/n*.wav "$noisy/"
}
