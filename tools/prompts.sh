#!/usr/bin/env bash
# Makes the default prompts from text: deploy/prompts/text/<lang>.tsv (name<TAB>text) spoken
# by espeak-ng, then sox to what the media-relay plays (8 kHz, mono, 16-bit PCM WAV, levelled
# to -3 dBFS). Numbers 0-99 (number-N) and digits 0-9 (digit-N) come from the numerals, in each
# language. No audio is committed: the build, the local stack and the media-relay image run
# this.
#
#   tools/prompts.sh OUT_DIR          writes OUT_DIR/<lang>/<name>.wav for every language
#
# Only what is missing or older than its text is made again.
set -euo pipefail
CC_ROOT=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: tools/prompts.sh OUT_DIR}
text_dir=$CC_ROOT/deploy/prompts/text
command -v espeak-ng >/dev/null || { echo "prompts.sh: espeak-ng is not installed" >&2; exit 1; }
command -v sox >/dev/null || { echo "prompts.sh: sox is not installed" >&2; exit 1; }

declare -A voice=([en]=en-us [de]=de)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

speak() { # lang name text table
  local lang=$1 name=$2 text=$3 table=$4 wav=$out/$1/$2.wav
  [ -s "$wav" ] && [ "$wav" -nt "$table" ] && return 0
  espeak-ng -v "${voice[$lang]:-$lang}" -s 150 -w "$tmp/raw.wav" -- "$text"
  # Resample with a steep filter, then level: the relay encodes to G.711 as it plays.
  sox -q "$tmp/raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$tmp/out.wav" norm -3
  mv "$tmp/out.wav" "$wav"
}

made=0
for table in "$text_dir"/*.tsv; do
  lang=$(basename "$table" .tsv)
  mkdir -p "$out/$lang"
  while IFS=$'\t' read -r name text; do
    case "$name" in '' | '#'*) continue ;; esac
    [[ "$name" =~ ^[a-z0-9-]+$ ]] || { echo "prompts.sh: $table: bad name '$name'" >&2; exit 1; }
    speak "$lang" "$name" "$text" "$table"
    made=$((made + 1))
  done <"$table"
  for n in $(seq 0 99); do speak "$lang" "number-$n" "$n" "$table"; made=$((made + 1)); done
  for n in $(seq 0 9); do speak "$lang" "digit-$n" "$n" "$table"; made=$((made + 1)); done
done
echo "prompts.sh: $made prompts in $out" >&2
