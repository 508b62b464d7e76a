// The splitter of runs of clean CSV records (`CSVReader.appendCleanRecords`), in C so that it
// can use AVX2: Swift compiles for baseline x86-64 (SSE2) and cannot mark one function for
// other instructions, while clang's `target` attribute can. The splitting is written once
// (`split`, `takeBlock`) over two sets of block operations (`Variant`): SSE2, which every
// x86-64 CPU runs, and AVX2 with BMI1/BMI2 and POPCNT (a mask per 32 bytes instead of 16,
// a plain block's cells written eight at a time), chosen at run time (`csplit_best_kernel`): some CPUs still
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
    /// Bytes below 0x21 as signed bytes: those up to a space, line breaks included, and the
    /// high ones (one signed compare finds them; `high` takes those out).
    uint64_t low;
    /// Whether the block has a quote or a CR: rare, so their mask is made only then.
    bool quotesOrCRs;
} BlockMasks;

/// The high bytes of a block by their part in UTF-8: continuation bytes (80–BF), leads (the
/// others), leads of three bytes (E0 on; of four or more too, which are all forbidden), and the
/// forbidden leads: those of no accented letter of Vietnamese text, nor of any valid sequence but
/// through the row path's full check (C0, C1, E0, ED, F0–FF). When none is forbidden, the leads
/// are those of two bytes (C2–DF) and of three (E1–EC, EE, EF).
typedef struct {
    uint64_t continuations, leads, threeByteLeads, forbidden;
} UTF8Classes;

/// The operations on a 64-byte block that differ by instruction set.
typedef struct {
    BlockMasks (*masks)(const uint8_t *block);
    /// The quotes and CRs of a block, a bit per byte.
    uint64_t (*quotesAndCRs)(const uint8_t *block);
    /// The classes of the high bytes of a block, `high` (those of other bytes are not set).
    UTF8Classes (*utf8Classes)(const uint8_t *block, uint64_t high);
    /// Writes `at` plus the place of each set bit of `cells`, lowest first, from `out` on, and
    /// returns where the next goes. Up to four more offsets past them may be written
    /// (`CSplitRun.offsets` has the slack): the cells that follow overwrite them.
    uint32_t *(*writeCells)(uint32_t *out, uint32_t at, uint64_t cells);
} Variant;

// MARK: SSE2

INLINE uint64_t bits16(__m128i m) { return (uint16_t)_mm_movemask_epi8(m); }

INLINE uint64_t bits64(__m128i m0, __m128i m1, __m128i m2, __m128i m3) {
    return bits16(m0) | bits16(m1) << 16 | bits16(m2) << 32 | bits16(m3) << 48;
}

INLINE __m128i loadSSE2(const uint8_t *p) { return _mm_loadu_si128((const __m128i *)p); }

INLINE __m128i equalSSE2(__m128i v, char byte) { return _mm_cmpeq_epi8(v, _mm_set1_epi8(byte)); }

INLINE __m128i quoteOrCRSSE2(__m128i v) { return _mm_or_si128(equalSSE2(v, '"'), equalSSE2(v, '\r')); }

INLINE __m128i lowSSE2(__m128i v) { return _mm_cmplt_epi8(v, _mm_set1_epi8(0x21)); }

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

/// SSE2 has no byte shuffle to look nibbles up in, so the leads allowed are found by range
/// instead, as signed bytes: C2–DF are -62...-33, E1–EF -31...-17 but ED -19; any other
/// high byte that is not a continuation is a forbidden lead.
INLINE UTF8Classes utf8ClassesSSE2(const uint8_t *p, uint64_t high) {
    UTF8Classes c = {0, 0, 0, 0};
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
    c.forbidden = high & ~(c.continuations | c.leads);
    return c;
}

/// Without `popcnt` and `tzcnt`: a bit at a time, until none is left.
INLINE uint32_t *writeCellsSSE2(uint32_t *out, uint32_t at, uint64_t cells) {
    for (; cells; cells &= cells - 1) *out++ = at + (uint32_t)__builtin_ctzll(cells);
    return out;
}

static const Variant sse2 = {masksSSE2, quotesAndCRsSSE2, utf8ClassesSSE2, writeCellsSSE2};

