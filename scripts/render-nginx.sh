#!/usr/bin/env bash
# Prints deploy/nginx.conf with its placeholders filled in:
#   scripts/render-nginx.sh [LISTEN [NODE...]] > netra-ws.conf
# LISTEN is what nginx listens on (default 8000), each NODE a node's host:port (default the
# two nodes of `make run-cluster`: 127.0.0.1:8080 127.0.0.1:8081).
set -euo pipefail

template="$(dirname "${BASH_SOURCE[0]}")/../deploy/nginx.conf"
listen=${1:-8000}
nodes=("${@:2}")
if [ ${#nodes[@]} -eq 0 ]; then
  nodes=(127.0.0.1:8080 127.0.0.1:8081)
fi

# Host names, IPv4 and [IPv6] addresses, ports: nothing that could end a directive.
valid='^[A-Za-z0-9._:-]+$|^\[[0-9A-Fa-f:.]+\](:[0-9]+)?$'
for value in "$listen" "${nodes[@]}"; do
  if ! [[ $value =~ $valid ]]; then
    echo "render-nginx: not an address: '$value'" >&2
    exit 2
  fi
done

awk -v listen="$listen" -v nodes="${nodes[*]}" '
  /^##/ { next }
  !begun && /^$/ { next }
  { begun = 1 }
  /\{\{NODES\}\}/ {
    indent = $0
    sub(/\{\{NODES\}\}.*/, "", indent)
    count = split(nodes, node, " ")
    for (i = 1; i <= count; i++) printf "%sserver %s;\n", indent, node[i]
    next
  }
  { gsub(/\{\{LISTEN\}\}/, listen); print }
' "$template"
