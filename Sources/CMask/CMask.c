// Column rows into bit masks for the CEL mask evaluator (Sources/CEL/MaskEval.swift). In C
// for the AVX2 variant: one 64-bit compare and one `movmskpd` give four rows' bits, where
// Swift, compiled for baseline x86-64, takes a compare, a shift and an or per row. The AVX2
// loops are chosen at run time (cheap Pentium and Celeron models have no AVX2); the plain
// loops are the same rows one at a time.
#include "CMask.h"

#include <stdbool.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define CMASK_X86 1
#include <immintrin.h>
#endif

static inline bool holds(int64_t x, CMaskRelation relation, int64_t q) {
    switch (relation) {
    case CMaskLess: return x < q;
    case CMaskLessOrEqual: return x <= q;
    case CMaskGreater: return x > q;
    case CMaskGreaterOrEqual: return x >= q;
    case CMaskEqual: return x == q;
    default: return x != q;
    }
}

/// Rows from `from` to n, one at a time, into the words they fall in. `skipped` (when not
/// NULL): the rows equal to `skip`, which are then taken out of `out`.
static void compareRows(const int64_t *x, size_t from, size_t n, CMaskRelation relation, int64_t q, int64_t skip, uint64_t *out,
                        uint64_t *skipped) {
    for (size_t r = from; r < n; r++) {
        if ((r & 63) == 0) out[r >> 6] = 0;
        if ((r & 63) == 0 && skipped) skipped[r >> 6] = 0;
        bool skip_ = skipped && x[r] == skip;
        out[r >> 6] |= (uint64_t)(!skip_ && holds(x[r], relation, q)) << (r & 63);
        if (skipped) skipped[r >> 6] |= (uint64_t)skip_ << (r & 63);
    }
}

static void compareRows16(const int16_t *x, size_t from, size_t n, CMaskRelation relation, int16_t q, uint64_t *out) {
    for (size_t r = from; r < n; r++) {
        if ((r & 63) == 0) out[r >> 6] = 0;
        out[r >> 6] |= (uint64_t)holds(x[r], relation, q) << (r & 63);
    }
}

/// Rows from `from` to n of `x` as 16-bit numbers, rows equal to `skip` as 0; whether every
/// other row lies in CMASK_NARROW_MIN ... CMASK_NARROW_MAX.
static int narrowRows(const int64_t *x, size_t from, size_t n, int64_t skip, int16_t *out) {
    int fits = 1;
    for (size_t r = from; r < n; r++) {
        int64_t v = x[r];
        int skipped = v == skip;
        fits &= skipped | ((v >= CMASK_NARROW_MIN) & (v <= CMASK_NARROW_MAX));
        out[r] = skipped ? 0 : (int16_t)v;
    }
    return fits;
}

/// `skipped` (when not NULL): the rows equal to `skip`.
static void lowBitRows(const int64_t *x, size_t from, size_t n, int64_t skip, uint64_t *values, uint64_t *skipped) {
    for (size_t r = from; r < n; r++) {
        if ((r & 63) == 0) values[r >> 6] = 0;
        if ((r & 63) == 0 && skipped) skipped[r >> 6] = 0;
        values[r >> 6] |= (uint64_t)(x[r] & 1) << (r & 63);
        if (skipped) skipped[r >> 6] |= (uint64_t)(x[r] == skip) << (r & 63);
    }
}

/// `skipped` (when not NULL): the rows equal to `skip`.
static void lookupRows(const int64_t *x, size_t from, size_t n, uint64_t table, uint64_t count, int64_t skip, uint64_t *values,
                       uint64_t *outside, uint64_t *skipped) {
    for (size_t r = from; r < n; r++) {
        if ((r & 63) == 0) values[r >> 6] = outside[r >> 6] = 0;
        if ((r & 63) == 0 && skipped) skipped[r >> 6] = 0;
        uint64_t id = (uint64_t)x[r];
        bool in = id < count;
        values[r >> 6] |= (uint64_t)(in && (table >> id & 1)) << (r & 63);
        outside[r >> 6] |= (uint64_t)!in << (r & 63);
        if (skipped) skipped[r >> 6] |= (uint64_t)(x[r] == skip) << (r & 63);
    }
}

