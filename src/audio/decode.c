/* decode.c — see decode.h. FFmpeg 5.1 (AVChannelLayout API). */
#include "audio/decode.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
#include <libswresample/swresample.h>

#define AVIO_BUF_SIZE 32768
#define MAX_CHANNELS 64 /* SWR_CH_MAX */
#define PROGRESS_EVERY_S 60.0
#define MIN_BYTES_PER_S 250.0 /* 2 kbit/s: below any real audio codec */

/*
 * Demuxers allowed to parse input: containers that carry audio. Everything
 * else (images, subtitles, playlists, sdp/rtp, devices, lavfi) is refused
 * before its header is read. Names are matched the way FFmpeg matches its
 * own format_whitelist, so "mov" admits "mov,mp4,m4a,3gp,3g2,mj2".
 */
static const char allowed_demuxers[] =
	"wav,w64,mp3,ogg,flac,mov,matroska,aac,loas,ac3,eac3,aiff,caf,amr,amrnb,"
	"amrwb,asf,avi,au,ape,wv,tta,tak,shn,mpc,mpc8,dts,dtshd,mlp,truehd,"
	"mpeg,mpegts,flv,nut,rm,voc,ircam,nistsphere,sox,xwma,oma,qcp,dss,act,"
	"gsm,g722,g723_1,g726,g726le,g729,ilbc,sln,codec2,sbc,dsf,dv,mxf,wtv,"
	"alaw,mulaw";

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void quiet_ffmpeg(void)
{
	av_log_set_level(AV_LOG_QUIET);
}

/* ---- input: a file descriptor or a memory buffer, read by our callbacks ---- */

struct source {
	int fd;              /* file source, or -1 for memory */
	const uint8_t *data; /* memory source */
	size_t len, pos;
	int64_t size;        /* total bytes, or -1 when unknown (pipe) */
	int io_errno;        /* errno of a failed read(), 0 if none */
};

static int source_read(void *opaque, uint8_t *buf, int size)
{
	struct source *s = opaque;
	if (size <= 0)
		return 0;
	if (s->fd < 0) {
		size_t left = s->len - s->pos;
		if (left == 0)
			return AVERROR_EOF;
		size_t take = (size_t)size < left ? (size_t)size : left;
		memcpy(buf, s->data + s->pos, take);
		s->pos += take;
		return (int)take;
	}
	for (;;) {
		ssize_t got = read(s->fd, buf, (size_t)size);
		if (got > 0)
			return (int)got;
		if (got == 0)
			return AVERROR_EOF;
		if (errno == EINTR)
			continue;
		s->io_errno = errno;
		return AVERROR(errno);
	}
}

/* Read up to len bytes at off without moving the demuxer's position: the
 * bytes read (fewer at the end of the input), or -1 on an error. */
