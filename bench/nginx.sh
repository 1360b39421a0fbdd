# Sourced by the benchmark scripts that measure against nginx.
#
#   ensure_tools nginx [wrk hey ...]   # installs the missing ones from Debian
#   nginx_conf DIR <<CONF              # writes DIR/nginx.conf: one worker, no
#     server { ... }                   # daemon, keep-alive without limit, all
#   CONF                               # temporary files under DIR; stdin is
#                                      # the inside of its http block

ensure_tools() {
	local missing=() tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null || missing+=("$tool")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "installing ${missing[*]}" >&2
		apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
}

nginx_conf() {
	local dir=$1
	mkdir -p "$dir"
	{
		cat <<CONF
worker_processes 1;
worker_rlimit_nofile 65536;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 20000; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 60s;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
CONF
		cat
		echo "}"
	} >"$dir/nginx.conf"
}
