// The layout pass's walks over rows (`MemberRuns`, `CSVReader.nextKeyFields`), in C so that
// they can use AVX2 as the splitter does (see CSplit.c). A row's end and any quote in it come
// from one mask per 64-byte block of the bytes that are a line feed or a quote, made once per
// block: rows without quotes (nearly all) need no search for quotes ahead of the walk, and a
// quote ends the walk at its row, which the reader then reads with its full tokenizer.

#include "CSplitLayout.h"

#include <stdbool.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))

/// The operation on a 64-byte block that differs by instruction set.
typedef struct {
    /// Bit i set when byte i of the block is a line feed or a quote.
    uint64_t (*breaks)(const uint8_t *block);
} LayoutVariant;

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,bmi,bmi2,popcnt")))

INLINE uint64_t breaksSSE2(const uint8_t *p) {
    const __m128i lf = _mm_set1_epi8('\n'), quote = _mm_set1_epi8('"');
    uint64_t m = 0;
    for (int lane = 0; lane < 64; lane += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + lane));
        m |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, quote))) << lane;
    }
    return m;
}

/// A byte is a line feed (0A) or a quote (22) when it equals this table's entry for its low
/// nibble: one shuffle and one compare per 32 bytes (a byte with the high bit set is looked up
/// as 00, which it is not; 00 itself is looked up as FF).
AVX2 INLINE uint64_t breaksAVX2(const uint8_t *p) {
    const __m256i table = _mm256_setr_epi8(-1, 0, '"', 0, 0, 0, 0, 0, 0, 0, '\n', 0, 0, 0, 0, 0,
                                           -1, 0, '"', 0, 0, 0, 0, 0, 0, 0, '\n', 0, 0, 0, 0, 0);
    __m256i v0 = _mm256_loadu_si256((const __m256i *)p), v1 = _mm256_loadu_si256((const __m256i *)(p + 32));
    uint64_t m0 = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_shuffle_epi8(table, v0), v0));
    uint64_t m1 = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_shuffle_epi8(table, v1), v1));
    return m0 | m1 << 32;
}

/// Offset of the first comma in `b[s..<e]`, or `e`. Sixteen bytes a step: the comma after an
/// id is close. Reads up to 15 bytes past `e`.
INLINE ptrdiff_t firstComma(const uint8_t *b, ptrdiff_t s, ptrdiff_t e) {
    for (; s < e; s += 16) {
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(b + s)), _mm_set1_epi8(',')));
        if (m) {
            ptrdiff_t c = s + __builtin_ctz(m);
            return c < e ? c : e;
        }
    }
    return e;
}

#else

INLINE uint64_t breaksPlain(const uint8_t *p) {
    uint64_t m = 0;
    for (int i = 0; i < 64; i++) m |= (uint64_t)(p[i] == '\n' || p[i] == '"') << i;
    return m;
}

INLINE ptrdiff_t firstComma(const uint8_t *b, ptrdiff_t s, ptrdiff_t e) {
    while (s < e && b[s] != ',') s++;
    return s;
}

#endif

/// The line feeds and quotes from a place on, a block at a time.
typedef struct {
    const uint8_t *bytes;
    /// The block's start, the end of the data, and the block's breaks not yet taken.
    ptrdiff_t base, end;
    uint64_t breaks;
} Breaks;

/// The breaks of the block from `base`, without those at or past the end of the data (only
/// the last block is cut).
INLINE uint64_t blockBreaks(const uint8_t *bytes, ptrdiff_t base, ptrdiff_t end, const LayoutVariant *v) {
    uint64_t m = v->breaks(bytes + base);
    if (__builtin_expect(end - base < 64, 0)) m &= (1ull << (end - base)) - 1;
    return m;
}

INLINE Breaks breaksFrom(const uint8_t *bytes, ptrdiff_t at, ptrdiff_t end, const LayoutVariant *v) {
    Breaks c = {bytes, at, end, blockBreaks(bytes, at, end, v)};
    return c;
}

