#!/usr/bin/env bash
# Regenerates the Java bindings of native/include/shakenet.h with jextract.
# The output under bindings/dev/shakenet/torch/ffi/ is committed and never edited by hand.
#
#   bindings/generate.sh            # jextract from PATH
#   JEXTRACT=/path/to/jextract bindings/generate.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
header="$root/native/include/shakenet.h"
package=dev.shakenet.torch.ffi

jextract=${JEXTRACT:-$(command -v jextract || true)}
if [[ -z "$jextract" || ! -x "$jextract" ]]; then
  echo "generate.sh: jextract not found. Put it on PATH or set JEXTRACT=/path/to/jextract." >&2
  echo "  jextract comes from https://github.com/openjdk/jextract (build it for JDK 25)." >&2
  exit 1
fi

# Only the ABI's own declarations: every sn_ function, struct and SN_ constant in the header. The
# library itself is loaded by dev.shakenet.torch.NativeLibrary, so no --library is given and
# the generated code looks symbols up in the loader's libraries.
includes=()
for fn in $(grep -oE '\bsn_[a-z0-9_]+[[:space:]]*\(' "$header" | tr -d '( ' | sort -u); do
  includes+=(--include-function "$fn")
done
for struct in $(grep -oE '^typedef struct sn_[a-z0-9_]+ \{' "$header" | awk '{print $3}'); do
  includes+=(--include-struct "$struct" --include-typedef "$struct")
done
for constant in $(grep -oE '\bSN_[A-Z0-9_]+\b' "$header" | grep -v '^SN_GUARD$' | sort -u); do
  includes+=(--include-constant "$constant")
done

out="$root/bindings/${package//.//}"
rm -rf "$out"
"$jextract" --output "$root/bindings" --target-package "$package" --header-class-name shakenet_h \
  "${includes[@]}" "$header"
echo "generate.sh: wrote $(ls "$out" | wc -l) files to ${out#$root/}"
