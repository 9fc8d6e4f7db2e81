#!/usr/bin/env bash
# The first page of a rendered letter as a PNG, for the README.
#
#   scripts/first-page-png.sh LETTER.pdf OUT.png [DPI]
#
# DPI defaults to 80: about 660 × 935 pixels for an A4 page, legible on GitHub and small
# in the repository. Needs pdftoppm (poppler-utils; scripts/system-deps.sh installs it).
set -euo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: scripts/first-page-png.sh LETTER.pdf OUT.png [DPI]" >&2
  exit 2
fi
pdf=$1
png=$2
dpi=${3:-80}

if [ ! -f "$pdf" ]; then
  echo "first-page-png: $pdf does not exist. Render the letter first (dispatch render MAILING --format pdf ...)." >&2
  exit 1
fi
case "$dpi" in
  '' | *[!0-9]*)
    echo "first-page-png: the resolution must be a whole number of dots per inch, not \"$dpi\"." >&2
    exit 2
    ;;
esac
if ! command -v pdftoppm >/dev/null 2>&1; then
  echo "first-page-png: pdftoppm is not installed. Run scripts/system-deps.sh as root (it installs poppler-utils)." >&2
  exit 1
fi

# pdftoppm adds ".png" itself to the name it is given.
mkdir -p "$(dirname "$png")"
pdftoppm -png -f 1 -l 1 -singlefile -r "$dpi" "$pdf" "${png%.png}"
