#!/usr/bin/env bash
# Old file names behind a CDN: answer the old name with the bytes (200) or with a 301 to the new
# name? An nginx cache (proxy_cache) stands in for the CDN, in front of an origin that answers an old
# name either way, with the same caching headers. Counts what each costs: the client's requests per
# load of an old URL, the origin's fetches, and the bytes the cache holds. bench/RESULTS.md has the figures.
set -euo pipefail
dir=$(mktemp -d) && chmod 755 "$dir" && mkdir "$dir/files"
trap 'nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" -s quit 2>/dev/null || true; sleep 0.3; rm -rf "$dir"' EXIT
head -c 200000 /dev/urandom > "$dir/files/new.png"
headers='add_header Cache-Control "public, max-age=31536000, immutable" always;'
cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $dir/cb; proxy_temp_path $dir/pt; fastcgi_temp_path $dir/ft; uwsgi_temp_path $dir/ut; scgi_temp_path $dir/st;
  log_format origin '\$request_uri \$status';
  server { listen 127.0.0.1:18091; access_log $dir/origin-200.log origin;
    location = /uploads/old.png { alias $dir/files/new.png; $headers }
    location = /uploads/new.png { alias $dir/files/new.png; $headers } }
  server { listen 127.0.0.1:18092; access_log $dir/origin-301.log origin;
    location = /uploads/old.png { $headers return 301 /uploads/new.png; }
    location = /uploads/new.png { alias $dir/files/new.png; $headers } }
  proxy_cache_path $dir/cache-200 keys_zone=a:1m; proxy_cache_path $dir/cache-301 keys_zone=b:1m;
  server { listen 127.0.0.1:18081; location / { proxy_pass http://127.0.0.1:18091; proxy_cache a; } }
  server { listen 127.0.0.1:18082; location / { proxy_pass http://127.0.0.1:18092; proxy_cache b; } }
}
CONF
nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf"
sleep 0.5
for arm in 200:18081 301:18082; do
  name=${arm%%:*} port=${arm##*:}
  for pass in cold warm; do
    curl -sL -o /dev/null -w "$name $pass old URL: client requests %{num_redirects}+1, status %{http_code}, bytes %{size_download}\n" "http://127.0.0.1:$port/uploads/old.png"
  done
  curl -sL -o /dev/null "http://127.0.0.1:$port/uploads/new.png"
  echo "$name origin fetches: $(wc -l < "$dir/origin-$name.log") ($(tr '\n' ' ' < "$dir/origin-$name.log"))"
  echo "$name cache holds: $(du -sb "$dir/cache-$name" | cut -f1) bytes"
done
