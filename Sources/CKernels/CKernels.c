// Element-wise softmax passes with a run-time choice between a portable baseline and AVX2+FMA (see README.md).
// The baseline is plain C without FMA contraction; the AVX2 variants use intrinsics in functions compiled for that
// target only, so the package still builds for (and runs on) baseline x86-64 and on other architectures.
#include "CKernels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define TK_X86 1
#include <immintrin.h>
#endif

// ---------------------------------------------------------------------------------------------------------------
// Run-time selection

static int tk_detect(void) {
#ifdef TK_X86
    __builtin_cpu_init();
    // F16C (half to float) comes with every AVX2 CPU made; the level asks for all three.
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        return TK_ISA_AVX2_FMA;
#endif
    return TK_ISA_BASELINE;
}

static int tk_supported = -1;
int tk_isa_supported(void) {
    int s = __atomic_load_n(&tk_supported, __ATOMIC_RELAXED);
    if (s < 0) {
        s = tk_detect();
        __atomic_store_n(&tk_supported, s, __ATOMIC_RELAXED);
    }
    return s;
}

static inline int tk_use_avx2(int isa) { return isa >= TK_ISA_AVX2_FMA && tk_isa_supported() >= TK_ISA_AVX2_FMA; }

// ---------------------------------------------------------------------------------------------------------------
// Portable baseline: the same exp as Reference's SoftmaxExp.exp (Cody-Waite reduction, degree-13 Taylor, 2^n from
// the exponent bits), four interleaved sums.

static const double LOG2E = 1.4426950408889634;
static const double LN2_HI = 6.93147180369123816490e-01;
static const double LN2_LO = 1.90821492927058770002e-10;
static const double SHIFT = 0x1.8p52;

static inline double exp_base_f64(double x) {
    double t = x * LOG2E + SHIFT;
    double kd = t - SHIFT;
    int64_t tb, sb;
    memcpy(&tb, &t, 8);
    memcpy(&sb, &SHIFT, 8);
    int64_t n = tb - sb;
    double r = (x - kd * LN2_HI) - kd * LN2_LO;
    double p = 1.0 / 6227020800.0;
    p = 1.0 / 479001600.0 + p * r;
    p = 1.0 / 39916800.0 + p * r;
    p = 1.0 / 3628800.0 + p * r;
    p = 1.0 / 362880.0 + p * r;
    p = 1.0 / 40320.0 + p * r;
    p = 1.0 / 5040.0 + p * r;
    p = 1.0 / 720.0 + p * r;
    p = 1.0 / 120.0 + p * r;
    p = 1.0 / 24.0 + p * r;
    p = 1.0 / 6.0 + p * r;
    p = 0.5 + p * r;
    p = 1.0 + p * r;
    p = 1.0 + p * r;
    uint64_t sbits = (uint64_t)(n + 1023) << 52;
    double scale;
    memcpy(&scale, &sbits, 8);
    double result = p * scale;
    return x < -708.0 ? 0.0 : result;
}

// f32: reduction in f32 with ln2 split so k * LN2F_HI is exact, degree-7 Taylor (truncation < 2^-27 relative on
// |r| <= ln2/2), 2^n from the exponent bits. Below -87.3 the result is 0 (no subnormals).
static const float LOG2EF = 1.44269504088896341f;
static const float LN2F_HI = 0.693145751953125f;
static const float LN2F_LO = 1.428606765330187045e-06f;
static const float SHIFTF = 0x1.8p23f;
static const float EXPF_MIN = -87.3f;

static inline float exp_base_f32(float x) {
    float t = x * LOG2EF + SHIFTF;
    float kd = t - SHIFTF;
    int32_t tb, sb;
    memcpy(&tb, &t, 4);
    memcpy(&sb, &SHIFTF, 4);
    int32_t n = tb - sb;
    float r = (x - kd * LN2F_HI) - kd * LN2F_LO;
    float p = 1.0f / 5040.0f;
    p = 1.0f / 720.0f + p * r;
    p = 1.0f / 120.0f + p * r;
    p = 1.0f / 24.0f + p * r;
    p = 1.0f / 6.0f + p * r;
    p = 0.5f + p * r;
    p = 1.0f + p * r;
    p = 1.0f + p * r;
    uint32_t sbits = (uint32_t)(n + 127) << 23;
    float scale;
    memcpy(&scale, &sbits, 4);
    float result = p * scale;
    return x < EXPF_MIN ? 0.0f : result;
}

static double exp_sum_base_f64(double *x, long n, double m) {
    for (long i = 0; i < n; i++) x[i] = exp_base_f64(x[i] - m);
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    long i = 0;
    for (; i + 4 <= n; i += 4) { s0 += x[i]; s1 += x[i + 1]; s2 += x[i + 2]; s3 += x[i + 3]; }
    for (; i < n; i++) s0 += x[i];
    return (s0 + s1) + (s2 + s3);
}

static float exp_sum_base_f32(float *x, long n, float m) {
    for (long i = 0; i < n; i++) x[i] = exp_base_f32(x[i] - m);
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    long i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) s[l] += x[i + l];
    for (; i < n; i++) s[0] += x[i];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

