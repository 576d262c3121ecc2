# Sourced by .ci/sanitize.sh and .ci/clang.sh: copy the sources into a scratch
# folder removed on exit, without any built module, and cd there, so a special
# build (sanitized, clang) never lands in the tree. Sets $scratch.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -r setup.py pyproject.toml README.md csrc tinynn tests "$scratch"/
if [ -f LICENSE ]; then cp LICENSE "$scratch"/; fi
rm -f "$scratch"/tinynn/_core*.so
cd "$scratch"