static void unpackRows(const uint64_t *values, const uint64_t *unknown, size_t from, size_t n, int64_t *out) {
    for (size_t r = from; r < n; r++) {
        uint64_t value = values[r >> 6] >> (r & 63) & 1, unknownBit = unknown[r >> 6] >> (r & 63) & 1;
        // An unknown row has no value bit: the sign bit alone.
        out[r] = (int64_t)(value | unknownBit << 63);
    }
}

#ifdef CMASK_X86
#define AVX2 __attribute__((target("avx2")))

static int avx2Wanted = 1;

static bool hasAVX2(void) {
    static int known = -1;
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return known == 1 && avx2Wanted;
}

static inline AVX2 uint64_t bits4(__m256i c) { return (uint64_t)_mm256_movemask_pd(_mm256_castsi256_pd(c)); }

/// Whole words of `x > q` (`swap`: `q > x`; `equal`: `x == q`), each inverted when `invert`;
/// with `withSkipped`, the rows equal to `skip` taken out of `out` and set in `skipped`.
static inline AVX2 size_t compareWords(const int64_t *x, size_t n, int64_t q, bool swap, bool equal, bool invert, bool withSkipped,
                                       int64_t skip, uint64_t *out, uint64_t *skipped) {
    __m256i vq = _mm256_set1_epi64x(q), vskip = _mm256_set1_epi64x(skip);
    size_t w = 0;
    for (; (w + 1) * 64 <= n; w++) {
        const int64_t *p = x + w * 64;
        uint64_t word = 0, skip_ = 0;
        for (int k = 0; k < 16; k++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(p + 4 * k));
            __m256i c = equal ? _mm256_cmpeq_epi64(v, vq) : (swap ? _mm256_cmpgt_epi64(vq, v) : _mm256_cmpgt_epi64(v, vq));
            word |= bits4(c) << (4 * k);
            if (withSkipped) skip_ |= bits4(_mm256_cmpeq_epi64(v, vskip)) << (4 * k);
        }
        out[w] = (invert ? ~word : word) & ~skip_;
        if (withSkipped) skipped[w] = skip_;
    }
    return w * 64;
}

static inline AVX2 size_t compareRelationWords(const int64_t *x, size_t n, CMaskRelation relation, int64_t q, bool withSkipped,
                                               int64_t skip, uint64_t *out, uint64_t *skipped) {
    switch (relation) {
    case CMaskLess: return compareWords(x, n, q, true, false, false, withSkipped, skip, out, skipped);
    case CMaskLessOrEqual: return compareWords(x, n, q, false, false, true, withSkipped, skip, out, skipped);
    case CMaskGreater: return compareWords(x, n, q, false, false, false, withSkipped, skip, out, skipped);
    case CMaskGreaterOrEqual: return compareWords(x, n, q, true, false, true, withSkipped, skip, out, skipped);
    case CMaskEqual: return compareWords(x, n, q, false, true, false, withSkipped, skip, out, skipped);
    default: return compareWords(x, n, q, false, true, true, withSkipped, skip, out, skipped);
    }
}

/// `skipped` as in `compareRows`.
static AVX2 size_t compareAVX2(const int64_t *x, size_t n, CMaskRelation relation, int64_t q, int64_t skip, uint64_t *out, uint64_t *skipped) {
    if (skipped) return compareRelationWords(x, n, relation, q, true, skip, out, skipped);
    return compareRelationWords(x, n, relation, q, false, 0, out, NULL);
}

/// The 32 bits of two compares of 16 rows each (lanes all ones or zero), in row order: the
/// signed pack to bytes interleaves the 128-bit halves, which the permute puts back.
static inline AVX2 uint64_t bits32(__m256i a, __m256i b) {
    __m256i packed = _mm256_permute4x64_epi64(_mm256_packs_epi16(a, b), 0xD8);
    return (uint32_t)_mm256_movemask_epi8(packed);
}

