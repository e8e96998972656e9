#!/bin/sh
# greet NAME...: print a greeting for the names given as arguments.
if [ "$#" -eq 0 ]; then
  echo "usage: greet NAME..." >&2
  exit 2
fi
echo "Hello, $*!"
