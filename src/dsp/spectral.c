/* spectral.c — see spectral.h for the method and the contract. */
#include "dsp/spectral.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define JACOBI_SWEEPS 60
#define KMEANS_ITERS 100

/* One Jacobi rotation zeroing a[p][q]; applied to a (both sides) and to
 * the columns of v. */
static void jacobi_rotate(double *a, double *v, size_t n, size_t p, size_t q)
{
	double apq = a[p * n + q];
	double theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
	double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
	double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
	for (size_t k = 0; k < n; k++) {
		double akp = a[k * n + p], akq = a[k * n + q];
		a[k * n + p] = c * akp - s * akq;
		a[k * n + q] = s * akp + c * akq;
	}
	for (size_t k = 0; k < n; k++) {
		double apk = a[p * n + k], aqk = a[q * n + k];
		a[p * n + k] = c * apk - s * aqk;
		a[q * n + k] = s * apk + c * aqk;
	}
	for (size_t k = 0; k < n; k++) {
		double vkp = v[k * n + p], vkq = v[k * n + q];
		v[k * n + p] = c * vkp - s * vkq;
		v[k * n + q] = s * vkp + c * vkq;
	}
}

static double off_diagonal(const double *a, size_t n, double *diag)
{
	double off = 0.0, on = 0.0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			double x = a[i * n + j] * a[i * n + j];
			if (i == j)
				on += x;
			else
				off += x;
		}
	*diag = on;
	return off;
}

/* Sort eigenpairs by decreasing value (selection sort: n is small). */
static void sort_pairs(double *val, double *vec, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		size_t m = i;
		for (size_t j = i + 1; j < n; j++)
			if (val[j] > val[m])
				m = j;
		if (m == i)
			continue;
		double t = val[i];
		val[i] = val[m];
		val[m] = t;
		for (size_t k = 0; k < n; k++) {
			t = vec[k * n + i];
			vec[k * n + i] = vec[k * n + m];
			vec[k * n + m] = t;
		}
	}
}

int sym_eigen(double *a, size_t n, double *val, double *vec)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			vec[i * n + j] = i == j ? 1.0 : 0.0;
	for (int sweep = 0; sweep < JACOBI_SWEEPS; sweep++) {
		double diag, off = off_diagonal(a, n, &diag);
		if (off <= 1e-24 * (diag + off) || off < DBL_MIN)
			break;
		double tiny = 1e-14 * sqrt((diag + off) / (double)(n * n));
		for (size_t p = 0; p + 1 < n; p++)
			for (size_t q = p + 1; q < n; q++)
				if (fabs(a[p * n + q]) > tiny)
					jacobi_rotate(a, vec, n, p, q);
	}
	for (size_t i = 0; i < n; i++)
		val[i] = a[i * n + i];
	sort_pairs(val, vec, n);
	return 0;
}

int eigengap_count(const double *val, size_t n, int kmin, int kmax)
{
	int hi = (size_t)kmax > n ? (int)n : kmax;
	int lo = kmin < 1 ? 1 : kmin > hi ? hi : kmin;
	int best = lo;
	double bg = -DBL_MAX;
	for (int k = lo; k <= hi; k++) {
		double g = (size_t)k < n ? val[k - 1] - val[k] : val[k - 1];
		if (g > bg) {
			bg = g;
			best = k;
		}
	}
	return best;
}

static double dist2(const double *x, const double *y, int dim)
{
	double s = 0.0;
	for (int j = 0; j < dim; j++)
		s += (x[j] - y[j]) * (x[j] - y[j]);
	return s;
}

/* Farthest-first seeds: the point farthest from the mean, then each next
 * the point farthest from the seeds so far. */
static void kmeans_seed(const double *x, size_t n, int dim, int k, double *cen, double *near)
{
	double mean[64] = {0};
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < dim; j++)
			mean[j] += x[i * (size_t)dim + j] / (double)n;
	for (size_t i = 0; i < n; i++)
		near[i] = dist2(x + i * (size_t)dim, mean, dim);
	for (int c = 0; c < k; c++) {
		size_t f = 0;
		for (size_t i = 1; i < n; i++)
			if (near[i] > near[f])
				f = i;
		memcpy(cen + (size_t)c * (size_t)dim, x + f * (size_t)dim,
		       (size_t)dim * sizeof(double));
		for (size_t i = 0; i < n; i++) {
			double d = dist2(x + i * (size_t)dim, cen + (size_t)c * (size_t)dim, dim);
			near[i] = c == 0 || d < near[i] ? d : near[i];
		}
	}
}

