# Sourced by the bench scripts: builds what a benchmark needs from this checkout alone, never from modules installed
# in ~/.m2 (nothing here runs `mvn install`).
#
#   bench_build MODULE PHASE SCOPE
#
# One reactor run: `mvn -pl MODULE -am PHASE dependency:build-classpath` builds MODULE and the project modules it
# needs (tests skipped, test classes compiled when PHASE is test-compile or later) and writes each module's resolved
# class path for SCOPE to its target/bench-classpath.txt. The sibling modules resolve from the reactor (their
# target/classes or jars), third-party jars from the local Maven repository, downloaded there by Maven on a fresh
# one. Prints MODULE's class path without the entries inside this checkout, so the caller puts its own snapshots of
# the class folders first.
#
# Environment: MVN_ARGS (extra Maven arguments, e.g. "-o" to work offline from a filled ~/.m2); MAVEN_OPTS as usual
# (e.g. -Dmaven.repo.local=/tmp/m2 for an empty local repository).
bench_build() {
    local module=$1 phase=$2 scope=$3 root
    root=$(pwd -P)
    # shellcheck disable=SC2086
    flock -s "${BENCH_LOCK:-/tmp/bench.lock}" mvn -q -B ${MVN_ARGS:-} -pl "$module" -am "$phase" -DskipTests \
        org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath \
        -Dmdep.outputFile=target/bench-classpath.txt -Dmdep.includeScope="$scope" >&2
    tr ':' '\n' < "$module/target/bench-classpath.txt" | grep -v '^$' | grep -v "^$root/" | paste -sd: || true
}
