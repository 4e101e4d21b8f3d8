#!/usr/bin/env bash
# bench/gpu/pack.sh - build the engine and pack it for the GPU machine: writes .device/ at the repository root
# (git-ignored), to be carried along to the device with bench/gpu/run-on-device.sh. Run from anywhere.
#
#   bash bench/gpu/pack.sh            # SHARED=<path to shared/> if it is not ../shared or ../../shared
#
# What it does: `mvn -pl tests -am package -DskipTests` (classes and test classes; nothing is installed), resolves
# the tests module's test classpath for linux-x86_64, leaves the oneDNN natives out (the GPU tests compare with the
# pure-Java reference backend; this saves ~27 MiB of the 64 MiB the device accepts; DEVPACK_EXCLUDE, a regex on
# jar paths, overrides), and hands it all to shared/device/pack.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
if [ -z "${SHARED:-}" ]; then
  for s in "$ROOT/shared" "$ROOT/../shared" "$ROOT/../../shared" /work/shared; do
    [ -f "$s/device/pack.sh" ] && { SHARED=$s; break; }
  done
fi
[ -n "${SHARED:-}" ] && [ -f "$SHARED/device/pack.sh" ] || { echo "pack: set SHARED to the folder holding device/pack.sh" >&2; exit 2; }
mvn -q -B -pl tests -am package -DskipTests
# The test-scope classpath, resolved here and handed to pack.sh as explicit entries: pack.sh's own Maven
# resolution cannot parse the "(optional)" marker of the engine's optional native dependencies.
CPFILE=$(mktemp)
trap 'rm -f "$CPFILE"' EXIT
mvn -q -B -pl tests org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath \
    -Dmdep.includeScope=test -Dmdep.outputFile="$CPFILE" -Djavacpp.platform=linux-x86_64
EXCLUDE=${DEVPACK_EXCLUDE:-'/org/bytedeco/(dnnl|dnnl-platform|openblas|openblas-platform|opencl|opencl-platform)/'}
# The project's own modules travel as class folders (the kernel-level gpu tests live in engine, the network-level
# ones in tests); their jars on the resolved classpath are dropped.
mapfile -t JARS < <(tr ':' '\n' < "$CPFILE" | grep -v '^$' | grep -vE "$EXCLUDE" | grep -v '/graft-')
DIRS=()
for m in engine models loaders cli; do DIRS+=("$ROOT/$m/target/classes"); done
DIRS+=("$ROOT/engine/target/test-classes" "$ROOT/tests/target/test-classes")
bash "$SHARED/device/pack.sh" --out "$ROOT/.device" "${DIRS[@]}" "${JARS[@]}"
echo "packed $ROOT/.device ($(du -sh "$ROOT/.device" | cut -f1)); on the GPU machine: bash bench/gpu/run-on-device.sh (carry .device)"
