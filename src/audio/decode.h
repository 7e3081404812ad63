/*
 * decode.h — any audio container/codec FFmpeg can read → mono int16 PCM.
 *
 *   struct audio_decode_params p = audio_decode_default_params();
 *   struct pcm pcm;
 *   struct parley_error err = {0};
 *   if (audio_decode_file("call.m4a", &p, &pcm, &err) != PARLEY_OK)
 *       fprintf(stderr, "%s\n", err.msg); // "call.m4a: no audio stream"
 *   ... use pcm.samples[0 .. pcm.n) at pcm.rate ...; pcm_release(&pcm);
 *
 * What comes out
 *   All channels are downmixed to one: channel layouts FFmpeg knows use its
 *   normalised downmix matrix (stereo → (L+R)/2, 5.1 keeps the centre strong);
 *   layouts without a known channel order get an equal-weight average. The
 *   result is resampled to p->rate. Sample 0 is the first sample the file
 *   presents: encoder delay / priming samples (MP3 LAME tag, AAC edit lists,
 *   Opus pre-skip) and end padding are trimmed by libavcodec, so a click at
 *   1.000 s in the original is at 1.000 s here (measured for mp3, aac/m4a,
 *   vorbis, opus and flac; see tests/unit/test_audio.c). A stream whose first
 *   timestamp is not 0 is not padded with silence.
 *
 * What is accepted
 *   The format is found by content sniffing; the file name's extension is
 *   only a weak hint, so an mp3 named "x.wav" decodes. Only demuxers that
 *   carry audio are allowed (wav, mp3, ogg, flac, mp4/m4a, matroska/webm,
 *   aac, aiff, caf, amr, asf/wma, avi, mpeg-ps/ts, ...). Images, subtitles,
 *   playlists (hls, dash, concat), SDP/RTP and other demuxers that would
 *   open further files or network connections are refused, and the input is
 *   read only through parley's own I/O, so no FFmpeg protocol (http:, pipe:,
 *   concat:) is ever interpreted from a path.
 *
 * Errors (every message names the file and, where there is one, gives
 * FFmpeg's reason in parentheses)
 *   PARLEY_ERR_IO        the file cannot be opened or read ("x.wav: cannot
 *                        open (No such file or directory)")
 *   PARLEY_ERR_EMPTY     0 bytes ("x.wav: file is empty (0 bytes)"); a
 *                        valid container that decodes to 0 samples
 *                        ("contains no audio samples"); a media file with no
 *                        audio stream ("video.mp4: no audio stream")
 *   PARLEY_ERR_AUDIO     not audio ("notes.txt: not an audio file (ffmpeg:
 *                        Invalid data found when processing input)"), an
 *                        image or other non-audio format ("photo.png: not an
 *                        audio file (detected format: piped png sequence)"),
 *                        an unsupported codec, a broken container ("cut.m4a:
 *                        damaged or incomplete mov file (ffmpeg: ...)"), or a
 *                        stream where most packets fail to decode ("x.mp3:
 *                        truncated or corrupt audio after 2.1 s (ffmpeg: ...)")
 *   PARLEY_ERR_TOO_LARGE longer than p->max_seconds
 *   PARLEY_ERR_INVALID   bad arguments (NULL, rate outside 1000..384000)
 *   PARLEY_ERR_ABORTED   p->abort returned true
 *   PARLEY_ERR_NOMEM     allocation failed
 *
 * Truncated and damaged files (decision)
 *   A file whose container header is intact but whose data stops early (a
 *   WAV or MP3 cut in half, an upload cut off, a recorder that crashed
 *   before fixing the header) decodes to the audio that is there and
 *   returns PARLEY_OK: losing a whole recording because its tail is missing
 *   is worse than a shorter transcript. Packets that fail to decode are
 *   skipped as long as they are at most half of the audio packets read;
 *   beyond that, or when nothing decodes at all, the call fails with
 *   PARLEY_ERR_AUDIO ("truncated or corrupt audio after N s", "corrupt
 *   audio, nothing could be decoded"). A file whose container or codec
 *   header cannot be parsed (cut inside the header, an mp4 whose moov box
 *   is gone, a short Ogg cut inside its Vorbis setup header) fails with
 *   PARLEY_ERR_AUDIO "damaged or incomplete ... file". When the header
 *   states how much audio there should be and the file holds less, the
 *   decode still succeeds and p->warn is told ("cut.wav: the WAV header
 *   promises 10.0 s of audio but the file holds 5.0 s; the 5.0 s present
 *   were decoded"). Callers that must know an upload was complete check the
 *   byte count themselves.
 *
 * Known timing limits (measured, not corrected): files that carry no
 *   delay information keep the encoder's priming: MP3 without a LAME/Xing
 *   tag (written to a pipe) +25 ms, raw ADTS .aac and AAC in Matroska
 *   +23 ms; an Ogg Vorbis file of one page (under ~1 s) may be up to 12 ms
 *   off in length.
 *
 * Thread safety: every call has its own FFmpeg contexts; calls may run in
 * parallel from any number of threads. FFmpeg's own log output is silenced
 * once per process (av_log_set_level(AV_LOG_QUIET)).
 */