// MARK: AVX2

AVX2 INLINE uint64_t bits32(__m256i m0, __m256i m1) {
    return (uint64_t)(uint32_t)_mm256_movemask_epi8(m0) | (uint64_t)(uint32_t)_mm256_movemask_epi8(m1) << 32;
}

AVX2 INLINE __m256i loadAVX2(const uint8_t *p) { return _mm256_loadu_si256((const __m256i *)p); }

AVX2 INLINE __m256i equalAVX2(__m256i v, char byte) { return _mm256_cmpeq_epi8(v, _mm256_set1_epi8(byte)); }

AVX2 INLINE __m256i lowAVX2(__m256i v) { return _mm256_cmpgt_epi8(_mm256_set1_epi8(0x21), v); }

/// Looks each byte's low nibble up in a 16-byte `table` (repeated in both 128-bit lanes, as
/// `vpshufb` looks up within a lane); a byte with the high bit set gives 0.
AVX2 INLINE __m256i byLowNibbleAVX2(__m256i table, __m256i v) { return _mm256_shuffle_epi8(table, v); }

/// A quote or a CR: the byte its low nibble looks up (2: '"', D: CR; other entries match no
/// byte) is the byte itself. One shuffle and one compare instead of two compares and an OR.
AVX2 INLINE __m256i quoteOrCRAVX2(__m256i v) {
    const __m256i table = _mm256_setr_epi8(-1, -1, '"', -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, '\r', -1, -1,
                                           -1, -1, '"', -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, '\r', -1, -1);
    return _mm256_cmpeq_epi8(byLowNibbleAVX2(table, v), v);
}

/// Bit 7: a lead of three bytes or more (E0–FF). Bits 0–2: a forbidden lead (0: C0, C1; 1: E0,
/// ED; 2: F0–FF), as the table of its high nibble (which kinds it may be) and that of its low
/// nibble (which kinds that low nibble is forbidden in) both have the bit.
AVX2 INLINE __m256i leadKindsAVX2(__m256i v) {
    const __m256i byHigh = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, (char)0x82, (char)0x84,
                                            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, (char)0x82, (char)0x84);
    const __m256i byLow = _mm256_setr_epi8((char)0x87, (char)0x85, (char)0x84, (char)0x84, (char)0x84, (char)0x84, (char)0x84, (char)0x84,
                                           (char)0x84, (char)0x84, (char)0x84, (char)0x84, (char)0x84, (char)0x86, (char)0x84, (char)0x84,
                                           (char)0x87, (char)0x85, (char)0x84, (char)0x84, (char)0x84, (char)0x84, (char)0x84, (char)0x84,
                                           (char)0x84, (char)0x84, (char)0x84, (char)0x84, (char)0x84, (char)0x86, (char)0x84, (char)0x84);
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    return _mm256_and_si256(byLowNibbleAVX2(byHigh, _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble)),
                            byLowNibbleAVX2(byLow, _mm256_and_si256(v, nibble)));
}

/// The bits of `leadKindsAVX2` that mark a forbidden lead.
#define FORBIDDEN_LEAD_BITS 0x07

AVX2 INLINE __m256i continuationAVX2(__m256i v) { return _mm256_cmpgt_epi8(_mm256_set1_epi8(-64), v); }

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

/// The classes but the forbidden leads, which a plain block (`takePlainBlockAVX2`) has none of.
AVX2 INLINE UTF8Classes allowedUTF8ClassesAVX2(__m256i v0, __m256i v1, __m256i kinds0, __m256i kinds1, uint64_t high) {
    UTF8Classes c;
    c.continuations = bits32(continuationAVX2(v0), continuationAVX2(v1));
    c.leads = high & ~c.continuations;
    c.threeByteLeads = bits32(kinds0, kinds1);
    c.forbidden = 0;
    return c;
}

