#!/usr/bin/env python3
# messy.py SRC DST [SEED [SKIP,...]]: a copy of a survey with deterministic damage, for checking
# that two builds read broken surveys the same way (bench/compare.sh). About 3.5 % of rows are
# damaged: quoted cells (some with doubled quotes), spaces around values, bad codes and numbers
# and formulas, wrong column counts, NFD accents, a Latin-1 byte, quoted line breaks, stray
# quotes, repeated household rows, blank lines, CRLF. SKIP names kinds to leave out
# (quote, spaces, badcell, colcount, nfd, latin1, newline, stray, dup, blank); leaving out
# stray,newline keeps the files in the same household order (the streaming join).
import random, sys, os, unicodedata
src, dst = sys.argv[1], sys.argv[2]
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
skip = set(sys.argv[4].split(',')) if len(sys.argv) > 4 else set()
os.makedirs(dst, exist_ok=True)
def damage(lines, is_members):
    out = [lines[0]]
    for ln in lines[1:]:
        r = rng.random()
        body = ln.rstrip('\n')
        cells = body.split(',')
        if r < 0.01 and 'quote' not in skip:   # quote a random cell, with an embedded doubled quote sometimes
            i = rng.randrange(1, len(cells)); cells[i] = '"' + cells[i] + ('""x' if rng.random() < 0.2 else '') + '"'
        elif r < 0.02 and 'spaces' not in skip: # spaces around a value
            i = rng.randrange(1, len(cells)); cells[i] = ' ' + cells[i] + ' '
        elif r < 0.025 and 'badcell' not in skip: # bad code / text in a coded or numeric cell
            i = rng.randrange(1, len(cells)); cells[i] = rng.choice(['xyz', '-5', '1e3', 'TRUE', 'có', '2024-13-40', '=1+1', ''])
        elif r < 0.028 and 'colcount' not in skip: # wrong column count
            cells = cells[:-1] if rng.random() < 0.5 else cells + ['extra']
        elif r < 0.030 and 'nfd' not in skip: # NFD accents
            cells = [unicodedata.normalize('NFD', c) for c in cells]
        elif r < 0.031 and 'latin1' not in skip: # latin-1 byte
            cells[-1] = cells[-1] + '\udce9'
        elif r < 0.032 and 'newline' not in skip: # embedded newline in quotes
            i = rng.randrange(1, len(cells)); cells[i] = '"a\nb"'
        elif r < 0.033 and 'stray' not in skip: # stray quote
            i = rng.randrange(1, len(cells)); cells[i] = cells[i] + '"'
        elif r < 0.034 and not is_members and 'dup' not in skip: # duplicate household row
            out.append(','.join(cells) + '\n')
        elif r < 0.035 and 'blank' not in skip: # blank line
            out.append('\n')
        eol = '\r\n' if rng.random() < 0.02 else '\n'
        out.append(','.join(cells) + eol)
    return out
for name in ['households.csv', 'members.csv']:
    with open(os.path.join(src, name), encoding='utf-8', newline='') as f:
        lines = f.readlines()
    out = damage(lines, name == 'members.csv')
    with open(os.path.join(dst, name), 'w', encoding='utf-8', errors='surrogateescape', newline='') as f:
        f.writelines(out)
