#!/usr/bin/env bash
# Installs every Debian 12 package parley needs to build, run and test.
# Idempotent: packages already present are skipped; apt runs only when needed.
set -euo pipefail

PKGS=(
  # build
  build-essential pkg-config clang libclang-rt-14-dev
  # audio decode (FFmpeg libraries) and the ffmpeg CLI used to make test files
  libavformat-dev libavcodec-dev libavutil-dev libswresample-dev ffmpeg
  # speech recognition: PocketSphinx and its US-English model
  libpocketsphinx-dev libsphinxbase-dev pocketsphinx pocketsphinx-en-us
  # dsp: WebRTC (VAD, noise suppression), Speex DSP
  libwebrtc-audio-processing-dev libspeexdsp-dev
  # call metrics: EBU R128 loudness
  libebur128-dev
  # store and JSON
  libsqlite3-dev sqlite3 libjansson-dev
  # parley serve: the HTTP server
  libmicrohttpd-dev
  # remote engines (speech-to-text and LLM servers): the HTTP client
  libcurl4-openssl-dev
  # many machines: PostgreSQL store (libpq) and Redis queue (hiredis); tests
  # start their own servers from these packages
  libpq-dev postgresql libhiredis-dev redis-server
  # tests: unit test runner, generated speech, audio tools
  libcmocka-dev espeak-ng festival festvox-kallpc16k festvox-kdlpc16k
  festvox-us-slt-hts sox libsox-fmt-all python3 procps time
  # tests over HTTP: the client and JSON reader the shell tests use
  curl jq openssl
  asterisk-core-sounds-en-wav
  # the ivr stage: real hold music for the talk-off tests and bench-ivr
  asterisk-moh-opsound-wav
  # make bench-queue: the peers it is compared with (Celery, RQ; BullMQ and
  # graphile-worker come from npm)
  python3-celery python3-rq python3-redis
  # tests/browser: the recorder page in a real browser (driven by
  # playwright-core from npm, which downloads no browser of its own)
  chromium
)

# Node.js with npm (bench-queue's BullMQ and graphile-worker, the browser
# test's playwright-core): kept when present (it may come with its own npm),
# Debian's packages otherwise.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PKGS+=(nodejs npm)
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
