#!/usr/bin/env bash
# Blue-green switch of the API tier behind nginx, with a health gate and automatic rollback.
#
#   deploy/blue-green.sh TAG
#
# 1. Starts the colour that is not live (blue if none is) with BG_START_CMD, for image TAG.
# 2. Waits up to BG_READY_TIMEOUT s until its GET /ready answers 200 (BG_PROBE_CMD).
# 3. Points nginx at it: rewrites BG_UPSTREAM_FILE, then BG_RELOAD_CMD (`nginx -s reload`).
# 4. Watches it for BG_WATCH_SECONDS s: GET BG_PUBLIC_URL/health/live through nginx must keep
#    answering 200, and at most BG_MAX_ERROR_PERCENT % of the requests it served may have
#    answered 5xx (its /metrics: http_request_duration_seconds_count by status).
# 5. Stops the old colour with BG_STOP_CMD (unless BG_KEEP_OLD=1).
# A failure at 1, 2 or 4 rolls back: the upstream file gets its old content again, nginx is
# reloaded, and the new colour is stopped. Exit status: 0 switched, 1 rolled back, 2 usage.
#
# The live colour is the one whose server the upstream file names; on the first switch it is
# none (the compose service `api`), and stays up until you scale it to 0. The hooks run under
# `bash -c` with BG_COLOUR (blue|green), BG_TAG and BG_SERVER (that colour's host:port) set;
# BG_PROBE_CMD also with BG_PATH, and must print the body and fail unless the answer is 2xx.
#
# Configuration (environment), with defaults for docker-compose.prod.yml (relative paths are
# relative to the repository's root):
#   BG_BLUE_SERVER, BG_GREEN_SERVER  host:port nginx reaches each colour on
#                                    (tdbuddy-api-blue:8000, tdbuddy-api-green:8000)
#   BG_UPSTREAM_FILE    the file nginx includes (deploy/nginx/api-upstream.conf), which says
#                       `set $api_upstream http://SERVER;`
#   BG_START_CMD        docker-compose run -d --no-deps --name tdbuddy-api-COLOUR api, on
#                       image tdbuddy:TAG (TDBUDDY_IMAGE)
#   BG_STOP_CMD         docker rm -f tdbuddy-api-COLOUR
#   BG_PROBE_CMD        GET 127.0.0.1:8000$BG_PATH inside the colour's container
#   BG_RELOAD_CMD       docker-compose exec -T nginx nginx -s reload
#   BG_PUBLIC_URL       nginx's address for the watch (https://127.0.0.1)
#   BG_PUBLIC_CURL_OPTS curl's options for it (--insecure: the certificate names the public
#                       host, not 127.0.0.1; `--cacert FILE` checks it)
#   BG_READY_TIMEOUT (120), BG_WATCH_SECONDS (30), BG_MAX_ERROR_PERCENT (1), BG_KEEP_OLD (0)
set -euo pipefail

log() { printf 'blue-green: %s\n' "$*" >&2; }

if [ $# -ne 1 ]; then
  log "usage: $0 TAG"
  exit 2
fi
export BG_TAG=$1
cd "$(dirname "$0")/.." # the repository's root: relative paths below start there

compose="docker-compose -f docker-compose.prod.yml"
upstream_file=${BG_UPSTREAM_FILE:-deploy/nginx/api-upstream.conf}
start_cmd=${BG_START_CMD:-"TDBUDDY_IMAGE=tdbuddy:\$BG_TAG $compose run -d --no-deps --name tdbuddy-api-\$BG_COLOUR api"}
# The hooks' defaults are run by `bash -c`, which expands their variables.
# shellcheck disable=SC2016
stop_cmd=${BG_STOP_CMD:-'docker rm -f "tdbuddy-api-$BG_COLOUR"'}
# shellcheck disable=SC2016
probe_cmd=${BG_PROBE_CMD:-'docker exec "tdbuddy-api-$BG_COLOUR" python -c "import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(\"http://127.0.0.1:8000\" + sys.argv[1], timeout=2).read())" "$BG_PATH"'}
reload_cmd=${BG_RELOAD_CMD:-"$compose exec -T nginx nginx -s reload"}
public_url=${BG_PUBLIC_URL:-https://127.0.0.1}
read -r -a public_curl_opts <<<"${BG_PUBLIC_CURL_OPTS:---insecure}"
ready_timeout=${BG_READY_TIMEOUT:-120}
watch_seconds=${BG_WATCH_SECONDS:-30}
max_error_percent=${BG_MAX_ERROR_PERCENT:-1}

server_of() {
  case $1 in
    blue) echo "${BG_BLUE_SERVER:-tdbuddy-api-blue:8000}" ;;
    green) echo "${BG_GREEN_SERVER:-tdbuddy-api-green:8000}" ;;
  esac
}

