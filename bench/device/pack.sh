#!/usr/bin/env bash
# Packs what a GPU check needs into .device/ (git-ignored; it travels with the device tool's
# `carry`): a Java 25 runtime made with jlink (the GPU machine has no Java), the built jar, the
# compiled tests and JUnit's console launcher. Run after bin/setup, on this machine:
#
#   bench/device/pack.sh        then, on the GPU machine:  bash bench/device/gpu-check.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
source bin/java-home
junit_console=org.junit.platform:junit-platform-console-standalone:1.14.1 # the launcher of the JUnit the pom uses

mvn -B -q -o package -DskipTests # the jar and target/test-classes, current
rm -rf .device && mkdir -p .device
# java.desktop: curves.png is drawn with Java 2D.
"$JAVA_HOME/bin/jlink" --add-modules java.base,java.desktop,java.logging,java.management,java.naming,java.xml,jdk.unsupported \
  --compress=zip-9 --no-header-files --no-man-pages --strip-debug --output .device/jdk
tar czf .device/jdk.tgz -C .device jdk && rm -rf .device/jdk
cp target/shakenet.jar .device/
cp -r target/test-classes .device/test-classes
mvn -B -q dependency:copy -Dartifact="$junit_console" -DoutputDirectory=.device >/dev/null
mv .device/junit-platform-console-standalone-*.jar .device/junit-console.jar
du -sh .device