#ifndef PARLEY_AUDIO_DECODE_H
#define PARLEY_AUDIO_DECODE_H

#include <stdbool.h>
#include <stddef.h>

#include "audio/pcm.h"
#include "util/error.h"

struct audio_decode_params {
	int rate;           /* output samples per second; default PCM_RATE (16000) */
	double max_seconds; /* longer output → PARLEY_ERR_TOO_LARGE; default 4 h */
	/*
	 * Optional, default NULL. abort is polled while reading and decoding;
	 * returning true stops the call with PARLEY_ERR_ABORTED. progress is
	 * called after every 60 s of decoded output with the seconds so far.
	 * Both run on the calling thread.
	 */
	bool (*abort)(void *user_data);
	void (*progress)(double seconds_done, void *user_data);
	/*
	 * Optional, default NULL. Called (on the calling thread, before the
	 * call returns PARLEY_OK) with a sentence naming the file when the
	 * input decodes but holds less than its header promises: a WAV whose
	 * data chunk size runs past the end of the file by more than 10 ms of
	 * audio, or a container that
	 * states a duration (FLAC STREAMINFO, an MP3 Xing/LAME tag, an mp4
	 * sample table) more than AUDIO_DECODE_SHORT_S and 2% longer than what
	 * decoded. The audio that is there is returned as usual.
	 */
	void (*warn)(const char *message, void *user_data);
	void *user_data;
	/* audio_decode_file_channels() only: keep at most this many source
	 * channels (the first ones); default and maximum
	 * AUDIO_DECODE_CHANNELS_MAX. */
	int max_channels;
	/* Source sample rates below this are refused with PARLEY_ERR_AUDIO
	 * (a 1 Hz WAV of 28 KB would be hours of audio); default 0: any. */
	int min_source_rate;
};

#define AUDIO_DECODE_CHANNELS_MAX 8
#define AUDIO_DECODE_SHORT_S 0.5 /* shortfall below this is never reported */
#define AUDIO_DECODE_WARN_MAX 512 /* bytes of a warning sentence, NUL included */

/* The source's own channels, each one resampled to p->rate as mono PCM of
 * exactly the mix's length (ch[c].n == mix.n). n = 0 for a mono source. */
struct audio_channels {
	struct pcm ch[AUDIO_DECODE_CHANNELS_MAX];
	int n;
};

/* Free every channel and zero the struct. Accepts NULL. */
void audio_channels_release(struct audio_channels *c);

/* rate = 16000, max_seconds = 4 * 3600, no callbacks,
 * max_channels = AUDIO_DECODE_CHANNELS_MAX. */
struct audio_decode_params audio_decode_default_params(void);

/*
 * Decode the file at path to mono int16 at p->rate (p NULL = defaults).
 * On PARLEY_OK *out owns a malloc'd buffer (free with pcm_release()) with
 * out->n >= 1; on failure *out is zeroed and *err (if non-NULL) holds the
 * code and a sentence naming path.
 */
enum parley_err audio_decode_file(const char *path, const struct audio_decode_params *p,
				  struct pcm *out, struct parley_error *err);

/*
 * Same as audio_decode_file() from len bytes at data (not copied, not
 * modified; must stay valid during the call). name is used in messages and
 * as the extension hint ("chunk-7.webm"); NULL means "input".
 */
enum parley_err audio_decode_memory(const void *data, size_t len, const char *name,
				    const struct audio_decode_params *p, struct pcm *out,
				    struct parley_error *err);

/*
 * Same checks as audio_decode_memory() without keeping the audio: decodes,
 * counts the samples (memory: one frame's worth, whatever the length) and
 * gives *seconds at p->rate. Stops with PARLEY_ERR_TOO_LARGE as soon as the
 * count passes p->max_seconds. For upload checks.
 */
enum parley_err audio_decode_measure_memory(const void *data, size_t len, const char *name,
					    const struct audio_decode_params *p, double *seconds,
					    struct parley_error *err);

/*
 * Same as audio_decode_file(), and also keeps the channels of a source with
 * two or more (stereo call recordings: agent on one channel, customer on
 * the other): chans->ch[c] is source channel c alone (no downmix), resampled
 * to p->rate, for c < min(source channels, p->max_channels). A stream whose
 * channel count changes midway keeps the count of its first frame (channels
 * missing later are silent there); channels FFmpeg's resampler will not
 * keep apart give the mix alone (chans->n 0). On failure both *mix and
 * *chans are zeroed. Memory: (1 + channels) x the mix.
 */
enum parley_err audio_decode_file_channels(const char *path, const struct audio_decode_params *p,
					   struct pcm *mix, struct audio_channels *chans,
					   struct parley_error *err);
/* The same from memory (as audio_decode_memory()). */
enum parley_err audio_decode_memory_channels(const void *data, size_t len, const char *name,
					     const struct audio_decode_params *p, struct pcm *mix,
					     struct audio_channels *chans, struct parley_error *err);

#endif
