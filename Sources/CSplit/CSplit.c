// The splitter of runs of clean CSV records (`CSVReader.appendCleanRecords`), in C so that it
// can use AVX2: Swift compiles for baseline x86-64 (SSE2) and cannot mark one function for
// other instructions, while clang's `target` attribute can. The splitting is written once
// (`split`, `takeBlock`) over two sets of block operations (`Variant`): SSE2, which every
// x86-64 CPU runs, and AVX2 with BMI1/BMI2 and POPCNT (a mask per 32 bytes instead of 16,
// cells written four at a time), chosen at run time (`csplit_best_kernel`): some CPUs still
// sold (cheap Pentium and Celeron models) have no AVX2.

#include "CSplit.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define INLINE static inline __attribute__((always_inline))
#define AVX2 __attribute__((target("avx2,bmi,bmi2,popcnt")))

/// The byte classes of a 64-byte block, a bit per byte.
typedef struct {
    uint64_t lineFeeds, commas;
    /// Bytes with the high bit set (not ASCII).
    uint64_t high;
    /// Bytes up to a space, line breaks included.
    uint64_t low;
    /// Whether the block has a quote or a CR: rare, so their mask is made only then.
    bool quotesOrCRs;
} BlockMasks;

/// The bytes of a block by their part in the accented letters of Vietnamese text: continuation
/// bytes (80–BF), leads that need no check beyond their continuation bytes (C2–DF, and E1–EF
/// but not ED), and the three-byte leads among those. As signed bytes each class is a range
/// that one or two signed compares find: continuation bytes are -128...-65, leads C2–DF
/// -62...-33, leads E1–EF -31...-17 (without ED, -19).
typedef struct {
    uint64_t continuations, leads, threeByteLeads;
} UTF8Classes;

/// The operations on a 64-byte block that differ by instruction set.
typedef struct {
    BlockMasks (*masks)(const uint8_t *block);
    /// The quotes and CRs of a block, a bit per byte.
    uint64_t (*quotesAndCRs)(const uint8_t *block);
    /// The classes of the 16-byte lanes of a block that hold `high` bytes (others hold none).
    UTF8Classes (*utf8Classes)(const uint8_t *block, uint64_t high);
    /// Writes `at` plus the place of each set bit of `cells`, lowest first, from `out` on, and
    /// returns how many. Up to three more offsets past them may be written (`CSplitRun.offsets`
    /// has the slack): the cells that follow overwrite them.
    ptrdiff_t (*writeCells)(ptrdiff_t *out, ptrdiff_t at, uint64_t cells);
} Variant;

// MARK: SSE2

INLINE uint64_t bits16(__m128i m) { return (uint16_t)_mm_movemask_epi8(m); }

INLINE uint64_t bits64(__m128i m0, __m128i m1, __m128i m2, __m128i m3) {
    return bits16(m0) | bits16(m1) << 16 | bits16(m2) << 32 | bits16(m3) << 48;
}

INLINE __m128i loadSSE2(const uint8_t *p) { return _mm_loadu_si128((const __m128i *)p); }

INLINE __m128i equalSSE2(__m128i v, char byte) { return _mm_cmpeq_epi8(v, _mm_set1_epi8(byte)); }

INLINE __m128i quoteOrCRSSE2(__m128i v) { return _mm_or_si128(equalSSE2(v, '"'), equalSSE2(v, '\r')); }

INLINE __m128i lowSSE2(__m128i v) { return _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x20)), v); }

INLINE BlockMasks masksSSE2(const uint8_t *p) {
    __m128i v0 = loadSSE2(p), v1 = loadSSE2(p + 16), v2 = loadSSE2(p + 32), v3 = loadSSE2(p + 48);
    BlockMasks m;
    m.lineFeeds = bits64(equalSSE2(v0, '\n'), equalSSE2(v1, '\n'), equalSSE2(v2, '\n'), equalSSE2(v3, '\n'));
    m.commas = bits64(equalSSE2(v0, ','), equalSSE2(v1, ','), equalSSE2(v2, ','), equalSSE2(v3, ','));
    m.low = bits64(lowSSE2(v0), lowSSE2(v1), lowSSE2(v2), lowSSE2(v3));
    // One mask of the four lanes tells whether there are any high bytes.
    m.high = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(v0, v1), _mm_or_si128(v2, v3))) ? bits64(v0, v1, v2, v3) : 0;
    m.quotesOrCRs = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quoteOrCRSSE2(v0), quoteOrCRSSE2(v1)),
                                                   _mm_or_si128(quoteOrCRSSE2(v2), quoteOrCRSSE2(v3)))) != 0;
    return m;
}

