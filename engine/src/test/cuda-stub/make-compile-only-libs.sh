#!/usr/bin/env bash
# Prepares OUT_DIR/lib with what the engine's tests need to compile every CUDA kernel with the real NVRTC on a machine
# without a GPU or an NVIDIA driver (CudaKernelCompileTest; the engine's surefire puts OUT_DIR/lib on the test JVM's
# LD_LIBRARY_PATH):
#   libnvrtc.so.13, libnvrtc-builtins.so.13.0  NVIDIA's wheel nvidia-cuda-nvrtc, fetched with pip
#   libcudart.so.13                            NVIDIA's wheel nvidia-cuda-runtime (Bytedeco's NVRTC binding loads its
#                                              CUDA runtime binding first, and that one links libcudart)
#   libcuda.so.1                               a stub driver generated here, only where no real driver is installed:
#                                              Bytedeco's libjnicudart.so links libcuda.so.1, so without one no CUDA
#                                              class loads at all, NVRTC's included. NVIDIA ships such a stub in the
#                                              CUDA toolkit, but it is not redistributable through a package registry,
#                                              so this one is built with gcc: every driver function Bytedeco binds,
#                                              each returning CUDA_ERROR_STUB_LIBRARY (34). The CUDA runtime then
#                                              reports "no GPU" (CudaProbe) and a stray driver call fails with a
#                                              status instead of killing the JVM with an unresolved symbol.
# OUT_DIR/STATUS says what was made ("ready ...") or why nothing could be ("unavailable: REASON", one line, which the
# test reports as its skip reason). Never fails the build: a machine without pip or gcc just skips the check.
# Runs again only when the pinned versions below (or Bytedeco's, from the root pom) change.
# Usage: make-compile-only-libs.sh OUT_DIR
set -euo pipefail

# CUDA 13 (Bytedeco's cuda 13.1 binding links libnvrtc.so.13 and libcudart.so.13). Pinned versions that PyPI serves and
# that this project's machines, which cannot reach PyPI, carry in the local wheel index pip is configured with.
NVRTC_WHEEL=nvidia-cuda-nvrtc==13.0.88
CUDART_WHEEL=nvidia-cuda-runtime==13.0.96

out=${1:?usage: make-compile-only-libs.sh OUT_DIR}
root=$(cd "$(dirname "$0")/../../../.." && pwd)
bytedeco=$(sed -n 's:.*<cuda.version>\(.*\)</cuda.version>.*:\1:p' "$root/pom.xml" | head -1)
if [[ -e /proc/driver/nvidia/version ]] || ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
  driver=real   # a GPU machine: its own driver must not be shadowed by the stub
else
  driver=stub
fi
want="ready: $NVRTC_WHEEL $CUDART_WHEEL bytedeco-cuda=$bytedeco driver=$driver"
if [[ -f $out/STATUS && $(head -1 "$out/STATUS") == "$want" ]]; then
  exit 0
fi

unavailable() {
  rm -rf "$out/lib"
  mkdir -p "$out"
  echo "unavailable: $*" >"$out/STATUS"
  echo "make-compile-only-libs: $*; the CUDA kernels' compile check (CudaKernelCompileTest) will skip" >&2
  exit 0
}

rm -rf "$out"
mkdir -p "$out/lib"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

command -v python3 >/dev/null || unavailable "no python3 (pip fetches NVIDIA's NVRTC wheel)"
python3 -m pip --version >/dev/null 2>&1 || unavailable "python3 has no pip (pip fetches NVIDIA's NVRTC wheel)"
if ! python3 -m pip download --quiet --no-deps --disable-pip-version-check --timeout 60 --retries 2 -d "$work/wheels" \
    "$NVRTC_WHEEL" "$CUDART_WHEEL" >"$work/pip.log" 2>&1; then
  unavailable "pip could not fetch $NVRTC_WHEEL and $CUDART_WHEEL ($(grep -m1 ERROR "$work/pip.log" || tail -1 "$work/pip.log"))"
fi
# Only the shared libraries, not NVIDIA's ".alt" variants nor the static archives.
python3 - "$out/lib" "$work"/wheels/*.whl <<'EOF' || unavailable "the NVIDIA wheels did not unpack"
import os, re, shutil, sys, zipfile
dest = sys.argv[1]
for wheel in sys.argv[2:]:
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            base = os.path.basename(name)
            if re.fullmatch(r"lib(nvrtc|nvrtc-builtins|cudart)\.so\.[0-9.]+", base):
                with z.open(name) as src, open(os.path.join(dest, base), "wb") as dst:
                    shutil.copyfileobj(src, dst)
EOF
for lib in libnvrtc.so.13 libnvrtc-builtins.so.13.0 libcudart.so.13; do
  [[ -f $out/lib/$lib ]] || unavailable "the NVIDIA wheels hold no $lib"
done

if [[ $driver == stub ]]; then
  command -v gcc >/dev/null || unavailable "no gcc to build the stub libcuda.so.1"
  command -v nm >/dev/null || unavailable "no nm (binutils) to list the driver functions for the stub libcuda.so.1"
  # The driver functions are those Bytedeco's runtime binding links: its JNI library's undefined cuXxx symbols (the
  # cudaXxx ones are the runtime's). The jar comes from the local Maven repository, fetched there if missing.
  jar=$HOME/.m2/repository/org/bytedeco/cuda/$bytedeco/cuda-$bytedeco-linux-x86_64.jar
  [[ -f $jar ]] || jar=$work/cuda-$bytedeco-linux-x86_64.jar
  if [[ ! -f $jar ]]; then
    (cd "$root" && mvn -B -q dependency:copy -Dartifact="org.bytedeco:cuda:$bytedeco:jar:linux-x86_64" \
      -DoutputDirectory="$work") >"$work/mvn.log" 2>&1 || true
    [[ -f $jar ]] || unavailable "Maven could not fetch org.bytedeco:cuda:$bytedeco:linux-x86_64 ($(grep -m1 ERROR "$work/mvn.log" || echo no log))"
  fi
  python3 - "$jar" "$work/libjnicudart.so" <<'EOF' || unavailable "libjnicudart.so is missing from Bytedeco's cuda jar"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("org/bytedeco/cuda/linux-x86_64/libjnicudart.so"))
EOF
  nm -D --undefined-only "$work/libjnicudart.so" | awk '{print $NF}' | sed 's/@.*//' | grep -E '^cu[A-Z]' | sort -u \
    >"$work/driver-functions.txt"
  [[ -s $work/driver-functions.txt ]] || unavailable "found no driver functions in libjnicudart.so"
  {
    echo "/* Generated by make-compile-only-libs.sh: a stand-in for NVIDIA's stub libcuda.so (see there). */"
    echo "#define STUB(f) int f(void) { return 34; /* CUDA_ERROR_STUB_LIBRARY */ }"
    sed 's/.*/STUB(&)/' "$work/driver-functions.txt"
  } >"$work/libcuda-stub.c"
  gcc -shared -fPIC -O0 -Wl,-soname,libcuda.so.1 -o "$out/lib/libcuda.so.1" "$work/libcuda-stub.c" 2>"$work/gcc.log" \
    || unavailable "gcc could not build the stub libcuda.so.1 ($(head -1 "$work/gcc.log"))"
fi
echo "$want" >"$out/STATUS"
echo "make-compile-only-libs: NVRTC for the CUDA kernels' compile check in $out/lib (driver: $driver)" >&2
