# shellcheck shell=bash
# bench/real_asr_sets.sh — sourced by bench/bench_real_words.sh,
# bench/bench_keywords.sh and tests/integration/test_real_words.sh: the real
# English recordings in ../shared/data, prepared for `parley run`.
#
#   . bench/real_asr_sets.sh
#   real_asr_sets DATA IN REF      # single-speaker read speech with a transcript:
#                                  # IN/<name>.<ext>, REF/<name>.txt (+ a 1-speaker REF/<name>.rttm)
#   real_free_sets DATA IN         # every real English recording in which nobody says a
#                                  # Singlish target: the ASR set above plus the meetings
#                                  # and the keyword list (no transcript needed)
#   asterisk_sets DIR IN [N]       # Debian's asterisk-core-sounds-en-wav IVR prompts
#                                  # (8 kHz, one speaker), every N-th file (default all)
#
# Each prints one line per recording, "name<TAB>source" (source: the folder
# the figures are grouped by). Files are copied unchanged, except that the
# headerless s16le 16 kHz .raw files get a WAV header. Left out everywhere:
# the call-centre call and the Singlish snippets (no human reference, and
# they may hold Singlish words), and the leopard diarization clip (it is the
# falcon clip again).

# name, audio, transcript text, source
_ras_add() {
	[ "$2" -ef "$_RAS_IN/$1.${2##*.}" ] || cp "$2" "$_RAS_IN/$1.${2##*.}"
	if [ -n "$_RAS_REF" ]; then
		printf '%s\n' "$3" >"$_RAS_REF/$1.txt"
		echo "SPEAKER $1 1 0.000 0.100 <NA> <NA> spk1 <NA> <NA>" >"$_RAS_REF/$1.rttm"
	fi
	printf '%s\t%s\n' "$1" "$4"
}

real_asr_sets() {
	local data=$1 asr=$1/asr line n text f
	_RAS_IN=$2
	_RAS_REF=${3:-}
	mkdir -p "$_RAS_IN" ${_RAS_REF:+"$_RAS_REF"}
	_ras_add arctic-a0024 "$asr/deepspeech-arctic-a0024/arctic_a0024.wav" \
		"$(cat "$asr/deepspeech-arctic-a0024/arctic_a0024.ref.txt")" arctic
	_ras_add ldc93s1 "$asr/deepspeech-ldc93s1/LDC93S1.wav" \
		"$(cut -d' ' -f3- "$asr/deepspeech-ldc93s1/LDC93S1.txt")" timit
	_ras_add ldc93s1-8k "$asr/deepspeech-ldc93s1/LDC93S1_pcms16le_1_8000.wav" \
		"$(cut -d' ' -f3- "$asr/deepspeech-ldc93s1/LDC93S1.txt")" timit-8k
	_ras_add librispeech-2412 "$asr/lhotse-librispeech-2412/2412-153948-0000.flac" \
		"$(cut -d' ' -f2- "$asr/lhotse-librispeech-2412/2412-153948-0000.ref.txt")" librispeech
	_ras_add leopard-en "$asr/picovoice-leopard-en/test.wav" \
		"$(cat "$asr/picovoice-leopard-en/test.ref.txt")" librispeech
	for n in LJ002-0020 LJ002-0035; do
		_ras_add "ljspeech-$n" "$asr/lhotse-ljspeech/$n.wav" \
			"$(grep "^$n " "$asr/lhotse-ljspeech/ljspeech.ref.txt" | cut -d' ' -f2-)" ljspeech
	done
	_ras_add forever "$asr/pocketsphinx-forever/input_2_16k.wav" \
		"$(cat "$asr/pocketsphinx-forever/input_2_16k.ref.txt")" pocketsphinx-cmd
	for n in goforward:pocketsphinx-goforward/goforward tidigits-dhd:pocketsphinx-tidigits-dhd/dhd.2934z; do
		sox -t raw -r 16000 -e signed -b 16 -c 1 "$asr/${n#*:}.raw" "$_RAS_IN/${n%%:*}.wav"
		local src=pocketsphinx-cmd
		[ "${n%%:*}" = tidigits-dhd ] && src=tidigits
		_ras_add "${n%%:*}" "$_RAS_IN/${n%%:*}.wav" "$(cat "$asr/${n#*:}.ref.txt")" "$src"
	done
	while read -r line; do # "<s> words </s> (id)"
		n=$(sed 's/.*(\(.*\))$/\1/' <<<"$line")
		_ras_add "librivox-${n##*-}" "$asr/pocketsphinx-librivox/$n.wav" \
			"$(sed 's/<s>\(.*\)<\/s>.*/\1/' <<<"$line")" librivox
	done <"$asr/pocketsphinx-librivox/transcription"
	while read -r line; do
		n=$(sed 's/.*(\(.*\))$/\1/' <<<"$line")
		_ras_add "cards-$n" "$asr/pocketsphinx-cards/$n.wav" \
			"$(sed 's/<s>\(.*\)<\/s>.*/\1/' <<<"$line")" pocketsphinx-cmd
	done <"$asr/pocketsphinx-cards/cards.transcription"
	while read -r n text; do
		_ras_add "harvard-$n" "$asr/speechbrain-harvard-2spk/$n.wav" "$text" harvard
	done < <(grep -v '^#' "$asr/speechbrain-harvard-2spk/harvard.ref.txt")
	for f in "$data"/telephone/osr-harvard-8k/*.wav; do
		_ras_add "osr-8k" "$f" "$(cat "${f%.wav}.ref.txt")" osr-8k
	done
	while IFS=$'\t' read -r n text; do
		_ras_add "vctk-$n" "$data/accent/vctk-8utt/$n.flac" "$text" vctk
	done <"$data/accent/vctk-8utt/vctk.ref.txt"
}

real_free_sets() {
	local data=$1 f n
	real_asr_sets "$data" "$2" ""
	_RAS_REF=
	_ras_add stereo-2spk "$data/asr/fasterwhisper-stereo-2spk/stereo_diarization.wav" "" stereo-2spk
	_ras_add porcupine-keywords "$data/asr/picovoice-porcupine-keywords/multiple_keywords.wav" "" porcupine
	_ras_add pyannote-sample "$data/diarization/pyannote-sample/sample.wav" "" pyannote
	_ras_add picovoice-falcon "$data/diarization/picovoice-3spk/falcon_test.wav" "" picovoice-3spk
	for f in "$data"/diarization/ami-debug-train/trn*.wav; do
		n=$(basename "$f" .wav)
		_ras_add "ami-$n" "$f" "" ami
	done
}

asterisk_sets() {
	local dir=$1 every=${3:-1} i=0 f
	_RAS_IN=$2
	_RAS_REF=
	mkdir -p "$_RAS_IN"
	while IFS= read -r f; do
		if [ $((i % every)) = 0 ]; then
			_ras_add "ast-$(basename "$f" .wav)" "$f" "" asterisk-8k
		fi
		i=$((i + 1))
	done < <(find "$dir" -maxdepth 1 -name '*.wav' | LC_ALL=C sort)
}
