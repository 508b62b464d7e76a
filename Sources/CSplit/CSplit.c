// The splitter of runs of clean CSV records (`CSVReader.appendCleanRecords`), in C so that it
// can use AVX2: Swift compiles for baseline x86-64 (SSE2) and cannot mark one function for
// other instructions, while clang's `target` attribute can. The splitting is written once
// (`split`) over two ways of finding a block's byte classes: SSE2, which every x86-64 CPU
// runs, and AVX2 with BMI1/BMI2 (32-byte compares, one mask per 32 bytes instead of 16,
// `tzcnt`/`blsr` for the cells), chosen at run time (`csplit_best_kernel`): some CPUs still
// sold (cheap Pentium and Celeron models) have no AVX2.

#include "CSplit.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define INLINE static inline __attribute__((always_inline))
#define AVX2 __attribute__((target("avx2,bmi,bmi2,popcnt")))

/// The byte classes of a 64-byte block, a bit per byte.
typedef struct {
    uint64_t lineFeeds, commas;
    /// Quotes and CRs together: they are rare, and told apart only in a block that has some.
    uint64_t quotesAndCRs;
    /// Bytes with the high bit set (not ASCII).
    uint64_t high;
    /// Bytes up to a space, line breaks included.
    uint64_t low;
} BlockMasks;

/// The bytes of a block by their part in the accented letters of Vietnamese text: continuation
/// bytes (80–BF), leads that need no check beyond their continuation bytes (C2–DF, and E1–EF
/// but not ED), and the three-byte leads among those. As signed bytes each class is a range
/// that one or two signed compares find: continuation bytes are -128...-65, leads C2–DF
/// -62...-33, leads E1–EF -31...-17 (without ED, -19).
typedef struct {
    uint64_t continuations, leads, threeByteLeads;
} UTF8Classes;

typedef BlockMasks (*MasksOfBlock)(const uint8_t *block);
/// The classes of the 16-byte lanes of a block that hold `high` bytes (the others hold none).
typedef UTF8Classes (*UTF8ClassesOfBlock)(const uint8_t *block, uint64_t high);

// MARK: SSE2

INLINE uint64_t bits16(__m128i m) { return (uint16_t)_mm_movemask_epi8(m); }

INLINE uint64_t bits64(__m128i m0, __m128i m1, __m128i m2, __m128i m3) {
    return bits16(m0) | bits16(m1) << 16 | bits16(m2) << 32 | bits16(m3) << 48;
}

INLINE __m128i equalSSE2(__m128i v, char byte) { return _mm_cmpeq_epi8(v, _mm_set1_epi8(byte)); }

INLINE __m128i quoteOrCRSSE2(__m128i v) { return _mm_or_si128(equalSSE2(v, '"'), equalSSE2(v, '\r')); }

INLINE __m128i lowSSE2(__m128i v) { return _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x20)), v); }

INLINE BlockMasks masksSSE2(const uint8_t *p) {
    __m128i v0 = _mm_loadu_si128((const __m128i *)p), v1 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i v2 = _mm_loadu_si128((const __m128i *)(p + 32)), v3 = _mm_loadu_si128((const __m128i *)(p + 48));
    BlockMasks m;
    m.lineFeeds = bits64(equalSSE2(v0, '\n'), equalSSE2(v1, '\n'), equalSSE2(v2, '\n'), equalSSE2(v3, '\n'));
    m.commas = bits64(equalSSE2(v0, ','), equalSSE2(v1, ','), equalSSE2(v2, ','), equalSSE2(v3, ','));
    m.low = bits64(lowSSE2(v0), lowSSE2(v1), lowSSE2(v2), lowSSE2(v3));
    // Rare classes: one mask of the four lanes tells whether the block has any.
    __m128i q0 = quoteOrCRSSE2(v0), q1 = quoteOrCRSSE2(v1), q2 = quoteOrCRSSE2(v2), q3 = quoteOrCRSSE2(v3);
    m.quotesAndCRs = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(q0, q1), _mm_or_si128(q2, q3))) ? bits64(q0, q1, q2, q3) : 0;
    m.high = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(v0, v1), _mm_or_si128(v2, v3))) ? bits64(v0, v1, v2, v3) : 0;
    return m;
}

INLINE UTF8Classes utf8ClassesSSE2(const uint8_t *p, uint64_t high) {
    UTF8Classes c = {0, 0, 0};
    for (int lane = 0; lane < 64; lane += 16) {
        if (!((high >> lane) & 0xFFFF)) continue;
        __m128i v = _mm_loadu_si128((const __m128i *)(p + lane));
        __m128i threeByteLeads = _mm_andnot_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(-19)),
                                                  _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(-32)), _mm_cmplt_epi8(v, _mm_set1_epi8(-16))));
        __m128i leads = _mm_or_si128(_mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(-63)), _mm_cmplt_epi8(v, _mm_set1_epi8(-32))), threeByteLeads);
        c.continuations |= bits16(_mm_cmplt_epi8(v, _mm_set1_epi8(-64))) << lane;
        c.leads |= bits16(leads) << lane;
        c.threeByteLeads |= bits16(threeByteLeads) << lane;
    }
    return c;
}

