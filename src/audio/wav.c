/* wav.c — see wav.h. */
#include "audio/wav.h"
#include "util/fs.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAV_HEADER_SIZE 44
#define WAV_MAX_RATE 768000
#define CHUNK_SAMPLES 16384 /* samples converted per write() */

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The samples to write: [0, n) of samples at rate. */
struct wav_body {
	const int16_t *samples;
	size_t n;
	int rate;
};

/* Header then samples, little-endian whatever the host. */
static enum parley_err write_wav(struct fs_out *out, void *user_data, struct parley_error *err)
{
	const struct wav_body *b = user_data;
	uint8_t h[WAV_HEADER_SIZE];
	uint32_t data_bytes = (uint32_t)(b->n * 2);
	memcpy(h, "RIFF", 4);
	put_le32(h + 4, 36 + data_bytes);
	memcpy(h + 8, "WAVEfmt ", 8);
	put_le32(h + 16, 16);               /* fmt chunk size */
	put_le16(h + 20, 1);                /* PCM */
	put_le16(h + 22, 1);                /* mono */
	put_le32(h + 24, (uint32_t)b->rate);
	put_le32(h + 28, (uint32_t)b->rate * 2); /* byte rate */
	put_le16(h + 32, 2);                /* block align */
	put_le16(h + 34, 16);               /* bits per sample */
	memcpy(h + 36, "data", 4);
	put_le32(h + 40, data_bytes);
	enum parley_err rc = fs_out_write(out, h, sizeof(h), err);

	uint16_t chunk[CHUNK_SAMPLES];
	for (size_t i = 0; i < b->n && !rc;) {
		size_t take = b->n - i < CHUNK_SAMPLES ? b->n - i : CHUNK_SAMPLES;
		for (size_t k = 0; k < take; k++)
			chunk[k] = htole16((uint16_t)b->samples[i + k]);
		rc = fs_out_write(out, chunk, take * 2, err);
		i += take;
	}
	return rc;
}

enum parley_err wav_write_range(const char *path, const struct pcm *pcm, size_t from, size_t to,
				struct parley_error *err)
{
	if (!path || !pcm)
		return parley_error_set(err, PARLEY_ERR_INVALID, "wav_write: no path or no audio given");
	if (pcm->rate <= 0 || pcm->rate > WAV_MAX_RATE)
		return parley_error_set(err, PARLEY_ERR_INVALID, "%s: invalid sample rate %d Hz", path,
					pcm->rate);
	if (from > to || to > pcm->n)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"%s: sample range %zu..%zu is outside the audio (0..%zu)", path,
					from, to, pcm->n);
	if (to > from && !pcm->samples)
		return parley_error_set(err, PARLEY_ERR_INVALID, "%s: audio has no sample buffer", path);
	size_t n = to - from;
	if (n > (UINT32_MAX - 36) / 2)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"%s: %zu samples exceed the 4 GiB WAV limit", path, n);
	struct wav_body body = {pcm->samples ? pcm->samples + from : NULL, n, pcm->rate};
	return fs_write_atomic_stream(path, write_wav, &body, err);
}

enum parley_err wav_write(const char *path, const struct pcm *pcm, struct parley_error *err)
{
	return wav_write_range(path, pcm, 0, pcm ? pcm->n : 0, err);
}

/* ---- reading ---- */

/* Read exactly len bytes; 1 on success, 0 on early EOF, -1 on error. */
static int read_exact(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len > 0) {
		ssize_t got = read(fd, p, len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		if (got == 0)
			return 0;
		p += got;
		len -= (size_t)got;
	}
	return 1;
}

struct wav_fmt {
	uint16_t tag, channels, block_align, bits;
	uint32_t rate, byte_rate;
};

static enum parley_err check_fmt(const char *path, const struct wav_fmt *f,
				 struct parley_error *err)
{
	if (f->tag != 1 || f->channels != 1 || f->bits != 16)
		return parley_error_set(err, PARLEY_ERR_AUDIO,
					"%s: not 16-bit mono PCM (format tag %u, %u channels, %u bits); "
					"decode it with audio_decode_file() instead",
					path, f->tag, f->channels, f->bits);
	if (f->rate == 0 || f->rate > WAV_MAX_RATE)
		return parley_error_set(err, PARLEY_ERR_AUDIO, "%s: invalid sample rate %u Hz", path,
					f->rate);
	if (f->block_align != 2 || f->byte_rate != f->rate * 2)
		return parley_error_set(err, PARLEY_ERR_AUDIO,
					"%s: inconsistent fmt chunk (block align %u, byte rate %u for %u Hz)",
					path, f->block_align, f->byte_rate, f->rate);
	return PARLEY_OK;
}

