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
# One reactor run builds the modules and resolves the test-scope classpath (the sibling modules from the reactor, so a
# fresh clone needs no `mvn install`); it is handed to pack.sh as explicit entries: pack.sh's own Maven resolution
# cannot parse the "(optional)" marker of the engine's optional native dependencies. MVN_ARGS: extra Maven
# arguments (e.g. -o).
# shellcheck disable=SC2086
mvn -q -B ${MVN_ARGS:-} -pl tests -am package -DskipTests org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath \
    -Dmdep.includeScope=test -Dmdep.outputFile=target/pack-classpath.txt -Djavacpp.platform=linux-x86_64
CPFILE=$ROOT/tests/target/pack-classpath.txt
# ONNX Runtime (53 MiB, the tests module's ONNX export check) is left out too: with it the pack is over the device's
# 64 MiB; the test classes that need it are left out with it (below), or JUnit's discovery fails on them.
EXCLUDE=${DEVPACK_EXCLUDE:-'/org/bytedeco/(dnnl|dnnl-platform|openblas|openblas-platform|opencl|opencl-platform)/|/com/microsoft/onnxruntime/'}
# The project's own modules travel as class folders (the kernel-level gpu tests live in engine, the network-level
# ones in tests); their jars on the resolved classpath are dropped.
mapfile -t JARS < <(tr ':' '\n' < "$CPFILE" | grep -v '^$' | grep -vE "$EXCLUDE" | grep -v "^$ROOT/" | grep -v '/graft-')
DIRS=()
for m in engine models loaders runtime cli; do DIRS+=("$ROOT/$m/target/classes"); done
TEST_CLASSES=$ROOT/tests/target/test-classes
if ! tr ':' '\n' < "$CPFILE" | grep -v '^$' | grep -vE "$EXCLUDE" | grep -q '/com/microsoft/onnxruntime/'; then
    # A copy of the tests module's test classes without those that name ONNX Runtime's classes (none is tagged gpu).
    TEST_CLASSES=$(mktemp -d)
    trap 'rm -rf "$TEST_CLASSES"' EXIT
    cp -r "$ROOT/tests/target/test-classes/." "$TEST_CLASSES/"
    grep -rl --include='*.class' 'ai/onnxruntime/' "$TEST_CLASSES" | while read -r f; do
        echo "pack: leaving out ${f#"$TEST_CLASSES"/} (needs ONNX Runtime)"
        rm -f "$f"
    done
fi
DIRS+=("$ROOT/engine/target/test-classes" "$TEST_CLASSES")
bash "$SHARED/device/pack.sh" --out "$ROOT/.device" "${DIRS[@]}" "${JARS[@]}"
echo "packed $ROOT/.device ($(du -sh "$ROOT/.device" | cut -f1)); on the GPU machine: bash bench/gpu/run-on-device.sh (carry .device)"