// MARK: AVX2

AVX2 INLINE uint64_t bits32(__m256i m0, __m256i m1) {
    return (uint64_t)(uint32_t)_mm256_movemask_epi8(m0) | (uint64_t)(uint32_t)_mm256_movemask_epi8(m1) << 32;
}

AVX2 INLINE __m256i equalAVX2(__m256i v, char byte) { return _mm256_cmpeq_epi8(v, _mm256_set1_epi8(byte)); }

AVX2 INLINE __m256i lowAVX2(__m256i v) { return _mm256_cmpeq_epi8(_mm256_min_epu8(v, _mm256_set1_epi8(0x20)), v); }

AVX2 INLINE __m256i quoteOrCRAVX2(__m256i v) { return _mm256_or_si256(equalAVX2(v, '"'), equalAVX2(v, '\r')); }

AVX2 INLINE BlockMasks masksAVX2(const uint8_t *p) {
    __m256i v0 = _mm256_loadu_si256((const __m256i *)p), v1 = _mm256_loadu_si256((const __m256i *)(p + 32));
    BlockMasks m;
    m.lineFeeds = bits32(equalAVX2(v0, '\n'), equalAVX2(v1, '\n'));
    m.commas = bits32(equalAVX2(v0, ','), equalAVX2(v1, ','));
    m.low = bits32(lowAVX2(v0), lowAVX2(v1));
    m.quotesAndCRs = bits32(quoteOrCRAVX2(v0), quoteOrCRAVX2(v1));
    m.high = bits32(v0, v1);
    return m;
}

AVX2 INLINE UTF8Classes utf8ClassesAVX2(const uint8_t *p, uint64_t high) {
    (void)high;
    UTF8Classes c = {0, 0, 0};
    for (int half = 0; half < 64; half += 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(p + half));
        __m256i threeByteLeads = _mm256_andnot_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(-19)),
                                                     _mm256_and_si256(_mm256_cmpgt_epi8(v, _mm256_set1_epi8(-32)), _mm256_cmpgt_epi8(_mm256_set1_epi8(-16), v)));
        __m256i leads = _mm256_or_si256(_mm256_and_si256(_mm256_cmpgt_epi8(v, _mm256_set1_epi8(-63)), _mm256_cmpgt_epi8(_mm256_set1_epi8(-32), v)), threeByteLeads);
        c.continuations |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpgt_epi8(_mm256_set1_epi8(-64), v)) << half;
        c.leads |= (uint64_t)(uint32_t)_mm256_movemask_epi8(leads) << half;
        c.threeByteLeads |= (uint64_t)(uint32_t)_mm256_movemask_epi8(threeByteLeads) << half;
    }
    return c;
}

// MARK: the splitting

/// True when the `live` bytes of a block whose high bytes are `high` and `classes` pass: every
/// lead is one of Vietnamese letters with exactly the continuation bytes it calls for (those
/// called for past the block, `carry`, are checked with the next one). False when they are
/// not valid UTF-8, or hold other leads, which only `SurveyText.firstInvalidUTF8` decides: the
/// run then ends before the block's record, for the row path.
INLINE bool utf8Accepts(UTF8Classes classes, uint64_t high, uint64_t live, uint64_t *carry) {
    uint64_t continuations = classes.continuations & live, leads = classes.leads & live;
    uint64_t threeByteLeads = classes.threeByteLeads & live;
    if (high & ~(continuations | leads)) return false;
    // A sequence cut off by the end of the live bytes belongs to a record that ends past them,
    // which is not taken.
    if (continuations != ((leads << 1 | threeByteLeads << 2 | *carry) & live)) return false;
    *carry = leads >> 63 | threeByteLeads >> 62;
    return true;
}

