#!/usr/bin/env bash
# Fetches plain-text corpora for evaluation and training into a cache outside the repository and
# prints the text directory. Idempotent. Cache: $DMS_CACHE or ~/.cache/swift-dms.
#
#   train/debian-reference.txt   the Debian Reference (package debian-reference-en)
#   train/licenses.txt           the licence texts in /usr/share/common-licenses (base-files)
#   heldout/python-tutorial.txt  chapter 2 "The Python Tutorial" of the Python manual in info
#                                format (package python3.11-doc, or another python3.X-doc),
#                                with the info markup removed
#
# The held-out text comes from a different package than the training texts. Debian packages are
# fetched with `apt-get download` (run `apt-get update` first on a fresh machine).
set -euo pipefail
cache="${DMS_CACHE:-$HOME/.cache/swift-dms}"
text="$cache/text"
debs="$text/debs"
mkdir -p "$text/train" "$text/heldout" "$debs"

# Downloads a Debian package into $debs unless a .deb of it is there, and unpacks it into
# $debs/<package>; prints that directory.
unpacked() {
  local package="$1"
  local deb
  deb=$(ls "$debs/${package}"_*.deb 2>/dev/null | head -n 1 || true)
  if [ -z "$deb" ]; then
    if ! (cd "$debs" && apt-get download "$package" >&2); then
      echo "error: cannot download the Debian package '$package' (apt-get download failed; try apt-get update)" >&2
      exit 1
    fi
    deb=$(ls "$debs/${package}"_*.deb 2>/dev/null | head -n 1 || true)
    [ -n "$deb" ] || { echo "error: apt-get download '$package' left no .deb in $debs" >&2; exit 1; }
  fi
  if [ ! -d "$debs/$package" ]; then
    dpkg-deb -x "$deb" "$debs/$package.part"
    mv "$debs/$package.part" "$debs/$package"
  fi
  echo "$debs/$package"
}

# train/debian-reference.txt
out="$text/train/debian-reference.txt"
if [ ! -s "$out" ]; then
  dir=$(unpacked debian-reference-en)
  source="$dir/usr/share/debian-reference/debian-reference.en.txt.gz"
  [ -f "$source" ] || { echo "error: $source is missing from debian-reference-en" >&2; exit 1; }
  gzip -dc "$source" > "$out.part"
  mv "$out.part" "$out"
fi

# train/licenses.txt
out="$text/train/licenses.txt"
if [ ! -s "$out" ]; then
  : > "$out.part"
  for name in GPL-3 LGPL-3 Apache-2.0 MPL-2.0 Artistic GFDL-1.3 GPL-2 LGPL-2.1; do
    file="/usr/share/common-licenses/$name"
    if [ -f "$file" ]; then
      cat "$file" >> "$out.part"
      printf '\n' >> "$out.part"
    fi
  done
  [ -s "$out.part" ] || { echo "error: no licence texts in /usr/share/common-licenses (is base-files installed?)" >&2; exit 1; }
  mv "$out.part" "$out"
fi

# heldout/python-tutorial.txt
out="$text/heldout/python-tutorial.txt"
if [ ! -s "$out" ]; then
  package=python3.11-doc
  if ! apt-cache show "$package" > /dev/null 2>&1; then
    # Another Python 3 documentation package, the newest version first.
    package=$(apt-cache search --names-only '^python3\.[0-9]+-doc$' | cut -d' ' -f1 | sort -t. -k2,2n | tail -n 1)
    [ -n "$package" ] || { echo "error: no python3.X-doc package is available to apt" >&2; exit 1; }
  fi
  version="${package%-doc}"   # python3.11
  dir=$(unpacked "$package")
  source="$dir/usr/share/info/$version.info.gz"
  [ -f "$source" ] || { echo "error: $source is missing from $package" >&2; exit 1; }
  gzip -dc "$source" | python3 -c '
import re, sys
lines = sys.stdin.read().split("\n")
try:
    start = lines.index("2 The Python Tutorial")
except ValueError:
    sys.exit("error: the info file has no chapter \"2 The Python Tutorial\"")
# Chapter 3 starts at the next top-level heading "3 <title>" underlined with asterisks.
end = next((i for i in range(start + 1, len(lines) - 1)
            if re.fullmatch(r"3 \S.*", lines[i]) and re.fullmatch(r"\*+", lines[i + 1])), None)
if end is None:
    sys.exit("error: cannot find where chapter 3 starts after \"2 The Python Tutorial\"")
kept, in_menu = [], False
for line in lines[start:end]:
    if "\x1f" in line:                       # node separator: a menu never runs past one
        in_menu = False
        continue
    if line.startswith("File: ") and "Node: " in line:
        continue
    if line.startswith("* Menu:"):
        in_menu = True
        continue
    if in_menu:
        continue
    kept.append(line.replace("\x7f", ""))
body = "\n".join(kept)
# Cross references "*note Label: 1a2." / "*note Label: 1a2," / "*note Label::" read as "Label".
# A comma terminator is kept (it is also the punctuation of the sentence); a period is kept only when it ends a sentence (what
# follows is not a lower-case word).
def reference(match):
    label, terminator, following = match.group(1), match.group(2), match.group(3)
    return label + ("" if terminator == "." and following.islower() else terminator)
body = re.sub(r"\*[Nn]ote\s+([^:*]+?):\s*[0-9a-f]+([.,])(?=\s*(\S?))", reference, body)
body = re.sub(r"\*[Nn]ote\s+([^:*]+?)::", r"\1", body)
body = re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"
sys.stdout.write(body)
' > "$out.part"
  [ -s "$out.part" ] || { echo "error: extracted an empty tutorial from $source" >&2; exit 1; }
  mv "$out.part" "$out"
fi

echo "$text"