static ssize_t source_pread(const struct source *s, uint64_t off, void *buf, size_t len)
{
	if (s->fd < 0) {
		if (off >= s->len)
			return 0;
		size_t take = len < s->len - off ? len : s->len - (size_t)off;
		memcpy(buf, s->data + off, take);
		return (ssize_t)take;
	}
	size_t got = 0;
	while (got < len) {
		ssize_t r = pread(s->fd, (uint8_t *)buf + got, len - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int64_t source_seek(void *opaque, int64_t offset, int whence)
{
	struct source *s = opaque;
	int64_t base;
	whence &= ~AVSEEK_FORCE;
	if (whence == AVSEEK_SIZE)
		return s->size >= 0 ? s->size : AVERROR(ENOSYS);
	if (s->fd >= 0) {
		off_t r = lseek(s->fd, (off_t)offset, whence);
		return r < 0 ? AVERROR(errno) : (int64_t)r;
	}
	switch (whence) {
	case SEEK_SET: base = 0; break;
	case SEEK_CUR: base = (int64_t)s->pos; break;
	case SEEK_END: base = (int64_t)s->len; break;
	default: return AVERROR(EINVAL);
	}
	if (offset > INT64_MAX - base || base + offset < 0 || base + offset > (int64_t)s->len)
		return AVERROR(EINVAL);
	s->pos = (size_t)(base + offset);
	return (int64_t)s->pos;
}

/* ---- one decode call ---- */

struct job {
	const char *name; /* for messages */
	const struct audio_decode_params *p;
	struct parley_error *err;
	struct source src;

	AVIOContext *avio;
	AVFormatContext *fmt;
	AVCodecContext *dec;
	AVPacket *pkt;
	AVFrame *frame;
	int stream;

	SwrContext *swr; /* converts the current input format to mono s16 */
	AVChannelLayout swr_layout;
	int swr_rate, swr_format;

	int16_t *out;
	size_t n, cap, limit;
	bool count_only; /* audio_decode_measure_memory: out is scratch, n counts */
	double next_progress;

	long packets_ok, packets_bad;
	int last_averr; /* FFmpeg's reason for the last failed packet */

	/* The source's channels (audio_decode_file_channels), interleaved:
	 * chkeep channels per sample frame, chn frames so far. */
	struct audio_channels *chans; /* NULL = the mix only */
	int chkeep;                   /* 0 until the first frame is seen */
	SwrContext *chswr;
	int16_t *chbuf;
	size_t chn, chcap;
};

static void averr_text(int averr, char *buf, size_t size)
{
	if (av_strerror(averr, buf, size) < 0)
		snprintf(buf, size, "error %d", averr);
}

static double job_seconds(const struct job *j)
{
	return (double)j->n / j->p->rate;
}

static int interrupt_cb(void *opaque)
{
	const struct job *j = opaque;
	return j->p->abort && j->p->abort(j->p->user_data);
}

/* Nested opens (playlists, mov data references) are never allowed. */
static int refuse_io_open(struct AVFormatContext *s, AVIOContext **pb, const char *url,
			  int flags, AVDictionary **options)
{
	return AVERROR(EPERM);
}

static enum parley_err fail_read(struct job *j, int averr)
{
	char why[AV_ERROR_MAX_STRING_SIZE];
	if (j->src.io_errno)
		return parley_error_set(j->err, PARLEY_ERR_IO, "%s: read failed (%s)", j->name,
					strerror(j->src.io_errno));
	if (averr == AVERROR_EXIT || interrupt_cb(j))
		return parley_error_set(j->err, PARLEY_ERR_ABORTED, "%s: decoding stopped on request",
					j->name);
	if (averr == AVERROR(ENOMEM))
		return parley_error_set(j->err, PARLEY_ERR_NOMEM, "%s: out of memory while decoding",
					j->name);
	averr_text(averr, why, sizeof(why));
	if (j->n == 0)
		return parley_error_set(j->err, PARLEY_ERR_AUDIO,
					"%s: corrupt audio, nothing could be decoded (ffmpeg: %s)",
					j->name, why);
	return parley_error_set(j->err, PARLEY_ERR_AUDIO,
				"%s: truncated or corrupt audio after %.1f s (ffmpeg: %s)", j->name,
				job_seconds(j), why);
}

static enum parley_err reserve(struct job *j, size_t more)
{
	if (more <= j->cap - j->n)
		return PARLEY_OK;
	size_t want = j->n + more;
	size_t grow = j->cap + j->cap / 2;
	if (grow < want)
		grow = want;
	if (grow < 16384)
		grow = 16384;
	if (grow > j->limit + more) /* j->n <= j->limit here, so this still fits want */
		grow = j->limit + more;
	if (grow > SIZE_MAX / sizeof(int16_t))
		return parley_error_set(j->err, PARLEY_ERR_TOO_LARGE, "%s: audio too long", j->name);
	int16_t *nb = realloc(j->out, grow * sizeof(int16_t));
	if (!nb)
		return parley_error_set(j->err, PARLEY_ERR_NOMEM, "%s: out of memory for %.0f s of audio",
					j->name, (double)want / j->p->rate);
	j->out = nb;
	j->cap = grow;
	return PARLEY_OK;
}

/* Counting only: a buffer of `room` samples, rewritten by every call. */
static enum parley_err scratch(struct job *j, size_t room)
{
	if (room <= j->cap)
		return PARLEY_OK;
	if (room > SIZE_MAX / sizeof(int16_t) / 2)
		return parley_error_set(j->err, PARLEY_ERR_TOO_LARGE, "%s: audio frame too large", j->name);
	int16_t *nb = realloc(j->out, room * sizeof(int16_t));
	if (!nb)
		return parley_error_set(j->err, PARLEY_ERR_NOMEM, "%s: out of memory", j->name);
	j->out = nb;
	j->cap = room;
	return PARLEY_OK;
}

static enum parley_err check_limit(struct job *j)
{
	if (j->n > j->limit)
		return parley_error_set(j->err, PARLEY_ERR_TOO_LARGE,
					"%s: audio is longer than the %.0f s limit", j->name,
					j->p->max_seconds);
	if (j->p->progress && job_seconds(j) >= j->next_progress) {
		j->p->progress(job_seconds(j), j->p->user_data);
		j->next_progress = job_seconds(j) + PROGRESS_EVERY_S;
	}
	return PARLEY_OK;
}

/* Run swr over in_samples (NULL/0 = drain) and append the output. */
static enum parley_err convert(struct job *j, const uint8_t **in, int in_samples)
{
	for (;;) {
		int room = swr_get_out_samples(j->swr, in_samples);
		if (room < 0)
			return parley_error_set(j->err, PARLEY_ERR_INTERNAL,
						"%s: resampler failed", j->name);
		room += 16;
		enum parley_err rc = j->count_only ? scratch(j, (size_t)room) : reserve(j, (size_t)room);
		if (rc)
			return rc;
		uint8_t *dst = (uint8_t *)(j->out + (j->count_only ? 0 : j->n));
		int got = swr_convert(j->swr, &dst, room, in, in_samples);
		if (got < 0) {
			char why[AV_ERROR_MAX_STRING_SIZE];
			averr_text(got, why, sizeof(why));
			return parley_error_set(j->err, PARLEY_ERR_AUDIO,
						"%s: cannot convert the audio after %.1f s (ffmpeg: %s)",
						j->name, job_seconds(j), why);
		}
		j->n += (size_t)got;
		rc = check_limit(j);
		if (rc)
			return rc;
		/* Input is consumed in one call; a drain repeats until empty. */
		if (in || got == 0)
			return PARLEY_OK;
	}
}

/* The channel resampler: run over in_samples (NULL/0 = drain), append. */
static enum parley_err convert_ch(struct job *j, const uint8_t **in, int in_samples)
{
	size_t k = (size_t)j->chkeep;
	for (;;) {
		int room = swr_get_out_samples(j->chswr, in_samples);
		if (room < 0)
			return parley_error_set(j->err, PARLEY_ERR_INTERNAL,
						"%s: resampler failed", j->name);
		room += 16;
		if ((size_t)room > j->chcap - j->chn) {
			size_t want = j->chn + (size_t)room;
			size_t grow = j->chcap + j->chcap / 2;
			if (grow < want)
				grow = want;
			if (grow > j->limit + (size_t)room)
				grow = j->limit + (size_t)room;
			if (grow > SIZE_MAX / sizeof(int16_t) / k)
				return parley_error_set(j->err, PARLEY_ERR_TOO_LARGE,
							"%s: audio too long", j->name);
			int16_t *nb = realloc(j->chbuf, grow * k * sizeof(int16_t));
			if (!nb)
				return parley_error_set(j->err, PARLEY_ERR_NOMEM,
							"%s: out of memory for %.0f s of %d-channel audio",
							j->name, (double)want / j->p->rate, j->chkeep);
			j->chbuf = nb;
			j->chcap = grow;
		}
		uint8_t *dst = (uint8_t *)(j->chbuf + j->chn * k);
		int got = swr_convert(j->chswr, &dst, room, in, in_samples);
		if (got < 0) {
			char why[AV_ERROR_MAX_STRING_SIZE];
			averr_text(got, why, sizeof(why));
			return parley_error_set(j->err, PARLEY_ERR_AUDIO,
						"%s: cannot convert the channels after %.1f s (ffmpeg: %s)",
						j->name, job_seconds(j), why);
		}
		j->chn += (size_t)got;
		if (j->chn > j->limit)
			return parley_error_set(j->err, PARLEY_ERR_TOO_LARGE,
						"%s: audio is longer than the %.0f s limit", j->name,
						j->p->max_seconds);
		if (in || got == 0)
			return PARLEY_OK;
	}
}

/* A resampler that keeps channels 0..chkeep-1 of f apart (identity matrix),
 * interleaved s16 at the output rate. */
static enum parley_err setup_ch(struct job *j, const AVFrame *f)
{
	int nch = f->ch_layout.nb_channels;
	if (j->chswr) {
		enum parley_err rc = convert_ch(j, NULL, 0);
		swr_free(&j->chswr);
		if (rc)
			return rc;
	}
	if (j->chkeep == 0) {
		int cap = j->p->max_channels > 0 && j->p->max_channels < AUDIO_DECODE_CHANNELS_MAX
				  ? j->p->max_channels : AUDIO_DECODE_CHANNELS_MAX;
		j->chkeep = nch < 2 ? -1 : nch < cap ? nch : cap; /* -1: a mono source */
	}
	if (j->chkeep < 2)
		return PARLEY_OK;
	AVChannelLayout out_layout, in_layout = f->ch_layout;
	av_channel_layout_default(&out_layout, j->chkeep);
	double w[AUDIO_DECODE_CHANNELS_MAX * MAX_CHANNELS];
	memset(w, 0, sizeof(w));
	for (int c = 0; c < j->chkeep && c < nch; c++)
		w[c * nch + c] = 1.0;
	int ret = swr_alloc_set_opts2(&j->chswr, &out_layout, AV_SAMPLE_FMT_S16, j->p->rate,
				      &in_layout, (enum AVSampleFormat)f->format, f->sample_rate, 0,
				      NULL);
	if (ret >= 0)
		ret = swr_set_matrix(j->chswr, w, nch);
	if (ret >= 0)
		ret = swr_init(j->chswr);
	av_channel_layout_uninit(&out_layout);
	if (ret < 0) {
		/* channels FFmpeg will not keep apart: the mix only (see decode.h) */
		swr_free(&j->chswr);
		free(j->chbuf);
		j->chbuf = NULL;
		j->chn = j->chcap = 0;
		j->chkeep = -1;
	}
	return PARLEY_OK;
}

static void free_swr(struct job *j)
{
	swr_free(&j->swr);
	av_channel_layout_uninit(&j->swr_layout);
}

/* A resampler for frame's format: FFmpeg's downmix, or an equal-weight one. */
static enum parley_err setup_swr(struct job *j, const AVFrame *f)
{
	AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
	AVChannelLayout in_layout = f->ch_layout; /* 5.1 takes non-const pointers */
	int nch = f->ch_layout.nb_channels;
	int ret;

	if (j->swr) {
		enum parley_err rc = convert(j, NULL, 0);
		free_swr(j);
		if (rc)
			return rc;
	}
	if (nch <= 0 || nch > MAX_CHANNELS)
		return parley_error_set(j->err, PARLEY_ERR_AUDIO,
					"%s: unsupported number of audio channels (%d)", j->name, nch);
	if (f->sample_rate <= 0 || f->sample_rate > 1000000)
		return parley_error_set(j->err, PARLEY_ERR_AUDIO,
					"%s: invalid sample rate %d Hz", j->name, f->sample_rate);
	if (f->sample_rate < j->p->min_source_rate)
		return parley_error_set(j->err, PARLEY_ERR_AUDIO,
					"%s: a sample rate of %d Hz is below the %d Hz accepted", j->name,
					f->sample_rate, j->p->min_source_rate);

	bool equal_weights = f->ch_layout.order != AV_CHANNEL_ORDER_NATIVE;
	for (int attempt = 0; attempt < 2; attempt++, equal_weights = true) {
		swr_free(&j->swr);
		ret = swr_alloc_set_opts2(&j->swr, &mono, AV_SAMPLE_FMT_S16, j->p->rate,
					  &in_layout, (enum AVSampleFormat)f->format,
					  f->sample_rate, 0, NULL);
		if (ret < 0)
			continue;
		if (equal_weights && nch > 1) {
			double w[MAX_CHANNELS];
			for (int c = 0; c < nch; c++)
				w[c] = 1.0 / nch;
			ret = swr_set_matrix(j->swr, w, nch);
			if (ret < 0)
				continue;
		}
		ret = swr_init(j->swr);
		if (ret >= 0)
			break;
	}
	if (ret < 0) {
		char why[AV_ERROR_MAX_STRING_SIZE];
		swr_free(&j->swr);
		averr_text(ret, why, sizeof(why));
		return parley_error_set(j->err, PARLEY_ERR_AUDIO,
					"%s: cannot convert %d-channel %d Hz audio (ffmpeg: %s)",
					j->name, nch, f->sample_rate, why);
	}
	if (av_channel_layout_copy(&j->swr_layout, &f->ch_layout) < 0) {
		free_swr(j);
		return parley_error_set(j->err, PARLEY_ERR_NOMEM, "%s: out of memory", j->name);
	}
	j->swr_rate = f->sample_rate;
	j->swr_format = f->format;
	return j->chans ? setup_ch(j, f) : PARLEY_OK;
}

static enum parley_err put_frame(struct job *j, const AVFrame *f)
{
	if (f->nb_samples <= 0)
		return PARLEY_OK;
	if (!j->swr || f->sample_rate != j->swr_rate || f->format != j->swr_format ||
	    av_channel_layout_compare(&f->ch_layout, &j->swr_layout) != 0) {
		enum parley_err rc = setup_swr(j, f);
		if (rc)
			return rc;
	}
	enum parley_err rc = convert(j, (const uint8_t **)f->extended_data, f->nb_samples);
	if (!rc && j->chswr)
		rc = convert_ch(j, (const uint8_t **)f->extended_data, f->nb_samples);
	return rc;
}

/* Pull every frame the decoder has ready. */
static enum parley_err drain_decoder(struct job *j)
{
	for (;;) {
		int ret = avcodec_receive_frame(j->dec, j->frame);
		if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
			return PARLEY_OK;
		if (ret < 0) {
			j->packets_bad++;
			j->last_averr = ret;
			return PARLEY_OK;
		}
		enum parley_err rc = put_frame(j, j->frame);
		av_frame_unref(j->frame);
		if (rc)
			return rc;
	}
}

static enum parley_err send_packet(struct job *j, const AVPacket *pkt)
{
	int ret = avcodec_send_packet(j->dec, pkt);
	if (ret == AVERROR(ENOMEM))
		return parley_error_set(j->err, PARLEY_ERR_NOMEM, "%s: out of memory while decoding",
					j->name);
	if (pkt) {
		if (ret < 0 && ret != AVERROR(EAGAIN)) {
			j->packets_bad++;
			j->last_averr = ret;
		} else {
			j->packets_ok++;
		}
	}
	return drain_decoder(j);
}

static bool demuxer_allowed(const AVInputFormat *ifmt)
{
	return av_match_list(ifmt->name, allowed_demuxers, ',') > 0;
}

static enum parley_err open_input(struct job *j)
{
	char why[AV_ERROR_MAX_STRING_SIZE];
	const AVInputFormat *ifmt = NULL;
	uint8_t *buf = av_malloc(AVIO_BUF_SIZE);
	if (!buf)
		return parley_error_set(j->err, PARLEY_ERR_NOMEM, "%s: out of memory", j->name);
	j->avio = avio_alloc_context(buf, AVIO_BUF_SIZE, 0, &j->src, source_read, NULL,
				     j->src.size >= 0 ? source_seek : NULL);
	if (!j->avio) {
		av_free(buf);
		return parley_error_set(j->err, PARLEY_ERR_NOMEM, "%s: out of memory", j->name);
	}

	int ret = av_probe_input_buffer2(j->avio, &ifmt, j->name, NULL, 0, 0);
	if (ret < 0) {
		if (j->src.io_errno)
			return fail_read(j, ret);
		averr_text(ret, why, sizeof(why));
		return parley_error_set(j->err, PARLEY_ERR_AUDIO, "%s: not an audio file (ffmpeg: %s)",
					j->name, why);
	}
	if (!demuxer_allowed(ifmt))
		return parley_error_set(j->err, PARLEY_ERR_AUDIO,
					"%s: not an audio file (detected format: %s)", j->name,
					ifmt->long_name ? ifmt->long_name : ifmt->name);

	j->fmt = avformat_alloc_context();
	if (!j->fmt)
		return parley_error_set(j->err, PARLEY_ERR_NOMEM, "%s: out of memory", j->name);
	j->fmt->pb = j->avio;
	j->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
	j->fmt->io_open = refuse_io_open;
	j->fmt->interrupt_callback.callback = interrupt_cb;
	j->fmt->interrupt_callback.opaque = j;
	j->fmt->format_whitelist = av_strdup(allowed_demuxers);
	j->fmt->protocol_whitelist = av_strdup("none");
	if (!j->fmt->format_whitelist || !j->fmt->protocol_whitelist)
		return parley_error_set(j->err, PARLEY_ERR_NOMEM, "%s: out of memory", j->name);

	ret = avformat_open_input(&j->fmt, j->name, ifmt, NULL); /* frees fmt on failure */
	if (ret < 0) {
		if (j->src.io_errno || ret == AVERROR_EXIT || ret == AVERROR(ENOMEM))
			return fail_read(j, ret);
		averr_text(ret, why, sizeof(why));
		return parley_error_set(j->err, PARLEY_ERR_AUDIO,
					"%s: damaged or incomplete %.*s file (ffmpeg: %s)", j->name,
					(int)strcspn(ifmt->name, ","), ifmt->name, why);
	}
	ret = avformat_find_stream_info(j->fmt, NULL);
	if (ret < 0) {
		if (j->src.io_errno || ret == AVERROR_EXIT || ret == AVERROR(ENOMEM))
			return fail_read(j, ret);
		averr_text(ret, why, sizeof(why));
		return parley_error_set(j->err, PARLEY_ERR_AUDIO,
					"%s: damaged or incomplete %.*s file (ffmpeg: %s)", j->name,
					(int)strcspn(ifmt->name, ","), ifmt->name, why);
	}
	return PARLEY_OK;
}

/* True when some stream is real media (video, subtitles) with a known codec;
 * a cut-off header leaves only streams of unknown type. */
static bool has_known_stream(const AVFormatContext *fmt)
{
	for (unsigned i = 0; i < fmt->nb_streams; i++) {
		const AVCodecParameters *par = fmt->streams[i]->codecpar;
		if (par->codec_id != AV_CODEC_ID_NONE && (par->codec_type == AVMEDIA_TYPE_VIDEO ||
							  par->codec_type == AVMEDIA_TYPE_SUBTITLE))
			return true;
	}
	return false;
}

static enum parley_err open_decoder(struct job *j)
{
	char why[AV_ERROR_MAX_STRING_SIZE];
	const AVCodec *codec = NULL;
	int idx = av_find_best_stream(j->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
	if (idx == AVERROR_STREAM_NOT_FOUND && !has_known_stream(j->fmt))
		return parley_error_set(j->err, PARLEY_ERR_AUDIO,
					"%s: damaged or incomplete %.*s file: no usable streams "
					"(its header is missing or cut off)", j->name,
					(int)strcspn(j->fmt->iformat->name, ","), j->fmt->iformat->name);
	if (idx == AVERROR_STREAM_NOT_FOUND)
		return parley_error_set(j->err, PARLEY_ERR_EMPTY, "%s: no audio stream", j->name);
	if (idx < 0 || !codec) {
		const char *cname = "unknown";
		for (unsigned i = 0; i < j->fmt->nb_streams; i++) {
			const AVCodecParameters *par = j->fmt->streams[i]->codecpar;
			if (par->codec_type == AVMEDIA_TYPE_AUDIO) {
				cname = avcodec_get_name(par->codec_id);
				break;
			}
		}
		return parley_error_set(j->err, PARLEY_ERR_AUDIO,
					"%s: the audio codec (%s) is not supported", j->name, cname);
	}
	j->stream = idx;
	for (unsigned i = 0; i < j->fmt->nb_streams; i++)
		if ((int)i != idx)
			j->fmt->streams[i]->discard = AVDISCARD_ALL;

	const AVStream *st = j->fmt->streams[idx];
	if (st->codecpar->sample_rate > 0 && st->codecpar->sample_rate < j->p->min_source_rate)
		return parley_error_set(j->err, PARLEY_ERR_AUDIO,
					"%s: a sample rate of %d Hz is below the %d Hz accepted", j->name,
					st->codecpar->sample_rate, j->p->min_source_rate);
	j->dec = avcodec_alloc_context3(codec);
	if (!j->dec)
		return parley_error_set(j->err, PARLEY_ERR_NOMEM, "%s: out of memory", j->name);
	int ret = avcodec_parameters_to_context(j->dec, st->codecpar);
	if (ret >= 0) {
		j->dec->pkt_timebase = st->time_base;
		j->dec->thread_count = 1; /* callers bring their own threads */
		/* libavcodec trims priming/padding itself (skip_samples side data). */
		j->dec->flags2 &= ~AV_CODEC_FLAG2_SKIP_MANUAL;
		ret = avcodec_open2(j->dec, codec, NULL);
	}
	if (ret < 0) {
		if (ret == AVERROR(ENOMEM))
			return parley_error_set(j->err, PARLEY_ERR_NOMEM, "%s: out of memory", j->name);
		averr_text(ret, why, sizeof(why));
		return parley_error_set(j->err, PARLEY_ERR_AUDIO,
					"%s: cannot decode its %s audio (ffmpeg: %s)", j->name,
					codec->name, why);
	}

	/*
	 * Size the output once when the container states its duration, but
	 * believe it only as far as the input size allows (no codec goes
	 * below ~2 kbit/s), so a tiny file claiming hours reserves little.
	 */
	if (j->fmt->duration > 0 && !j->count_only) {
		double est = (double)j->fmt->duration / AV_TIME_BASE * j->p->rate * 1.01 + 4096;
		double plausible = (double)j->src.size / MIN_BYTES_PER_S * j->p->rate + 4096;
		if (j->src.size > 0 && est > plausible)
			est = plausible;
		if (est > (double)j->limit)
			est = (double)j->limit;
		enum parley_err rc = reserve(j, (size_t)est);
		if (rc)
			return rc;
	}
	return PARLEY_OK;
}

/*
 * MP4/M4A: libavcodec drops the AAC priming samples (edit list) but not the
 * encoder's end padding, so the output runs up to a frame (~20-130 ms) past
 * the track's duration. The mov sample table gives that duration exactly;
 * cut the excess when it is small (a larger excess means the duration is
 * not trustworthy, e.g. a fragmented file, and nothing is cut).
 */
static void trim_mov_padding(struct job *j)
{
	const AVStream *st = j->fmt->streams[j->stream];
	if (av_match_list(j->fmt->iformat->name, "mov", ',') <= 0 || st->duration <= 0 ||
	    st->duration == AV_NOPTS_VALUE)
		return;
	double seconds = (double)st->duration * av_q2d(st->time_base);
	double want = seconds * j->p->rate + 0.5;
	if (want < 1 || want >= (double)j->n)
		return;
	if ((double)j->n - want <= 0.25 * j->p->rate)
		j->n = (size_t)want;
}

/* ---- honest inputs: what the header promised against what decoded ---- */

#define RIFF_MAX_CHUNKS 64   /* chunks walked looking for "data" */
#define WAV_SHORT_S 0.010    /* a WAV shorter than its header by more is reported */
#define STATED_SHORT_PART 0.02 /* ... a stated duration: and by more than 2% */

static uint32_t le32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A RIFF WAVE input's data chunk: where its bytes start, how many its header
 * states, and the fmt chunk's bytes per second. false when the input is not
 * RIFF WAVE or the chunks cannot be followed. */
static bool wav_data_chunk(const struct source *s, uint64_t *data_off, uint64_t *data_bytes,
			   uint32_t *byte_rate)
{
	uint8_t h[16];
	if (source_pread(s, 0, h, 12) != 12 || memcmp(h, "RIFF", 4) != 0 ||
	    memcmp(h + 8, "WAVE", 4) != 0)
		return false;
	uint64_t pos = 12;
	uint32_t rate = 0;
	for (int i = 0; i < RIFF_MAX_CHUNKS; i++) {
		if (source_pread(s, pos, h, 8) != 8)
			return false;
		uint32_t size = le32_at(h + 4);
		if (memcmp(h, "data", 4) == 0) {
			*data_off = pos + 8;
			*data_bytes = size;
			*byte_rate = rate;
			return rate > 0;
		}
		if (memcmp(h, "fmt ", 4) == 0 && size >= 16) {
			if (source_pread(s, pos + 8, h, 16) != 16)
				return false;
			rate = le32_at(h + 8);
		}
		pos += 8 + (uint64_t)size + (size & 1);
	}
	return false;
}

static void warn(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct job *j, const char *fmt, ...)
{
	char msg[AUDIO_DECODE_WARN_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	j->p->warn(msg, j->p->user_data);
}

/*
 * Tell p->warn when the input holds less than its header promises (see
 * decode.h). A WAV data size of 0 or 0xFFFFFFFF is a recorder's "unknown",
 * not a promise. FFmpeg itself estimates a cut WAV's duration from the file
 * size, so WAV is read here; other containers' stated duration is believed
 * only when it came from the stream header (not from a bitrate guess).
 */
static void check_promise(struct job *j)
{
	if (!j->p->warn || j->src.size < 0)
		return;
	double decoded = job_seconds(j);
	uint64_t off, bytes;
	uint32_t rate;
	if (wav_data_chunk(&j->src, &off, &bytes, &rate)) {
		uint64_t size = (uint64_t)j->src.size;
		uint64_t held = size > off ? size - off : 0;
		if (bytes == 0 || bytes == UINT32_MAX || bytes <= held ||
		    (double)(bytes - held) / rate <= WAV_SHORT_S)
			return;
		warn(j, "%s: the WAV header promises %.1f s of audio but the file holds %.1f s "
			"(cut short: %llu of %llu data bytes); the %.1f s present were decoded",
		     j->name, (double)bytes / rate, (double)held / rate, (unsigned long long)held,
		     (unsigned long long)bytes, decoded);
		return;
	}
	const AVStream *st = j->fmt->streams[j->stream];
	if (j->fmt->duration_estimation_method != AVFMT_DURATION_FROM_STREAM ||
	    st->duration == AV_NOPTS_VALUE || st->duration <= 0)
		return;
	double stated = (double)st->duration * av_q2d(st->time_base);
	double missing = stated - decoded;
	if (missing <= AUDIO_DECODE_SHORT_S || missing <= STATED_SHORT_PART * stated)
		return;
	warn(j, "%s: the %.*s header promises %.1f s of audio but only %.1f s could be decoded "
		"(the file is cut short or damaged)",
	     j->name, (int)strcspn(j->fmt->iformat->name, ","), j->fmt->iformat->name, stated,
	     decoded);
}

static enum parley_err decode_all(struct job *j)
{
	enum parley_err rc = PARLEY_OK;
	int read_err = 0;
	j->pkt = av_packet_alloc();
	j->frame = av_frame_alloc();
	if (!j->pkt || !j->frame)
		return parley_error_set(j->err, PARLEY_ERR_NOMEM, "%s: out of memory", j->name);

	for (;;) {
		int ret = av_read_frame(j->fmt, j->pkt);
		if (ret < 0) {
			if (ret != AVERROR_EOF)
				read_err = ret;
			break;
		}
		if (j->pkt->stream_index == j->stream)
			rc = send_packet(j, j->pkt);
		av_packet_unref(j->pkt);
		if (rc)
			return rc;
		if (interrupt_cb(j))
			return fail_read(j, AVERROR_EXIT);
	}
	/* A read error other than EOF: an I/O error or abort fails; a damaged
	 * or cut-off stream keeps what decoded (see decode.h). */
	if (read_err && (j->src.io_errno || read_err == AVERROR_EXIT ||
			 read_err == AVERROR(ENOMEM) || interrupt_cb(j)))
		return fail_read(j, read_err);

	rc = send_packet(j, NULL); /* flush the decoder */
	if (!rc && j->swr)
		rc = convert(j, NULL, 0); /* flush the resampler */
	if (!rc && j->chswr)
		rc = convert_ch(j, NULL, 0);
	if (rc)
		return rc;
	trim_mov_padding(j);

	if (j->packets_bad > 0 && (j->n == 0 || j->packets_bad > j->packets_ok))
		return fail_read(j, j->last_averr);
	if (j->n == 0 && read_err)
		return fail_read(j, read_err);
	if (j->n == 0)
		return parley_error_set(j->err, PARLEY_ERR_EMPTY, "%s: contains no audio samples",
					j->name);
	check_promise(j);
	return PARLEY_OK;
}

static void job_release(struct job *j)
{
	free_swr(j);
	swr_free(&j->chswr);
	free(j->chbuf);
	j->chbuf = NULL;
	av_frame_free(&j->frame);
	av_packet_free(&j->pkt);
	avcodec_free_context(&j->dec);
	avformat_close_input(&j->fmt); /* custom I/O: leaves j->avio alone */
	if (j->avio) {
		av_freep(&j->avio->buffer);
		avio_context_free(&j->avio);
	}
	free(j->out);
	j->out = NULL;
}

/* Deinterleave the kept channels into j->chans, each n samples long (the
 * mix's length: cut, or padded with silence). */
static enum parley_err split_channels(struct job *j, size_t n)
{
	size_t k = (size_t)j->chkeep;
	for (size_t c = 0; c < k; c++) {
		struct pcm *pc = &j->chans->ch[c];
		pc->samples = calloc(n ? n : 1, sizeof(int16_t));
		if (!pc->samples) {
			audio_channels_release(j->chans);
			return parley_error_set(j->err, PARLEY_ERR_NOMEM,
						"%s: out of memory for its channels", j->name);
		}
		pc->n = n;
		pc->rate = j->p->rate;
		size_t have = j->chn < n ? j->chn : n;
		for (size_t i = 0; i < have; i++)
			pc->samples[i] = j->chbuf[i * k + c];
		j->chans->n = (int)c + 1;
	}
	return PARLEY_OK;
}

static enum parley_err run(struct job *j, struct pcm *out)
{
	enum parley_err rc = open_input(j);
	if (!rc)
		rc = open_decoder(j);
	if (!rc)
		rc = decode_all(j);
	if (!rc && j->count_only) {
		out->n = j->n;
		out->rate = j->p->rate;
	} else if (!rc) {
		int16_t *shrunk = realloc(j->out, j->n * sizeof(int16_t));
		out->samples = shrunk ? shrunk : j->out;
		out->n = j->n;
		out->rate = j->p->rate;
		j->out = NULL;
	}
	if (!rc && j->chans && j->chkeep >= 2)
		rc = split_channels(j, out->n);
	if (rc)
		pcm_release(out);
	job_release(j);
	return rc;
}

struct audio_decode_params audio_decode_default_params(void)
{
	return (struct audio_decode_params){
		.rate = PCM_RATE,
		.max_seconds = 4 * 3600,
		.max_channels = AUDIO_DECODE_CHANNELS_MAX,
	};
}

void audio_channels_release(struct audio_channels *c)
{
	if (!c)
		return;
	for (int i = 0; i < AUDIO_DECODE_CHANNELS_MAX; i++)
		pcm_release(&c->ch[i]);
	c->n = 0;
}

/* Common checks; fills j->p / j->limit. */
static enum parley_err job_init(struct job *j, const char *name,
				const struct audio_decode_params *p,
				const struct audio_decode_params *defaults, struct pcm *out,
				struct parley_error *err)
{
	memset(j, 0, sizeof(*j));
	j->name = name;
	j->err = err;
	j->p = p ? p : defaults;
	j->src.fd = -1;
	j->stream = -1;
	if (!out)
		return parley_error_set(err, PARLEY_ERR_INVALID, "%s: no output buffer given", name);
	memset(out, 0, sizeof(*out));
	if (j->p->rate < 1000 || j->p->rate > 384000)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"%s: output rate %d Hz is outside 1000..384000", name,
					j->p->rate);
	if (!(j->p->max_seconds > 0))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"%s: max_seconds must be positive", name);
	double limit = j->p->max_seconds * j->p->rate;
	j->limit = limit < (double)(SIZE_MAX / 4) ? (size_t)limit : SIZE_MAX / 4;
	pthread_once(&quiet_once, quiet_ffmpeg);
	return PARLEY_OK;
}

static enum parley_err decode_file(const char *path, const struct audio_decode_params *p,
				   struct pcm *out, struct audio_channels *chans,
				   struct parley_error *err)
{
	const struct audio_decode_params defaults = audio_decode_default_params();
	struct job j;
	struct stat st;
	if (chans)
		memset(chans, 0, sizeof(*chans));
	if (!path)
		return parley_error_set(err, PARLEY_ERR_INVALID, "no audio file name given");
	enum parley_err rc = job_init(&j, path, p, &defaults, out, err);
	if (rc)
		return rc;
	j.chans = chans;

	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return parley_error_set(err, PARLEY_ERR_IO, "%s: cannot open (%s)", path,
					strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = parley_error_set(err, PARLEY_ERR_IO, "%s: cannot open (%s)", path,
				      strerror(errno));
		goto done;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = parley_error_set(err, PARLEY_ERR_IO, "%s: is a directory, not an audio file",
				      path);
		goto done;
	}
	if (S_ISREG(st.st_mode) && st.st_size == 0) {
		rc = parley_error_set(err, PARLEY_ERR_EMPTY, "%s: file is empty (0 bytes)", path);
		goto done;
	}
	j.src.fd = fd;
	j.src.size = S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1;
	rc = run(&j, out);
done:
	close(fd);
	return rc;
}

enum parley_err audio_decode_file(const char *path, const struct audio_decode_params *p,
				  struct pcm *out, struct parley_error *err)
{
	return decode_file(path, p, out, NULL, err);
}

enum parley_err audio_decode_file_channels(const char *path, const struct audio_decode_params *p,
					   struct pcm *mix, struct audio_channels *chans,
					   struct parley_error *err)
{
	if (!chans)
		return parley_error_set(err, PARLEY_ERR_INVALID, "%s: no channel output given",
					path ? path : "input");
	return decode_file(path, p, mix, chans, err);
}

static enum parley_err decode_memory(const void *data, size_t len, const char *name,
				     const struct audio_decode_params *p, struct pcm *out,
				     struct audio_channels *chans, bool count_only,
				     struct parley_error *err)
{
	const struct audio_decode_params defaults = audio_decode_default_params();
	struct job j;
	if (chans)
		memset(chans, 0, sizeof(*chans));
	if (!name)
		name = "input";
	enum parley_err rc = job_init(&j, name, p, &defaults, out, err);
	if (rc)
		return rc;
	j.chans = chans;
	j.count_only = count_only;
	if (len == 0)
		return parley_error_set(err, PARLEY_ERR_EMPTY, "%s: input is empty (0 bytes)", name);
	if (!data)
		return parley_error_set(err, PARLEY_ERR_INVALID, "%s: no data given", name);
	if (len > (size_t)INT64_MAX)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "%s: input too large", name);
	j.src.data = data;
	j.src.len = len;
	j.src.size = (int64_t)len;
	return run(&j, out);
}

enum parley_err audio_decode_memory(const void *data, size_t len, const char *name,
				    const struct audio_decode_params *p, struct pcm *out,
				    struct parley_error *err)
{
	return decode_memory(data, len, name, p, out, NULL, false, err);
}

enum parley_err audio_decode_measure_memory(const void *data, size_t len, const char *name,
					    const struct audio_decode_params *p, double *seconds,
					    struct parley_error *err)
{
	struct pcm counted;
	*seconds = 0;
	enum parley_err rc = decode_memory(data, len, name, p, &counted, NULL, true, err);
	if (!rc)
		*seconds = (double)counted.n / counted.rate;
	return rc;
}

enum parley_err audio_decode_memory_channels(const void *data, size_t len, const char *name,
					     const struct audio_decode_params *p, struct pcm *mix,
					     struct audio_channels *chans, struct parley_error *err)
{
	if (!chans)
		return parley_error_set(err, PARLEY_ERR_INVALID, "%s: no channel output given",
					name ? name : "input");
	return decode_memory(data, len, name, p, mix, chans, false, err);
}