INLINE uint64_t quotesAndCRsSSE2(const uint8_t *p) {
    return bits64(quoteOrCRSSE2(loadSSE2(p)), quoteOrCRSSE2(loadSSE2(p + 16)), quoteOrCRSSE2(loadSSE2(p + 32)),
                  quoteOrCRSSE2(loadSSE2(p + 48)));
}

INLINE UTF8Classes utf8ClassesSSE2(const uint8_t *p, uint64_t high) {
    UTF8Classes c = {0, 0, 0};
    for (int lane = 0; lane < 64; lane += 16) {
        if (!((high >> lane) & 0xFFFF)) continue;
        __m128i v = loadSSE2(p + lane);
        __m128i threeByteLeads = _mm_andnot_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(-19)),
                                                  _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(-32)), _mm_cmplt_epi8(v, _mm_set1_epi8(-16))));
        __m128i leads = _mm_or_si128(_mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(-63)), _mm_cmplt_epi8(v, _mm_set1_epi8(-32))), threeByteLeads);
        c.continuations |= bits16(_mm_cmplt_epi8(v, _mm_set1_epi8(-64))) << lane;
        c.leads |= bits16(leads) << lane;
        c.threeByteLeads |= bits16(threeByteLeads) << lane;
    }
    return c;
}

/// Without `popcnt` and `tzcnt`: a bit at a time, until none is left.
INLINE ptrdiff_t writeCellsSSE2(ptrdiff_t *out, ptrdiff_t at, uint64_t cells) {
    ptrdiff_t n = 0;
    for (; cells; cells &= cells - 1) out[n++] = at + __builtin_ctzll(cells);
    return n;
}

static const Variant sse2 = {masksSSE2, quotesAndCRsSSE2, utf8ClassesSSE2, writeCellsSSE2};

// MARK: AVX2

AVX2 INLINE uint64_t bits32(__m256i m0, __m256i m1) {
    return (uint64_t)(uint32_t)_mm256_movemask_epi8(m0) | (uint64_t)(uint32_t)_mm256_movemask_epi8(m1) << 32;
}

AVX2 INLINE __m256i loadAVX2(const uint8_t *p) { return _mm256_loadu_si256((const __m256i *)p); }

AVX2 INLINE __m256i equalAVX2(__m256i v, char byte) { return _mm256_cmpeq_epi8(v, _mm256_set1_epi8(byte)); }

AVX2 INLINE __m256i lowAVX2(__m256i v) { return _mm256_cmpeq_epi8(_mm256_min_epu8(v, _mm256_set1_epi8(0x20)), v); }

AVX2 INLINE __m256i quoteOrCRAVX2(__m256i v) { return _mm256_or_si256(equalAVX2(v, '"'), equalAVX2(v, '\r')); }

AVX2 INLINE BlockMasks masksAVX2(const uint8_t *p) {
    __m256i v0 = loadAVX2(p), v1 = loadAVX2(p + 32);
    BlockMasks m;
    m.lineFeeds = bits32(equalAVX2(v0, '\n'), equalAVX2(v1, '\n'));
    m.commas = bits32(equalAVX2(v0, ','), equalAVX2(v1, ','));
    m.low = bits32(lowAVX2(v0), lowAVX2(v1));
    m.high = bits32(v0, v1);
    __m256i q = _mm256_or_si256(quoteOrCRAVX2(v0), quoteOrCRAVX2(v1));
    m.quotesOrCRs = !_mm256_testz_si256(q, q);
    return m;
}

AVX2 INLINE uint64_t quotesAndCRsAVX2(const uint8_t *p) {
    return bits32(quoteOrCRAVX2(loadAVX2(p)), quoteOrCRAVX2(loadAVX2(p + 32)));
}