/// Offset of the next break, or -1 when there is none before the end of the data.
INLINE ptrdiff_t nextBreak(Breaks *c, const LayoutVariant *v) {
    while (!c->breaks) {
        c->base += 64;
        if (c->base >= c->end) return -1;
        c->breaks = blockBreaks(c->bytes, c->base, c->end, v);
    }
    return c->base + __builtin_ctzll(c->breaks);
}

INLINE void takeBreak(Breaks *c) { c->breaks &= c->breaks - 1; }

/// Whether `a[0..<n]` and `b[0..<n]` hold the same bytes: ids of 4 to 16 bytes as two
/// overlapping words each (as `KeyScan.equal`).
INLINE bool sameBytes(const uint8_t *a, const uint8_t *b, ptrdiff_t n) {
    if (n >= 8 && n <= 16) {
        uint64_t a0, a1, b0, b1;
        memcpy(&a0, a, 8), memcpy(&b0, b, 8), memcpy(&a1, a + n - 8, 8), memcpy(&b1, b + n - 8, 8);
        return a0 == b0 && a1 == b1;
    }
    if (n >= 4 && n < 8) {
        uint32_t a0, a1, b0, b1;
        memcpy(&a0, a, 4), memcpy(&b0, b, 4), memcpy(&a1, a + n - 4, 4), memcpy(&b1, b + n - 4, 4);
        return a0 == b0 && a1 == b1;
    }
    return memcmp(a, b, (size_t)n) == 0;
}