AVX2 INLINE UTF8Classes utf8ClassesAVX2(const uint8_t *p, uint64_t high) {
    const __m256i v0 = loadAVX2(p), v1 = loadAVX2(p + 32), kinds0 = leadKindsAVX2(v0), kinds1 = leadKindsAVX2(v1);
    UTF8Classes c = allowedUTF8ClassesAVX2(v0, v1, kinds0, kinds1, high);
    const __m256i forbidden = _mm256_set1_epi8(FORBIDDEN_LEAD_BITS), none = _mm256_setzero_si256();
    c.forbidden = bits32(_mm256_cmpgt_epi8(_mm256_and_si256(kinds0, forbidden), none),
                         _mm256_cmpgt_epi8(_mm256_and_si256(kinds1, forbidden), none));
    return c;
}

/// Four cells a step whatever the count (their number from `popcnt`), so that a cell costs a
/// `tzcnt`, an add, a store and a `blsr`, with no branch of its own; `tzcnt` of no bit is 64,
/// whose offsets are among those overwritten. The first step goes even without cells: nearly
/// every call has some (a record's have at least its line feed).
AVX2 INLINE uint32_t *writeCellsAVX2(uint32_t *out, uint32_t at, uint64_t cells) {
    uint32_t *const next = out + _mm_popcnt_u64(cells);
    do {
        out[0] = at + (uint32_t)_tzcnt_u64(cells);
        cells = _blsr_u64(cells);
        out[1] = at + (uint32_t)_tzcnt_u64(cells);
        cells = _blsr_u64(cells);
        out[2] = at + (uint32_t)_tzcnt_u64(cells);
        cells = _blsr_u64(cells);
        out[3] = at + (uint32_t)_tzcnt_u64(cells);
        cells = _blsr_u64(cells);
        out += 4;
    } while (cells);
    return next;
}

/// The places of the set bits of each byte value, lowest first (the others 0), for
/// `writeBlockCellsAVX2`: filled once when the program loads.
static uint8_t bitPlaces[256][8];

__attribute__((constructor)) static void fillBitPlaces(void) {
    for (int byte = 0; byte < 256; byte++) {
        int k = 0;
        for (int bit = 0; bit < 8; bit++) {
            if (byte >> bit & 1) bitPlaces[byte][k++] = (uint8_t)bit;
        }
    }
}

/// `writeCellsAVX2` for all the cells of a plain block, a byte of the mask a step: the places
/// of its bits looked up (`bitPlaces`), widened to eight offsets and written in one store, the
/// next byte's written from where its cells end. Eight steps with no branch, none waiting for
/// another but through the pointer's add, where a cell at a time (`tzcnt`, `blsr`) is a chain
/// as long as the block's cells. Up to 8 offsets past them may be written, which the cells that
/// follow overwrite.
AVX2 INLINE uint32_t *writeBlockCellsAVX2(uint32_t *out, uint32_t at, uint64_t cells) {
    __m256i offsets = _mm256_set1_epi32((int)at);
    const __m256i eight = _mm256_set1_epi32(8);
#pragma clang loop unroll(full)
    for (int i = 0; i < 8; i++) {
        const unsigned byte = (unsigned)(cells >> (8 * i)) & 0xFF;
        const __m256i places = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)bitPlaces[byte]));
        _mm256_storeu_si256((__m256i *)out, _mm256_add_epi32(offsets, places));
        out += _mm_popcnt_u32(byte);
        offsets = _mm256_add_epi32(offsets, eight);
    }
    return out;
}

static const Variant avx2 = {masksAVX2, quotesAndCRsAVX2, utf8ClassesAVX2, writeCellsAVX2};

// MARK: the splitting

/// True when the `live` bytes of a block of these `classes` pass: no lead is forbidden, and
/// each has exactly the continuation bytes it calls for (those called for past the block,
/// `carry`, are checked with the next one). False when they are not valid UTF-8, or hold other
/// leads than those of Vietnamese letters, which only `SurveyText.firstInvalidUTF8` decides: the
/// run then ends before the block's record, for the row path.
INLINE bool utf8Accepts(UTF8Classes classes, uint64_t live, uint64_t *carry) {
    if (classes.forbidden & live) return false;
    const uint64_t leads = classes.leads & live, threeByteLeads = classes.threeByteLeads & live;
    // A sequence cut off by the end of the live bytes belongs to a record that ends past them,
    // which is not taken.
    if ((classes.continuations & live) != ((leads << 1 | threeByteLeads << 2 | *carry) & live)) return false;
    *carry = leads >> 63 | threeByteLeads >> 62;
    return true;
}

