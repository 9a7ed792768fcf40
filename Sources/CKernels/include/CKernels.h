// The softmax's element-wise passes (exp with sum, max) in C, with an AVX2+FMA variant chosen at run time and a
// portable baseline. See README.md in this folder.
#ifndef TREEATTN_CKERNELS_H
#define TREEATTN_CKERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction-set levels of the kernels: 0 the portable baseline (x86-64 SSE2 / any CPU), 1 AVX2 with FMA.
enum { TK_ISA_BASELINE = 0, TK_ISA_AVX2_FMA = 1 };

/// The best level this CPU supports (cpuid, read once). Every kernel takes the level to run at as its first argument
/// (a level above the supported one runs at the supported one), so callers choose per call, without global state.
int tk_isa_supported(void);

/// x[i] = exp(x[i] - m) for i < n; returns the sum of the new values (fixed summation order per level).
/// Arguments below -708 (f64) or -87.3 (f32) give 0; NaN gives NaN. m must be finite or NaN.
double tk_exp_sum_f64(int isa, double *x, long n, double m);
float tk_exp_sum_f32(int isa, float *x, long n, float m);

/// max over x[0..<n] (-inf when n == 0); NaN if any element is NaN.
double tk_max_f64(int isa, const double *x, long n);
float tk_max_f32(int isa, const float *x, long n);

/// x[i] *= a for i < n.
void tk_scale_f64(double *x, long n, double a);
void tk_scale_f32(float *x, long n, float a);

/// 1 when every x[0..<n] is finite.
int tk_all_finite_f64(const double *x, long n);
int tk_all_finite_f32(const float *x, long n);

/// Few-row products for decoding, streaming K and V once (BLAS's skinny gemm packs them first, reading them twice):
/// s[r * nk + j] = alpha * dot(q[r * d ..], k[j * d ..]) for r < nr, j < nk.
void tk_scores_f64(int isa, const double *q, long nr, long d, const double *k, long nk, double alpha, double *s);
void tk_scores_f32(int isa, const float *q, long nr, long d, const float *k, long nk, float alpha, float *s);
/// o[r * dv + c] += sum_j p[r * nk + j] * v[j * dv + c] for r < nr, c < dv, summing over j in order.
void tk_pv_f64(int isa, const double *p, long nr, long nk, const double *v, long dv, double *o);
void tk_pv_f32(int isa, const float *p, long nr, long nk, const float *v, long dv, float *o);

/// A benchmark's ceiling for decoding (not used by the kernels): streams x[0..<n] once doing `rows` FMAs per element
/// (rows 1, 2, 4 or 8, the GQA group; others run as the next of these) with every other operand in registers: what
/// any decode kernel doing that arithmetic per K/V element could reach on this machine. Returns a value that depends
/// on every element, so the loop cannot be optimised away.
double tk_stream_fma_f64(int isa, const double *x, long n, long rows);
float tk_stream_fma_f32(int isa, const float *x, long n, long rows);

/// Widens n 16-bit floats (raw bits: bfloat16 when bf16 != 0, else IEEE half) exactly to f32 or f64. The kernel calls
/// these per tile, so 16-bit inputs are never held widened whole.
void tk_widen16_f32(int isa, const unsigned short *x, long n, int bf16, float *y);
void tk_widen16_f64(int isa, const unsigned short *x, long n, int bf16, double *y);
/// y[i] = x[i] for n floats: f32 widened exactly to f64 (f32 inputs of an f64 computation, per tile), or copied.
void tk_widen32_f64(const float *x, long n, double *y);
void tk_copy32_f32(const float *x, long n, float *y);
/// The number of x[0..<n] with every bit of `mask` set (16-bit floats with an all-ones exponent: NaN or Inf).
long tk_count_all_set16(const unsigned short *x, long n, unsigned short mask);

#ifdef __cplusplus
}
#endif
#endif