#define TK_MAX_BASE(NAME, T)                                                                                         \
    static T NAME(const T *x, long n) {                                                                              \
        T m0 = -INFINITY, m1 = -INFINITY;                                                                            \
        int nan = 0;                                                                                                 \
        long i = 0;                                                                                                  \
        for (; i + 2 <= n; i += 2) {                                                                                 \
            T a = x[i], b = x[i + 1];                                                                                \
            m0 = a > m0 ? a : m0;                                                                                    \
            m1 = b > m1 ? b : m1;                                                                                    \
            nan |= (a != a) | (b != b);                                                                              \
        }                                                                                                            \
        for (; i < n; i++) { m0 = x[i] > m0 ? x[i] : m0; nan |= x[i] != x[i]; }                                      \
        return nan ? (T)NAN : (m0 > m1 ? m0 : m1);                                                                   \
    }
TK_MAX_BASE(max_base_f64, double)
TK_MAX_BASE(max_base_f32, float)

// ---------------------------------------------------------------------------------------------------------------
// Few-row products (decoding). Baseline: plain loops the compiler vectorises over the contiguous dimension.

#define TK_SCORES_BASE(NAME, T)                                                                                      \
    static void NAME(const T *q, long nr, long d, const T *k, long nk, T alpha, T *s) {                              \
        for (long j = 0; j < nk; j++) {                                                                              \
            const T *kj = k + j * d;                                                                                 \
            for (long r = 0; r < nr; r++) {                                                                          \
                const T *qr = q + r * d;                                                                             \
                T a0 = 0, a1 = 0, a2 = 0, a3 = 0;                                                                    \
                long c = 0;                                                                                          \
                for (; c + 4 <= d; c += 4) {                                                                         \
                    a0 += qr[c] * kj[c]; a1 += qr[c + 1] * kj[c + 1];                                                \
                    a2 += qr[c + 2] * kj[c + 2]; a3 += qr[c + 3] * kj[c + 3];                                        \
                }                                                                                                    \
                for (; c < d; c++) a0 += qr[c] * kj[c];                                                              \
                s[r * nk + j] = alpha * ((a0 + a1) + (a2 + a3));                                                     \
            }                                                                                                        \
        }                                                                                                            \
    }
TK_SCORES_BASE(scores_base_f64, double)
TK_SCORES_BASE(scores_base_f32, float)

#define TK_PV_BASE(NAME, T)                                                                                          \
    static void NAME(const T *p, long nr, long nk, const T *v, long dv, T *o) {                                      \
        for (long r = 0; r < nr; r++) {                                                                              \
            T *orow = o + r * dv;                                                                                    \
            for (long j = 0; j < nk; j++) {                                                                          \
                T w = p[r * nk + j];                                                                                 \
                const T *vj = v + j * dv;                                                                            \
                for (long c = 0; c < dv; c++) orow[c] += w * vj[c];                                                  \
            }                                                                                                        \
        }                                                                                                            \
    }
TK_PV_BASE(pv_base_f64, double)
TK_PV_BASE(pv_base_f32, float)

// ---------------------------------------------------------------------------------------------------------------
// AVX2 + FMA

#ifdef TK_X86
#define TK_AVX2 __attribute__((target("avx2,fma,f16c")))
#define TK_PREFETCH(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)
#define TK_PF_KEYS 16

TK_AVX2 static inline __m256d exp_avx2_f64(__m256d x) {
    const __m256d shift = _mm256_set1_pd(SHIFT);
    __m256d t = _mm256_fmadd_pd(x, _mm256_set1_pd(LOG2E), shift);
    __m256d kd = _mm256_sub_pd(t, shift);
    __m256d r = _mm256_fnmadd_pd(kd, _mm256_set1_pd(LN2_HI), x);
    r = _mm256_fnmadd_pd(kd, _mm256_set1_pd(LN2_LO), r);
    __m256d p = _mm256_set1_pd(1.0 / 6227020800.0);
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 479001600.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 39916800.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 3628800.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 362880.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 40320.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 5040.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 720.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 120.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 24.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 6.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(0.5));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0));
    // 2^n: the low bits of t hold n + 0x8000000000000 (t = SHIFT + n); (t_bits - SHIFT_bits + 1023) << 52.
    __m256i n = _mm256_sub_epi64(_mm256_castpd_si256(t), _mm256_castpd_si256(shift));
    __m256i bits = _mm256_slli_epi64(_mm256_add_epi64(n, _mm256_set1_epi64x(1023)), 52);
    __m256d result = _mm256_mul_pd(p, _mm256_castsi256_pd(bits));
    __m256d tiny = _mm256_cmp_pd(x, _mm256_set1_pd(-708.0), _CMP_LT_OQ);
    return _mm256_andnot_pd(tiny, result);
}

TK_AVX2 static inline __m256 exp_avx2_f32(__m256 x) {
    const __m256 shift = _mm256_set1_ps(SHIFTF);
    __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(LOG2EF), shift);
    __m256 kd = _mm256_sub_ps(t, shift);
    __m256 r = _mm256_fnmadd_ps(kd, _mm256_set1_ps(LN2F_HI), x);
    r = _mm256_fnmadd_ps(kd, _mm256_set1_ps(LN2F_LO), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i n = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_castps_si256(shift));
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23);
    __m256 result = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
    __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(EXPF_MIN), _CMP_LT_OQ);
    return _mm256_andnot_ps(tiny, result);
}