/// What a run's blocks need now and then: in memory (`split` hands it to a function), so that
/// the loop's registers go to what every block changes.
typedef struct {
    /// Offsets a record takes: its start, its other cells' and its end.
    ptrdiff_t stride;
    /// Added to a block's address: the offset (from the run's origin) of the byte after its first.
    ptrdiff_t offsetAfter;
    /// The slot past the most records wanted.
    uint32_t *wantedEnd;
    /// Whether a blank (any byte up to a space but a line break, which `CellSpans.Cells`
    /// would trim) is next to a delimiter: some cell then may be padded (`mayBePadded`).
    bool padded;
} RunFrame;

/// A run being split: what carries from one block to the next.
typedef struct {
    RunFrame *frame;
    /// The slot of the current record's end (its start and cells are the `stride - 1` slots
    /// before it), and where its next cell's offset goes: the records taken are counted by
    /// `recordEnd`.
    uint32_t *recordEnd, *cell;
    /// Continuation bytes that the leads of the block before call for in this one (bits 0, 1).
    uint64_t utf8Carry;
    /// The delimiters and blanks of the block before (of their last byte, bit 63: the run's
    /// first cell starts as after a delimiter).
    uint64_t delimitersBefore, blanksBefore;
} Splitter;

/// Notes whether a blank of a block is next to one of its delimiters: a cell is padded when a
/// blank follows a delimiter or comes before one. Each pair of neighbours is looked at once, a
/// byte with the one before it (the block before's last for the first, shifted in: `shld`).
/// Rare, so a branch rather than a mask kept.
INLINE void notePadding(Splitter *s, uint64_t delimiters, uint64_t blanks) {
    const uint64_t pairs = (blanks & (delimiters << 1 | s->delimitersBefore >> 63))
                           | (delimiters & (blanks << 1 | s->blanksBefore >> 63));
    if (__builtin_expect(pairs != 0, 0)) s->frame->padded = true;
    s->delimitersBefore = delimiters;
    s->blanksBefore = blanks;
}

/// Takes the records of the block at `p` that end in it at `lineFeeds` (their cells end at
/// `delimiters`, commas and line feeds, and the last before the CR of a CRLF, `crlf`), and the
/// cells of the one it leaves open; false when the run ends here: at a record of the wrong
/// number of cells, at the most records wanted, or when the block's bytes are not all `usable`.
INLINE bool takeRecords(Splitter *s, const uint8_t *p, uint64_t delimiters, uint64_t lineFeeds, uint64_t crlf,
                        bool usable, const Variant *variant) {
    const uint32_t at = (uint32_t)((ptrdiff_t)p + s->frame->offsetAfter);
    uint32_t *end = s->recordEnd, *cell = s->cell;
    bool more = true;
    for (; lineFeeds; lineFeeds &= lineFeeds - 1) {
        // The record's cells and its end, at the delimiters up to its line feed: the line
        // feed's offset, the next record's start, goes to the end slot too.
        const uint64_t through = lineFeeds ^ (lineFeeds - 1);
        cell = variant->writeCells(cell, at, delimiters & through);
        if (cell != end + 1) { more = false; break; }
        delimiters &= ~through;
        end[1] = end[0];
        end[0] -= (uint32_t)((crlf << 1 & lineFeeds & -lineFeeds) != 0);
        cell = end + 2;
        end += s->frame->stride;
        if (end == s->frame->wantedEnd) { more = false; break; }
    }
    if (more) {
        cell = variant->writeCells(cell, at, delimiters);
        more = cell <= end && usable;
    }
    s->recordEnd = end;
    s->cell = cell;
    return more;
}

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
        if (!utf8Accepts(variant->utf8Classes(p, high), live, &s->utf8Carry)) return false;
    } else if (s->utf8Carry) {
        return false;
    }
    const uint64_t delimiters = (m.commas | m.lineFeeds) & usable, lineFeeds = m.lineFeeds & usable;
    // The taken records' cells end at commas, line feeds and the CRs of CRLFs.
    notePadding(s, delimiters | crlf, m.low & usable & ~(lineFeeds | crlf | m.high));
    return takeRecords(s, p, delimiters, lineFeeds, crlf, usable == ~0ull, variant);
}