/* Assign every point to its nearest centroid; returns whether any moved. */
static int kmeans_assign(const double *x, size_t n, int dim, int k, const double *cen, int *lab)
{
	int moved = 0;
	for (size_t i = 0; i < n; i++) {
		int bc = 0;
		double bd = DBL_MAX;
		for (int c = 0; c < k; c++) {
			double d = dist2(x + i * (size_t)dim, cen + (size_t)c * (size_t)dim, dim);
			if (d < bd) {
				bd = d;
				bc = c;
			}
		}
		moved |= lab[i] != bc;
		lab[i] = bc;
	}
	return moved;
}

/* Centroids from labels; an empty cluster takes the point farthest from
 * its own centroid. */
static void kmeans_update(const double *x, size_t n, int dim, int k, double *cen, int *lab,
			  double *cnt)
{
	memset(cen, 0, (size_t)k * (size_t)dim * sizeof(double));
	memset(cnt, 0, (size_t)k * sizeof(double));
	for (size_t i = 0; i < n; i++) {
		cnt[lab[i]] += 1.0;
		for (int j = 0; j < dim; j++)
			cen[(size_t)lab[i] * (size_t)dim + j] += x[i * (size_t)dim + j];
	}
	for (int c = 0; c < k; c++) {
		if (cnt[c] > 0) {
			for (int j = 0; j < dim; j++)
				cen[(size_t)c * (size_t)dim + j] /= cnt[c];
			continue;
		}
		size_t f = 0;
		double fd = -1.0;
		for (size_t i = 0; i < n; i++) {
			if (cnt[lab[i]] <= 1.0)
				continue;
			double d = dist2(x + i * (size_t)dim, cen + (size_t)lab[i] * (size_t)dim, dim);
			if (d > fd) {
				fd = d;
				f = i;
			}
		}
		cnt[lab[f]] -= 1.0;
		lab[f] = c;
		cnt[c] = 1.0;
		memcpy(cen + (size_t)c * (size_t)dim, x + f * (size_t)dim,
		       (size_t)dim * sizeof(double));
	}
}

int kmeans_rows(const double *x, size_t n, int dim, int k, int *lab)
{
	if (n == 0)
		return 0;
	if (k <= 1 || dim > 64) {
		for (size_t i = 0; i < n; i++)
			lab[i] = 0;
		return 0;
	}
	double *cen = malloc((size_t)k * (size_t)dim * sizeof(double));
	double *near = malloc(n * sizeof(double));
	double *cnt = malloc((size_t)k * sizeof(double));
	if (!cen || !near || !cnt) {
		free(cen);
		free(near);
		free(cnt);
		return -1;
	}
	kmeans_seed(x, n, dim, k, cen, near);
	for (size_t i = 0; i < n; i++)
		lab[i] = -1;
	for (int it = 0; it < KMEANS_ITERS; it++) {
		if (!kmeans_assign(x, n, dim, k, cen, lab) && it > 0)
			break;
		kmeans_update(x, n, dim, k, cen, lab, cnt);
	}
	free(cen);
	free(near);
	free(cnt);
	return 0;
}

int spectral_cluster(const double *a, size_t n, int kmin, int kmax, int *lab, double *gap)
{
	if (gap)
		*gap = 0.0;
	if (n == 0)
		return kmin < 1 ? 1 : kmin;
	double *m = malloc(n * n * sizeof(double));
	double *vec = malloc(n * n * sizeof(double));
	double *val = malloc(n * sizeof(double));
	double *deg = malloc(n * sizeof(double));
	double *rows = malloc(n * 64 * sizeof(double));
	int k = -1;
	if (!m || !vec || !val || !deg || !rows)
		goto out;
	for (size_t i = 0; i < n; i++) {
		double s = 0.0;
		for (size_t j = 0; j < n; j++)
			s += a[i * n + j];
		deg[i] = 1.0 / sqrt(s > 1e-12 ? s : 1e-12);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			m[i * n + j] = a[i * n + j] * deg[i] * deg[j];
	sym_eigen(m, n, val, vec);
	k = eigengap_count(val, n, kmin, kmax > 64 ? 64 : kmax);
	if (gap)
		*gap = (size_t)k < n ? val[k - 1] - val[k] : val[k - 1];
	for (size_t i = 0; i < n; i++) {
		double norm = 0.0;
		for (int j = 0; j < k; j++)
			norm += vec[i * n + (size_t)j] * vec[i * n + (size_t)j];
		norm = norm > 1e-24 ? 1.0 / sqrt(norm) : 0.0;
		for (int j = 0; j < k; j++)
			rows[i * (size_t)k + (size_t)j] = vec[i * n + (size_t)j] * norm;
	}
	if (kmeans_rows(rows, n, k, k, lab) != 0)
		k = -1;
out:
	free(m);
	free(vec);
	free(val);
	free(deg);
	free(rows);
	return k;
}