/// `compareWords` over 16-bit rows: 64 rows in four loads.
static inline AVX2 size_t compare16Words(const int16_t *x, size_t n, int16_t q, bool swap, bool equal, bool invert, uint64_t *out) {
    __m256i vq = _mm256_set1_epi16(q);
    size_t w = 0;
    for (; (w + 1) * 64 <= n; w++) {
        const int16_t *p = x + w * 64;
        uint64_t word = 0;
        for (int k = 0; k < 2; k++) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(p + 32 * k)), b = _mm256_loadu_si256((const __m256i *)(p + 32 * k + 16));
            __m256i ca = equal ? _mm256_cmpeq_epi16(a, vq) : (swap ? _mm256_cmpgt_epi16(vq, a) : _mm256_cmpgt_epi16(a, vq));
            __m256i cb = equal ? _mm256_cmpeq_epi16(b, vq) : (swap ? _mm256_cmpgt_epi16(vq, b) : _mm256_cmpgt_epi16(b, vq));
            word |= bits32(ca, cb) << (32 * k);
        }
        out[w] = invert ? ~word : word;
    }
    return w * 64;
}

static AVX2 size_t compare16AVX2(const int16_t *x, size_t n, CMaskRelation relation, int16_t q, uint64_t *out) {
    switch (relation) {
    case CMaskLess: return compare16Words(x, n, q, true, false, false, out);
    case CMaskLessOrEqual: return compare16Words(x, n, q, false, false, true, out);
    case CMaskGreater: return compare16Words(x, n, q, false, false, false, out);
    case CMaskGreaterOrEqual: return compare16Words(x, n, q, true, false, true, out);
    case CMaskEqual: return compare16Words(x, n, q, false, true, false, out);
    default: return compare16Words(x, n, q, false, true, true, out);
    }
}

/// Sixteen rows a step: each group of four checked against the bounds and `skip`, its low
/// halves gathered in row order, and the two groups of eight packed to 16 bits (the pack
/// interleaves the 128-bit halves, which the last permute puts back). Rows past a multiple of
/// 16 are left to `narrowRows`; `fits` is 0 when some checked row was outside.
static AVX2 size_t narrowAVX2(const int64_t *x, size_t n, int64_t skip, int16_t *out, int *fits) {
    __m256i vskip = _mm256_set1_epi64x(skip), vmin = _mm256_set1_epi64x(CMASK_NARROW_MIN), vmax = _mm256_set1_epi64x(CMASK_NARROW_MAX);
    __m256i lows = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6), outside = _mm256_setzero_si256();
    size_t r = 0;
    for (; r + 16 <= n; r += 16) {
        __m256i v[4];
        for (int k = 0; k < 4; k++) {
            __m256i x4 = _mm256_loadu_si256((const __m256i *)(x + r + 4 * k));
            __m256i skipped = _mm256_cmpeq_epi64(x4, vskip);
            __m256i bad = _mm256_or_si256(_mm256_cmpgt_epi64(x4, vmax), _mm256_cmpgt_epi64(vmin, x4));
            outside = _mm256_or_si256(outside, _mm256_andnot_si256(skipped, bad));
            v[k] = _mm256_permutevar8x32_epi32(_mm256_andnot_si256(skipped, x4), lows);
        }
        __m256i first = _mm256_permute2x128_si256(v[0], v[1], 0x20), second = _mm256_permute2x128_si256(v[2], v[3], 0x20);
        __m256i packed = _mm256_permute4x64_epi64(_mm256_packs_epi32(first, second), 0xD8);
        _mm256_storeu_si256((__m256i *)(out + r), packed);
    }
    *fits = _mm256_testz_si256(outside, outside);
    return r;
}

static inline AVX2 size_t lowBitWords(const int64_t *x, size_t n, bool withSkipped, int64_t skip, uint64_t *values, uint64_t *skipped) {
    __m256i vskip = _mm256_set1_epi64x(skip);
    size_t w = 0;
    for (; (w + 1) * 64 <= n; w++) {
        const int64_t *p = x + w * 64;
        uint64_t word = 0, skip_ = 0;
        for (int k = 0; k < 16; k++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(p + 4 * k));
            word |= bits4(_mm256_slli_epi64(v, 63)) << (4 * k);
            if (withSkipped) skip_ |= bits4(_mm256_cmpeq_epi64(v, vskip)) << (4 * k);
        }
        values[w] = word;
        if (withSkipped) skipped[w] = skip_;
    }
    return w * 64;
}

