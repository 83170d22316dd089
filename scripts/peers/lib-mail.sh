# Shared helpers of the mail peers' scripts (sourced).

# Prints N ports on 127.0.0.1 that are free right now (all bound at once, then released),
# outside the kernel's ephemeral range: see free-ports.py.
free_ports() {
    /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/free-ports.py" "$1"
}

# port_taken PORT: true when something listens on 127.0.0.1:PORT.
port_taken() {
    /usr/bin/python3 -c 'import socket,sys; s=socket.socket(); s.settimeout(0.3); sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1])))==0 else 1)' "$1"
}

# wait_port PORT SECONDS: waits until 127.0.0.1:PORT accepts connections.
wait_port() {
    local port=$1 deadline=$((SECONDS + ${2:-10}))
    while ((SECONDS < deadline)); do
        port_taken "$port" && return 0
        sleep 0.05
    done
    return 1
}

# alive PID: running and not a zombie.
alive() {
    local pid=$1
    [[ -n "$pid" && -d /proc/$pid ]] || return 1
    local state
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ "$state" != Z ]]
}

# stop_pid PIDFILE PATTERN: kills the pid in PIDFILE if its command line contains PATTERN.
stop_pid() {
    local file=$1 pattern=$2 pid
    [[ -f "$file" ]] || return 0
    pid=$(tr -dc '0-9' <"$file")
    if alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$pattern"; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.05; done
        alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}
