#!/bin/bash
# Validates the JSON Schemas of proto/schema/ and the example messages of
# proto/examples/ against them (tests/unit/validate_schemas.py says what is
# checked). It runs Debian's python3 with python3-jsonschema explicitly:
# another python3 earlier on PATH (pyenv, a virtualenv) may lack the module.
set -euo pipefail

src=${HANDOFF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
py=/usr/bin/python3

if [ ! -x "$py" ]; then
	echo "test_schemas: $py not found: install python3 (deploy/deps.sh)" >&2
	exit 1
fi
if ! "$py" -c 'from jsonschema import Draft202012Validator' 2>/dev/null; then
	echo "test_schemas: $py has no jsonschema with draft 2020-12:" \
	    "install python3-jsonschema (deploy/deps.sh)" >&2
	exit 1
fi
exec "$py" "$src/tests/unit/validate_schemas.py" "$src"
