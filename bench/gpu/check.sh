#!/usr/bin/env bash
# The engine's GPU check, in two halves:
#
#   bench/gpu/check.sh prepare   on a developer machine (JDK 17 + Maven, no GPU needed): builds bench/gpu/bundle/
#                                (git-ignored): a jlink'ed Java runtime with only the modules the check needs, and
#                                the engine's classes, test classes and runtime jars minus what the check never
#                                loads (tokenizers, chat templates, CUDA JNI glue for libraries we do not call).
#                                It prints the bundle's size: a device `run` carries at most 64 MiB in all.
#   bench/gpu/check.sh run       on the lent GPU machine (CUDA 13 libraries, PyTorch, probably no Java, no network):
#                                1. the CUDA numeric tests against the CPU backend (GpuCheck tests: NF4 dequant bit
#                                   for bit, cuBLAS products, RMSNorm/SwiGLU/AdamW kernels, a tiny NF4 model's
#                                   logits and LoRA gradients CUDA vs CPU within relative error 1e-2, and the
#                                   GPU-resident training engine CudaTrainingModel vs the CPU engine: loss, every
#                                   adapter gradient tensor with dropout 0 and 0.05, parameters after optimizer steps,
#                                   a PEFT adapter written by Trainer on CUDA);
#                                2. QLoRA training tokens/s of the 1.1B `1b` preset at seq 1024, GPU-resident (what
#                                   --device cuda trains with), with peak GPU memory sampled by nvidia-smi and the
#                                   run's device memory by cudaMemGetInfo;
#                                3. a PyTorch bf16 LoRA step of the same shape (torch_lora_step.py), in the same run;
#                                and prints the ratios. Record the output in bench/gpu/RESULTS.md.
#
# After `prepare`, copy the working tree with bench/gpu/bundle (git-ignored, so name it when copying) to the GPU
# machine and run `bash bench/gpu/check.sh run` there.
#
# Environment: SEQ (1024), STEPS (timed steps after one warm-up, 2), MODEL_DIR (/tmp/qlora-1b),
# SKIP_BENCH=1 (tests only).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bundle="$here/bundle"
SEQ="${SEQ:-1024}"
STEPS="${STEPS:-2}"
MODEL_DIR="${MODEL_DIR:-/tmp/qlora-1b}"

prepare() {
  cd "$root"
  mvn -B -q -pl engine -am -DskipTests test-compile
  mvn -B -q -pl engine dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$root/engine/target/gpu-cp.txt"
  rm -rf "$bundle"
  mkdir -p "$bundle/lib"
  # jars the check never loads: tokenizers (Rust natives), Jinja chat templates and their dependencies
  tr ':' '\n' < engine/target/gpu-cp.txt \
    | grep -v -E '/(ai/djl|com/hubspot|com/google|net/java/dev/jna|org/javassist|org/apache/commons|org/jsoup|com/googlecode|ch/obermuhlner)/' \
    | grep -v -E 'cuda-[^/]*-linux-x86_64\.jar$' \
    | xargs -I{} cp {} "$bundle/lib/"
  # Bytedeco CUDA's natives jar, with only the JNI glue of the runtime/driver API, cuBLAS and NVRTC
  local cudanat tmp
  cudanat="$(tr ':' '\n' < engine/target/gpu-cp.txt | grep -E 'cuda-[^/]*-linux-x86_64\.jar$')"
  tmp="$(mktemp -d)"
  (cd "$tmp" && unzip -q "$cudanat" && find org/bytedeco/cuda/linux-x86_64 -name 'libjni*.so' \
      ! -name libjnicudart.so ! -name libjnicublas.so ! -name libjninvrtc.so -delete \
      && jar cf "$bundle/lib/$(basename "$cudanat")" .)
  rm -rf "$tmp"
  # OpenBLAS (the CPU reference) through its no-LAPACK bindings only: drop the other two JNI variants and headers
  local blas
  blas="$(ls "$bundle"/lib/openblas-*-linux-x86_64.jar)"
  tmp="$(mktemp -d)"
  (cd "$tmp" && unzip -q "$blas" && rm -rf org/bytedeco/openblas/linux-x86_64/include \
      org/bytedeco/openblas/linux-x86_64/libjniopenblas.so org/bytedeco/openblas/linux-x86_64/libjniopenblas_full.so \
      && rm "$blas" && jar cf "$blas" .)
  rm -rf "$tmp"
  # byte-buddy only serves AssertJ's soft assertions and proxies, which the CUDA tests do not use
  rm -f "$bundle"/lib/byte-buddy-*.jar
  (cd engine/target/classes && jar cf "$bundle/lib/engine.jar" .)
  (cd engine/target/test-classes && jar cf "$bundle/lib/engine-tests.jar" .)
  local strip=()
  command -v objcopy >/dev/null && strip=(--strip-native-debug-symbols="objcopy=$(command -v objcopy)") # libjvm: -14 MB
  jlink --add-modules java.base,java.management,java.logging,jdk.unsupported \
        --strip-debug "${strip[@]}" --no-man-pages --no-header-files --compress=2 --output "$bundle/jre"
  du -sh "$bundle/jre" "$bundle/lib"
  du -sb "$bundle" | awk '{printf "bundle: %.1f MiB (a device run carries at most 64 MiB)\n", $1 / 1048576}'
}

