#ifndef CSPLIT_H
#define CSPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/// A run of clean CSV records to split into cells (`CSVReader.appendCleanRecords`).
typedef struct {
    /// The reader's buffer; at least 64 bytes past `end` must be readable.
    const uint8_t *bytes;
    /// Offset in `bytes` of the first record, and the end of the data.
    ptrdiff_t start, end;
    /// Offset of `bytes[0]` from the origin the cell offsets count from (a record before the
    /// run's, at most 0 when the origin is in the buffer), and the line of the first record.
    ptrdiff_t offset, line;
    /// Cells per record, offsets per record in `offsets` (`columns + 1`), most records taken.
    ptrdiff_t columns, stride, limit;
    /// Record r's cells start at the offsets (from the origin) `offsets[r * stride + c]`,
    /// c < columns, and `offsets[r * stride + columns]` is one past its last cell's end: 32
    /// bits, so the bytes `start..<end` must lie within 4 GiB of the origin. Up to 66 offsets
    /// past the `limit` records' may be written (`CellSpans` keeps `stride + 64`).
    uint32_t *offsets;
    /// Record r's line.
    int32_t *lines;
} CSplitRun;

typedef struct {
    /// Records split.
    ptrdiff_t records;
    /// Offset in `bytes` and line of the first record not split.
    ptrdiff_t next, line;
    /// Whether a cell of the records split may have a blank (a byte up to a space) at an end.
    bool mayBePadded;
} CSplitResult;

/// The instructions a splitter uses: SSE2 (every x86-64), or AVX2 with BMI1/BMI2 (most CPUs
/// made since 2013, not all).
typedef enum {
    CSplitBaseline = 0,
    CSplitAVX2 = 1,
} CSplitKernel;

/// The fastest kernel this CPU runs.
CSplitKernel csplit_best_kernel(void);

/// Splits the clean records of `run` from its start on (see `CSVReader.appendCleanRecords`)
/// with `kernel`, which the CPU must run (`csplit_best_kernel`, or CSplitBaseline).
CSplitResult csplit_clean_records(const CSplitRun *run, CSplitKernel kernel);

#endif