TK_AVX2 static inline double hsum_avx2_f64(__m256d v) {
    __m128d lo = _mm256_castpd256_pd128(v), hi = _mm256_extractf128_pd(v, 1);
    lo = _mm_add_pd(lo, hi);
    return _mm_cvtsd_f64(_mm_add_sd(lo, _mm_unpackhi_pd(lo, lo)));
}

TK_AVX2 static inline float hsum_avx2_f32(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    return _mm_cvtss_f32(_mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1)));
}

TK_AVX2 static double exp_sum_avx2_f64(double *x, long n, double m) {
    __m256d mv = _mm256_set1_pd(m), s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256d a = exp_avx2_f64(_mm256_sub_pd(_mm256_loadu_pd(x + i), mv));
        __m256d b = exp_avx2_f64(_mm256_sub_pd(_mm256_loadu_pd(x + i + 4), mv));
        _mm256_storeu_pd(x + i, a);
        _mm256_storeu_pd(x + i + 4, b);
        s0 = _mm256_add_pd(s0, a);
        s1 = _mm256_add_pd(s1, b);
    }
    if (i < n) {
        double tail[8] = {0};
        long rest = n - i;
        for (long j = 0; j < rest; j++) tail[j] = x[i + j] - m;
        for (long j = rest; j < 8; j++) tail[j] = -INFINITY;
        __m256d a = exp_avx2_f64(_mm256_loadu_pd(tail)), b = exp_avx2_f64(_mm256_loadu_pd(tail + 4));
        _mm256_storeu_pd(tail, a);
        _mm256_storeu_pd(tail + 4, b);
        for (long j = 0; j < rest; j++) x[i + j] = tail[j];
        s0 = _mm256_add_pd(s0, a);
        s1 = _mm256_add_pd(s1, b);
    }
    return hsum_avx2_f64(_mm256_add_pd(s0, s1));
}

TK_AVX2 static float exp_sum_avx2_f32(float *x, long n, float m) {
    __m256 mv = _mm256_set1_ps(m), s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 a = exp_avx2_f32(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv));
        __m256 b = exp_avx2_f32(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), mv));
        _mm256_storeu_ps(x + i, a);
        _mm256_storeu_ps(x + i + 8, b);
        s0 = _mm256_add_ps(s0, a);
        s1 = _mm256_add_ps(s1, b);
    }
    if (i < n) {
        float tail[16];
        long rest = n - i;
        for (long j = 0; j < rest; j++) tail[j] = x[i + j] - m;
        for (long j = rest; j < 16; j++) tail[j] = -INFINITY;
        __m256 a = exp_avx2_f32(_mm256_loadu_ps(tail)), b = exp_avx2_f32(_mm256_loadu_ps(tail + 8));
        _mm256_storeu_ps(tail, a);
        _mm256_storeu_ps(tail + 8, b);
        for (long j = 0; j < rest; j++) x[i + j] = tail[j];
        s0 = _mm256_add_ps(s0, a);
        s1 = _mm256_add_ps(s1, b);
    }
    return hsum_avx2_f32(_mm256_add_ps(s0, s1));
}

// max_pd returns its second operand when either is NaN, so NaN is tracked separately with unordered compares.
TK_AVX2 static double max_avx2_f64(const double *x, long n) {
    __m256d m0 = _mm256_set1_pd(-INFINITY), m1 = m0, nan = _mm256_setzero_pd();
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256d a = _mm256_loadu_pd(x + i), b = _mm256_loadu_pd(x + i + 4);
        m0 = _mm256_max_pd(m0, a);
        m1 = _mm256_max_pd(m1, b);
        nan = _mm256_or_pd(nan, _mm256_cmp_pd(a, b, _CMP_UNORD_Q));
    }
    double lanes[4];
    _mm256_storeu_pd(lanes, _mm256_max_pd(m0, m1));
    double m = lanes[0];
    for (int l = 1; l < 4; l++) m = lanes[l] > m ? lanes[l] : m;
    int anyNaN = _mm256_movemask_pd(nan) != 0;
    for (; i < n; i++) { m = x[i] > m ? x[i] : m; anyNaN |= x[i] != x[i]; }
    return anyNaN ? NAN : m;
}

TK_AVX2 static float max_avx2_f32(const float *x, long n) {
    __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0, nan = _mm256_setzero_ps();
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
        m0 = _mm256_max_ps(m0, a);
        m1 = _mm256_max_ps(m1, b);
        nan = _mm256_or_ps(nan, _mm256_cmp_ps(a, b, _CMP_UNORD_Q));
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, _mm256_max_ps(m0, m1));
    float m = lanes[0];
    for (int l = 1; l < 8; l++) m = lanes[l] > m ? lanes[l] : m;
    int anyNaN = _mm256_movemask_ps(nan) != 0;
    for (; i < n; i++) { m = x[i] > m ? x[i] : m; anyNaN |= x[i] != x[i]; }
    return anyNaN ? NAN : m;
}