/// What became of a whole block taken the short way.
typedef enum { BlockEndsRun, BlockTaken, BlockNotPlain } BlockStep;

/// `takeRecords` for a block whose line feeds have no CR before them and no delimiter after
/// them, with all the cells of the block written in one go: a record starts right after the end
/// of the one before, so the offsets of the delimiters and of the bytes after line feeds,
/// lowest first, are those of the records' slots, but for each line feed's two (its record's
/// end and the next one's start, the same offset). A record then has its cells when its line
/// feed's offset went to its end slot, which the next start's copies.
AVX2 INLINE BlockStep takePlainRecordsAVX2(Splitter *s, const uint8_t *p, uint64_t delimiters, uint64_t lineFeeds) {
    const uint32_t at = (uint32_t)((ptrdiff_t)p + s->frame->offsetAfter);
    uint32_t *end = s->recordEnd;
    uint32_t *const cell = writeBlockCellsAVX2(s->cell, at, delimiters | lineFeeds << 1)
                          + (lineFeeds >> 63); // a start in the next block
    BlockStep step = BlockTaken;
    for (; lineFeeds; lineFeeds &= lineFeeds - 1) {
        const uint32_t next = at + (uint32_t)_tzcnt_u64(lineFeeds);
        // Slots from `cell` on hold no offset of the run's.
        if (end >= cell || *end != next) { step = BlockEndsRun; break; }
        end[1] = next;
        end += s->frame->stride;
        if (end == s->frame->wantedEnd) { step = BlockEndsRun; break; }
    }
    if (cell > end) step = BlockEndsRun;
    s->recordEnd = end;
    s->cell = cell;
    return step;
}

/// A whole block with no quote, no CR and no forbidden lead, the common case, taken with its
/// two loads and the fewest masks: the quotes and CRs, the forbidden leads, and the leads of
/// three bytes come from nibble look-ups, the test for the rare ones of them is one `vptest`
/// and their masks are made only in `takeBlock`, which any other block goes to
/// (`BlockNotPlain`, before anything of it is taken). The UTF-8 classes are made whether or
/// not the block has high bytes: over half of a survey's blocks have some (names, places), in
/// no order a branch predictor learns, and a block of none has no continuation byte nor lead,
/// so that `utf8Accepts` then only checks that the block before left no sequence open.
AVX2 INLINE BlockStep takePlainBlockAVX2(Splitter *s, const uint8_t *p) {
    // The bytes 16 blocks on asked for now: by the time a run is split, the reader's last
    // `read(2)` is far behind (the decode and the batches of the runs before went through the
    // cache since), and the blocks' loads were the splitter's largest stall in `perf`. A
    // prefetch never faults, past the data or the buffer.
    _mm_prefetch((const char *)p + 1024, _MM_HINT_T0);
    const __m256i v0 = loadAVX2(p), v1 = loadAVX2(p + 32);
    const __m256i kinds0 = leadKindsAVX2(v0), kinds1 = leadKindsAVX2(v1);
    // A quote or a CR is all ones, so it has the forbidden leads' bits too.
    const __m256i rare = _mm256_or_si256(_mm256_or_si256(quoteOrCRAVX2(v0), quoteOrCRAVX2(v1)), _mm256_or_si256(kinds0, kinds1));
    if (!_mm256_testz_si256(rare, _mm256_set1_epi8(FORBIDDEN_LEAD_BITS))) return BlockNotPlain;
    const uint64_t high = bits32(v0, v1);
    if (!utf8Accepts(allowedUTF8ClassesAVX2(v0, v1, kinds0, kinds1, high), ~0ull, &s->utf8Carry)) return BlockEndsRun;
    const __m256i lineFeeds0 = equalAVX2(v0, '\n'), lineFeeds1 = equalAVX2(v1, '\n');
    const uint64_t lineFeeds = bits32(lineFeeds0, lineFeeds1);
    const uint64_t delimiters = bits32(_mm256_or_si256(equalAVX2(v0, ','), lineFeeds0), _mm256_or_si256(equalAVX2(v1, ','), lineFeeds1));
    // A record that starts with a delimiter (an empty first cell, a blank line; rare) would
    // share its start's offset with its first cell's in `takePlainRecordsAVX2`.
    if (lineFeeds << 1 & delimiters) return BlockNotPlain;
    notePadding(s, delimiters, bits32(lowAVX2(v0), lowAVX2(v1)) & ~(lineFeeds | high));
    return takePlainRecordsAVX2(s, p, delimiters, lineFeeds);
}

