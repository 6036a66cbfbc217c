#!/bin/sh
# Entrypoint of the exporterhub image: the first argument picks the exporter,
# the rest are that exporter's own flags (they come last, so they win).
#
#   phd2      phd2-exporter       port 9753  health /-/healthy
#   starlink  starlink-exporter   port 8000  health /health   (config /app/config.yaml)
#   tapo      tapo-exporter       port 8090  health /-/healthy
#   chaos     aaisp-exporter      port 9099  health /health   (AAISP_EXPORTER_* env)
#   snp       snp-exporter        port 8000  health /-/healthy, UI on 8080
#   serve     exporterhub serve   port 8750  health /-/healthy (config EXPORTER_CONFIG)
#   demo      exporterhub demo    port 8750  health /-/healthy (simulators inside)
#   anything else runs as a command (kasa-probe, a simulator, sh, ...).
#
# EXPORTER_PORT changes the port, EXPORTER_HOST the listen address (default every
# interface). The URL the HEALTHCHECK probes is written to EXPORTER_HEALTH_FILE.
# Secrets come from the environment (or an env file), never from this script.
set -eu

host="${EXPORTER_HOST:-0.0.0.0}"
health_file="${EXPORTER_HEALTH_FILE:-/tmp/exporterhub-health}"
choice="${1:---help}"
[ "$#" -gt 0 ] && shift

health() {
    printf 'http://127.0.0.1:%s%s\n' "$1" "$2" >"$health_file"
}

case "$choice" in
    phd2 | phd2-exporter)
        port="${EXPORTER_PORT:-9753}"
        health "$port" /-/healthy
        exec phd2-exporter --web.listen-address "$host:$port" "$@"
        ;;
    starlink | starlink-exporter)
        port="${EXPORTER_PORT:-8000}"
        health "$port" /health
        exec starlink-exporter --host "$host" --port "$port" "$@"
        ;;
    tapo | tapo-exporter | prom-exporter)
        port="${EXPORTER_PORT:-8090}"
        health "$port" /-/healthy
        exec tapo-exporter --web.listen-address "$host:$port" "$@"
        ;;
    chaos | aaisp | aaisp-exporter)
        port="${EXPORTER_PORT:-${AAISP_EXPORTER_SERVER__PORT:-9099}}"
        health "$port" /health
        AAISP_EXPORTER_SERVER__HOST="${AAISP_EXPORTER_SERVER__HOST:-$host}"
        AAISP_EXPORTER_SERVER__PORT="$port"
        export AAISP_EXPORTER_SERVER__HOST AAISP_EXPORTER_SERVER__PORT
        exec aaisp-exporter "$@"
        ;;
    snp | snp-exporter)
        port="${EXPORTER_PORT:-8000}"
        health "$port" /-/healthy
        SNP_EXPORTER_LISTEN_ADDRESS="$host:$port"
        SNP_EXPORTER_UI_LISTEN_ADDRESS="$host:${EXPORTER_UI_PORT:-8080}"
        export SNP_EXPORTER_LISTEN_ADDRESS SNP_EXPORTER_UI_LISTEN_ADDRESS
        exec snp-exporter "$@"
        ;;
    serve | exporterhub)
        port="${EXPORTER_PORT:-8750}"
        health "$port" /-/healthy
        exec exporterhub serve --web.listen-address "$host:$port" \
            --config "${EXPORTER_CONFIG:-/etc/exporterhub/exporterhub.yaml}" \
            --store "${EXPORTER_STORE:-/var/lib/exporterhub/exporterhub.db}" "$@"
        ;;
    demo)
        port="${EXPORTER_PORT:-8750}"
        health "$port" /-/healthy
        exec exporterhub demo --web.listen-address "$host:$port" "$@"
        ;;
    -h | --help | help)
        sed -n '2,17s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
    *)
        exec "$choice" "$@"
        ;;
esac
