#!/usr/bin/env bash
# The word_count example against an independent count (tr | sort | uniq), from a file and from
# stdin, at parallelism 1 and 2; and a clear error for a missing file.
set -euo pipefail
word_count=$1
input=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Words are runs of ASCII letters and digits, lower-cased.
tr -cs '[:alnum:]' '\n' < "$input" | tr '[:upper:]' '[:lower:]' | grep -v '^$' |
  LC_ALL=C sort | uniq -c | awk '{print $2, $1}' | LC_ALL=C sort > "$tmp/expected"

"$word_count" "$input" | LC_ALL=C sort > "$tmp/p1"
"$word_count" "$input" --parallelism 2 | LC_ALL=C sort > "$tmp/p2"
"$word_count" < "$input" | LC_ALL=C sort > "$tmp/stdin"
for run in p1 p2 stdin; do
  if ! diff -q "$tmp/expected" "$tmp/$run" > /dev/null; then
    echo "word_count ($run) differs from the expected counts:" >&2
    diff "$tmp/expected" "$tmp/$run" | head -20 >&2
    exit 1
  fi
done
[ -s "$tmp/expected" ] || { echo "empty input?" >&2; exit 1; }

if "$word_count" /nonexistent/file 2> "$tmp/err"; then
  echo "word_count should fail on a missing file" >&2
  exit 1
fi
grep -q "cannot open '/nonexistent/file'" "$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
echo "word_count: $(wc -l < "$tmp/expected") distinct words, all runs match"