// Scores: two query rows x four keys per step (8 accumulators), the d loop 4 (f64) or 8 (f32) wide; an odd last row
// runs alone (four accumulators). Each row's dot products are the same sequence of FMAs either way.
// Hardware prefetchers stop at 4 KB pages, and four f64 key rows of d = 128 are a page: the rows TK_PF_KEYS keys ahead
// are prefetched in software, spread over the c loop's steps (a burst of 64 prefetches at once overflows the miss
// buffers and stalls the loads that compute needs).
#define TK_SCORES_AVX2(NAME, T, VT, W, LOAD, FMA, ZERO, HSUM)                                                  \
    TK_AVX2 static void NAME(const T *q, long nr, long d, const T *k, long nk, T alpha, T *s) {                      \
        long dvec = d - d % W;                                                                                       \
        const long line = 64 / (long)sizeof(T);                                                                      \
        /* The group's lines spread evenly over the c steps of all its row pairs: perStep lines every stride steps. */ \
        long steps = ((nr + 1) / 2) * (dvec / W), lines = (4 * d + line - 1) / line;                                 \
        long stride = lines > 0 && steps / lines > 1 ? steps / lines : 1;                                            \
        long perStep = steps > 0 ? (lines * stride + steps - 1) / steps : 0;                                         \
        long j = 0;                                                                                                  \
        for (; j + 4 <= nk; j += 4) {                                                                                \
            const T *k0 = k + j * d, *k1 = k0 + d, *k2 = k1 + d, *k3 = k2 + d;                                       \
            /* Prefetches never fault, so the rows ahead need no bound check. */                                    \
            const T *pf = k0 + TK_PF_KEYS * d, *pfEnd = pf + 4 * d;                                                  \
            long countdown = 1;                                                                                      \
            long r = 0;                                                                                              \
            for (; r + 2 <= nr; r += 2) {                                                                            \
                const T *qa = q + r * d, *qb = qa + d;                                                               \
                VT a0 = ZERO(), a1 = ZERO(), a2 = ZERO(), a3 = ZERO();                                               \
                VT b0 = ZERO(), b1 = ZERO(), b2 = ZERO(), b3 = ZERO();                                               \
                for (long c = 0; c < dvec; c += W) {                                                                 \
                    if (--countdown == 0) {                                                                          \
                        countdown = stride;                                                                          \
                        for (long t = 0; t < perStep && pf < pfEnd; t++, pf += line) TK_PREFETCH(pf);                \
                    }                                                                                                \
                    VT x = LOAD(qa + c), y = LOAD(qb + c);                                                           \
                    VT u = LOAD(k0 + c);                                                                             \
                    a0 = FMA(x, u, a0); b0 = FMA(y, u, b0);                                                          \
                    u = LOAD(k1 + c);                                                                                \
                    a1 = FMA(x, u, a1); b1 = FMA(y, u, b1);                                                          \
                    u = LOAD(k2 + c);                                                                                \
                    a2 = FMA(x, u, a2); b2 = FMA(y, u, b2);                                                          \
                    u = LOAD(k3 + c);                                                                                \
                    a3 = FMA(x, u, a3); b3 = FMA(y, u, b3);                                                          \
                }                                                                                                    \
                T sa[4] = {HSUM(a0), HSUM(a1), HSUM(a2), HSUM(a3)};                                                  \
                T sb[4] = {HSUM(b0), HSUM(b1), HSUM(b2), HSUM(b3)};                                                  \
                for (long c = dvec; c < d; c++) {                                                                    \
                    sa[0] += qa[c] * k0[c]; sa[1] += qa[c] * k1[c]; sa[2] += qa[c] * k2[c]; sa[3] += qa[c] * k3[c];  \
                    sb[0] += qb[c] * k0[c]; sb[1] += qb[c] * k1[c]; sb[2] += qb[c] * k2[c]; sb[3] += qb[c] * k3[c];  \
                }                                                                                                    \
                for (int t = 0; t < 4; t++) s[r * nk + j + t] = alpha * sa[t];                                       \
                for (int t = 0; t < 4; t++) s[(r + 1) * nk + j + t] = alpha * sb[t];                                 \
            }                                                                                                        \
            if (r < nr) {                                                                                            \
                const T *qa = q + r * d;                                                                             \
                VT a0 = ZERO(), a1 = ZERO(), a2 = ZERO(), a3 = ZERO();                                               \
                for (long c = 0; c < dvec; c += W) {                                                                 \
                    if (--countdown == 0) {                                                                          \
                        countdown = stride;                                                                          \
                        for (long t = 0; t < perStep && pf < pfEnd; t++, pf += line) TK_PREFETCH(pf);                \
                    }                                                                                                \
                    VT x = LOAD(qa + c);                                                                             \
                    a0 = FMA(x, LOAD(k0 + c), a0); a1 = FMA(x, LOAD(k1 + c), a1);                                    \
                    a2 = FMA(x, LOAD(k2 + c), a2); a3 = FMA(x, LOAD(k3 + c), a3);                                    \
                }                                                                                                    \
                T sa[4] = {HSUM(a0), HSUM(a1), HSUM(a2), HSUM(a3)};                                                  \
                for (long c = dvec; c < d; c++) {                                                                    \
                    sa[0] += qa[c] * k0[c]; sa[1] += qa[c] * k1[c]; sa[2] += qa[c] * k2[c]; sa[3] += qa[c] * k3[c];  \
                }                                                                                                    \
                for (int t = 0; t < 4; t++) s[r * nk + j + t] = alpha * sa[t];                                       \
            }                                                                                                        \
        }                                                                                                            \
        for (; j < nk; j++) {                                                                                        \
            const T *kj = k + j * d;                                                                                 \
            for (long r = 0; r < nr; r++) {                                                                          \
                const T *qr = q + r * d;                                                                             \
                VT a = ZERO();                                                                                       \
                for (long c = 0; c < dvec; c += W) a = FMA(LOAD(qr + c), LOAD(kj + c), a);                           \
                T t = HSUM(a);                                                                                       \
                for (long c = dvec; c < d; c++) t += qr[c] * kj[c];                                                  \
                s[r * nk + j] = alpha * t;                                                                           \
            }                                                                                                        \
        }                                                                                                            \
    }
