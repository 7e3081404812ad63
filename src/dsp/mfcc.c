/* mfcc.c — see mfcc.h. */
#include "dsp/mfcc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/fft.h"

struct mfcc {
	struct mfcc_params p;
	int rate;
	size_t win, hop, nfft, nbins; /* nbins = nfft / 2 + 1 */
	int nfilt, nceps, dim;
	struct fft_plan *plan;
	double *window;    /* win Hamming coefficients */
	int *fb_first;     /* per filter: first FFT bin with nonzero weight */
	int *fb_len;       /* per filter: number of bins */
	double *fb_weight; /* per filter: fb_len weights, packed, at fb_off */
	int *fb_off;
	double *center_hz; /* per filter */
	double *dct;       /* nceps x nfilt orthonormal DCT-II matrix */
	double *buf;       /* nfft scratch */
	double *pow;       /* nbins scratch */
	double *logmel;    /* nfilt scratch */
};

struct mfcc_params mfcc_default_params(void)
{
	return (struct mfcc_params){
		.win_ms = 25.0,
		.hop_ms = 10.0,
		.preemph = 0.97,
		.fft_size = 512,
		.num_filters = 40,
		.low_hz = 64.0,
		.high_hz = 7600.0,
		.num_ceps = 20,
		.log_energy = true,
		.deltas = 0,
		.delta_window = 2,
		.log_floor = 1e-10,
	};
}

static double hz_to_mel(double hz)
{
	return 2595.0 * log10(1.0 + hz / 700.0);
}

static double mel_to_hz(double mel)
{
	return 700.0 * (pow(10.0, mel / 2595.0) - 1.0);
}

static enum parley_err check_params(const struct mfcc_params *p, int rate,
				    struct parley_error *err)
{
	if (rate < MFCC_MIN_RATE || rate > MFCC_MAX_RATE)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"mfcc: sample rate %d Hz is outside [%d, %d]", rate,
					MFCC_MIN_RATE, MFCC_MAX_RATE);
	if (!(p->win_ms >= 1.0 && p->win_ms <= 1000.0))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"mfcc: window %g ms is outside [1, 1000]", p->win_ms);
	if (!(p->hop_ms >= 1.0 && p->hop_ms <= 1000.0))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"mfcc: hop %g ms is outside [1, 1000]", p->hop_ms);
	if (!(p->preemph >= 0.0 && p->preemph < 1.0))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"mfcc: pre-emphasis %g is outside [0, 1)", p->preemph);
	if (p->fft_size < 2 || p->fft_size > (int)FFT_MAX_SIZE)
		return parley_error_set(err, PARLEY_ERR_INVALID, "mfcc: FFT size %d is invalid",
					p->fft_size);
	if (p->num_filters < 1 || p->num_filters > MFCC_MAX_FILTERS)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"mfcc: %d mel filters is outside [1, %d]", p->num_filters,
					MFCC_MAX_FILTERS);
	if (p->num_ceps < 0 || p->num_ceps > p->num_filters)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"mfcc: %d cepstra is outside [0, num_filters = %d]",
					p->num_ceps, p->num_filters);
	double high = p->high_hz > rate / 2.0 ? rate / 2.0 : p->high_hz;
	if (!(p->low_hz >= 0.0 && p->low_hz < high))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"mfcc: filter range %g .. %g Hz is empty at %d Hz", p->low_hz,
					high, rate);
	if (p->deltas < 0 || p->deltas > 2)
		return parley_error_set(err, PARLEY_ERR_INVALID, "mfcc: deltas must be 0, 1 or 2, not %d",
					p->deltas);
	if (p->deltas > 0 && (p->delta_window < 1 || p->delta_window > 50))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"mfcc: delta window %d is outside [1, 50]", p->delta_window);
	if (!(p->log_floor > 0.0))
		return parley_error_set(err, PARLEY_ERR_INVALID, "mfcc: log floor must be > 0");
	return PARLEY_OK;
}

/* Triangular filters equally spaced on the mel scale between low and high. */
static int build_filterbank(struct mfcc *m, double low, double high)
{
	int nf = m->nfilt;
	double mlo = hz_to_mel(low), mhi = hz_to_mel(high);
	double bin_hz = (double)m->rate / (double)m->nfft;
	m->fb_first = calloc((size_t)nf, sizeof(int));
	m->fb_len = calloc((size_t)nf, sizeof(int));
	m->fb_off = calloc((size_t)nf, sizeof(int));
	m->center_hz = calloc((size_t)nf, sizeof(double));
	m->fb_weight = calloc((size_t)nf * m->nbins, sizeof(double));
	if (!m->fb_first || !m->fb_len || !m->fb_off || !m->center_hz || !m->fb_weight)
		return -1;
	int off = 0;
	for (int f = 0; f < nf; f++) {
		double ml = mlo + (mhi - mlo) * f / (nf + 1);
		double mc = mlo + (mhi - mlo) * (f + 1) / (nf + 1);
		double mr = mlo + (mhi - mlo) * (f + 2) / (nf + 1);
		m->center_hz[f] = mel_to_hz(mc);
		m->fb_off[f] = off;
		m->fb_first[f] = -1;
		for (size_t k = 0; k < m->nbins; k++) {
			double mel = hz_to_mel(k * bin_hz);
			double w = 0.0;
			if (mel > ml && mel <= mc)
				w = (mel - ml) / (mc - ml);
			else if (mel > mc && mel < mr)
				w = (mr - mel) / (mr - mc);
			if (w <= 0.0)
				continue;
			if (m->fb_first[f] < 0)
				m->fb_first[f] = (int)k;
			/* bins between fb_first and k are contiguous for a triangle */
			m->fb_len[f] = (int)k - m->fb_first[f] + 1;
			m->fb_weight[off + m->fb_len[f] - 1] = w;
		}
		if (m->fb_first[f] < 0)
			m->fb_first[f] = 0; /* narrower than one bin: the band stays at the floor */
		off += m->fb_len[f];
	}
	return 0;
}

