/*
 * spectral.h — spectral clustering with an eigengap estimate of the number
 * of clusters, over a small dense affinity matrix (a few hundred points).
 *
 *   double *a = ...;            // n x n, symmetric, a[i*n+j] >= 0
 *   int lab[n];
 *   int k = spectral_cluster(a, n, 1, 8, lab);   // -1: out of memory
 *
 * Method (Ng, Jordan & Weiss): M = D^-1/2 A D^-1/2 (D: row sums of A);
 * its eigenvalues 1 = l_1 >= l_2 >= ... are those of I - L_sym reversed.
 * The count k in [kmin, kmax] is where the gap l_k - l_{k+1} is largest
 * (a disconnected graph of k components has exactly k eigenvalues 1).
 * The rows of the top-k eigenvectors, scaled to unit length, are grouped by
 * k-means (deterministic farthest-first seeding, Lloyd iterations).
 *
 * Cost: O(n^3) time (cyclic Jacobi), O(n^2) memory; the caller bounds n.
 * Pure C + libm, deterministic, no shared state.
 */
#ifndef PARLEY_DSP_SPECTRAL_H
#define PARLEY_DSP_SPECTRAL_H

#include <stddef.h>

/*
 * Eigen-decomposition of the symmetric n x n matrix a (destroyed). On
 * return val[0..n-1] holds the eigenvalues in decreasing order and column j
 * of vec (vec[i*n+j]) the unit eigenvector of val[j]. Returns 0, or -1 when
 * out of memory.
 */
int sym_eigen(double *a, size_t n, double *val, double *vec);

/*
 * The count in [kmin, kmax] (clamped to 1 .. n) with the largest gap
 * val[k-1] - val[k] of decreasing eigenvalues val[0..n-1]; ties go to the
 * smaller count. kmax == n has no gap after it: its gap counts as val[n-1].
 */
int eigengap_count(const double *val, size_t n, int kmin, int kmax);

/*
 * Group rows x[i*dim .. i*dim+dim-1] (i < n) into k clusters by k-means;
 * labels to lab[]. Every cluster keeps at least one point when n >= k.
 * Returns 0, or -1 when out of memory.
 */
int kmeans_rows(const double *x, size_t n, int dim, int k, int *lab);

/*
 * Spectral clustering of the affinity a (n x n, symmetric, non-negative;
 * not modified) into k clusters, k from the eigengap within [kmin, kmax]
 * (kmin == kmax forces it). Labels 0 .. k-1 to lab[]. gap (may be NULL)
 * gets the chosen eigengap. Returns k, or -1 when out of memory.
 */
int spectral_cluster(const double *a, size_t n, int kmin, int kmax, int *lab, double *gap);

#endif