TK_SCORES_AVX2(scores_avx2_f64, double, __m256d, 4, _mm256_loadu_pd, _mm256_fmadd_pd, _mm256_setzero_pd, hsum_avx2_f64)
TK_SCORES_AVX2(scores_avx2_f32, float, __m256, 8, _mm256_loadu_ps, _mm256_fmadd_ps, _mm256_setzero_ps, hsum_avx2_f32)

// P.V over blocks of TK_PV_KEYS keys: for each tile of columns the accumulators stay in registers over the block
// (o[r, c] = fma(p[r, j], v[j, c], o[r, c]) in key order, whichever path runs), so the block of V is walked once per
// group of rows from L1/L2. Groups of four rows take two vectors of columns per step (8 accumulators, no per-row
// branches in the loop); the remaining one to three rows run one at a time, four vectors per step (the single row of
// MHA decoding streams V with four independent chains). Columns past the last vector are scalar (no contraction).
// The block TK_PV_AHEAD blocks ahead is prefetched, spread over the walks of all the groups (issued during the first
// group's walk alone, the prefetches outran the memory and left it idle during the others): V's rows are 1 KB apart in
// the column walk, which the hardware prefetchers do not follow across pages.
#define TK_PV_KEYS 16
#define TK_PV_AHEAD 1
#define TK_PV_AVX2(NAME, T, VT, W, LOAD, STORE, FMA, BCAST)                                                          \
    TK_AVX2 static void NAME(const T *p, long nr, long nk, const T *v, long dv, T *o) {                              \
        const long line = 64 / (long)sizeof(T);                                                                      \
        long c2 = dv - dv % (2 * W), c4 = dv - dv % (4 * W), c1 = dv - dv % W;                                       \
        /* A four-row group's walk has a step per line of the block, a single row's half as many: prefetching every */ \
        /* `stride` steps spreads the next block's lines over all the groups' walks (memory stays busy throughout). */ \
        long stride = nr / 4 + (nr % 4) / 2;                                                                         \
        if (stride < 1) stride = 1;                                                                                  \
        for (long j0 = 0; j0 < nk; j0 += TK_PV_KEYS) {                                                               \
            long j1 = j0 + TK_PV_KEYS < nk ? j0 + TK_PV_KEYS : nk;                                                   \
            long ahead = j0 + TK_PV_AHEAD * TK_PV_KEYS, aheadEnd = ahead + TK_PV_KEYS;                               \
            const T *next = v + (ahead < nk ? ahead : nk) * dv, *nextEnd = v + (aheadEnd < nk ? aheadEnd : nk) * dv; \
            long countdown = 1;                                                                                      \
            long r = 0;                                                                                              \
            for (; r + 4 <= nr; r += 4) {                                                                            \
                const T *p0 = p + r * nk, *p1 = p0 + nk, *p2 = p1 + nk, *p3 = p2 + nk;                               \
                T *o0 = o + r * dv, *o1 = o0 + dv, *o2 = o1 + dv, *o3 = o2 + dv;                                     \
                long c = 0;                                                                                          \
                for (; c < c2; c += 2 * W) {                                                                         \
                    VT a0 = LOAD(o0 + c), a1 = LOAD(o0 + c + W), b0 = LOAD(o1 + c), b1 = LOAD(o1 + c + W);           \
                    VT e0 = LOAD(o2 + c), e1 = LOAD(o2 + c + W), d0 = LOAD(o3 + c), d1 = LOAD(o3 + c + W);           \
                    for (long j = j0; j < j1; j++) {                                                                 \
                        if (--countdown == 0) {                                                                      \
                            countdown = stride;                                                                      \
                            if (next < nextEnd) { TK_PREFETCH(next); next += line; }                                 \
                        }                                                                                            \
                        const T *vj = v + j * dv + c;                                                                \
                        VT x = LOAD(vj), y = LOAD(vj + W), w;                                                        \
                        w = BCAST(p0[j]); a0 = FMA(w, x, a0); a1 = FMA(w, y, a1);                                    \
                        w = BCAST(p1[j]); b0 = FMA(w, x, b0); b1 = FMA(w, y, b1);                                    \
                        w = BCAST(p2[j]); e0 = FMA(w, x, e0); e1 = FMA(w, y, e1);                                    \
                        w = BCAST(p3[j]); d0 = FMA(w, x, d0); d1 = FMA(w, y, d1);                                    \
                    }                                                                                                \
                    STORE(o0 + c, a0); STORE(o0 + c + W, a1); STORE(o1 + c, b0); STORE(o1 + c + W, b1);              \
                    STORE(o2 + c, e0); STORE(o2 + c + W, e1); STORE(o3 + c, d0); STORE(o3 + c + W, d1);              \
                }                                                                                                    \
                for (; c < c1; c += W) {                                                                             \
                    VT a0 = LOAD(o0 + c), b0 = LOAD(o1 + c), e0 = LOAD(o2 + c), d0 = LOAD(o3 + c);                   \
                    for (long j = j0; j < j1; j++) {                                                                 \
                        VT x = LOAD(v + j * dv + c);                                                                 \
                        a0 = FMA(BCAST(p0[j]), x, a0); b0 = FMA(BCAST(p1[j]), x, b0);                                \
                        e0 = FMA(BCAST(p2[j]), x, e0); d0 = FMA(BCAST(p3[j]), x, d0);                                \
                    }                                                                                                \
                    STORE(o0 + c, a0); STORE(o1 + c, b0); STORE(o2 + c, e0); STORE(o3 + c, d0);                      \
                }                                                                                                    \
                for (; c < dv; c++)                                                                                  \
                    for (long j = j0; j < j1; j++) {                                                                 \
                        T x = v[j * dv + c];                                                                         \
                        o0[c] = FMAS(p0[j], x, o0[c]); o1[c] = FMAS(p1[j], x, o1[c]);                                \
                        o2[c] = FMAS(p2[j], x, o2[c]); o3[c] = FMAS(p3[j], x, o3[c]);                                \
                    }                                                                                                \
            }                                                                                                        \
            for (; r < nr; r++) {                                                                                    \
                const T *p0 = p + r * nk;                                                                            \
                T *o0 = o + r * dv;                                                                                  \
                long c = 0;                                                                                          \
                for (; c < c4; c += 4 * W) {                                                                         \
                    VT a0 = LOAD(o0 + c), a1 = LOAD(o0 + c + W), a2 = LOAD(o0 + c + 2 * W), a3 = LOAD(o0 + c + 3 * W); \
                    for (long j = j0; j < j1; j++) {                                                                 \
                        /* Two lines per prefetching step: a step here reads two lines of V. */                     \
                        if (--countdown == 0) {                                                                      \
                            countdown = stride;                                                                      \
                            if (next < nextEnd) { TK_PREFETCH(next); TK_PREFETCH(next + line); next += 2 * line; }   \
                        }                                                                                            \
                        const T *vj = v + j * dv + c;                                                                \
                        VT w = BCAST(p0[j]);                                                                         \
                        a0 = FMA(w, LOAD(vj), a0); a1 = FMA(w, LOAD(vj + W), a1);                                    \
                        a2 = FMA(w, LOAD(vj + 2 * W), a2); a3 = FMA(w, LOAD(vj + 3 * W), a3);                        \
                    }                                                                                                \
                    STORE(o0 + c, a0); STORE(o0 + c + W, a1); STORE(o0 + c + 2 * W, a2); STORE(o0 + c + 3 * W, a3);  \
                }                                                                                                    \
                for (; c < c1; c += W) {                                                                             \
                    VT a0 = LOAD(o0 + c);                                                                            \
                    for (long j = j0; j < j1; j++) a0 = FMA(BCAST(p0[j]), LOAD(v + j * dv + c), a0);                 \
                    STORE(o0 + c, a0);                                                                               \
                }                                                                                                    \
                for (; c < dv; c++)                                                                                  \
                    for (long j = j0; j < j1; j++) o0[c] = FMAS(p0[j], v[j * dv + c], o0[c]);                        \
            }                                                                                                        \
        }                                                                                                            \
    }