struct mfcc *mfcc_new(const struct mfcc_params *p, int rate, struct parley_error *err)
{
	if (check_params(p, rate, err) != PARLEY_OK)
		return NULL;
	struct mfcc *m = calloc(1, sizeof(*m));
	if (!m)
		goto nomem;
	m->p = *p;
	m->rate = rate;
	m->win = (size_t)lround(rate * p->win_ms / 1000.0);
	m->hop = (size_t)lround(rate * p->hop_ms / 1000.0);
	if (m->win < 2 || m->hop < 1) {
		parley_error_set(err, PARLEY_ERR_INVALID,
				 "mfcc: window %g ms / hop %g ms is under two samples at %d Hz",
				 p->win_ms, p->hop_ms, rate);
		goto fail;
	}
	m->nfft = 2;
	while (m->nfft < (size_t)p->fft_size || m->nfft < m->win)
		m->nfft *= 2;
	m->nbins = m->nfft / 2 + 1;
	m->nfilt = p->num_filters;
	m->nceps = p->num_ceps;
	m->dim = (p->num_ceps > 0 ? p->num_ceps : p->num_filters) + (p->log_energy ? 1 : 0);

	m->plan = fft_plan_new(m->nfft, err);
	if (!m->plan)
		goto fail;
	m->window = malloc(m->win * sizeof(double));
	m->buf = malloc(m->nfft * sizeof(double));
	m->pow = malloc(m->nbins * sizeof(double));
	m->logmel = malloc((size_t)m->nfilt * sizeof(double));
	if (!m->window || !m->buf || !m->pow || !m->logmel)
		goto nomem;
	for (size_t i = 0; i < m->win; i++)
		m->window[i] = 0.54 - 0.46 * cos(2.0 * M_PI * (double)i / (double)(m->win - 1));

	double high = p->high_hz > rate / 2.0 ? rate / 2.0 : p->high_hz;
	if (build_filterbank(m, p->low_hz, high) != 0)
		goto nomem;

	if (m->nceps > 0) {
		m->dct = malloc((size_t)m->nceps * (size_t)m->nfilt * sizeof(double));
		if (!m->dct)
			goto nomem;
		for (int c = 0; c < m->nceps; c++) {
			double scale = sqrt((c == 0 ? 1.0 : 2.0) / m->nfilt);
			for (int f = 0; f < m->nfilt; f++)
				m->dct[c * m->nfilt + f] =
					scale * cos(M_PI * c * (f + 0.5) / m->nfilt);
		}
	}
	return m;

nomem:
	parley_error_set(err, PARLEY_ERR_NOMEM, "mfcc: out of memory");
fail:
	mfcc_free(m);
	return NULL;
}

void mfcc_free(struct mfcc *m)
{
	if (!m)
		return;
	fft_plan_free(m->plan);
	free(m->window);
	free(m->fb_first);
	free(m->fb_len);
	free(m->fb_off);
	free(m->fb_weight);
	free(m->center_hz);
	free(m->dct);
	free(m->buf);
	free(m->pow);
	free(m->logmel);
	free(m);
}

int mfcc_dim(const struct mfcc *m)
{
	return m->dim;
}

size_t mfcc_win_samples(const struct mfcc *m)
{
	return m->win;
}

size_t mfcc_hop_samples(const struct mfcc *m)
{
	return m->hop;
}

size_t mfcc_frame_count(const struct mfcc *m, size_t n)
{
	return n < m->win ? 0 : 1 + (n - m->win) / m->hop;
}

double mfcc_band_center_hz(const struct mfcc *m, int band)
{
	return band >= 0 && band < m->nfilt ? m->center_hz[band] : -1.0;
}