/// `skipped` as in `lowBitRows`.
static AVX2 size_t lowBitAVX2(const int64_t *x, size_t n, int64_t skip, uint64_t *values, uint64_t *skipped) {
    if (skipped) return lowBitWords(x, n, true, skip, values, skipped);
    return lowBitWords(x, n, false, 0, values, NULL);
}

/// `vpsrlvq` gives 0 for a shift of 64 or more, so ids past the table (negative ones too, as
/// unsigned numbers) read no table bit; `outside` is id < 0 or id > count - 1.
/// `skipped` as in `lookupRows` (`withSkipped` false: NULL, not written).
static inline AVX2 size_t lookupWords(const int64_t *x, size_t n, uint64_t table, uint64_t count, int64_t skip, uint64_t *values,
                                      uint64_t *outside, bool withSkipped, uint64_t *skipped) {
    __m256i vt = _mm256_set1_epi64x((int64_t)table), last = _mm256_set1_epi64x((int64_t)count - 1), zero = _mm256_setzero_si256();
    __m256i vskip = _mm256_set1_epi64x(skip);
    size_t w = 0;
    for (; (w + 1) * 64 <= n; w++) {
        const int64_t *p = x + w * 64;
        uint64_t value = 0, out = 0, skip_ = 0;
        for (int k = 0; k < 16; k++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(p + 4 * k));
            value |= bits4(_mm256_slli_epi64(_mm256_srlv_epi64(vt, v), 63)) << (4 * k);
            out |= bits4(_mm256_or_si256(_mm256_cmpgt_epi64(zero, v), _mm256_cmpgt_epi64(v, last))) << (4 * k);
            if (withSkipped) skip_ |= bits4(_mm256_cmpeq_epi64(v, vskip)) << (4 * k);
        }
        values[w] = value;
        outside[w] = out;
        if (withSkipped) skipped[w] = skip_;
    }
    return w * 64;
}

static AVX2 size_t lookupAVX2(const int64_t *x, size_t n, uint64_t table, uint64_t count, int64_t skip, uint64_t *values,
                              uint64_t *outside, uint64_t *skipped) {
    if (skipped) return lookupWords(x, n, table, count, skip, values, outside, true, skipped);
    return lookupWords(x, n, table, count, skip, values, outside, false, NULL);
}

/// Four rows a step: each lane tests its own bit of the word's next four.
static AVX2 size_t unpackAVX2(const uint64_t *values, const uint64_t *unknown, size_t n, int64_t *out) {
    __m256i lanes = _mm256_setr_epi64x(1, 2, 4, 8), one = _mm256_set1_epi64x(1), sign = _mm256_set1_epi64x(INT64_MIN);
    size_t w = 0;
    for (; (w + 1) * 64 <= n; w++) {
        uint64_t value = values[w], unknownBits = unknown[w];
        for (int k = 0; k < 16; k++) {
            __m256i v = _mm256_and_si256(_mm256_set1_epi64x((int64_t)(value >> (4 * k))), lanes);
            __m256i u = _mm256_and_si256(_mm256_set1_epi64x((int64_t)(unknownBits >> (4 * k))), lanes);
            __m256i isTrue = _mm256_and_si256(_mm256_cmpeq_epi64(v, lanes), one);
            __m256i isUnknown = _mm256_cmpeq_epi64(u, lanes);
            __m256i row = _mm256_or_si256(_mm256_andnot_si256(isUnknown, isTrue), _mm256_and_si256(isUnknown, sign));
            _mm256_storeu_si256((__m256i *)(out + w * 64 + 4 * k), row);
        }
    }
    return w * 64;
}
#endif

void cmask_unpack(const uint64_t *values, const uint64_t *unknown, size_t n, int64_t *out) {
    size_t done = 0;
#ifdef CMASK_X86
    if (hasAVX2()) done = unpackAVX2(values, unknown, n, out);
#endif
    unpackRows(values, unknown, done, n, out);
}

