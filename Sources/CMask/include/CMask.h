#ifndef CMASK_H
#define CMASK_H

#include <stddef.h>
#include <stdint.h>

// Column rows (int64) into bit masks, 64 rows a word: bit r % 64 of word r / 64 is row r.
// `out` has (n + 63) / 64 words; bits past row n - 1 are left zero.

/// How `cmask_compare` compares each row x with q.
typedef enum {
    CMaskLess = 0, CMaskLessOrEqual = 1, CMaskGreater = 2, CMaskGreaterOrEqual = 3, CMaskEqual = 4, CMaskNotEqual = 5
} CMaskRelation;

/// Bit set where `x[r] relation q` holds (signed comparison).
void cmask_compare(const int64_t *x, size_t n, CMaskRelation relation, int64_t q, uint64_t *out);

/// `cmask_compare` and the rows equal to `skip` (a column's unknown rows) in one pass: `out` is
/// set where x[r] != skip and `x[r] relation q` holds, `skipped` where x[r] == skip.
void cmask_compare_known(const int64_t *x, size_t n, CMaskRelation relation, int64_t q, int64_t skip, uint64_t *out, uint64_t *skipped);

/// The rows `cmask_narrow16` takes: a 16-bit number other than the two extremes, so that any
/// Int64 compared with them gives the same bits as its nearest 16-bit number (clamped).
#define CMASK_NARROW_MIN (-32767)
#define CMASK_NARROW_MAX 32766

/// x[r] as a 16-bit number into out[r] (0 where x[r] == skip); 1 when every row other than
/// `skip` lies in CMASK_NARROW_MIN ... CMASK_NARROW_MAX, else 0 (`out` is then of no use).
int cmask_narrow16(const int64_t *x, size_t n, int64_t skip, int16_t *out);

/// `cmask_compare` over 16-bit rows: a quarter of the bytes, sixteen rows a compare.
void cmask_compare16(const int16_t *x, size_t n, CMaskRelation relation, int16_t q, uint64_t *out);

/// Bit set where x[r] is odd (the true rows of a bool column of 0, 1 and INT64_MIN).
void cmask_low_bit(const int64_t *x, size_t n, uint64_t *out);

/// `cmask_low_bit` and the rows equal to `skip` in one pass (a bool column's true and unknown
/// rows: `skip` is even, so its rows have no `values` bit).
void cmask_low_bit_known(const int64_t *x, size_t n, int64_t skip, uint64_t *values, uint64_t *skipped);

/// Ids against a table of `count` (at most 64) bits: `values` set where 0 <= x[r] < count and
/// bit x[r] of `table` is set; `outside` set where x[r] is not in 0..<count.
void cmask_lookup(const int64_t *x, size_t n, uint64_t table, uint64_t count, uint64_t *values, uint64_t *outside);

/// `cmask_lookup`, with `skipped` set where x[r] == skip (a column's unknown rows) in the same pass.
void cmask_lookup_known(const int64_t *x, size_t n, uint64_t table, uint64_t count, int64_t skip, uint64_t *values, uint64_t *outside,
                        uint64_t *skipped);

/// Masks back into a bool column: out[r] is INT64_MIN where `unknown` has bit r, else bit r
/// of `values` (0 or 1).
void cmask_unpack(const uint64_t *values, const uint64_t *unknown, size_t n, int64_t *out);

/// Per range of rows (a household's members, rows bounds[2h] ..< bounds[2h + 1]) and per mask j
/// of `masks` (its words at values + j * stride and unknown + j * stride): bit h of mask j's
/// `someUnknown` set when some row of the range has its `unknown` bit, bit h of its `someTrue`
/// when none has and some row has its `values` bit. Output words: (ranges + 63) / 64 per mask,
/// mask after mask, bits past the last range zero. Empty ranges have neither. Each range's
/// window of rows is found once for all the masks.
void cmask_some_in_ranges(const uint64_t *values, const uint64_t *unknown, size_t masks, size_t stride, const int64_t *bounds,
                          size_t ranges, uint64_t *someTrue, uint64_t *someUnknown);

/// Per range of rows (rows bounds[2h] ..< bounds[2h + 1]): how many rows have their `values`
/// bit (`trueCount[h]`) and how many their `unknown` bit (`unknownCount[h]`).
void cmask_count_in_ranges(const uint64_t *values, const uint64_t *unknown, const int64_t *bounds, size_t ranges,
                           int64_t *trueCount, int64_t *unknownCount);

/// Whether the AVX2 loops are used (when the CPU has them); tests turn them off to check the
/// plain loops against them.
void cmask_use_avx2(int enabled);

#endif
