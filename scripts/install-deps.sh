#!/usr/bin/env bash
# Install requirements.txt into the venv whose python is $1, with uv (it downloads and unpacks in
# parallel: about a minute here instead of pip's two and a half). uv does not read pip's
# configuration, so the indexes, local wheel folders and constraints pip is configured with are
# passed on; if uv cannot be installed or fails, pip does the same install.
set -euo pipefail
python=$1
requirements=${2:-requirements.txt}

uv_args=()
while IFS= read -r line; do
  key=${line%%=*}
  value=${line#*=}
  value=${value#\'}
  value=${value%\'}
  case "$key" in
    *.index-url) uv_args+=(--index-url "$value") ;;
    *.extra-index-url) for url in $value; do uv_args+=(--extra-index-url "$url"); done ;;
    *.find-links) for place in $value; do [ -e "$place" ] && uv_args+=(--find-links "$place"); done ;;
    *.constraint) for file in $value; do [ -e "$file" ] && uv_args+=(--constraint "$file"); done ;;
  esac
done < <("$python" -m pip config list 2>/dev/null || true)

if "$python" -m pip install --quiet uv 2>/dev/null \
  && "$(dirname "$python")/uv" pip install --quiet --python "$python" --index-strategy unsafe-best-match \
       "${uv_args[@]}" -r "$requirements"; then
  exit 0
fi
echo "install-deps: uv was not usable here; installing with pip" >&2
"$python" -m pip install --quiet -r "$requirements"
