/*
 * wav.h — 16-bit PCM mono WAV files: parley's own cut and cache format.
 *
 *   struct parley_error err = {0};
 *   wav_write("seg-3.wav", &pcm, &err);                 // whole buffer
 *   wav_write_range("seg-4.wav", &pcm, 16000, 48000, &err); // 1.0 s .. 3.0 s
 *   struct pcm back;
 *   if (wav_read("seg-3.wav", &back, &err) == PARLEY_OK) pcm_release(&back);
 *
 * Writes are atomic (fs_write_atomic_stream, util/fs.h): the file is
 * written to a unique temporary name, fsync'd and renamed over path (then
 * the directory is fsync'd), so a reader sees the old file or the complete
 * new one, never a partial one. On failure the temporary file is removed
 * and path is untouched.
 *
 * wav_read() is a fast, strict reader for the files wav_write() produces,
 * not a general WAV decoder (use audio_decode_file() for arbitrary input).
 * It requires "RIFF"/"WAVE", a "fmt " chunk with format tag 1 (PCM), one
 * channel, 16 bits, consistent block align and byte rate, then a "data"
 * chunk whose size is even and fits in the file. Other chunks (LIST, fact)
 * before "data" are skipped. Anything else fails with PARLEY_ERR_AUDIO and
 * a sentence naming the file and what is wrong.
 *
 * All functions are thread-safe (no shared state).
 */
#ifndef PARLEY_AUDIO_WAV_H
#define PARLEY_AUDIO_WAV_H

#include <stddef.h>

#include "audio/pcm.h"
#include "util/error.h"

/*
 * Write all of pcm to path. Returns PARLEY_OK; PARLEY_ERR_INVALID (NULL
 * arguments, rate <= 0); PARLEY_ERR_TOO_LARGE (data over 4 GiB, the WAV
 * limit); PARLEY_ERR_IO (create/write/fsync/rename failed, e.g. disk full).
 * A buffer with 0 samples writes a valid, empty WAV file.
 */
enum parley_err wav_write(const char *path, const struct pcm *pcm, struct parley_error *err);

/*
 * Write samples [from, to) of pcm to path (a cut). PARLEY_ERR_INVALID when
 * from > to or to > pcm->n; otherwise as wav_write().
 */
enum parley_err wav_write_range(const char *path, const struct pcm *pcm, size_t from, size_t to,
				struct parley_error *err);

/*
 * Read a 16-bit mono PCM WAV file into *out (free with pcm_release()). A file
 * with an empty data chunk gives PARLEY_OK, out->n == 0, out->samples NULL.
 * Errors: PARLEY_ERR_IO (cannot open/read), PARLEY_ERR_AUDIO (not the strict
 * format above, or truncated), PARLEY_ERR_NOMEM. On failure *out is zeroed.
 */
enum parley_err wav_read(const char *path, struct pcm *out, struct parley_error *err);

#endif
