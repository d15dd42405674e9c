#!/bin/sh
# The image's entry point: `qlora-stream <command> [options]`, like ./qlora-stream on a checkout, minus the build.
# QLORA_STREAM_JAVA_OPTS adds JVM options (e.g. -XX:MaxRAMPercentage=75: the JVM sizes its heap from the
# container's memory limit). exec, so the JVM is PID 1 and gets SIGTERM: services checkpoint and stop cleanly.
# shellcheck disable=SC2086
exec java ${QLORA_STREAM_JAVA_OPTS:-} -jar /opt/qlora-stream/qlora-stream.jar "$@"
