#!/usr/bin/env bash
# Dependency audit with pip-audit against PyPI's vulnerability data. A network refusal is
# reported as such and fails: it is not a pass.
set -uo pipefail
py="${1:-.venv/bin/python}"
"$py" -m pip install -q pip-audit >/dev/null 2>&1 || { echo "audit: could not install pip-audit" >&2; exit 2; }
out="$("$py" -m pip_audit --progress-spinner off --skip-editable 2>&1)"
rc=$?
echo "$out"
if [ $rc -ne 0 ] && echo "$out" | grep -qiE "connection|timed out|resolve|unreachable|HTTPError"; then
  echo "audit: the vulnerability service could not be reached; NOT a pass" >&2
  exit 3
fi
unaudited=$(echo "$out" | grep -c "could not be audited" || true)
if [ "$unaudited" -gt 0 ]; then
  echo "audit: $unaudited dependencies could not be audited (no vulnerability data reachable from here); NOT a pass" >&2
  exit 3
fi
exit $rc
