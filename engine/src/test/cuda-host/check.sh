#!/usr/bin/env bash
# Runs the engine's CUDA C kernels on the CPU against their Java mirrors, without a GPU or a CUDA toolkit (g++ 11+ only):
#   1. CudaTrainingModelEmulatedTest runs GPU-resident training on EmulatedDevice and records the first launch of every
#      kernel (name, grid, block, argument slots, device memory before and after the Java mirror) into target/launches;
#   2. host_kernels.cpp compiles the .cu sources themselves as C++ (threads of a block as std::threads, __syncthreads as
#      a barrier, __shared__ shared by the block's threads) and replays each launch over the recorded memory;
#   3. it reports, per kernel, the 4-byte words of device memory that differ from the mirror beyond 1e-5 (exit 1 if any).
# Together with the emulated test (mirrors vs the CPU model) this ties the CUDA source to the CPU reference; what it
# cannot show is NVRTC's code generation and the GPU's own math library (bench/gpu/check.sh on a GPU does).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)"
cd "$root"
out="$root/engine/target/cuda-host"
rm -rf "$out" && mkdir -p "$out"
QLORA_EMULATOR_RECORD="$out/launches" mvn -B -q -o -pl engine -am verify -Dtest=CudaTrainingModelEmulatedTest \
    -Dsurefire.failIfNoSpecifiedTests=false
g++ -std=c++20 -O1 -ffp-contract=off -pthread -Wall -Wno-unused-function \
    -I engine/src/main/resources/io/qlorastream/engine/compute/cuda -o "$out/host_kernels" engine/src/test/cuda-host/host_kernels.cpp
"$out/host_kernels" "$out"/launches/*.launch
