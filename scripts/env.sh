# Sourced by the scripts: a Swift toolchain on PATH.
command -v swift >/dev/null 2>&1 || export PATH="/opt/swift/usr/bin:$PATH"
