#!/usr/bin/env bash
# Make sure the FFTW3 development files (needed to build shtns from source) are present.
# Installs them with apt-get on Debian/Ubuntu when running as root or with sudo;
# otherwise stops with one line naming the package to install.
set -eu
if [ -f /usr/include/fftw3.h ] || [ -f /usr/local/include/fftw3.h ] || pkg-config --exists fftw3 2>/dev/null; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing libfftw3-dev (needed to build shtns)..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libfftw3-dev >/dev/null
    exit 0
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    echo "Installing libfftw3-dev with sudo (needed to build shtns)..."
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libfftw3-dev >/dev/null
    exit 0
  fi
fi
echo "error: FFTW3 development files not found; install the system package libfftw3-dev (Debian/Ubuntu) or fftw-devel (Fedora), then rerun make." >&2
exit 1