/// Copies `n` bytes: ids of 4 to 16 bytes as two overlapping words (as `KeyScan.copy`).
INLINE void copyBytes(uint8_t *to, const uint8_t *from, ptrdiff_t n) {
    if (n >= 8 && n <= 16) {
        uint64_t w0, w1;
        memcpy(&w0, from, 8), memcpy(&w1, from + n - 8, 8);
        memcpy(to, &w0, 8), memcpy(to + n - 8, &w1, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t w0, w1;
        memcpy(&w0, from, 4), memcpy(&w1, from + n - 4, 4);
        memcpy(to, &w0, 4), memcpy(to + n - 4, &w1, 4);
    } else {
        memcpy(to, from, (size_t)n);
    }
}

/// Appends run `r`'s next run: the id `b[at..<at + n]` of the row at `at`, which becomes the
/// current run's prefix with its comma.
INLINE void appendRun(CLayoutRuns *r, const uint8_t *id, ptrdiff_t n, ptrdiff_t at, ptrdiff_t line) {
    copyBytes(r->ids + r->idsUsed, id, n);
    r->idsUsed += n;
    r->idEnds[r->runs] = r->idsUsed;
    r->offsets[r->runs] = r->fileOffset + at;
    r->lines[r->runs] = line;
    r->runs++;
    copyBytes(r->prefix, id, n);
    r->prefix[n] = ',';
}

INLINE CLayoutStop memberRuns(CLayoutRuns *r, const LayoutVariant *v) {
    const uint8_t *const b = r->bytes;
    const ptrdiff_t end = r->end, stop = r->stop;
    ptrdiff_t at = r->at, line = r->line, k = r->prefixLength;
    if (at >= end) return CLayoutBufferEnd;
    Breaks breaks = breaksFrom(b, at, end, v);
    CLayoutStop why;
    // Rows are taken from before `stop`, and far enough from the end to compare with the prefix.
    ptrdiff_t before = stop < end - k ? stop : end - k;
    for (;;) {
        if (at >= before) {
            why = at >= stop ? CLayoutAtStop : CLayoutBufferEnd;
            break;
        }
        // A row of the run: the prefix holds no break, so the row's first break is its end or
        // a quote after the prefix.
        const bool same = k > 0 && sameBytes(b + at, r->prefix, k);
        const ptrdiff_t nl = nextBreak(&breaks, v);
        if (nl < 0) { why = CLayoutBufferEnd; break; }
        if (b[nl] == '"') { why = CLayoutRowForReader; break; }
        if (!same) {
            // Another id; one with a blank at an end (trimmed by the reader), empty or the
            // whole row is left to the reader.
            const ptrdiff_t comma = firstComma(b, at, nl), n = comma - at;
            if (comma == nl || n == 0 || b[at] <= ' ' || b[comma - 1] <= ' ' || n >= r->prefixCapacity) {
                why = CLayoutRowForReader;
                break;
            }
            if (r->runs == r->runLimit || r->idsUsed + n > r->idsCapacity) { why = CLayoutRunsFull; break; }
            appendRun(r, b + at, n, at, line);
            k = n + 1;
            before = stop < end - k ? stop : end - k;
        }
        takeBreak(&breaks);
        at = nl + 1;
        line++;
    }
    r->at = at;
    r->line = line;
    r->prefixLength = k;
    return why;
}

INLINE CLayoutStop keyRows(CLayoutRows *r, const LayoutVariant *v) {
    const uint8_t *const b = r->bytes;
    const ptrdiff_t end = r->end, column = r->column;
    ptrdiff_t at = r->at, *out = r->rows;
    if (at >= end) return CLayoutBufferEnd;
    Breaks breaks = breaksFrom(b, at, end, v);
    CLayoutStop why = CLayoutRunsFull;
    for (ptrdiff_t n = 0; n < r->rowLimit; n++, out += 4) {
        const ptrdiff_t nl = nextBreak(&breaks, v);
        if (nl < 0) { why = CLayoutBufferEnd; break; }
        if (b[nl] == '"') { why = CLayoutRowForReader; break; }
        takeBreak(&breaks);
        // Only a CR right before the line feed (a CRLF line end) is left out of the last cell.
        const ptrdiff_t lineEnd = nl > at && b[nl - 1] == '\r' ? nl - 1 : nl;
        ptrdiff_t start = at, comma = firstComma(b, at, lineEnd), cells = 1;
        while (cells <= column && comma < lineEnd) {
            start = comma + 1;
            comma = firstComma(b, start, lineEnd);
            cells++;
        }
        out[0] = nl, out[1] = start, out[2] = comma, out[3] = cells;
        at = nl + 1;
    }
    r->rowsTaken = (out - r->rows) / 4;
    r->at = at;
    return why;
}

#if defined(__x86_64__)

static const LayoutVariant sse2 = {breaksSSE2};
static const LayoutVariant avx2 = {breaksAVX2};

AVX2 static CLayoutStop memberRunsAVX2(CLayoutRuns *r) { return memberRuns(r, &avx2); }
static CLayoutStop memberRunsSSE2(CLayoutRuns *r) { return memberRuns(r, &sse2); }

CLayoutStop clayout_member_runs(CLayoutRuns *runs, CSplitKernel kernel) {
    return kernel == CSplitAVX2 ? memberRunsAVX2(runs) : memberRunsSSE2(runs);
}

AVX2 static CLayoutStop keyRowsAVX2(CLayoutRows *r) { return keyRows(r, &avx2); }
static CLayoutStop keyRowsSSE2(CLayoutRows *r) { return keyRows(r, &sse2); }

CLayoutStop clayout_key_rows(CLayoutRows *rows, CSplitKernel kernel) {
    return kernel == CSplitAVX2 ? keyRowsAVX2(rows) : keyRowsSSE2(rows);
}

#else

static const LayoutVariant plain = {breaksPlain};

CLayoutStop clayout_member_runs(CLayoutRuns *runs, CSplitKernel kernel) {
    (void)kernel;
    return memberRuns(runs, &plain);
}

CLayoutStop clayout_key_rows(CLayoutRows *rows, CSplitKernel kernel) {
    (void)kernel;
    return keyRows(rows, &plain);
}

#endif