static enum parley_err read_wav_fd(int fd, const char *path, off_t file_size, struct pcm *out,
				   struct parley_error *err)
{
	uint8_t h[40];
	struct wav_fmt f = {0};
	bool have_fmt = false;
	int r = read_exact(fd, h, 12);
	if (r < 0)
		goto io_fail;
	if (r == 0 || memcmp(h, "RIFF", 4) != 0 || memcmp(h + 8, "WAVE", 4) != 0)
		return parley_error_set(err, PARLEY_ERR_AUDIO, "%s: not a WAV file (no RIFF/WAVE header)",
					path);
	uint32_t riff_size = get_le32(h + 4);
	if (riff_size < 4 || (off_t)riff_size + 8 > file_size)
		return parley_error_set(err, PARLEY_ERR_AUDIO,
					"%s: truncated WAV file (header says %lld bytes, file has %lld)",
					path, (long long)riff_size + 8, (long long)file_size);
	off_t end = (off_t)riff_size + 8;
	off_t pos = 12;

	for (;;) {
		if (pos + 8 > end)
			return parley_error_set(err, PARLEY_ERR_AUDIO, "%s: WAV file has no data chunk",
						path);
		r = read_exact(fd, h, 8);
		if (r < 0)
			goto io_fail;
		if (r == 0)
			return parley_error_set(err, PARLEY_ERR_AUDIO, "%s: truncated WAV chunk header",
						path);
		uint32_t size = get_le32(h + 4);
		pos += 8;
		if ((off_t)size > end - pos)
			return parley_error_set(err, PARLEY_ERR_AUDIO,
						"%s: truncated WAV file: '%.4s' chunk says %u bytes "
						"but only %lld remain", path, (const char *)h, size,
						(long long)(end - pos));
		if (memcmp(h, "data", 4) == 0) {
			if (!have_fmt)
				return parley_error_set(err, PARLEY_ERR_AUDIO,
							"%s: WAV data chunk comes before the fmt chunk", path);
			if (size % 2)
				return parley_error_set(err, PARLEY_ERR_AUDIO,
							"%s: WAV data chunk has an odd size (%u bytes)", path,
							size);
			size_t n = size / 2;
			int16_t *s = n ? malloc(n * sizeof(int16_t)) : NULL;
			if (n && !s)
				return parley_error_set(err, PARLEY_ERR_NOMEM,
							"%s: out of memory for %zu samples", path, n);
			r = n ? read_exact(fd, s, size) : 1;
			if (r <= 0) {
				free(s);
				if (r < 0)
					goto io_fail;
				return parley_error_set(err, PARLEY_ERR_AUDIO,
							"%s: WAV file ends inside its data chunk", path);
			}
			for (size_t i = 0; i < n; i++)
				s[i] = (int16_t)le16toh((uint16_t)s[i]);
			out->samples = s;
			out->n = n;
			out->rate = (int)f.rate;
			return PARLEY_OK;
		}
		uint32_t skip = size + (size & 1); /* chunks are word aligned */
		if (memcmp(h, "fmt ", 4) == 0) {
			if (have_fmt || size < 16 || size > sizeof(h))
				return parley_error_set(err, PARLEY_ERR_AUDIO,
							"%s: invalid WAV fmt chunk (%u bytes)", path, size);
			r = read_exact(fd, h, size);
			if (r < 0)
				goto io_fail;
			if (r == 0)
				return parley_error_set(err, PARLEY_ERR_AUDIO,
							"%s: truncated WAV fmt chunk", path);
			f.tag = get_le16(h);
			f.channels = get_le16(h + 2);
			f.rate = get_le32(h + 4);
			f.byte_rate = get_le32(h + 8);
			f.block_align = get_le16(h + 12);
			f.bits = get_le16(h + 14);
			enum parley_err rc = check_fmt(path, &f, err);
			if (rc)
				return rc;
			have_fmt = true;
			skip -= size;
		}
		pos += size + (size & 1);
		if (skip && lseek(fd, pos, SEEK_SET) < 0)
			goto io_fail;
	}

io_fail:
	return parley_error_set(err, PARLEY_ERR_IO, "%s: read failed (%s)", path, strerror(errno));
}

enum parley_err wav_read(const char *path, struct pcm *out, struct parley_error *err)
{
	struct stat st;
	if (!path || !out)
		return parley_error_set(err, PARLEY_ERR_INVALID, "wav_read: no path or no output given");
	memset(out, 0, sizeof(*out));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return parley_error_set(err, PARLEY_ERR_IO, "%s: cannot open (%s)", path,
					strerror(errno));
	enum parley_err rc;
	if (fstat(fd, &st) != 0)
		rc = parley_error_set(err, PARLEY_ERR_IO, "%s: cannot stat (%s)", path,
				      strerror(errno));
	else if (!S_ISREG(st.st_mode))
		rc = parley_error_set(err, PARLEY_ERR_IO, "%s: not a regular file", path);
	else
		rc = read_wav_fd(fd, path, st.st_size, out, err);
	close(fd);
	return rc;
}
