# lib.sh: the net tests' nginx (sourced). It sources ../fs/lib.sh first,
# which gives $work, skip, fail, wait_for, start_irpafs and the EXIT cleanup
# of the servers it lists; $models is the shared test models.
#
# start_nginx runs a private nginx (Debian nginx-light) on 127.0.0.1 at a
# free port, its config, prefix, logs and pid in $work/nginx, serving:
#   /models/...     $IRPA_TESTDATA/models (read-only)
#   /auth/...       the same, only with "Authorization: Bearer $NET_TOKEN"
#   /redirect/...   302 to /models/...
#   /slow/...       the same files at limit_rate $NET_SLOW_RATE (default 64k)
#   /mutable/...    $work/mutable, files a test replaces
#   anything else   404
# and the same over TLS on the next port, with a self-signed certificate
# (openssl), which a verifying client must refuse. A test that defines
# nginx_extra_conf PORT has its output added to the http block (its own
# servers, on ports after PORT + 1). Each request is also logged as
# "URI RANGE STATUS BYTES" in $work/nginx/ranges.log.
# Sets nginx_port, nginx_url (http://127.0.0.1:PORT), nginx_tls_url
# (https://127.0.0.1:PORT+1) and nginx_pid (the master).
source "$(dirname "${BASH_SOURCE[0]}")/../fs/lib.sh"
: "${HTTP_GET:?}"
models=$IRPA_TESTDATA/models
NET_TOKEN=${NET_TOKEN:-s3cret-token-9f2e}

require_nginx() {
  NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
  [ -x "$NGINX" ] || skip "no nginx (apt-get install nginx-light)"
}

write_nginx_conf() {  # PORT
  local root=$work/nginx
  cat >"$root/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 1;
pid $root/nginx.pid;
error_log $root/error.log warn;
$( [ "$(id -u)" -eq 0 ] && echo "user root;" )
events { worker_connections 256; }
http {
  access_log $root/access.log;
  log_format ranges '\$uri \$http_range \$status \$body_bytes_sent';
  access_log $root/ranges.log ranges;  # "URI RANGE STATUS BYTES" per request
  client_body_temp_path $root/tmp;
  proxy_temp_path $root/tmp;
  fastcgi_temp_path $root/tmp;
  uwsgi_temp_path $root/tmp;
  scgi_temp_path $root/tmp;
  default_type application/octet-stream;
  sendfile on;
  server {
    listen 127.0.0.1:$1;
    listen 127.0.0.1:$(($1 + 1)) ssl;
    ssl_certificate $root/cert.pem;
    ssl_certificate_key $root/key.pem;
    location /models/ { alias $IRPA_TESTDATA/models/; }
    location /auth/ {
      if (\$http_authorization != "Bearer $NET_TOKEN") { return 403; }
      alias $IRPA_TESTDATA/models/;
    }
    location ~ ^/redirect/(.*)\$ { return 302 /models/\$1; }
    location /slow/ { limit_rate ${NET_SLOW_RATE:-64k}; alias $IRPA_TESTDATA/models/; }
    location /mutable/ { alias $work/mutable/; }
    location / { return 404; }
  }
$(declare -F nginx_extra_conf >/dev/null && nginx_extra_conf "$1")
}
CONF
}

# 0 once our nginx has bound all its ports (it writes its pid file only
# then), 1 when it exited first: while it retries a port in use, another
# test's nginx there may answer.
nginx_bound() {
  local i
  for ((i = 0; i < 1200; i++)); do
    [ "$(cat "$work/nginx/nginx.pid" 2>/dev/null)" = "$nginx_pid" ] && return 0
    kill -0 "$nginx_pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# Runs nginx on $nginx_port (already chosen); 0 once it answers.
run_nginx() {
  write_nginx_conf "$nginx_port"
  rm -f "$work/nginx/nginx.pid"
  "$NGINX" -p "$work/nginx" -c "$work/nginx/nginx.conf" >"$work/nginx.log" 2>&1 &
  nginx_pid=$!
  servers+=("$nginx_pid")
  nginx_url=http://127.0.0.1:$nginx_port
  nginx_tls_url=https://127.0.0.1:$((nginx_port + 1))
  nginx_bound && wait_for "$HTTP_GET" "$nginx_url/models/gguf/dummy.gguf" && return 0
  kill "$nginx_pid" 2>/dev/null || true
  wait "$nginx_pid" 2>/dev/null || true
  return 1
}

start_nginx() {
  require_nginx
  mkdir -p "$work/nginx/tmp" "$work/mutable"
  command -v openssl >/dev/null || skip "no openssl (apt-get install openssl)"
  openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 2 \
    -keyout "$work/nginx/key.pem" -out "$work/nginx/cert.pem" >/dev/null 2>&1 ||
    fail "openssl could not make a certificate"
  local attempt
  for attempt in $(seq 20); do
    nginx_port=$((20000 + RANDOM % 40000))  # and the next one, for TLS
    run_nginx && return 0
    grep -q "Address already in use" "$work/nginx/error.log" "$work/nginx.log" 2>/dev/null ||
      fail "nginx did not start: $(cat "$work/nginx.log" "$work/nginx/error.log" 2>/dev/null)"
  done
  fail "nginx found no free port in 20 tries"
}

# Stops nginx (SIGTERM to its master) and waits for it to exit.
stop_nginx() {
  kill "$nginx_pid" 2>/dev/null || true
  wait "$nginx_pid" 2>/dev/null || true
}

# The pid of nginx's worker (the process that serves).
nginx_worker() {
  pgrep -P "$nginx_pid" | head -n 1
}