static void compare(const int64_t *x, size_t n, CMaskRelation relation, int64_t q, int64_t skip, uint64_t *out, uint64_t *skipped) {
    size_t done = 0;
#ifdef CMASK_X86
    if (hasAVX2()) done = compareAVX2(x, n, relation, q, skip, out, skipped);
#endif
    compareRows(x, done, n, relation, q, skip, out, skipped);
}

void cmask_compare(const int64_t *x, size_t n, CMaskRelation relation, int64_t q, uint64_t *out) {
    compare(x, n, relation, q, 0, out, NULL);
}

void cmask_compare_known(const int64_t *x, size_t n, CMaskRelation relation, int64_t q, int64_t skip, uint64_t *out, uint64_t *skipped) {
    compare(x, n, relation, q, skip, out, skipped);
}

int cmask_narrow16(const int64_t *x, size_t n, int64_t skip, int16_t *out) {
    size_t done = 0;
    int fits = 1;
#ifdef CMASK_X86
    if (hasAVX2()) done = narrowAVX2(x, n, skip, out, &fits);
#endif
    return narrowRows(x, done, n, skip, out) & fits;
}

void cmask_compare16(const int16_t *x, size_t n, CMaskRelation relation, int16_t q, uint64_t *out) {
    size_t done = 0;
#ifdef CMASK_X86
    if (hasAVX2()) done = compare16AVX2(x, n, relation, q, out);
#endif
    compareRows16(x, done, n, relation, q, out);
}

static void lowBit(const int64_t *x, size_t n, int64_t skip, uint64_t *values, uint64_t *skipped) {
    size_t done = 0;
#ifdef CMASK_X86
    if (hasAVX2()) done = lowBitAVX2(x, n, skip, values, skipped);
#endif
    lowBitRows(x, done, n, skip, values, skipped);
}

void cmask_low_bit(const int64_t *x, size_t n, uint64_t *out) {
    lowBit(x, n, 0, out, NULL);
}

void cmask_low_bit_known(const int64_t *x, size_t n, int64_t skip, uint64_t *values, uint64_t *skipped) {
    lowBit(x, n, skip, values, skipped);
}

static void lookup(const int64_t *x, size_t n, uint64_t table, uint64_t count, int64_t skip, uint64_t *values, uint64_t *outside,
                   uint64_t *skipped) {
    size_t done = 0;
#ifdef CMASK_X86
    if (hasAVX2() && count > 0) done = lookupAVX2(x, n, table, count, skip, values, outside, skipped);
#endif
    lookupRows(x, done, n, table, count, skip, values, outside, skipped);
}

void cmask_lookup(const int64_t *x, size_t n, uint64_t table, uint64_t count, uint64_t *values, uint64_t *outside) {
    lookup(x, n, table, count, 0, values, outside, NULL);
}

void cmask_lookup_known(const int64_t *x, size_t n, uint64_t table, uint64_t count, int64_t skip, uint64_t *values, uint64_t *outside,
                        uint64_t *skipped) {
    lookup(x, n, table, count, skip, values, outside, skipped);
}

/// Whether rows lo ..< hi (lo < hi) of `w` have a set bit: one word for most households (a
/// few members), their words in turn for a household whose members cross words.
static inline bool anyInRows(const uint64_t *w, size_t lo, size_t hi) {
    size_t first = lo >> 6, last = (hi - 1) >> 6;
    uint64_t head = ~0ULL << (lo & 63), tail = ~0ULL >> (63 - ((hi - 1) & 63));
    if (first == last) return (w[first] & head & tail) != 0;
    if (w[first] & head) return true;
    for (size_t k = first + 1; k < last; k++)
        if (w[k]) return true;
    return (w[last] & tail) != 0;
}