static void one_frame(struct mfcc *m, const int16_t *samples, size_t start, float *out)
{
	const int16_t *x = samples + start;
	size_t win = m->win;
	double floor_ = m->p.log_floor;

	double mean = 0.0;
	for (size_t i = 0; i < win; i++)
		mean += x[i];
	mean /= (double)win;

	double energy = 0.0;
	for (size_t i = 0; i < win; i++) {
		double v = x[i] - mean;
		energy += v * v;
	}

	/* Pre-emphasis from the back so buf[i-1] is still the plain sample. */
	double a = m->p.preemph;
	double prev = (start > 0 ? samples[start - 1] : x[0]) - mean;
	for (size_t i = 0; i < win; i++)
		m->buf[i] = x[i] - mean;
	for (size_t i = win - 1; i > 0; i--)
		m->buf[i] -= a * m->buf[i - 1];
	m->buf[0] -= a * prev;
	for (size_t i = 0; i < win; i++)
		m->buf[i] *= m->window[i];
	memset(m->buf + win, 0, (m->nfft - win) * sizeof(double));

	fft_power(m->plan, m->buf, m->pow);

	for (int f = 0; f < m->nfilt; f++) {
		const double *w = m->fb_weight + m->fb_off[f];
		const double *pw = m->pow + m->fb_first[f];
		double e = 0.0;
		for (int k = 0; k < m->fb_len[f]; k++)
			e += w[k] * pw[k];
		m->logmel[f] = log(e > floor_ ? e : floor_);
	}

	int col = 0;
	if (m->nceps > 0) {
		for (int c = 0; c < m->nceps; c++) {
			const double *row = m->dct + c * m->nfilt;
			double s = 0.0;
			for (int f = 0; f < m->nfilt; f++)
				s += row[f] * m->logmel[f];
			out[col++] = (float)s;
		}
	} else {
		for (int f = 0; f < m->nfilt; f++)
			out[col++] = (float)m->logmel[f];
	}
	if (m->p.log_energy)
		out[col] = (float)log(energy > floor_ ? energy : floor_);
}

void mfcc_frames(struct mfcc *m, const int16_t *samples, size_t n, size_t first, size_t count,
		 float *out)
{
	(void)n; /* the caller guarantees the frames lie inside the signal */
	for (size_t t = 0; t < count; t++)
		one_frame(m, samples, (first + t) * m->hop, out + t * (size_t)m->dim);
}

void mfcc_deltas(const float *in, size_t in_stride, size_t nframes, int dim, int N, float *out,
		 size_t out_stride)
{
	double denom = 0.0;
	for (int k = 1; k <= N; k++)
		denom += 2.0 * k * k;
	for (size_t t = 0; t < nframes; t++) {
		for (int j = 0; j < dim; j++) {
			double s = 0.0;
			for (int k = 1; k <= N; k++) {
				size_t ahead = t + (size_t)k < nframes ? t + (size_t)k : nframes - 1;
				size_t back = t >= (size_t)k ? t - (size_t)k : 0;
				s += k * ((double)in[ahead * in_stride + (size_t)j] -
					  (double)in[back * in_stride + (size_t)j]);
			}
			out[t * out_stride + (size_t)j] = (float)(s / denom);
		}
	}
}

enum parley_err mfcc_compute(const struct pcm *pcm, const struct mfcc_params *p, float **feats,
			     size_t *nframes, int *dim, struct parley_error *err)
{
	*feats = NULL;
	*nframes = 0;
	*dim = 0;
	if (!pcm || (!pcm->samples && pcm->n > 0))
		return parley_error_set(err, PARLEY_ERR_INVALID, "mfcc: no samples given");
	struct parley_error local = {0};
	struct mfcc *m = mfcc_new(p, pcm->rate, &local);
	if (!m) {
		if (err)
			*err = local;
		return local.code;
	}

	enum parley_err rc = PARLEY_OK;
	int base = m->dim;
	int full = base * (1 + p->deltas);
	size_t nf = mfcc_frame_count(m, pcm->n);
	if (nf > MFCC_MAX_FRAMES) {
		rc = parley_error_set(err, PARLEY_ERR_TOO_LARGE,
				      "mfcc: %zu frames exceed the limit of %zu (%.0f s of audio)",
				      nf, MFCC_MAX_FRAMES, pcm_seconds(pcm));
		goto out;
	}
	*dim = full;
	if (nf == 0)
		goto out;
	float *f = malloc(nf * (size_t)full * sizeof(float));
	float *tmp = NULL;
	if (!f) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "mfcc: out of memory for %zu frames", nf);
		goto out;
	}
	if (p->deltas == 0) {
		mfcc_frames(m, pcm->samples, pcm->n, 0, nf, f);
	} else {
		tmp = malloc(nf * (size_t)base * sizeof(float));
		if (!tmp) {
			free(f);
			rc = parley_error_set(err, PARLEY_ERR_NOMEM,
					      "mfcc: out of memory for %zu frames", nf);
			goto out;
		}
		mfcc_frames(m, pcm->samples, pcm->n, 0, nf, tmp);
		for (size_t t = 0; t < nf; t++)
			memcpy(f + t * (size_t)full, tmp + t * (size_t)base,
			       (size_t)base * sizeof(float));
		mfcc_deltas(tmp, (size_t)base, nf, base, p->delta_window, f + base, (size_t)full);
		if (p->deltas == 2)
			mfcc_deltas(f + base, (size_t)full, nf, base, p->delta_window, f + 2 * base,
				    (size_t)full);
		free(tmp);
	}
	*feats = f;
	*nframes = nf;
out:
	if (rc != PARLEY_OK)
		*dim = 0;
	mfcc_free(m);
	return rc;
}