/// The short way for plain blocks (`takePlainBlockAVX2`), and the way of any whole block.
typedef BlockStep (*PlainBlock)(Splitter *s, const uint8_t *p);
typedef bool (*WholeBlock)(Splitter *s, const uint8_t *p);

/// SSE2 takes every block the one way.
INLINE BlockStep takeNoPlainBlock(Splitter *s, const uint8_t *p) {
    (void)s, (void)p;
    return BlockNotPlain;
}

INLINE bool takeWholeBlockSSE2(Splitter *s, const uint8_t *p) { return takeBlock(s, p, ~0ull, &sse2); }

/// A whole block that is not plain: rare, so out of line.
AVX2 __attribute__((noinline)) static bool takeUnusualBlockAVX2(Splitter *s, const uint8_t *p) {
    return takeBlock(s, p, ~0ull, &avx2);
}

AVX2 INLINE bool takeWholeBlockAVX2(Splitter *s, const uint8_t *p) {
    // Through a copy, so that the splitter of the loop of plain blocks stays in registers.
    Splitter unusual = *s;
    const bool more = takeUnusualBlockAVX2(&unusual, p);
    *s = unusual;
    return more;
}

/// The run's whole blocks go with all their bytes live, so that only the last one, cut by the
/// end of the data, works out which are.
INLINE CSplitResult split(const CSplitRun *run, const Variant *variant, PlainBlock takePlainBlock, WholeBlock takeWholeBlock) {
    uint32_t *const firstEnd = run->offsets + run->columns;
    RunFrame frame = {
        .stride = run->columns + 1,
        .offsetAfter = run->offset + 1 - (ptrdiff_t)run->bytes,
        .wantedEnd = firstEnd + run->limit * (run->columns + 1),
        .padded = false,
    };
    Splitter s = {
        .frame = &frame,
        .recordEnd = firstEnd,
        .cell = run->offsets + 1,
        .utf8Carry = 0,
        .delimitersBefore = 1ull << 63,
        .blanksBefore = 0,
    };
    run->offsets[0] = (uint32_t)(run->start + run->offset);
    const uint8_t *p = run->bytes + run->start;
    const ptrdiff_t bytes = run->end - run->start;
    const uint8_t *const wholeEnd = p + bytes / 64 * 64;
    bool more = true;
    while (more && p != wholeEnd) {
        // Plain blocks in a loop of their own, with no call in it that would take its registers.
        BlockStep step;
        while ((step = takePlainBlock(&s, p)) == BlockTaken && (p += 64) != wholeEnd) {}
        if (step == BlockTaken) break;
        more = step == BlockNotPlain && takeWholeBlock(&s, p);
        p += 64;
    }
    if (more && bytes % 64) takeBlock(&s, p, (1ull << bytes % 64) - 1, variant);
    const ptrdiff_t records = (s.recordEnd - firstEnd) / frame.stride;
    // Clean records take a line each.
    for (ptrdiff_t r = 0; r < records; r++) run->lines[r] = (int32_t)(run->line + r);
    // The first record not taken.
    CSplitResult result = {records, (ptrdiff_t)s.recordEnd[-run->columns] - run->offset, run->line + records, frame.padded};
    return result;
}

static CSplitResult splitBaseline(const CSplitRun *run) { return split(run, &sse2, takeNoPlainBlock, takeWholeBlockSSE2); }

AVX2 static CSplitResult splitAVX2(const CSplitRun *run) { return split(run, &avx2, takePlainBlockAVX2, takeWholeBlockAVX2); }

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