AVX2 INLINE UTF8Classes utf8ClassesAVX2(const uint8_t *p, uint64_t high) {
    (void)high;
    UTF8Classes c = {0, 0, 0};
    for (int half = 0; half < 64; half += 32) {
        __m256i v = loadAVX2(p + half);
        __m256i threeByteLeads = _mm256_andnot_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(-19)),
                                                     _mm256_and_si256(_mm256_cmpgt_epi8(v, _mm256_set1_epi8(-32)), _mm256_cmpgt_epi8(_mm256_set1_epi8(-16), v)));
        __m256i leads = _mm256_or_si256(_mm256_and_si256(_mm256_cmpgt_epi8(v, _mm256_set1_epi8(-63)), _mm256_cmpgt_epi8(_mm256_set1_epi8(-32), v)), threeByteLeads);
        c.continuations |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpgt_epi8(_mm256_set1_epi8(-64), v)) << half;
        c.leads |= (uint64_t)(uint32_t)_mm256_movemask_epi8(leads) << half;
        c.threeByteLeads |= (uint64_t)(uint32_t)_mm256_movemask_epi8(threeByteLeads) << half;
    }
    return c;
}

/// Four cells a step whatever the count (their number from `popcnt`), so that a cell costs a
/// `tzcnt`, an add, a store and a `blsr`, with no branch of its own; `tzcnt` of no bit is 64,
/// whose offsets are among those overwritten.
AVX2 INLINE ptrdiff_t writeCellsAVX2(ptrdiff_t *out, ptrdiff_t at, uint64_t cells) {
    const ptrdiff_t n = _mm_popcnt_u64(cells);
    while (cells) {
        out[0] = at + (ptrdiff_t)_tzcnt_u64(cells);
        cells = _blsr_u64(cells);
        out[1] = at + (ptrdiff_t)_tzcnt_u64(cells);
        cells = _blsr_u64(cells);
        out[2] = at + (ptrdiff_t)_tzcnt_u64(cells);
        cells = _blsr_u64(cells);
        out[3] = at + (ptrdiff_t)_tzcnt_u64(cells);
        cells = _blsr_u64(cells);
        out += 4;
    }
    return n;
}

static const Variant avx2 = {masksAVX2, quotesAndCRsAVX2, utf8ClassesAVX2, writeCellsAVX2};

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

/// A run being split: what carries from one block to the next.
typedef struct {
    const ptrdiff_t columns, endLine;
    /// Added to a block's address: the file offset of the byte after its first.
    const ptrdiff_t fileOffsetAfter;
    /// Record r's line goes to `lineOf[line of r]`.
    int32_t *const lineOf;
    /// The current record's offsets, and where its next cell's goes.
    ptrdiff_t *record, *cell;
    /// The line of the current record: the records taken are counted by it.
    ptrdiff_t line;
    /// Continuation bytes that the leads of the block before call for in this one (bits 0, 1).
    uint64_t utf8Carry;
    /// Whether a blank (any byte up to a space but a line break, which `CellSpans.Cells`
    /// would trim) is next to a delimiter: some cell then may be padded (`mayBePadded`).
    uint64_t padding;
    /// Whether the last byte of the block before is a delimiter, and a blank (bit 0 of each:
    /// the run's first cell starts as after a delimiter).
    uint64_t delimiterBefore, blankBefore;
} Splitter;