#define FMAS(a, b, c) ((c) + (a) * (b))
TK_PV_AVX2(pv_avx2_f64, double, __m256d, 4, _mm256_loadu_pd, _mm256_storeu_pd, _mm256_fmadd_pd, _mm256_set1_pd)
TK_PV_AVX2(pv_avx2_f32, float, __m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_fmadd_ps, _mm256_set1_ps)
#undef FMAS

// The decode ceiling: `R` FMAs on each loaded vector, 8 / R vectors per step, so 8 accumulators (independent chains,
// enough for two FMA units at 4-cycle latency) whatever R, with the constant multipliers in registers.
#define TK_STREAM_FMA_AVX2(NAME, T, VT, W, LOAD, FMA, SET1, ADD, HSUM, R)                                             \
    TK_AVX2 static T NAME(const T *x, long n) {                                                                      \
        VT m[8], a[8];                                                                                               \
        for (int r = 0; r < 8; r++) { m[r] = SET1((T)(0.125 * (r % R + 1))); a[r] = SET1((T)0); }                    \
        long i = 0;                                                                                                  \
        for (; i + 8 / R * W <= n; i += 8 / R * W)                                                                   \
            for (int u = 0; u < 8 / R; u++) {                                                                        \
                VT v = LOAD(x + i + u * W);                                                                          \
                for (int r = 0; r < R; r++) a[u * R + r] = FMA(m[u * R + r], v, a[u * R + r]);                      \
            }                                                                                                        \
        VT t = a[0];                                                                                                 \
        for (int r = 1; r < 8; r++) t = ADD(t, a[r]);                                                                \
        T s = HSUM(t);                                                                                               \
        for (; i < n; i++)                                                                                           \
            for (int r = 0; r < R; r++) s += (T)(0.125 * (r + 1)) * x[i];                                            \
        return s;                                                                                                    \
    }