hook() { # hook COMMAND COLOUR [PATH]
  BG_COLOUR=$2 BG_SERVER=$(server_of "$2") BG_PATH=${3:-} bash -c "$1"
}

# The colour the upstream file sends traffic to, or `none`.
live_colour() {
  local colour
  for colour in blue green; do
    if grep -qF "http://$(server_of "$colour");" "$upstream_file"; then
      echo "$colour"
      return
    fi
  done
  echo none
}

reload_with() { # reload_with CONTENT: the upstream file, replaced at once, then nginx reloaded
  local tmp
  tmp=$(mktemp "$upstream_file.XXXXXX")
  printf '%s\n' "$1" >"$tmp"
  chmod 644 "$tmp"
  mv "$tmp" "$upstream_file" # nginx never reads half a file
  bash -c "$reload_cmd"
}

answers_through_nginx() {
  curl -fsS -o /dev/null -m 2 "${public_curl_opts[@]}" "$public_url/health/live" 2>/dev/null
}

# "requests 5xx" the colour has answered since it started, from its /metrics.
request_counts() {
  { hook "$probe_cmd" "$1" /metrics 2>/dev/null || true; } | awk '
    /^http_request_duration_seconds_count/ { n += $NF; if ($0 ~ /status="5/) e += $NF }
    END { printf "%d %d\n", n, e }'
}

[ -f "$upstream_file" ] || { log "no upstream file at $upstream_file"; exit 2; }
old=$(live_colour)
old_upstream=$(cat "$upstream_file")
case $old in
  blue) new=green ;;
  *) new=blue ;;
esac
log "live: $old; starting $new ($BG_TAG)"

rollback() {
  log "rolling back: $1"
  if [ "$(cat "$upstream_file")" != "$old_upstream" ]; then
    reload_with "$old_upstream"
    # The reload is asynchronous (nginx's old workers finish their requests first): it is
    # done once nginx answers through the old servers a few times in a row.
    local tries in_a_row=0
    for tries in $(seq 1 50); do
      if answers_through_nginx; then in_a_row=$((in_a_row + 1)); else in_a_row=0; fi
      [ "$in_a_row" -lt 5 ] || break
      sleep 0.2
    done
    if [ "$in_a_row" -ge 5 ]; then
      log "nginx sends traffic to $old again"
    else
      log "nginx does not answer through $old either ($tries tries): look at it now"
    fi
  fi
  hook "$stop_cmd" "$new" || log "stopping $new failed: stop it by hand"
  exit 1
}

hook "$start_cmd" "$new" || rollback "starting $new failed"

deadline=$((SECONDS + ready_timeout))
until hook "$probe_cmd" "$new" /ready >/dev/null 2>&1; do
  [ "$SECONDS" -lt "$deadline" ] || rollback "$new was not ready within $ready_timeout s"
  sleep 1
done
log "$new is ready"

read -r requests_before errors_before <<<"$(request_counts "$new")"
# shellcheck disable=SC2016 # nginx's variable, written as is
reload_with "$(printf '# Written by deploy/blue-green.sh: the API colour nginx sends traffic to (%s).\nset $api_upstream http://%s;' "$new" "$(server_of "$new")")"
log "nginx sends traffic to $new"

deadline=$((SECONDS + watch_seconds))
while [ "$SECONDS" -lt "$deadline" ]; do
  answers_through_nginx || rollback "GET $public_url/health/live failed after the switch"
  sleep 1
done
read -r requests_after errors_after <<<"$(request_counts "$new")"
requests=$((requests_after - requests_before))
errors=$((errors_after - errors_before))
if [ "$requests" -gt 0 ] && [ $((errors * 100)) -gt $((max_error_percent * requests)) ]; then
  rollback "$errors of $requests requests to $new answered 5xx"
fi
log "$new answered $requests requests in $watch_seconds s, $errors of them 5xx"

if [ "$old" = none ]; then
  log "the compose service api gets no traffic now: docker-compose -f docker-compose.prod.yml up -d --scale api=0"
elif [ "${BG_KEEP_OLD:-0}" != 1 ]; then
  hook "$stop_cmd" "$old" || log "stopping $old failed: stop it by hand"
fi
log "switched to $new"