/// Takes the records of the 64-byte block at `p` (its `live` bytes) that are clean and ended
/// in it, and the cells of the one it leaves open; false when the run ends here: at a record
/// that is not clean (a quote, a CR but a CRLF line end, a wrong number of cells, bytes that
/// `utf8Accepts` does not pass), at the end of the data, or at the most records wanted.
INLINE bool takeBlock(Splitter *s, const uint8_t *p, uint64_t live, const Variant *variant) {
    const BlockMasks m = variant->masks(p);
    // The bytes taken: not from the first quote, the first CR but one right before a line
    // feed (a CRLF line end, which stays plain), or the end of the data on.
    uint64_t usable = live, crlf = 0;
    if (m.quotesOrCRs) {
        const uint64_t odd = variant->quotesAndCRs(p) & live;
        uint64_t crs = 0;
        for (uint64_t q = odd; q; q &= q - 1) {
            if (p[__builtin_ctzll(q)] == '\r') crs |= q & -q;
        }
        crlf = crs & m.lineFeeds >> 1;
        const uint64_t stops = (odd & ~crs) | (crs & ~crlf);
        if (stops) usable &= (stops & -stops) - 1;
    }
    // A block without high bits still ends the sequences the block before left open.
    const uint64_t high = m.high & live;
    if (high) {
        if (!utf8Accepts(variant->utf8Classes(p, high), high, live, &s->utf8Carry)) return false;
    } else if (s->utf8Carry) {
        return false;
    }
    uint64_t commas = m.commas & usable, lineFeeds = m.lineFeeds & usable;
    // The taken records' cells end at commas, line feeds and the CRs of CRLFs. A cell is
    // padded when a blank follows a delimiter or comes before one: each pair of neighbours is
    // looked at once, a byte with the one before it (the block before's last for the first).
    const uint64_t delimiters = commas | lineFeeds | crlf;
    const uint64_t blanks = m.low & usable & ~(lineFeeds | crlf);
    s->padding |= (blanks & (delimiters << 1 | s->delimiterBefore)) | (delimiters & (blanks << 1 | s->blankBefore));
    s->delimiterBefore = delimiters >> 63;
    s->blankBefore = blanks >> 63;
    const ptrdiff_t at = (ptrdiff_t)p + s->fileOffsetAfter;
    ptrdiff_t *o = s->record, *cell = s->cell;
    const ptrdiff_t columns = s->columns;
    bool more = true;
    while (lineFeeds) {
        const int t = __builtin_ctzll(lineFeeds);
        const uint64_t before = (1ull << t) - 1;
        cell += variant->writeCells(cell, at, commas & before);
        if (cell != o + columns) { more = false; break; }
        commas &= ~before;
        const ptrdiff_t next = at + t;
        // The last cell ends before the CR of a CRLF.
        o[columns] = next - (ptrdiff_t)((crlf << 1) >> t & 1);
        s->lineOf[s->line] = (int32_t)s->line;
        s->line += 1;
        o += columns + 1;
        o[0] = next;
        cell = o + 1;
        if (s->line == s->endLine) { more = false; break; }
        lineFeeds &= lineFeeds - 1;
    }
    if (more) {
        cell += variant->writeCells(cell, at, commas);
        more = cell <= o + columns && usable == ~0ull;
    }
    s->record = o;
    s->cell = cell;
    return more;
}

/// The run's whole blocks go with all their bytes live, so that only the last one, cut by the
/// end of the data, works out which are.
INLINE CSplitResult split(const CSplitRun *run, const Variant *variant) {
    Splitter s = {
        .columns = run->columns,
        .endLine = run->line + run->limit,
        .fileOffsetAfter = run->fileOffset + 1 - (ptrdiff_t)run->bytes,
        .lineOf = run->lines - run->line,
        .record = run->offsets,
        .cell = run->offsets + 1,
        .line = run->line,
        .utf8Carry = 0,
        .padding = 0,
        .delimiterBefore = 1,
        .blankBefore = 0,
    };
    run->offsets[0] = run->start + run->fileOffset;
    const uint8_t *p = run->bytes + run->start, *const end = run->bytes + run->end;
    bool more = true;
    for (; more && end - p >= 64; p += 64) more = takeBlock(&s, p, ~0ull, variant);
    if (more && p < end) takeBlock(&s, p, (1ull << (end - p)) - 1, variant);
    // The first record not taken.
    CSplitResult result = {s.line - run->line, s.record[0] - run->fileOffset, s.line, s.padding != 0};
    return result;
}

static CSplitResult splitBaseline(const CSplitRun *run) { return split(run, &sse2); }

AVX2 static CSplitResult splitAVX2(const CSplitRun *run) { return split(run, &avx2); }

CSplitKernel csplit_best_kernel(void) {
    __builtin_cpu_init();
    bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2")
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
