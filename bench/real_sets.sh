# shellcheck shell=bash
# bench/real_sets.sh — sourced by bench/bench_real.sh and bench/bench_accuracy.sh
# (and tests/integration/test_real_data.sh): the real recordings with speaker
# turns in ../shared/data, prepared for `parley run` + `parley eval`.
#
#   . bench/real_sets.sh
#   real_diar_sets DATA IN REF     # copies audio to IN/<name>.<ext>, writes REF/<name>.rttm (+ .uem)
#
# Every *.rttm under DATA counts: each recording it names (its file field)
# whose audio lies beside it as <field>.wav/.flac/.ogg/.mp3 is taken, with its
# turns and, when a *.uem in that folder names the recording, its scoring
# regions (AMI's debug.train.uem). Names: the folder's name when the RTTM
# names one recording (pyannote-sample, picovoice-3spk), else
# <folder>-<field> (ami-debug-train-trn00). A set added to DATA later is
# picked up without a change here. Prints one line per recording
# ("name<TAB>folder") on stdout.
real_diar_sets() {
	local data=$1 in=$2 ref=$3 rttm dir base fields field name audio ext
	mkdir -p "$in" "$ref"
	while IFS= read -r rttm; do
		dir=$(dirname "$rttm")
		base=$(basename "$dir")
		fields=$(awk '$1 == "SPEAKER" { print $2 }' "$rttm" | sort -u)
		for field in $fields; do
			audio=
			for ext in wav flac ogg mp3; do
				[ -f "$dir/$field.$ext" ] && { audio=$dir/$field.$ext; break; }
			done
			[ -n "$audio" ] || continue
			if [ "$(printf '%s\n' "$fields" | wc -l)" -eq 1 ]; then name=$base; else name=$base-$field; fi
			cp "$audio" "$in/$name.${audio##*.}"
			awk -v f="$field" -v n="$name" '$1 == "SPEAKER" && $2 == f { $2 = n; print }' "$rttm" >"$ref/$name.rttm"
			# shellcheck disable=SC2046
			cat /dev/null $(find "$dir" -maxdepth 1 -name '*.uem' | sort) |
				awk -v f="$field" -v n="$name" '$1 == f { $1 = n; print }' >"$ref/$name.uem"
			[ -s "$ref/$name.uem" ] || rm -f "$ref/$name.uem"
			printf '%s\t%s\n' "$name" "$base"
		done
	done < <(find "$data" -name '*.rttm' | sort)
}