peak_gpu_mib() { # runs "$@" while sampling the GPU's used memory; prints the peak above the idle level
  local log base
  log="$(mktemp)"
  base="$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i 0 | head -1)"
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i 0 -lms 200 > "$log" &
  local smi=$!
  local rc=0
  "$@" || rc=$?
  kill "$smi" 2>/dev/null || true
  wait "$smi" 2>/dev/null || true
  echo "peak_gpu_mib=$(sort -n "$log" | tail -1 | awk -v b="$base" '{print $1 - b}')"
  rm -f "$log"
  return $rc
}

# Bytedeco's JNI glue links the machine's CUDA 13 sonames (libcudart.so.13, libcublas.so.13 + libcublasLt, libnvrtc.so.13
# + its builtins, dlopen'ed). A PyTorch install may keep them in its pip wheels (site-packages/nvidia/...) rather than
# where the dynamic linker looks: find them and put their folders on LD_LIBRARY_PATH (Java's library path follows it).
cuda_library_path() {
  local dirs=() d
  if ! ldconfig -p 2>/dev/null | grep -q 'libcudart.so.13'; then
    local roots=(/usr/local /usr/lib /opt)
    local site
    site="$(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null || true)"
    for d in $(find "${roots[@]}" $site -maxdepth 6 \( -name 'libcudart.so.13*' -o -name 'libcublas.so.13*' \
                 -o -name 'libcublasLt.so.13*' -o -name 'libnvrtc.so.13*' -o -name 'libnvrtc-builtins.so.13*' \) \
                 -printf '%h\n' 2>/dev/null | sort -u); do
      dirs+=("$d")
    done
  fi
  if ((${#dirs[@]})); then
    local joined
    joined="$(IFS=:; echo "${dirs[*]}")"
    export LD_LIBRARY_PATH="$joined${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "CUDA libraries from: $joined"
  fi
}

run() {
  [[ -x "$bundle/jre/bin/java" ]] || { echo "check.sh: no bundle; run 'bench/gpu/check.sh prepare' first and carry bench/gpu/bundle" >&2; exit 1; }
  cuda_library_path
  local java="$bundle/jre/bin/java" cp="$bundle/lib/*"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' || true
  echo "== 1. CUDA numeric tests against the CPU backend"
  "$java" -cp "$cp" io.qlorastream.engine.compute.cuda.GpuCheck tests
  [[ "${SKIP_BENCH:-0}" == 1 ]] && return 0
  echo "== 2. qlora-stream QLoRA training step, 1b preset, seq $SEQ, --device cuda"
  local jout tout
  jout="$(mktemp)"
  peak_gpu_mib "$java" -XX:+UseSerialGC -Xmx48g -cp "$cp" io.qlorastream.engine.compute.cuda.GpuCheck bench \
      "$MODEL_DIR" "$SEQ" "$STEPS" | tee "$jout"
  echo "== 3. PyTorch bf16 LoRA step, same shape"
  tout="$(mktemp)"
  peak_gpu_mib python3 "$here/torch_lora_step.py" --seq "$SEQ" --steps "$STEPS" | tee "$tout"
  local jt jm jc tt tm ta
  jt="$(grep -o 'java_tokens_per_s=[0-9.]*' "$jout" | cut -d= -f2)"
  jm="$(grep -o '^peak_gpu_mib=[0-9.]*' "$jout" | cut -d= -f2)"
  jc="$(grep -o 'java_gpu_mib_cudaMemGetInfo=[0-9.]*' "$jout" | cut -d= -f2)"
  tt="$(grep -o 'torch_tokens_per_s=[0-9.]*' "$tout" | cut -d= -f2)"
  tm="$(grep -o '^peak_gpu_mib=[0-9.]*' "$tout" | cut -d= -f2)"
  ta="$(grep -o 'torch_peak_gpu_mib=[0-9.]*' "$tout" | cut -d= -f2)"
  # both peaks as nvidia-smi sees the process (CUDA context and allocator caches included), sampled every 200 ms
  echo "== summary (goal: tokens/s ratio >= 1.0 at under half of PyTorch's GPU memory)"
  awk -v jt="$jt" -v jm="$jm" -v jc="$jc" -v tt="$tt" -v tm="$tm" -v ta="$ta" 'BEGIN {
    printf "qlora-stream %.1f tokens/s, peak %d MiB GPU (nvidia-smi; %d MiB held by the run, cudaMemGetInfo)\n", jt, jm, jc
    printf "pytorch      %.1f tokens/s, peak %d MiB GPU (nvidia-smi; %d MiB max_memory_allocated)\n", tt, tm, ta
    printf "ratio        %.3fx tokens/s, %.3fx GPU memory\n", jt / tt, jm / tm }'
}

case "${1:-}" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: bench/gpu/check.sh prepare|run" >&2; exit 2 ;;
esac