#define TK_STREAM_FMA_ALL(T, VT, W, LOAD, FMA, SET1, ADD, HSUM, SUFFIX)                                              \
    TK_STREAM_FMA_AVX2(stream_fma1_avx2_##SUFFIX, T, VT, W, LOAD, FMA, SET1, ADD, HSUM, 1)                           \
    TK_STREAM_FMA_AVX2(stream_fma2_avx2_##SUFFIX, T, VT, W, LOAD, FMA, SET1, ADD, HSUM, 2)                           \
    TK_STREAM_FMA_AVX2(stream_fma4_avx2_##SUFFIX, T, VT, W, LOAD, FMA, SET1, ADD, HSUM, 4)                           \
    TK_STREAM_FMA_AVX2(stream_fma8_avx2_##SUFFIX, T, VT, W, LOAD, FMA, SET1, ADD, HSUM, 8)
TK_STREAM_FMA_ALL(double, __m256d, 4, _mm256_loadu_pd, _mm256_fmadd_pd, _mm256_set1_pd, _mm256_add_pd, hsum_avx2_f64, f64)
TK_STREAM_FMA_ALL(float, __m256, 8, _mm256_loadu_ps, _mm256_fmadd_ps, _mm256_set1_ps, _mm256_add_ps, hsum_avx2_f32, f32)
#endif

// ---------------------------------------------------------------------------------------------------------------
// Entry points

double tk_exp_sum_f64(int isa, double *x, long n, double m) {
#ifdef TK_X86
    if (tk_use_avx2(isa)) return exp_sum_avx2_f64(x, n, m);
#endif
    return exp_sum_base_f64(x, n, m);
}

float tk_exp_sum_f32(int isa, float *x, long n, float m) {
#ifdef TK_X86
    if (tk_use_avx2(isa)) return exp_sum_avx2_f32(x, n, m);
#endif
    return exp_sum_base_f32(x, n, m);
}

double tk_max_f64(int isa, const double *x, long n) {
#ifdef TK_X86
    if (tk_use_avx2(isa)) return max_avx2_f64(x, n);
#endif
    return max_base_f64(x, n);
}

float tk_max_f32(int isa, const float *x, long n) {
#ifdef TK_X86
    if (tk_use_avx2(isa)) return max_avx2_f32(x, n);
#endif
    return max_base_f32(x, n);
}

// Scaling and the finiteness test have no loop-carried dependency: the compiler vectorises them at the baseline.
void tk_scale_f64(double *x, long n, double a) { for (long i = 0; i < n; i++) x[i] *= a; }
void tk_scale_f32(float *x, long n, float a) { for (long i = 0; i < n; i++) x[i] *= a; }

// Non-finite means all exponent bits set; an integer OR over the row has no order to keep, so it vectorises.
int tk_all_finite_f64(const double *x, long n) {
    const uint64_t mask = 0x7FF0000000000000ull;
    uint64_t bad = 0;
    for (long i = 0; i < n; i++) {
        uint64_t b;
        memcpy(&b, x + i, 8);
        bad |= (uint64_t)((b & mask) == mask);
    }
    return bad == 0;
}

int tk_all_finite_f32(const float *x, long n) {
    const uint32_t mask = 0x7F800000u;
    uint32_t bad = 0;
    for (long i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, x + i, 4);
        bad |= (uint32_t)((b & mask) == mask);
    }
    return bad == 0;
}

void tk_scores_f64(int isa, const double *q, long nr, long d, const double *k, long nk, double alpha, double *s) {
#ifdef TK_X86
    if (tk_use_avx2(isa)) { scores_avx2_f64(q, nr, d, k, nk, alpha, s); return; }
#endif
    scores_base_f64(q, nr, d, k, nk, alpha, s);
}

void tk_scores_f32(int isa, const float *q, long nr, long d, const float *k, long nk, float alpha, float *s) {
#ifdef TK_X86
    if (tk_use_avx2(isa)) { scores_avx2_f32(q, nr, d, k, nk, alpha, s); return; }
#endif
    scores_base_f32(q, nr, d, k, nk, alpha, s);
}

void tk_pv_f64(int isa, const double *p, long nr, long nk, const double *v, long dv, double *o) {
#ifdef TK_X86
    if (tk_use_avx2(isa)) { pv_avx2_f64(p, nr, nk, v, dv, o); return; }
#endif
    pv_base_f64(p, nr, nk, v, dv, o);
}

void tk_pv_f32(int isa, const float *p, long nr, long nk, const float *v, long dv, float *o) {
#ifdef TK_X86
    if (tk_use_avx2(isa)) { pv_avx2_f32(p, nr, nk, v, dv, o); return; }
#endif
    pv_base_f32(p, nr, nk, v, dv, o);
}

// The decode ceiling's entry points; the baseline is a plain loop of the same arithmetic (R accumulators).
#define TK_STREAM_FMA_BASE(NAME, T)                                                                                  \
    static T NAME(const T *x, long n, long rows) {                                                                   \
        T a[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                                                           \
        for (long i = 0; i < n; i++)                                                                                 \
            for (long r = 0; r < rows; r++) a[r] += (T)(0.125 * (r + 1)) * x[i];                                     \
        T s = 0;                                                                                                     \
        for (long r = 0; r < rows; r++) s += a[r];                                                                   \
        return s;                                                                                                    \
    }
TK_STREAM_FMA_BASE(stream_fma_base_f64, double)
TK_STREAM_FMA_BASE(stream_fma_base_f32, float)

static long stream_fma_rows(long rows) { return rows <= 1 ? 1 : rows <= 2 ? 2 : rows <= 4 ? 4 : 8; }

double tk_stream_fma_f64(int isa, const double *x, long n, long rows) {
    rows = stream_fma_rows(rows);
#ifdef TK_X86
    if (tk_use_avx2(isa)) {
        return rows == 1   ? stream_fma1_avx2_f64(x, n)
               : rows == 2 ? stream_fma2_avx2_f64(x, n)
               : rows == 4 ? stream_fma4_avx2_f64(x, n)
                           : stream_fma8_avx2_f64(x, n);
    }
#endif
    return stream_fma_base_f64(x, n, rows);
}

float tk_stream_fma_f32(int isa, const float *x, long n, long rows) {
    rows = stream_fma_rows(rows);
#ifdef TK_X86
    if (tk_use_avx2(isa)) {
        return rows == 1   ? stream_fma1_avx2_f32(x, n)
               : rows == 2 ? stream_fma2_avx2_f32(x, n)
               : rows == 4 ? stream_fma4_avx2_f32(x, n)
                           : stream_fma8_avx2_f32(x, n);
    }
#endif
    return stream_fma_base_f32(x, n, rows);
}

// ---------------------------------------------------------------------------------------------------------------
// 16-bit floats to f32/f64 (exact). bf16 is the top half of an f32; IEEE half is rebuilt from its fields.

static inline float half_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu, bits;
    if (exp == 0x1F) {
        bits = sign | 0x7F800000u | (man << 13);  // inf or NaN (payload kept)
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man == 0) {
        bits = sign;
    } else {
        // Subnormal half: man x 2^-24, exact in f32.
        float f = (float)man * 0x1p-24f;
        memcpy(&bits, &f, 4);
        bits |= sign;
    }
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

static inline float bf16_to_f32(uint16_t b) {
    uint32_t bits = (uint32_t)b << 16;
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

#ifdef TK_X86
TK_AVX2 static void widen_half_avx2_f32(const unsigned short *x, long n, float *y) {
    long i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
    for (; i < n; i++) y[i] = half_to_f32(x[i]);
}
#endif

void tk_widen16_f32(int isa, const unsigned short *x, long n, int bf16, float *y) {
    if (bf16) {
        for (long i = 0; i < n; i++) y[i] = bf16_to_f32(x[i]);
        return;
    }
#ifdef TK_X86
    if (tk_use_avx2(isa)) { widen_half_avx2_f32(x, n, y); return; }
#endif
    (void)isa;
    for (long i = 0; i < n; i++) y[i] = half_to_f32(x[i]);
}

void tk_widen16_f64(int isa, const unsigned short *x, long n, int bf16, double *y) {
    (void)isa;
    if (bf16) {
        for (long i = 0; i < n; i++) y[i] = (double)bf16_to_f32(x[i]);
    } else {
        for (long i = 0; i < n; i++) y[i] = (double)half_to_f32(x[i]);
    }
}

void tk_widen32_f64(const float *x, long n, double *y) { for (long i = 0; i < n; i++) y[i] = (double)x[i]; }
void tk_copy32_f32(const float *x, long n, float *y) { memcpy(y, x, (size_t)n * sizeof(float)); }
long tk_count_all_set16(const unsigned short *x, long n, unsigned short mask) {
    // Branch-free 32-bit lane counts in blocks (no lane overflows), so the compiler vectorises the loop.
    long total = 0;
    for (long i = 0; i < n; i += 1L << 20) {
        long end = n - i < (1L << 20) ? n : i + (1L << 20);
        unsigned int count = 0;
        for (long j = i; j < end; j++) count += (unsigned int)((x[j] & mask) == mask);
        total += count;
    }
    return total;
}
