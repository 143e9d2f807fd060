#!/bin/sh
# The example job: shows where it runs, then does a little work.
set -eu
echo "building $(basename "$CODEBUILD_SRC_DIR") as build #$CODEBUILD_BUILD_NUMBER ($CODEBUILD_BUILD_ID)"
echo "source: $(find . -type f | wc -l) files in $CODEBUILD_SRC_DIR"
echo "sandbox: pid $$, $(ps -e --no-headers | wc -l) processes visible"
for step in compile test package; do
	echo "$step: ok"
done