void cmask_some_in_ranges(const uint64_t *values, const uint64_t *unknown, size_t masks, size_t stride, const int64_t *bounds,
                          size_t ranges, uint64_t *someTrue, uint64_t *someUnknown) {
    size_t words = (ranges + 63) / 64;
    for (size_t w = 0; w < words; w++) {
        // The 64 ranges of this word once for all the masks: most households have their members
        // in one word (its index and the window of their bits); the others (`across`) are read
        // after the masks' loop, and empty ranges read nothing (word 0, window 0).
        size_t end = ranges - w * 64 < 64 ? ranges - w * 64 : 64, first[64];
        uint64_t window[64], across = 0;
        const int64_t *b = bounds + 2 * w * 64;
        for (size_t k = 0; k < end; k++) {
            size_t lo = (size_t)b[2 * k], hi = (size_t)b[2 * k + 1];
            first[k] = 0;
            window[k] = 0;
            if (lo >= hi) continue;
            first[k] = lo >> 6;
            if (first[k] == (hi - 1) >> 6) {
                window[k] = (~0ULL << (lo & 63)) & (~0ULL >> (63 - ((hi - 1) & 63)));
            } else {
                across |= 1ULL << k;
            }
        }
        for (size_t j = 0; j < masks; j++) {
            const uint64_t *v = values + j * stride, *u = unknown + j * stride;
            uint64_t trueBits = 0, unknownBits = 0;
            for (size_t k = 0; k < end; k++) {
                uint64_t anyUnknown = (u[first[k]] & window[k]) != 0, anyTrue = (v[first[k]] & window[k]) != 0;
                unknownBits |= anyUnknown << k;
                trueBits |= (anyTrue & !anyUnknown) << k;
            }
            for (uint64_t rest = across; rest; rest &= rest - 1) {
                size_t k = (size_t)__builtin_ctzll(rest), lo = (size_t)b[2 * k], hi = (size_t)b[2 * k + 1];
                uint64_t anyUnknown = anyInRows(u, lo, hi), anyTrue = anyInRows(v, lo, hi);
                unknownBits |= anyUnknown << k;
                trueBits |= (anyTrue & !anyUnknown) << k;
            }
            someTrue[j * words + w] = trueBits;
            someUnknown[j * words + w] = unknownBits;
        }
    }
}

/// Set bits in rows lo ..< hi (lo < hi) of `w`.
static inline __attribute__((always_inline)) int64_t countInRows(const uint64_t *w, size_t lo, size_t hi) {
    size_t first = lo >> 6, last = (hi - 1) >> 6;
    uint64_t head = ~0ULL << (lo & 63), tail = ~0ULL >> (63 - ((hi - 1) & 63));
    if (first == last) return __builtin_popcountll(w[first] & head & tail);
    int64_t n = __builtin_popcountll(w[first] & head) + __builtin_popcountll(w[last] & tail);
    for (size_t k = first + 1; k < last; k++) n += __builtin_popcountll(w[k]);
    return n;
}

static inline __attribute__((always_inline)) void countRanges(const uint64_t *values, const uint64_t *unknown, const int64_t *bounds,
                                                              size_t ranges, int64_t *trueCount, int64_t *unknownCount) {
    for (size_t h = 0; h < ranges; h++) {
        size_t lo = (size_t)bounds[2 * h], hi = (size_t)bounds[2 * h + 1];
        trueCount[h] = lo < hi ? countInRows(values, lo, hi) : 0;
        unknownCount[h] = lo < hi ? countInRows(unknown, lo, hi) : 0;
    }
}

#ifdef CMASK_X86
/// The same with the `popcnt` instruction (every AVX2 processor has it).
static __attribute__((target("popcnt"))) void countRangesPopcnt(const uint64_t *values, const uint64_t *unknown, const int64_t *bounds,
                                                                 size_t ranges, int64_t *trueCount, int64_t *unknownCount) {
    countRanges(values, unknown, bounds, ranges, trueCount, unknownCount);
}
#endif

void cmask_count_in_ranges(const uint64_t *values, const uint64_t *unknown, const int64_t *bounds, size_t ranges,
                           int64_t *trueCount, int64_t *unknownCount) {
#ifdef CMASK_X86
    if (hasAVX2()) {
        countRangesPopcnt(values, unknown, bounds, ranges, trueCount, unknownCount);
        return;
    }
#endif
    countRanges(values, unknown, bounds, ranges, trueCount, unknownCount);
}

void cmask_use_avx2(int enabled) {
#ifdef CMASK_X86
    avx2Wanted = enabled;
#else
    (void)enabled;
#endif
}
