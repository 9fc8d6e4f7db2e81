#!/usr/bin/env bash
# What the PDF letters need on the machine, installed only when something is missing.
#
#   scripts/system-deps.sh           check; install what is missing (apt-get, as root)
#   scripts/system-deps.sh --check   check only; exit 1 and say what is missing
#
# - the letter's font, Liberation Serif (fonts-liberation2): the family templates/print.css
#   names. dispatch/pdf.py refuses to render without it rather than fall back silently.
#   It covers French (accents, œ, « », the narrow no-break space U+202F) and has the
#   metrics of Times New Roman, the face of formal letters.
# - WeasyPrint's libraries: Pango (with its fontconfig backend) and HarfBuzz's subsetter,
#   which makes the embedded font subsets several times faster than fontTools.
# - poppler-utils: pdftotext and pdftoppm, to read a PDF back and to picture its first page.
# - chromium: the browser the preview's tests (Playwright, headless) and its screenshots use.
#
# Quiet when everything is there. Made for Debian and Ubuntu (CI is Debian 12).
set -euo pipefail

FONT_FAMILY="Liberation Serif"
PACKAGES=(
  fontconfig
  fonts-liberation2
  libpango-1.0-0
  libpangoft2-1.0-0
  libharfbuzz-subset0
  poppler-utils
  chromium
)

check_only=false
case "${1:-}" in
  --check) check_only=true ;;
  "") ;;
  -h | --help)
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "system-deps.sh: unknown option $1 (use --check, or nothing)" >&2
    exit 2
    ;;
esac

say() { echo "system-deps: $*" >&2; }

installed() {
  # dpkg -s also answers for a package removed but not purged: read its status instead.
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

font_known() {
  command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list ":family=$FONT_FAMILY" family)" ]
}

missing_packages() {
  local package
  for package in "${PACKAGES[@]}"; do
    installed "$package" || echo "$package"
  done
}

if ! command -v dpkg-query >/dev/null 2>&1; then
  # Not Debian: check what we can see and say what to install.
  problems=()
  font_known || problems+=("the font \"$FONT_FAMILY\"")
  command -v pdftotext >/dev/null 2>&1 || problems+=("pdftotext (poppler)")
  command -v pdftoppm >/dev/null 2>&1 || problems+=("pdftoppm (poppler)")
  if [ ${#problems[@]} -gt 0 ]; then
    say "missing: ${problems[*]}. Install them with your package manager (this script knows apt only)."
    exit 1
  fi
  exit 0
fi

mapfile -t missing < <(missing_packages)
if [ ${#missing[@]} -eq 0 ] && font_known; then
  exit 0
fi

if [ ${#missing[@]} -gt 0 ]; then
  if $check_only; then
    say "missing Debian packages: ${missing[*]}. Run scripts/system-deps.sh as root to install them."
    exit 1
  fi
  if [ "$(id -u)" -ne 0 ]; then
    say "missing Debian packages: ${missing[*]}. Run this script as root (or: sudo apt-get install ${missing[*]})."
    exit 1
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! font_known && ! $check_only; then
  # The package is there but fontconfig's cache predates it.
  fc-cache -f >/dev/null 2>&1 || true
fi
if ! font_known; then
  say "the font \"$FONT_FAMILY\" is still unknown to fontconfig (fc-list :family=\"$FONT_FAMILY\" lists nothing) although fonts-liberation2 is installed."
  exit 1
fi
