#!/usr/bin/env bash
# What the PDF letters need on the machine, installed only when something is missing.
#
#   scripts/system-deps.sh           check; install what is missing (apt-get, as root)
#   scripts/system-deps.sh --check   check only; exit 1 and say what is missing
#
# - the letter's font, Liberation Serif (fonts-liberation2): the family templates/print.css
#   names. dispatch/pdf.py refuses to render without it rather than fall back silently.
#   It covers French (accents, œ, « », the narrow no-break space U+202F) and has the
#   metrics of Times New Roman, the face of formal letters; Cyrillic too (Russian).
# - the fonts of the other official languages' scripts, named by their language files
#   (templates/<code>/language.toml) and print.css: Noto Naskh Arabic (fonts-noto-core)
#   for Arabic, Noto Serif CJK SC (fonts-noto-cjk) for Chinese.
# - WeasyPrint's libraries: Pango (with its fontconfig backend) and HarfBuzz's subsetter,
#   which makes the embedded font subsets several times faster than fontTools.
# - poppler-utils: pdftotext and pdftoppm, to read a PDF back and to picture its first page.
# - chromium: Debian's browser, for the tests that open the e-mail's HTML part and the
#   preview as a person sees them (Playwright's Python API drives it; Playwright never
#   downloads a browser of its own), and for the README's screenshots.
# - postfix and dovecot-imapd: the real relay and IMAP server of the MTA tests
#   (tests/mta.py, `make test-mta`). The tests run their own instances from a temporary
#   folder on 127.0.0.1; the system services are never started by this script (a
#   policy-rc.d refuses them while installing, and postfix is installed with "No
#   configuration"), so nothing listens on port 25 or 143 afterwards.
#
# Quiet when everything is there. Made for Debian and Ubuntu (CI is Debian 12).
set -euo pipefail

FONT_FAMILY="Liberation Serif"
PACKAGES=(
  fontconfig
  fonts-liberation2
  fonts-noto-core
  fonts-noto-cjk
  libpango-1.0-0
  libpangoft2-1.0-0
  libharfbuzz-subset0
  poppler-utils
  chromium
  postfix
  dovecot-imapd
)
# Mail servers that apt must install without starting them (see above).
MAIL_SERVERS=(postfix dovecot-imapd)

check_only=false
case "${1:-}" in
  --check) check_only=true ;;
  "") ;;
  -h | --help)
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
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
  command -v postfix >/dev/null 2>&1 || [ -x /usr/sbin/postfix ] || problems+=("postfix")
  command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || problems+=("dovecot (IMAP)")
  if [ ${#problems[@]} -gt 0 ]; then
    say "missing: ${problems[*]}. Install them with your package manager (this script knows apt only)."
    exit 1
  fi
  exit 0
fi

# While a mail server is installed, refuse every service start (policy-rc.d exit 101,
# as Debian's own container images do), then put things back as they were.
no_services_while_installing() {
  local package needed=false
  for package in "${MAIL_SERVERS[@]}"; do
    installed "$package" || needed=true
  done
  $needed || return 0
  [ -e /usr/sbin/policy-rc.d ] && return 0 # a policy is already in force: leave it
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
}

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
  # Postfix asks what kind of mail server this is: none (the tests bring their own config).
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  no_services_while_installing
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -d /run/systemd/system ]; then
    # Not started now, and not at the next boot either: the tests start their own.
    for package in "${missing[@]}"; do
      case "$package" in
        postfix) systemctl disable --now postfix >/dev/null 2>&1 || true ;;
        dovecot-imapd) systemctl disable --now dovecot >/dev/null 2>&1 || true ;;
      esac
    done
  fi
fi

if ! font_known && ! $check_only; then
  # The package is there but fontconfig's cache predates it.
  fc-cache -f >/dev/null 2>&1 || true
fi
if ! font_known; then
  say "the font \"$FONT_FAMILY\" is still unknown to fontconfig (fc-list :family=\"$FONT_FAMILY\" lists nothing) although fonts-liberation2 is installed."
  exit 1
fi