/// One pass over 64-byte blocks, each loaded once however many records it holds; the
/// records taken end at the first that is not clean (a quote, a CR but a CRLF line end, a
/// wrong number of cells, bytes that `utf8Accepts` does not pass) or not ended in the data.
INLINE CSplitResult split(const CSplitRun *run, MasksOfBlock masksOf, UTF8ClassesOfBlock utf8ClassesOf) {
    const uint8_t *b = run->bytes;
    const ptrdiff_t end = run->end, columns = run->columns, stride = run->stride, limit = run->limit;
    ptrdiff_t *o = run->offsets;
    int32_t *lines = run->lines;
    // Offsets go in as file offsets of the byte after each delimiter.
    const ptrdiff_t origin = run->fileOffset + 1;
    o[0] = run->start + run->fileOffset;
    ptrdiff_t k = 1, rows = 0, i = run->start, line = run->line;
    uint64_t carry = 0;
    // Blanks next to a delimiter (`mayBePadded`), and what of them the block before leaves to
    // this one: a delimiter in its last byte (the run's first cell starts at `start`, as after
    // one) and a blank in its last byte. A blank here is any byte up to a space but a line
    // break (the bytes `CellSpans.Cells` would test), one compare less than spaces and tabs.
    uint64_t padding = 0, delimiterBefore = 1, blankBefore = 0;
    while (i < end) {
        const uint8_t *p = b + i;
        const BlockMasks m = masksOf(p);
        // Bytes past `end` (the buffer's slack) are not looked at.
        const uint64_t live = end - i >= 64 ? ~0ull : (1ull << (end - i)) - 1;
        uint64_t lineFeeds = m.lineFeeds;
        // The bytes from `stop` on are not taken: the first quote, the first CR but one right
        // before a line feed (a CRLF line end, which stays plain), the end of the data.
        ptrdiff_t stop = end - i;
        uint64_t crlf = 0;
        if (m.quotesAndCRs & live) {
            uint64_t odd = m.quotesAndCRs & live, crs = 0;
            for (uint64_t q = odd; q; q &= q - 1) {
                if (p[__builtin_ctzll(q)] == '\r') crs |= q & -q;
            }
            crlf = crs & lineFeeds >> 1;
            uint64_t stops = (odd & ~crs) | (crs & ~crlf);
            if (stops) stop = __builtin_ctzll(stops);
        }
        // A block without high bits still ends the sequences the block before left open.
        const uint64_t high = m.high & live;
        if (high) {
            if (!utf8Accepts(utf8ClassesOf(p, high), high, live, &carry)) break;
        } else if (carry) {
            break;
        }
        const uint64_t usable = stop >= 64 ? ~0ull : (1ull << stop) - 1;
        uint64_t commas = m.commas & usable;
        lineFeeds &= usable;
        // The taken records' cells end at commas, line feeds and the CRs of CRLFs.
        const uint64_t delimiters = commas | lineFeeds | crlf;
        const uint64_t blanks = m.low & usable & ~(lineFeeds | crlf);
        padding |= (blanks & (delimiters << 1 | delimiters >> 1 | delimiterBefore)) | (delimiters & blankBefore);
        delimiterBefore = delimiters >> 63;
        blankBefore = blanks >> 63;
        const ptrdiff_t at = i + origin;
        while (lineFeeds) {
            const int t = __builtin_ctzll(lineFeeds);
            const uint64_t before = (1ull << t) - 1;
            for (uint64_t c = commas & before; c; c &= c - 1) o[k++] = at + __builtin_ctzll(c);
            if (k != columns) goto done;
            commas &= ~before;
            const ptrdiff_t next = at + t;
            // The last cell ends before the CR of a CRLF.
            o[columns] = next - (ptrdiff_t)((crlf << 1) >> t & 1);
            lines[rows] = (int32_t)line;
            line += 1;
            rows += 1;
            o += stride;
            o[0] = next;
            k = 1;
            if (rows == limit) goto done;
            lineFeeds &= lineFeeds - 1;
        }
        for (; commas; commas &= commas - 1) o[k++] = at + __builtin_ctzll(commas);
        if (k > columns || stop < 64) break;
        i += 64;
    }
done:;
    // The first record not taken.
    CSplitResult result = {rows, o[0] - run->fileOffset, line, padding != 0};
    return result;
}

static CSplitResult splitBaseline(const CSplitRun *run) { return split(run, masksSSE2, utf8ClassesSSE2); }

AVX2 static CSplitResult splitAVX2(const CSplitRun *run) { return split(run, masksAVX2, utf8ClassesAVX2); }

CSplitKernel csplit_best_kernel(void) {
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2")
        && __builtin_cpu_supports("popcnt");
    return avx2 ? CSplitAVX2 : CSplitBaseline;
}

CSplitResult csplit_clean_records(const CSplitRun *run, CSplitKernel kernel) {
    return kernel == CSplitAVX2 ? splitAVX2(run) : splitBaseline(run);
}

#else

CSplitKernel csplit_best_kernel(void) { return CSplitBaseline; }

// Other machines read every record with `CSVReader.next()`.
CSplitResult csplit_clean_records(const CSplitRun *run, CSplitKernel kernel) {
    (void)kernel;
    CSplitResult none = {0, run->start, run->line, false};
    return none;
}

#endif
