#!/usr/bin/env bash
# Copy Bootstrap and the icons the pages use from their npm packages (package-lock.json pins them)
# into portal/static/vendor/, which is committed: `make run` needs no npm, and nothing comes from a CDN.
# Run it after changing package.json or the icon list below: `npm ci && bash scripts/vendor-assets.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/bootstrap ] || npm ci --no-audit --no-fund
out=portal/static/vendor
mkdir -p "$out"
cp node_modules/bootstrap/dist/css/bootstrap.min.css "$out/bootstrap.min.css"
cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js "$out/bootstrap.bundle.min.js"
cp node_modules/bootstrap-icons/LICENSE "$out/bootstrap-icons.LICENSE"
cp node_modules/bootstrap/LICENSE "$out/bootstrap.LICENSE"
# One sprite of the icons in use (the whole set is 2 MB); templates show them with the icon() macro.
icons=(
  arrow-repeat at box-arrow-right check-circle chevron-down circle-half clock-history database
  envelope exclamation-triangle gear globe hourglass-split house info-circle journal-text key
  list moon-stars pencil people person-circle plus-lg search server shield-lock sun terminal
  trash window-stack x-circle card-list speedometer2 inbox hdd-stack box-arrow-in-right send
  eye eye-slash magic lightning-charge arrow-right lock
)
{
  echo '<svg xmlns="http://www.w3.org/2000/svg">'
  for name in "${icons[@]}"; do
    file="node_modules/bootstrap-icons/icons/$name.svg"
    [ -f "$file" ] || { echo "no icon $name" >&2; exit 1; }
    # <svg ...>inner</svg> becomes <symbol id="name" viewBox="0 0 16 16">inner</symbol>.
    inner=$(tr -d '\n' < "$file" | sed -E 's/^<svg[^>]*>//; s#</svg>$##')
    echo "<symbol id=\"$name\" viewBox=\"0 0 16 16\">$inner</symbol>"
  done
  echo '</svg>'
} > "$out/icons.svg"
echo "vendored into $out: $(ls "$out" | tr '\n' ' ')"
