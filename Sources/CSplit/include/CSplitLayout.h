#ifndef CSPLIT_LAYOUT_H
#define CSPLIT_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "CSplit.h"

/// The rows of members.csv walked by the layout pass (`MemberRuns`), when the household id is
/// the first column: each row either continues the current run (it starts with the run's id and
/// a comma) or starts a new one, whose id (the row's first cell), file offset and line are
/// appended to the runs.
typedef struct {
    /// The reader's buffer; at least 64 bytes past `end` must be readable.
    const uint8_t *bytes;
    /// Offset in `bytes` of the next row (moved past the rows taken), the end of the data, and
    /// the offset from which rows are not taken (the second scanner's start).
    ptrdiff_t at, end, stop;
    /// Line of the row at `at` (moved with it), and the file offset of `bytes[0]`.
    ptrdiff_t line, fileOffset;
    /// The current run's id and its comma, `prefixLength` bytes (0: no row continues a run);
    /// a new run's id and comma are written here. The prefix holds no line feed and no quote.
    uint8_t *prefix;
    ptrdiff_t prefixLength, prefixCapacity;
    /// The new runs: ids end to end in `ids` (`idsUsed` of `idsCapacity` bytes), run r's id
    /// ending at `idEnds[r]`, starting at file offset `offsets[r]` on line `lines[r]`; `runs` of
    /// at most `runLimit` (0: the rows of the current run are skipped and nothing else).
    uint8_t *ids;
    ptrdiff_t idsUsed, idsCapacity;
    ptrdiff_t *idEnds, *offsets, *lines;
    ptrdiff_t runs, runLimit;
} CLayoutRuns;

/// Why the walk stopped, at the row at `CLayoutRuns.at`.
typedef enum {
    /// The row does not end in the buffer (or its start is too close to the end to compare).
    CLayoutBufferEnd = 0,
    /// The row starts at `stop` or later.
    CLayoutAtStop = 1,
    /// A row for `CSVReader.nextKeyFields`: one with a quote, or an id cell that is empty, has
    /// a blank at an end, is the whole row, or is longer than `prefixCapacity`.
    CLayoutRowForReader = 2,
    /// As many runs (rows) are taken as there is room for: the row starts a new run and
    /// `runLimit` runs are taken, or its id does not fit `ids` (`clayout_key_rows`: `rowLimit`
    /// rows are taken).
    CLayoutRunsFull = 3,
} CLayoutStop;

/// Walks the rows of `runs` from `at` (see `CLayoutRuns`) with `kernel`, which the CPU must run.
/// The line feeds and quotes of every 64-byte block are found together, once per block.
CLayoutStop clayout_member_runs(CLayoutRuns *runs, CSplitKernel kernel);

/// Rows without quotes split up to one cell, read ahead for `CSVReader.nextKeyFields` (the
/// layout pass over households.csv).
typedef struct {
    /// The reader's buffer; at least 64 bytes past `end` must be readable.
    const uint8_t *bytes;
    /// Offset in `bytes` of the next row (moved past the rows taken), and the end of the data.
    ptrdiff_t at, end;
    /// The cell wanted.
    ptrdiff_t column;
    /// Four offsets per row taken, at most `rowLimit` rows: its line feed, the start and end of
    /// cell `column` (a CR before the line feed is not part of the last cell), and its cells up
    /// to `column + 1` (fewer: the row has no cell `column`, and the two before are its last's).
    ptrdiff_t *rows;
    ptrdiff_t rowsTaken, rowLimit;
} CLayoutRows;

/// Splits the rows of `rows` from `at` on (see `CLayoutRows`) with `kernel`, which the CPU must
/// run, until a row with a quote (`CLayoutRowForReader`), one not ended in the buffer
/// (`CLayoutBufferEnd`), or `rowLimit` rows (`CLayoutRunsFull`).
CLayoutStop clayout_key_rows(CLayoutRows *rows, CSplitKernel kernel);

#endif
